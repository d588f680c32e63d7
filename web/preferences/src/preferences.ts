// The preference centre: a person's consents by purpose and channel with the notice they were
// shown, one-click withdrawal (one or everything) and opting back in, their history, confirming
// a pending opt-in, and their rights requests. The portal opens it with the person's portal token
// (subject:self) in the URL fragment — `#token=<jwt>[&confirm=<code>][&lang=en]` — which never
// reaches a server log; the page keeps it for this tab only. Bundled by esbuild (make setup).
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import {
  CatalogService,
  Channel,
  ConsentService,
  ConsentState,
  Decision,
  LawfulBasis,
  PartyScope,
  Reason,
  RightsRequestKind,
  RightsService,
  Source,
  type ConsentEvent,
  type ConsentTarget,
  type CurrentConsent,
  type Notice,
  type Purpose,
  type TargetDecision,
} from "../../../clients/typescript/src/index";
import { TEXTS, type Language } from "./texts";

const STORED = "consentd_portal_token";
const LANGUAGE = "consentd_portal_language"; // kept for a reload (the fragment is gone by then)
const fragment = new URLSearchParams(location.hash.slice(1));
// In a frame, only the token its own URL carries: a page of another origin framing this one in
// the same tab found the token kept for a reload, and one click over it filed an erasure
// request (clickjacking, probe AE). The portal that embeds the page gives it the token; the
// frame's URL is in no address bar, so the token stays there for a reload of the frame.
const framed = window.top !== window.self;
// And only when this tab comes back to the page (a reload, back or forward): a page of another
// origin that opened it in a popup (which gets a copy of the tab's sessionStorage) or sent this
// tab to it found the token too, the page as the person's, unframed, one click from a grant or
// a withdrawal of everything (probe QB).
const arrival = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming;
const returned = arrival?.type === "reload" || arrival?.type === "back_forward";
const kept = framed || !returned ? "" : sessionStorage.getItem(STORED);
const token = fragment.get("token") ?? kept ?? "";
const confirmCode = fragment.get("confirm") ?? "";
const asked = fragment.get("lang") ?? sessionStorage.getItem(LANGUAGE) ?? navigator.language;
let language: Language = asked.startsWith("en") ? "en" : "fr";
if (fragment.has("lang")) sessionStorage.setItem(LANGUAGE, language);
if (fragment.has("token") && !framed) sessionStorage.setItem(STORED, token);
if ((fragment.has("token") || fragment.has("confirm")) && !framed) {
  history.replaceState(null, "", location.pathname); // token and code leave the address bar
}

const withToken: Interceptor = (next) => (request) => {
  request.header.set("Authorization", `Bearer ${token}`);
  return next(request);
};
const transport = createConnectTransport({ baseUrl: location.origin, interceptors: [withToken] });
const consents = createClient(ConsentService, transport);
const catalog = createClient(CatalogService, transport);
const rights = createClient(RightsService, transport);

// The person is the token's subject: a portal token's `sub` is the portal's own id for them; a
// preference link consentd made (`p1.`, a campaign's message) names them as the campaign did,
// by `kind` (an e-mail address, a phone number, an external id or a CAL id) and `sub`.
type Named = "externalId" | "email" | "phone" | "calId";
const KINDS: Record<string, Named> = { external_id: "externalId", email: "email", phone: "phone", cal_id: "calId" };

function claimsOf(credential: string): Record<string, unknown> {
  try {
    const body = credential.split(".")[1].replaceAll("-", "+").replaceAll("_", "/");
    // atob gives one character per byte: the payload is UTF-8 (an id with accents, `élodie`).
    const bytes = Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return {};
  }
}
const claimOf = (credential: string, name: string) => String(claimsOf(credential)[name] ?? "");

function subjectOf(credential: string): { case: Named; value: string } {
  const kind = credential.startsWith("p1.") ? KINDS[claimOf(credential, "kind")] : "externalId";
  return { case: kind ?? "externalId", value: claimOf(credential, "sub") };
}
const subject = { ref: subjectOf(token) };

const purposes = new Map<string, Purpose>();
const notices = new Map<string, Notice>();
const latestNotice = new Map<string, Notice>();

function byId<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`#${id} is missing`);
  return found as T;
}
const t = () => TEXTS[language];
const when = (stamp?: { seconds: bigint }) =>
  // In the person's own time zone, to the minute (seconds read as noise; probe HD).
  stamp ? new Date(Number(stamp.seconds) * 1000).toLocaleString(language === "fr" ? "fr-FR" : "en-GB", { dateStyle: "short", timeStyle: "short" }) : "—";
