// The demo cookie banner: plain TypeScript, no framework. It keeps a random first-party visitor
// id, asks consentd whether the stored choice still holds, and shows the banner only when it does
// not (none, expired, or made on an older policy revision). Bundled by esbuild (make setup).
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import {
  CookieChoiceMethod,
  CookieChoiceStatus,
  CookieService,
  type CookiePolicy,
  type GetCookieChoiceResponse,
  type RecordCookieChoiceResponse,
} from "../../../clients/typescript/src/index";

const VISITOR_COOKIE = "consentd_visitor";
// The tenant's publishable key (scope cookies:write only), written into the page by the server.
// It names the tenant. A page on another origin would also use the base URL
// `https://<consentd>/t/<tenant id>` so that the CORS preflight (which carries no key) finds
// the tenant's allowed origins; this page is served by consentd itself, so it needs none.
const key = document.querySelector<HTMLMetaElement>('meta[name="consentd-key"]')?.content ?? "";
const withKey: Interceptor = (next) => (request) => {
  request.header.set("Authorization", `Bearer ${key}`);
  return next(request);
};
const transport = createConnectTransport({
  baseUrl: location.origin,
  // POST, not Connect's GET: a GET carries the visitor id (an online identifier) in the URL,
  // which proxies and CDNs log.
  interceptors: [withKey],
});
const cookies = createClient(CookieService, transport);

const REASONS: Record<number, string> = {
  [CookieChoiceStatus.NONE]: "Première visite : dites-nous ce que vous acceptez.",
  [CookieChoiceStatus.EXPIRED]: "Votre choix a expiré : merci de le renouveler.",
  [CookieChoiceStatus.REVISION_OUTDATED]: "Notre politique cookies a changé : merci de choisir à nouveau.",
};

function byId<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`#${id} is missing`);
  return found as T;
}

function visitorId(): string {
  const kept = document.cookie.split("; ").find((c) => c.startsWith(`${VISITOR_COOKIE}=`));
  if (kept) return kept.slice(VISITOR_COOKIE.length + 1);
  return crypto.randomUUID().replaceAll("-", "");
}

// Written once a choice is recorded, not at the first visit (nothing is stored in the browser
// before a choice; probe UB): it only lets the server find this browser's choice again.
function keepVisitor(): void {
  const secure = location.protocol === "https:" ? "; Secure" : "";
  document.cookie = `${VISITOR_COOKIE}=${visitor}; Max-Age=${60 * 60 * 24 * 396}; Path=/; SameSite=Lax${secure}`;
}

// Each call's bound: a service that does not answer is said, not a page left loading (probe UB).
const CALL = { timeoutMs: 8000 };
let policy: CookiePolicy | undefined;
let granted: string[] = []; // the stored choice's categories: "Personnaliser" starts from them
const visitor = visitorId();
// Global Privacy Control: the browser's standing "do not sell or share" (navigator's, as the
// request's Sec-GPC header says it to the server too).
const gpc = (navigator as Navigator & { globalPrivacyControl?: boolean }).globalPrivacyControl === true;
// The person's words for a failure (the client library's are English and a developer's): the
// service down, or the call refused (a revoked key read as an outage; probe FM).
const DOWN = "Le service de consentement ne répond pas : réessayez dans un instant.";
const REFUSED = "Votre choix n'a pas pu être enregistré : rechargez la page, puis réessayez.";
const UNREAD = "Vos choix de cookies n'ont pas pu être lus : rechargez la page."; // none made yet

function failed(error: unknown, reading = false): void {
  const code = ConnectError.from(error).code;
  const down = [Code.Unavailable, Code.DeadlineExceeded, Code.Unknown, Code.Internal];
  const said = down.includes(code) ? DOWN : reading ? UNREAD : REFUSED;
  byId("error").textContent = said;
  byId("error").dataset.detail = String(error); // for the developer's console, not the person
  byId("banner-error").textContent = said; // in sight over the page's (probe VB)
}

// The options closed: "Personnaliser" builds them again from the stored choice (left open, a
// category just refused stayed ticked and one click granted it; probe VB).
function closeOptions(): void {
  byId("custom").hidden = true;
  byId("save-custom").hidden = true;
}

// The policy, read again when its first reading failed: a choice is never recorded against a
// revision made up (it stored revision 1 while the policy was at 2; probe VB).
async function loadPolicy(): Promise<CookiePolicy | undefined> {
  if (policy === undefined) {
    policy = (await cookies.getCookiePolicy({}, CALL)).policy;
    purposes(); // once, as read
  }
  return policy;
}

