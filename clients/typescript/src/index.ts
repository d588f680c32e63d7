// The consent.v1 contract for TypeScript. Everything under gen/ comes from `make gen`
// (protoc-gen-es, pinned in the repository's package.json); this file only re-exports it.
export * from "./gen/consent/v1/types_pb";
export * from "./gen/consent/v1/consent_pb";
export * from "./gen/consent/v1/catalog_pb";
export * from "./gen/consent/v1/cookies_pb";
export * from "./gen/consent/v1/rights_pb";
export * from "./gen/consent/v1/audit_pb";
export * from "./gen/consent/v1/retention_pb";
export * from "./gen/consent/v1/campaign_pb";