const purposeName = (id: string) => (id === "*" ? t().all : purposes.get(id)?.displayName || id);
const channelName = (c: Channel) => (c ? t().channels[Channel[c] as keyof ReturnType<typeof t>["channels"]] : t().all);
const stateName = (s: ConsentState) => t().states[ConsentState[s] as keyof ReturnType<typeof t>["states"]] ?? "";
const sourceName = (s: Source) => t().sources[Source[s] as keyof ReturnType<typeof t>["sources"]] ?? "";
// A link followed from a message says so: an unsubscribe read "Espace client" (probe IC).
const origin = (e: ConsentEvent) =>
  e.actor === "unsubscribe link"
    ? t().links.unsubscribe
    : e.evidenceReference.startsWith("confirmation:")
      ? t().links.confirmation
      : sourceName(e.source);

function say(message: string): void {
  const status = byId("status");
  status.textContent = message;
  status.focus(); // screen readers and keyboard users land on the outcome of their click
}

// What the person reads when a call fails: words of their language, never the client's English
// error text (an expired link showed "ConnectError: [unauthenticated] ...").
// What an action's refusals mean to the person when they differ from the page's (a mistyped
// confirmation code is not a person whose data was erased; probe FH).
type Meanings = Partial<Record<Code, string>>;

function problem(error: unknown, meanings: Meanings = {}): string {
  const code = ConnectError.from(error).code;
  const known: Meanings = {
    [Code.Unauthenticated]: t().expired,
    [Code.PermissionDenied]: t().forbidden,
    [Code.NotFound]: t().notFound,
    [Code.ResourceExhausted]: t().busy,
    [Code.Unavailable]: t().unavailable,
    [Code.DeadlineExceeded]: t().unavailable,
    ...meanings,
  };
  // The status's name stays out of the person's words; support reads it on the element.
  byId("error").dataset.code = Code[code];
  return known[code] ?? t().failed;
}

async function act(work: () => Promise<string>, meanings: Meanings = {}): Promise<void> {
  byId("error").textContent = "";
  document.body.dataset.busy = "true";
  try {
    const message = await work();
    await refresh();
    say(message);
  } catch (error) {
    // The last success said beside the failure read as if it had worked (probe EA).
    byId("status").textContent = "";
    byId("error").textContent = problem(error, meanings);
    // The link expired, or the person was erased, while the page was open (probe HJ).
    if (ConnectError.from(error).code === Code.Unauthenticated) deadLink();
  } finally {
    delete document.body.dataset.busy;
  }
}

function button(label: string, onClick: () => void, extra?: Partial<HTMLButtonElement>): HTMLButtonElement {
  const made = Object.assign(document.createElement("button"), { type: "button", textContent: label, ...extra });
  made.addEventListener("click", onClick);
  return made;
}

function withdraw(target: ConsentTarget): Promise<void> {
  return act(async () => {
    await consents.withdrawConsent({ subject, targets: [target], source: Source.PORTAL, actor: "self" });
    return t().withdrawn.replace("{what}", `${purposeName(target.purpose)} — ${channelName(target.channel)}`);
  });
}

// The text the page shows for a purpose without one of its own: its notice's latest version in
// the page's language, else its latest. A language is a version of its own: the French page
// granted to the English version and called it the text presented (probe IC).
function inForce(purpose: string): Notice | undefined {
  const noticeId = purposes.get(purpose)?.noticeId ?? "";
  const mine = [...notices.values()].filter((n) => n.noticeId === noticeId && n.language.toLowerCase().startsWith(language));
  return mine.sort((a, b) => b.version - a.version)[0] ?? latestNotice.get(noticeId);
}

// The person opts in (the portal token records for its own person alone), to the notice the
// page shows them (inForce): again after a withdrawal, or for the first time (an offer).
function grant(target: ConsentTarget, first = false): Promise<void> {
  return act(async () => {
    const notice = inForce(target.purpose);
    const answer = await consents.recordConsent({
      subject: { [subject.ref.case]: subject.ref.value },
      choices: [{ target, state: ConsentState.GRANTED, noticeVersion: notice?.version ?? 0 }],
      source: Source.PORTAL,
      actor: "self",
    });
    const what = `${purposeName(target.purpose)} — ${channelName(target.channel)}`;
    return (answer.confirmation ? t().grantPending : first ? t().grantedNew : t().granted).replace("{what}", what);
  });
}

