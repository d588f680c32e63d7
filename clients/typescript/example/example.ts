// Records a consent, checks it (ALLOW), withdraws it and checks again (DENY) from Node, with the
// generated client and Connect-ES over native gRPC (@connectrpc/connect-node).
// CONSENTD_ADDR (default 127.0.0.1:50051) and CONSENTD_API_KEY (admin: it creates its purpose)
// configure it; CONSENTD_EMAIL names the subject. Run: npx tsx clients/typescript/example/example.ts
import { randomUUID } from "node:crypto";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  CatalogService,
  Channel,
  ConsentService,
  ConsentState,
  Decision,
  LawfulBasis,
  PartyScope,
  Source,
} from "../src/index";

const apiKey = process.env.CONSENTD_API_KEY ?? "";
if (apiKey === "") {
  console.error("CONSENTD_API_KEY is not set");
  process.exit(2);
}
const address = process.env.CONSENTD_ADDR ?? "127.0.0.1:50051";
const email = process.env.CONSENTD_EMAIL ?? `node-example-${randomUUID()}@example.org`;

// The API key on every call; a fresh idempotency key on every write (the contract's
// idempotency_level tells reads apart), so a retried write is applied once.
const credentials: Interceptor = (next) => (request) => {
  request.header.set("authorization", `Bearer ${apiKey}`);
  if (request.method.idempotency !== MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS) {
    request.header.set("idempotency-key", randomUUID());
  }
  return next(request);
};
const transport = createGrpcTransport({
  baseUrl: `http://${address}`,
  interceptors: [credentials],
  defaultTimeoutMs: 10_000,
});
const catalog = createClient(CatalogService, transport);
const consent = createClient(ConsentService, transport);

await catalog.putPurpose({
  purpose: { purposeId: "newsletter", displayName: "Newsletter", lawfulBasis: LawfulBasis.CONSENT },
});
const target = { purpose: "newsletter", channel: Channel.EMAIL, scope: PartyScope.FIRST_PARTY };
const recorded = await consent.recordConsent({
  subject: { email },
  choices: [{ target, state: ConsentState.GRANTED }],
  source: Source.API,
  actor: "node-example",
});
console.log(`recorded subject=${recorded.subjectId} events=${recorded.events.length}`);
const subject = { ref: { case: "subjectId" as const, value: recorded.subjectId } };

async function expect(step: string, want: Decision): Promise<void> {
  const answer = await consent.checkConsent({ subject, target });
  console.log(`check after ${step}: DECISION_${Decision[answer.decision]}`);
  if (answer.decision !== want) {
    throw new Error(`expected DECISION_${Decision[want]} after ${step}`);
  }
}

await expect("record", Decision.ALLOW);
await consent.withdrawConsent({ subject, targets: [target], source: Source.API, actor: "node-example" });
console.log("withdrawn");
await expect("withdraw", Decision.DENY);
