// Drives the demo cookie banner in headless Chromium (Debian's /usr/bin/chromium through
// playwright-core). Run by tests/e2e/test_demo_banner.py, which checks every step over native
// gRPC: prints one JSON line per step, then waits for a line on stdin to go on (the test sends
// it once it has checked the step, and moved its clock where it must); a closed stdin also goes
// on, so the script ends when the test closes it. Arguments: <page url> <user data dir>
// <screenshot dir>.
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const [pageUrl, userDataDir, shots] = process.argv.slice(2);
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const say = async (step, fields) => {
  console.log(JSON.stringify({ step, ...fields }));
  await lines.next();
};

const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  viewport: { width: 1100, height: 720 },
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
});
try {
  const page = context.pages()[0] ?? (await context.newPage());
  const errors = [];
  page.on("pageerror", (error) => errors.push(String(error)));

  async function load() {
    await page.goto(pageUrl);
    await page.waitForSelector("body[data-ready]", { timeout: 15000 });
    return state();
  }
  async function state() {
    return {
      status: await page.getAttribute("#status", "data-status"),
      banner: await page.isVisible("#banner"),
      visitor: await page.textContent("#visitor"),
      error: await page.textContent("#error"),
      cookies: await page.evaluate(() => document.cookie),
      purposes: await page.$$eval("#purposes li", (items) => items.map((item) => item.textContent)),
      errors,
    };
  }
  async function settle(expected) {
    await page.waitForFunction(
      (want) => document.getElementById("status")?.dataset.status === want,
      expected,
      { timeout: 15000 },
    );
    return state();
  }

  // How "accept all" and "refuse all" look: refusing must be as easy as accepting (CNIL).
  const look = (id) =>
    page.$eval(id, (button) => {
      const style = getComputedStyle(button);
      const box = button.getBoundingClientRect();
      return [style.backgroundColor, style.color, style.fontWeight, style.borderColor, box.height];
    });
  await say("first-visit", { ...(await load()), accept: await look("#accept-all"), refuse: await look("#refuse-all") });
  await page.screenshot({ path: `${shots}/1-banner.png` });
  await page.click("#accept-all");
  await say("accepted", await settle("VALID"));
  await page.screenshot({ path: `${shots}/2-accepted.png` });
  await say("reloaded", await load());

  await say("waiting", { for: "clock past expiry" });
  await say("expired", await load());
  await page.click("#refuse-all");
  await say("refused", await settle("VALID"));

  await page.click("#reopen");
  await page.focus("#customize");
  await page.keyboard.press("Enter");
  const focused = await page.evaluate(() => document.activeElement?.getAttribute("name"));
  await page.check("#custom input[name=analytics]");
  await page.click("#save-custom");
  await page.waitForFunction(() => document.getElementById("choice")?.textContent?.startsWith("CUSTOM"));
  await say("custom", { ...(await state()), focused });
  await page.screenshot({ path: `${shots}/3-custom.png` });

  // Refused after a custom choice, then reopened: the options closed, and rebuilt as stored.
  await page.click("#reopen");
  await page.click("#refuse-all");
  await page.waitForFunction(() => document.getElementById("choice")?.textContent?.startsWith("REFUSE_ALL"));
  await page.click("#reopen");
  const optionsOpen = await page.isVisible("#custom");
  await page.click("#customize");
  const ticked = await page.$$eval("#custom input:checked", (boxes) => boxes.map((box) => box.name));
  await say("reopened", { optionsOpen, ticked });

  // The test raised the policy's revision meanwhile: this tab read the old one. Its next click
  // is answered REVISION_OUTDATED; the banner reads the new policy, and the click after is a
  // choice on it (probe UF: it asked again and again at the old revision).
  await page.click("#accept-all");
  await settle("REVISION_OUTDATED");
  await page.click("#accept-all");
  await say("stale-tab", await settle("VALID"));

  // A browser sending Global Privacy Control, a new visitor: its refusal is recorded, no banner.
  await context.clearCookies();
  await page.addInitScript(() =>
    Object.defineProperty(Navigator.prototype, "globalPrivacyControl", { get: () => true }),
  );
  await say("gpc", await load());
} finally {
  await context.close();
}