function confirm(code: string, what: string): Promise<void> {
  return act(async () => {
    const answer = await consents.confirmConsent({ token: code.trim() });
    // No event: the person said no since the link was sent (withdrew, objected): nothing granted.
    if (!answer.events.length) return t().notConfirmed.replace("{what}", what);
    // What the code confirmed, not the row clicked: one code may cover other rows (probe HD).
    const confirmed = answer.events.map((e) => `${purposeName(e.target?.purpose ?? "")} — ${channelName(e.target?.channel ?? 0)}`);
    return t().confirmed.replace("{what}", [...new Set(confirmed)].sort().join(", "));
  }, {
    // Malformed (empty, a space inside, a character no code has) or unknown: not a valid code.
    [Code.InvalidArgument]: t().badCode,
    [Code.NotFound]: t().badCode,
    [Code.FailedPrecondition]: t().usedCode,
  });
}

// The version the person was shown; after a withdrawal (which shows none), the text in force.
function noticeOf(row: CurrentConsent): HTMLElement | null {
  const shown = row.noticeId ? notices.get(`${row.noticeId}@${row.noticeVersion}`) : undefined;
  const notice = shown ?? (row.noticeId ? undefined : inForce(row.target?.purpose ?? ""));
  if (!notice) return null;
  return noticeDetails(notice, shown ? t().notice : t().currentNotice);
}

function noticeDetails(notice: Notice, label: string): HTMLElement {
  const details = document.createElement("details");
  const summary = Object.assign(document.createElement("summary"), { textContent: `${label} (v${notice.version})` });
  const text = Object.assign(document.createElement("div"), { className: "notice", textContent: notice.content });
  text.lang = notice.language;
  details.append(summary, text);
  return details;
}

function actionsOf(row: CurrentConsent, index: number, decision?: TargetDecision): HTMLElement {
  const cell = document.createElement("td");
  const target = row.target!;
  const what = `${purposeName(target.purpose)} — ${channelName(target.channel)}`;
  if (row.state === ConsentState.PENDING) {
    const id = `confirm-code-${index}`;
    const label = Object.assign(document.createElement("label"), { htmlFor: id, textContent: t().confirmCode });
    const input = Object.assign(document.createElement("input"), { id, value: confirmCode, autocomplete: "one-time-code" });
    cell.append(label, input, button(t().confirm, () => void confirm(input.value, what), { className: "confirm" }));
  }
  // A grant to a text since replaced by one asking everyone again no longer counts: the
  // person accepts the new text here (probe KC: the row said so and offered only "withdraw").
  const outdated = decision?.decision === Decision.DENY && decision.reason === Reason.NOTICE_OUTDATED;
  const again = [ConsentState.WITHDRAWN, ConsentState.REFUSED, ConsentState.EXPIRED].includes(row.state) || outdated;
  // Not for a STOP (every purpose), nor for a purpose asking for a double opt-in unless the
  // page names the person by their e-mail address: its code goes to an address the grant names
  // (by a portal token's external id, the click failed for good; probe HH).
  const known = purposes.get(target.purpose);
  if (again && target.purpose && target.purpose !== "*" && known && recordable(known)) {
    const words = outdated ? t().acceptNewText : t().grantAgain;
    const label = `${words}${language === "fr" ? " : " : ": "}${what}`;
    cell.append(button(words, () => void grant(target), { className: "grant secondary", ariaLabel: label }));
  }
  if (row.state === ConsentState.GRANTED || row.state === ConsentState.PENDING) {
    const label = `${t().withdraw}${language === "fr" ? " : " : ": "}${what}`; // French spacing in French only
    cell.append(button(t().withdraw, () => void withdraw(target), { className: "withdraw secondary", ariaLabel: label }));
  }
  return cell;
}

// Each cell named by its column's header, shown above it on a phone's width (index.html).
function labelCells(table: HTMLElement): void {
  const heads = [...table.querySelectorAll("thead th")].map((th) => th.textContent ?? "");
  for (const row of table.querySelectorAll("tbody tr")) {
    [...row.children].forEach((cell, at) => ((cell as HTMLElement).dataset.label = heads[at] ?? ""));
  }
}

function cells(row: HTMLTableRowElement, values: (string | Node | null)[]): void {
  for (const value of values) {
    const cell = document.createElement("td");
    if (value) cell.append(value);
    row.append(cell);
  }
}

