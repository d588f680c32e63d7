// Drives the preference centre in headless Chromium (Debian's /usr/bin/chromium through
// playwright-core). Run by tests/e2e/test_preference_centre.py, which checks every step over
// native gRPC: prints one JSON line per step, then waits for a line on stdin to go on.
// Arguments: <page url of the person> <url of another person> <url of another tenant>
// <url with an expired token> <url of a preference link (p1.) of a person known by e-mail>
// <url without a token, naming the tenant> <shots>.
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const [personUrl, otherPersonUrl, otherTenantUrl, expiredUrl, linkUrl, askUrl, shots] = process.argv.slice(2);
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const say = async (step, fields) => {
  console.log(JSON.stringify({ step, ...fields }));
  await lines.next();
};

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"],
});
try {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, locale: "fr-FR" });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(String(error)));

  async function state() {
    return {
      rows: await page.$$eval("#consents tbody tr", (rows) =>
        rows.map((r) => ({ purpose: r.dataset.purpose, channel: r.dataset.channel, state: r.dataset.state })),
      ),
      history: await page.$$eval("#history tbody tr", (rows) => rows.map((r) => r.dataset.state)),
      status: await page.textContent("#status"),
      error: await page.textContent("#error"),
      notices: await page.$$eval("#consents details .notice", (n) => n.map((x) => x.textContent)),
      url: page.url(),
      errors,
    };
  }
  async function open(url) {
    await page.goto(url);
    await page.waitForSelector("body[data-ready]", { timeout: 15000 });
    return state();
  }
  const rowState = (purpose, channel, want) =>
    page.waitForFunction(
      ([p, c, w]) => document.querySelector(`#consents tr[data-purpose="${p}"][data-channel="${c}"]`)?.dataset.state === w,
      [purpose, channel, want],
      { timeout: 15000 },
    );
  const idle = () => page.waitForFunction(() => !document.body.dataset.busy, null, { timeout: 15000 });

  await say("loaded", await open(personUrl));
  await page.screenshot({ path: `${shots}/1-list.png`, fullPage: true });

  // Keyboard: the controls come in reading order, each with a name; every input has a label.
  const order = [];
  for (let i = 0; i < 6; i++) {
    await page.keyboard.press("Tab");
    order.push(await page.evaluate(() => {
      const el = document.activeElement;
      return el.id || el.className || el.tagName;
    }));
  }
  const unnamed = await page.$$eval("button, input", (els) =>
    els.filter((e) => !(e.labels?.length || e.getAttribute("aria-label") || e.textContent.trim())).length,
  );
  await say("keyboard", { order, unnamed });

  // A phone's width: nothing to scroll sideways (probe FH: the tables made the page 500 px wide).
  await page.setViewportSize({ width: 320, height: 700 });
  const narrow = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
    labels: [...document.querySelectorAll("#consents tbody td")].map((td) => td.dataset.label),
  }));
  await page.setViewportSize({ width: 1100, height: 900 });
  await say("narrow", narrow);

  // A mistyped code is said to be one, not a person whose data was erased (probe FH).
  const code = page.locator('#consents tr[data-purpose="offers"] input');
  const good = await code.inputValue();
  await code.fill("ABCD-1234-WRONG");
  await page.click('#consents tr[data-purpose="offers"] button.confirm');
  await page.waitForFunction(() => document.querySelector("#error").textContent !== "", null, { timeout: 15000 });
  await idle();
  await say("mistyped", await state());
  await code.fill(good);

  await page.click('#consents tr[data-purpose="offers"] button.confirm');
  await rowState("offers", "EMAIL", "GRANTED");
  await idle();
  await say("confirmed", await state());

  // Withdraw one, with the keyboard alone.
  await page.focus('#consents tr[data-purpose="newsletter"][data-channel="EMAIL"] button.withdraw');
  await page.keyboard.press("Enter");
  await rowState("newsletter", "EMAIL", "WITHDRAWN");
  await idle();
  const focused = await page.evaluate(() => document.activeElement?.id);
  await say("withdrawn-one", { ...(await state()), focused });
  await page.screenshot({ path: `${shots}/2-withdrawn-one.png`, fullPage: true });

  // Opting back in (probe GG: the page could only take consent back), then out again.
  const newsletterByMail = '#consents tr[data-purpose="newsletter"][data-channel="EMAIL"]';
  await page.click(`${newsletterByMail} button.grant`);
  await rowState("newsletter", "EMAIL", "GRANTED");
  await idle();
  await say("granted-again", await state());
  await page.click(`${newsletterByMail} button.withdraw`);
  await rowState("newsletter", "EMAIL", "WITHDRAWN");
  await idle();

  await page.click("#request-export");
  await page.waitForSelector("section[data-requested]", { timeout: 15000 });
  await idle();
  await say("export-requested", await state());

  const [download] = await Promise.all([
    page.waitForEvent("download", { timeout: 15000 }),
    page.click("#download-data"),
  ]);
  const saved = JSON.parse(await readFile(await download.path(), "utf8"));
  await idle();
  await say("downloaded", {
    file: download.suggestedFilename(),
    history: saved.consent_history?.length ?? -1,
    status: await page.textContent("#status"),
    error: await page.textContent("#error"),
  });

  // Nothing more by text message: every purpose on SMS, a row of its own.
  await page.click('.stop-channel[data-channel="SMS"]');
  await rowState("", "SMS", "WITHDRAWN");
  await idle();
  await say("stopped-sms", await state());

  await page.click("#withdraw-all");
  await page.waitForFunction(
    () => ![...document.querySelectorAll("#consents tbody tr")].some((r) => ["GRANTED", "PENDING"].includes(r.dataset.state)),
    null,
    { timeout: 15000 },
  );
  await idle();
  const grantable = await page.$$eval("#consents tbody tr", (rows) =>
    rows.filter((r) => r.querySelector("button.grant")).map((r) => `${r.dataset.purpose}/${r.dataset.channel}`),
  );
  await say("withdrawn-all", { ...(await state()), grantable });
  await page.screenshot({ path: `${shots}/3-withdrawn-all.png`, fullPage: true });

  // A restriction of processing, one of the rights the policy lists (probe HD: only export and
  // erasure were offered).
  const rightsSection = () => page.$eval("#rights-title", (h) => h.parentElement.dataset.requested ?? "");
  await page.click("#request-restriction");
  await page.waitForFunction(() => document.querySelector("#rights-title").parentElement.dataset.requested === "RESTRICT", null, { timeout: 15000 });
  await idle();
  await say("restriction-requested", { requested: await rightsSection(), ...(await state()) });

  // Erasure is asked for, then confirmed with a second button (it cannot be undone).
  // Focus on the warning: two presses of Enter filed it (probe ZD); Escape closes it.
  await page.click("#request-erasure");
  const confirmShown = await page.isVisible("#confirm-erasure");
  const onWarning = await page.evaluate(() => document.activeElement?.id);
  await page.keyboard.press("Enter");
  await page.keyboard.press("Enter");
  await idle();
  const afterEnters = await rightsSection();
  await page.keyboard.press("Escape");
  await say("erasure-asked", {
    requested: afterEnters,
    confirmShown,
    focused: onWarning,
    closedByEscape: !(await page.isVisible("#confirm-erasure")),
    focusBack: await page.evaluate(() => document.activeElement?.id),
  });
  await page.click("#request-erasure");
  await page.click("#confirm-erasure");
  await page.waitForFunction(() => document.querySelector("#rights-title").parentElement.dataset.requested === "ERASE", null, { timeout: 15000 });
  await idle();
  await say("erasure-requested", { requested: await rightsSection(), ...(await state()) });

  await page.click("#lang-en");
  await page.waitForFunction(() => document.documentElement.lang === "en");
  await page.waitForFunction(() => document.querySelector("#status")?.textContent?.startsWith("Your"));
  await say("english", {
    title: await page.textContent("h1"),
    states: await page.$$eval("#consents tbody td:nth-child(3)", (cells) => cells.map((c) => c.textContent)),
    ...(await state()),
  });
  await page.screenshot({ path: `${shots}/4-english.png`, fullPage: true });

  // A page of another origin on the same site frames the page in this tab, where the token is
  // kept for a reload: the framed copy must not use it (clickjacking; probe AE).
  const target = `${new URL(personUrl).origin}/preferences/`;
  const framer = createServer((_, response) => {
    response.writeHead(200, { "content-type": "text/html" }).end(`<iframe src="${target}"></iframe>`);
  });
  await new Promise((listening) => framer.listen(0, "127.0.0.1", listening));
  await page.goto(`http://127.0.0.1:${framer.address().port}/`);
  const frame = await (await page.waitForSelector("iframe")).contentFrame();
  await frame.waitForSelector("body[data-ready]", { timeout: 15000 });
  await say("framed", {
    ready: await frame.$eval("body", (b) => b.dataset.ready),
    rows: await frame.$$eval("#consents tbody tr", (rows) => rows.length),
    error: await frame.textContent("#error"),
  });
  // The same page opens it in a popup (which gets a copy of the tab's sessionStorage), then
  // sends the tab itself there: neither is the person's return to the page (probe QB).
  const [popup] = await Promise.all([
    context.waitForEvent("page"),
    page.evaluate((url) => void window.open(url), target),
  ]);
  await popup.waitForSelector("body[data-ready]", { timeout: 15000 });
  const seen = async (tab) => ({
    ready: await tab.$eval("body", (b) => b.dataset.ready),
    rows: await tab.$$eval("#consents tbody tr", (rows) => rows.length),
    opener: await tab.evaluate(() => window.opener !== null),
  });
  const opened = await seen(popup);
  await popup.close();
  await page.goto(target);
  await page.waitForSelector("body[data-ready]", { timeout: 15000 });
  await say("opened-elsewhere", { popup: opened, sent: await seen(page) });
  framer.close();

  const other = await context.browser().newContext({ locale: "fr-FR" });
  for (const [step, url] of [
    ["other-person", otherPersonUrl],
    ["other-tenant", otherTenantUrl],
    ["expired", expiredUrl],
  ]) {
    const fresh = await other.newPage();
    await fresh.goto(url);
    await fresh.waitForSelector("body[data-ready]", { timeout: 15000 });
    await say(step, {
      rows: await fresh.$$eval("#consents tbody tr", (rows) => rows.map((r) => r.dataset.purpose)),
      history: await fresh.$$eval("#history tbody tr", (rows) => rows.length),
      error: await fresh.textContent("#error"),
      enabled: await fresh.$$eval("main button:not([lang])", (els) => els.filter((e) => !e.disabled).length),
      kept: await fresh.evaluate(() => sessionStorage.getItem("consentd_portal_token") !== null),
      ask: await fresh.$eval("#ask-link", (a) => a.getAttribute("href")).catch(() => ""),
      sectionsShown: await fresh.$$eval("main section", (els) => els.filter((e) => !e.hidden).length),
      focused: await fresh.evaluate(() => document.activeElement?.id ?? ""),
    });
    await fresh.screenshot({ path: `${shots}/5-${step}.png`, fullPage: true });
  }

  // Opting in to what the person was never asked: Paul has the newsletter by SMS on record
  // (probe KC: a purpose added to the catalogue later was out of the person's reach).
  const paul = await other.newPage();
  await paul.goto(otherPersonUrl);
  await paul.waitForSelector("body[data-ready]", { timeout: 15000 });
  const offers = () =>
    paul.$$eval("#offers tbody tr", (rows) =>
      rows.flatMap((r) => [...r.querySelectorAll("button.offer")].map((b) => `${r.dataset.purpose}/${b.dataset.channel}`)),
    );
  await say("offers", {
    offers: await offers(),
    shown: await paul.isVisible("#offers"),
    labels: await paul.$$eval("#offers button.offer", (els) => els.map((e) => e.getAttribute("aria-label"))),
    notices: await paul.$$eval("#offers details .notice", (n) => n.map((x) => x.textContent)),
  });
  await paul.click('#offers tr[data-purpose="newsletter"] button[data-channel="EMAIL"]');
  await paul.waitForFunction(
    () => document.querySelector('#consents tr[data-purpose="newsletter"][data-channel="EMAIL"]')?.dataset.state === "GRANTED",
    null,
    { timeout: 15000 },
  );
  await paul.waitForFunction(() => !document.body.dataset.busy, null, { timeout: 15000 });
  await say("opted-in", { offers: await offers(), status: await paul.textContent("#status"), error: await paul.textContent("#error") });
  await paul.screenshot({ path: `${shots}/6-opted-in.png`, fullPage: true });

  // A new text that asks everyone again (published by the test meanwhile): the grants to the
  // old one no longer count, and the page offers to accept the new one (probe KC).
  await paul.reload();
  await paul.waitForSelector("body[data-ready]", { timeout: 15000 });
  const byMail = '#consents tr[data-purpose="newsletter"][data-channel="EMAIL"]';
  await say("outdated", {
    caveats: await paul.$$eval("#consents tr[data-caveat]", (rows) => rows.map((r) => `${r.dataset.channel}/${r.dataset.caveat}`)),
    buttons: await paul.$$eval("#consents button.grant", (els) => els.map((e) => e.textContent)),
  });
  await paul.click(`${byMail} button.grant`);
  await paul.waitForFunction((row) => !document.querySelector(`${row} button.grant`), byMail, { timeout: 15000 });
  await paul.waitForFunction(() => !document.body.dataset.busy, null, { timeout: 15000 });
  await say("renewed", { status: await paul.textContent("#status"), error: await paul.textContent("#error") });

  // A preference link consentd made for a person known by e-mail alone (no portal knows them):
  // the page names them as the link does, and their opting in is recorded for that address.
  const marie = await other.newPage();
  await marie.goto(linkUrl);
  await marie.waitForSelector("body[data-ready]", { timeout: 15000 });
  const marieRows = () =>
    marie.$$eval("#consents tbody tr", (rows) => rows.map((r) => `${r.dataset.purpose}/${r.dataset.channel}/${r.dataset.state}`));
  await say("by-link", { rows: await marieRows(), error: await marie.textContent("#error") });
  await marie.click('#offers tr[data-purpose="research"] button[data-channel="EMAIL"]');
  await marie.waitForFunction(
    () => document.querySelector('#consents tr[data-purpose="research"][data-channel="EMAIL"]')?.dataset.state === "GRANTED",
    null,
    { timeout: 15000 },
  );
  await say("link-opted-in", { rows: await marieRows(), error: await marie.textContent("#error") });
  // Named by her e-mail address, she may ask for a double opt-in purpose: its code is mailed to her.
  await marie.click('#offers tr[data-purpose="offers"] button[data-channel="EMAIL"]');
  await marie.waitForFunction(
    () => document.querySelector('#consents tr[data-purpose="offers"][data-channel="EMAIL"]')?.dataset.state === "PENDING",
    null,
    { timeout: 15000 },
  );
  // Its outcome said (the opt-in before it may still be saying its own when the row changes).
  await marie.waitForFunction(() => document.querySelector("#status").textContent.includes("Offres"), null, { timeout: 15000 });
  await say("link-pending", { rows: await marieRows(), status: await marie.textContent("#status") });

  // No token, the tenant named: the page offers to mail the person their link.
  const asking = await other.newPage();
  await asking.goto(askUrl);
  await asking.waitForSelector("body[data-ready]", { timeout: 15000 });
  await say("ask-link", {
    href: await asking.$eval("#ask-link", (a) => a.getAttribute("href")).catch(() => ""),
    error: await asking.textContent("#error"),
  });

  // JavaScript off: the page says it needs it, and shows no control that does nothing.
  const bare = await context.browser().newContext({ locale: "fr-FR", javaScriptEnabled: false });
  const plain = await bare.newPage();
  await plain.goto(otherPersonUrl);
  await say("nojs", {
    shown: await plain.$$eval("button, input, h2", (els) => els.filter((e) => e.offsetParent !== null).length),
    text: (await plain.textContent("body")).replace(/\s+/g, " ").trim(),
  });
  await bare.close();
} finally {
  await browser.close();
}