function show(answer: GetCookieChoiceResponse | RecordCookieChoiceResponse): void {
  const status = byId("status");
  status.textContent = CookieChoiceStatus[answer.status];
  status.dataset.status = CookieChoiceStatus[answer.status];
  const choice = answer.choice;
  byId("choice").textContent = choice
    ? `${CookieChoiceMethod[choice.method]} — ${choice.grantedCategories.join(", ")}`
    : "—";
  byId("expires").textContent = choice?.expiresAt
    ? new Date(Number(choice.expiresAt.seconds) * 1000).toISOString()
    : "—";
  byId("consent-mode").textContent = JSON.stringify(answer.consentMode);
  const valid = answer.status === CookieChoiceStatus.VALID;
  granted = valid ? (choice?.grantedCategories ?? []) : [];
  byId("banner").hidden = valid;
  if (!valid) byId("banner-reason").textContent = REASONS[answer.status] ?? "";
  if (answer.status === CookieChoiceStatus.REVISION_OUTDATED) {
    // The policy changed since this tab read it: read it again, so that the next click is a
    // choice on the new one (a stale tab asked again and again at the old revision; probe UF).
    policy = undefined;
    loadPolicy().catch((error: unknown) => failed(error, true));
  }
  // What a real page would do with the answer: gtag("consent", "update", answer.consentMode);
  document.body.dataset.ready = "true";
}

async function record(method: CookieChoiceMethod, chosen: string[] = []): Promise<void> {
  byId("error").textContent = "";
  byId("banner-error").textContent = "";
  try {
    await loadPolicy();
    show(
      await cookies.recordCookieChoice(
        {
          visitorId: visitor,
          method,
          grantedCategories: chosen,
          policyRevision: policy?.revision ?? 0, // loadPolicy() read it
          gpc,
          // The page, not its query or fragment: an e-mail in a link's query left the browser.
          pageUrl: location.origin + location.pathname,
        },
        CALL,
      ),
    );
    keepVisitor();
    closeOptions();
    byId("reopen").focus(); // the banner is gone: focus stays near it, not on the page's start
  } catch (error) {
    failed(error);
  }
}

function described(category: CookiePolicy["categories"][number]): string {
  const name = category.displayName || category.categoryId;
  return category.description ? `${name} : ${category.description}` : name;
}

// What each kind of cookie is for, on the banner's first screen, from the tenant's policy.
function purposes(): void {
  const list = byId("purposes");
  list.replaceChildren();
  for (const category of policy?.categories ?? []) {
    const item = document.createElement("li");
    item.textContent = described(category);
    list.append(item);
  }
}

function customForm(): void {
  const form = byId("custom");
  form.querySelectorAll("label").forEach((label) => label.remove());
  for (const category of policy?.categories ?? []) {
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.name = category.categoryId;
    box.checked = granted.includes(category.categoryId); // as stored; none before a choice
    label.append(box, ` ${described(category)}`);
    form.append(label);
  }
  form.hidden = false;
  byId("save-custom").hidden = false;
  form.querySelector<HTMLInputElement>("input")?.focus(); // keyboard users land on the options
}

async function start(): Promise<void> {
  byId("visitor").textContent = visitor;
  byId("accept-all").addEventListener("click", () => void record(CookieChoiceMethod.ACCEPT_ALL));
  byId("refuse-all").addEventListener("click", () => void record(CookieChoiceMethod.REFUSE_ALL));
  byId("customize").addEventListener("click", () => {
    loadPolicy().then(customForm, (error: unknown) => failed(error, true));
  });
  byId("save-custom").addEventListener("click", () => {
    const ticked = [...byId("custom").querySelectorAll<HTMLInputElement>("input:checked")];
    void record(CookieChoiceMethod.CUSTOM, ticked.map((box) => box.name));
  });
  byId("reopen").addEventListener("click", () => {
    byId("banner-reason").textContent = "Modifiez votre choix :";
    closeOptions();
    byId("banner").hidden = false;
    byId("accept-all").focus();
  });
  try {
    await loadPolicy();
    const answer = await cookies.getCookieChoice({ visitorId: visitor }, CALL);
    // A browser sending GPC has said no already: its refusal is recorded, no banner asks it
    // (it may still change its mind through "Modifier mes choix").
    if (gpc && answer.status !== CookieChoiceStatus.VALID) await record(CookieChoiceMethod.GPC);
    else show(answer);
  } catch (error) {
    failed(error, true);
    document.body.dataset.ready = "error";
  }
}

void start();