// Why a grant on record no longer counts (GetSubjectConsents' decisions): said under its state.
function caveatOf(decision: TargetDecision | undefined): string {
  const reason = decision?.decision === Decision.DENY ? decision.reason : undefined;
  if (reason === Reason.NOTICE_OUTDATED) return t().caveats.outdated;
  if (reason === Reason.RESTRICTED || reason === Reason.OBJECTED) return t().caveats.paused;
  return "";
}

function showConsents(rows: CurrentConsent[], decisions: TargetDecision[]): void {
  const body = byId("consents").querySelector("tbody")!;
  body.replaceChildren();
  rows
    .map((row, at) => ({ row, decision: decisions[at] }))
    // "Everything" of every channel is the button below; one channel's stop is a row of its own.
    .filter(({ row }) => !row.appliesToAll || row.target?.channel)
    .forEach(({ row, decision }, index) => {
      const tr = document.createElement("tr");
      const target = row.target!;
      tr.dataset.purpose = target.purpose;
      tr.dataset.channel = Channel[target.channel];
      tr.dataset.state = ConsentState[row.state];
      const purpose = document.createElement("div");
      purpose.append(row.appliesToAll ? t().all : purposeName(target.purpose));
      const notice = noticeOf(row);
      if (notice) purpose.append(notice);
      const state = Object.assign(document.createElement("span"), { textContent: stateName(row.state) });
      if (row.state === ConsentState.PENDING) state.className = "state-pending";
      const caveat = row.state === ConsentState.GRANTED ? caveatOf(decision) : "";
      if (caveat) {
        tr.dataset.caveat = Reason[decision!.reason];
        state.append(Object.assign(document.createElement("small"), { className: "caveat", textContent: ` — ${caveat}` }));
      }
      cells(tr, [purpose, channelName(target.channel), state, when(row.updatedAt)]);
      tr.append(actionsOf(row, index, decision));
      body.append(tr);
    });
  labelCells(byId("consents"));
  byId("no-consents").hidden = body.children.length > 0;
  // Always open: "withdraw everything" is also the person's objection to what needs no consent
  // (legitimate interest), which this list does not show (GDPR art. 21(2)).
  byId<HTMLButtonElement>("withdraw-all").disabled = false;
}

function showHistory(events: ConsentEvent[]): void {
  const body = byId("history").querySelector("tbody")!;
  body.replaceChildren();
  for (const event of events) {
    const tr = document.createElement("tr");
    tr.dataset.state = ConsentState[event.state];
    const target = event.target!;
    const purpose = event.appliesToAll ? t().all : purposeName(target.purpose);
    // "Everything" names its channel when it is one channel's (a STOP to a text message).
    const channel = channelName(target.channel);
    cells(tr, [when(event.recordedAt), purpose, channel, stateName(event.state), origin(event)]);
    body.append(tr);
  }
  labelCells(byId("history"));
}

async function loadCatalog(rows: CurrentConsent[]): Promise<void> {
  const listed = await catalog.listPurposes({ pageSize: 500 });
  purposes.clear();
  for (const purpose of listed.purposes) purposes.set(purpose.purposeId, purpose);
  // The texts of the rows shown, and of the purposes offered (each offer shows its text).
  const shown = [...rows.map((r) => r.noticeId || purposes.get(r.target?.purpose ?? "")?.noticeId), ...offered().map((p) => p.noticeId)];
  const ids = [...new Set(shown.filter((id): id is string => Boolean(id)))];
  const lists = await Promise.all(ids.map((noticeId) => catalog.listNotices({ noticeId, pageSize: 500 })));
  for (const notice of lists.flatMap((l) => l.notices)) {
    notices.set(`${notice.noticeId}@${notice.version}`, notice);
    if (notice.version >= (latestNotice.get(notice.noticeId)?.version ?? 0)) latestNotice.set(notice.noticeId, notice);
  }
}

// What the page offers to opt in to: the purposes that ask for consent and whose grant the page
// can record, on the channels the page can stop. Without it a person could only opt back in to
// what they had once been asked (a purpose added to the catalogue later was out of their reach).
const OFFERED_CHANNELS = [Channel.EMAIL, Channel.SMS, Channel.VOICE_CALL];
const offered = () => [...purposes.values()].filter((p) => p.lawfulBasis === LawfulBasis.CONSENT && recordable(p));

// A double opt-in's code goes to the address the grant names: only a page naming the person by
// their e-mail address (a preference link mailed to them) can ask for one.
function recordable(purpose: Purpose): boolean {
  return !purpose.requiresConfirmation || subject.ref.case === "email";
}

// One row per purpose with a button per channel the person has made no choice on yet (a
// withdrawal or a refusal is a choice: its row above offers to opt in again).
function showOffers(rows: CurrentConsent[]): void {
  const key = (purpose: string, channel: Channel) => `${purpose}/${channel}`;
  const recorded = new Set(
    rows.filter((r) => !r.appliesToAll && r.target?.scope === PartyScope.FIRST_PARTY).map((r) => key(r.target!.purpose, r.target!.channel)),
  );
  const body = byId("offers").querySelector("tbody")!;
  body.replaceChildren();
  for (const purpose of offered()) {
    const open = OFFERED_CHANNELS.filter((channel) => !recorded.has(key(purpose.purposeId, channel)));
    if (!open.length) continue;
    const tr = document.createElement("tr");
    tr.dataset.purpose = purpose.purposeId;
    const name = document.createElement("div");
    name.append(purposeName(purpose.purposeId));
    if (purpose.description) name.append(Object.assign(document.createElement("p"), { className: "description", textContent: purpose.description }));
    const notice = inForce(purpose.purposeId);
    if (notice) name.append(noticeDetails(notice, t().currentNotice));
    const choices = document.createElement("td");
    for (const channel of open) {
      const target = { purpose: purpose.purposeId, channel, scope: PartyScope.FIRST_PARTY } as ConsentTarget;
      const label = `${t().optIn}${language === "fr" ? " : " : ": "}${purposeName(purpose.purposeId)} — ${channelName(channel)}`;
      choices.append(button(channelName(channel), () => void grant(target, true), { className: "offer secondary", ariaLabel: label }));
      choices.lastElementChild!.setAttribute("data-channel", Channel[channel]);
    }
    cells(tr, [name]);
    tr.append(choices);
    body.append(tr);
  }
  labelCells(byId("offers"));
  byId("offers-section").hidden = body.children.length === 0;
}

async function refresh(): Promise<void> {
  const current = await consents.getSubjectConsents({ subject });
  await loadCatalog(current.consents);
  showConsents(current.consents, current.decisions);
  showOffers(current.consents);
  showHistory((await consents.listConsentHistory({ subject, pageSize: 100 })).events);
}

function translate(): void {
  document.documentElement.lang = language;
  for (const choice of ["fr", "en"]) byId(`lang-${choice}`).setAttribute("aria-pressed", String(choice === language));
  document.title = t().title;
  for (const node of document.querySelectorAll<HTMLElement>("[data-i18n]")) {
    node.textContent = t()[node.dataset.i18n as keyof ReturnType<typeof t>] as string;
  }
  for (const stop of document.querySelectorAll<HTMLButtonElement>(".stop-channel")) {
    stop.textContent = channelName(Channel[stop.dataset.channel as keyof typeof Channel]);
  }
}

async function request(kind: RightsRequestKind): Promise<void> {
  await act(async () => {
    // Verified by the portal token itself: no code to send (there is nowhere to enter one).
    const filed = await rights.submitRightsRequest({ kind, subject });
    const due = filed.request?.dueAt ?? filed.request?.receivedAt;
    byId("rights-title").parentElement!.dataset.requested = RightsRequestKind[kind];
    return t().requested.replace("{id}", filed.request?.requestId.slice(0, 8) ?? "").replace("{due}", when(due));
  });
}

// The person's data at once (GDPR art. 15, 20), as the JSON document ExportSubject answers;
// the export request below stays for what a DPO sends within the month.
async function download(): Promise<void> {
  await act(async () => {
    const exported = await rights.exportSubject({ subject });
    const file = `${t().dataFile}-${new Date().toISOString().slice(0, 10)}.json`;
    const link = Object.assign(document.createElement("a"), {
      href: URL.createObjectURL(new Blob([exported.documentJson], { type: "application/json" })),
      download: file,
    });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
    return t().downloaded.replace("{file}", file);
  });
}

async function start(): Promise<void> {
  byId("page").hidden = false; // without JavaScript it stays hidden: the <noscript> says why
  translate();
  for (const choice of ["fr", "en"] as const) {
    byId(`lang-${choice}`).addEventListener("click", () => {
      language = choice;
      sessionStorage.setItem(LANGUAGE, choice);
      translate();
      void act(async () => t().loaded); // rows and dates again, in the new language
    });
  }
  byId("withdraw-all").addEventListener("click", () =>
    void act(async () => {
      await consents.withdrawConsent({ subject, all: true, source: Source.PORTAL, actor: "self" });
      return t().withdrawnAll;
    }),
  );
  for (const stop of document.querySelectorAll<HTMLButtonElement>(".stop-channel")) {
    const channel = Channel[stop.dataset.channel as keyof typeof Channel];
    stop.addEventListener("click", () =>
      void act(async () => {
        await consents.withdrawConsent({ subject, all: true, channel, source: Source.PORTAL, actor: "self" });
        return t().stoppedChannel.replace("{what}", channelName(channel));
      }),
    );
  }
  byId("download-data").addEventListener("click", () => void download());
  byId("request-export").addEventListener("click", () => void request(RightsRequestKind.PORT));
  byId("request-rectification").addEventListener("click", () => void request(RightsRequestKind.RECTIFY));
  byId("request-restriction").addEventListener("click", () => void request(RightsRequestKind.RESTRICT));
  // Erasure cannot be undone: asked for, then confirmed with a second button shown below it.
  // Focus goes to the warning, not to that button: two presses of Enter filed the request
  // (probe ZD); Cancel or Escape closes it and gives focus back.
  const closeErasure = (): void => {
    byId("erasure-confirm").hidden = true;
    byId("request-erasure").focus();
  };
  byId("request-erasure").addEventListener("click", () => {
    byId("erasure-confirm").hidden = false;
    byId("erasure-warning").focus();
  });
  byId("cancel-erasure").addEventListener("click", closeErasure);
  byId("erasure-confirm").addEventListener("keydown", (event) => {
    if (event.key === "Escape") closeErasure();
  });
  byId("confirm-erasure").addEventListener("click", () => {
    byId("erasure-confirm").hidden = true;
    void request(RightsRequestKind.ERASE);
  });
  if (!token) {
    byId("error").textContent = t().noToken;
    // A tenant's site links here with its id (`#tenant=<id>`): the person may ask for their link.
    await offerAskLink(fragment.get("tenant") ?? "");
    document.body.dataset.ready = "error";
    disableActions();
    return;
  }
  try {
    byId("status").textContent = t().loading;
    await refresh();
    byId("status").textContent = t().loaded;
    document.body.dataset.ready = "true";
  } catch (error) {
    byId("status").textContent = "";
    byId("error").textContent = problem(error);
    // Nothing on the page can act for anyone (an expired link, a person erased): no button
    // offers to, and a dead token is not kept for a reload (probe HD).
    disableActions();
    if ([Code.Unauthenticated, Code.NotFound].includes(ConnectError.from(error).code)) deadLink();
    // An expired link (the main reason to come without a good one): its tenant's page mails a
    // new one (probe MA).
    if (ConnectError.from(error).code === Code.Unauthenticated) await offerAskLink(claimOf(token, "tid"));
    document.body.dataset.ready = "error";
  }
}

// The page that mails a person their link (/preferences/link/<tenant id>, served when consentd
// mails links), offered when the page has no good token, and only when it is served (without
// a mail relay it was offered anyway, and answered a bare "not found"; probe UB).
async function offerAskLink(tenant: string): Promise<void> {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(tenant) || document.getElementById("ask-link")) return;
  const href = `/preferences/link/${tenant}`;
  const served = await fetch(href, { credentials: "omit" }).then((answer) => answer.ok, () => false);
  if (!served || document.getElementById("ask-link")) return;
  const ask = Object.assign(document.createElement("a"), { id: "ask-link", href, textContent: t().askLink });
  const paragraph = document.createElement("p");
  paragraph.append(ask);
  byId("error").after(paragraph);
}

// Nothing on the page can act any more: no button offers to, and the token is not kept.
function deadLink(): void {
  disableActions();
  sessionStorage.removeItem(STORED);
}

function disableActions(): void {
  for (const action of document.querySelectorAll<HTMLButtonElement>("main button:not([lang])")) {
    action.disabled = true;
  }
  // Nothing to show nor do: empty tables, greyed buttons and the intro's promise read as a
  // page that works (probe ZD); the error, focused, is what a screen reader reads.
  for (const section of document.querySelectorAll<HTMLElement>("main section")) section.hidden = true;
  byId("intro").hidden = true;
  const error = byId("error");
  error.tabIndex = -1;
  error.focus();
}

void start();
