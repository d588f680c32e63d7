# syntax=docker/dockerfile:1
# consentd: a non-root image, no PostgreSQL inside (CONSENTD_EMBEDDED_POSTGRES=false: DATABASE_URL
# is required). Give it DATABASE_URL (the consentd_app runtime role), CONSENTD_SECRET_KEY and
# CONSENTD_AUDIT_SIGNING_KEY; run `consentd migrate` with CONSENTD_MIGRATION_DATABASE_URL (the
# owner) as a separate job before each rollout; probe with `consentd health` or a native gRPC
# probe on 50051. deploy/k8s/ runs it on Kubernetes; docs/operations.md says how to operate it.
# tests/unit/test_deployment.py checks this file's structure (no Docker on the CI machine).

FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY clients/python clients/python
COPY service service
RUN python -m venv /opt/consentd \
 && /opt/consentd/bin/pip install --no-cache-dir ./clients/python . \
 && /opt/consentd/bin/python -m compileall -q /opt/consentd/lib \
 && /opt/consentd/bin/consentd --help >/dev/null

# The browser pages (CONSENTD_DEMO, CONSENTD_PREFERENCES): TypeScript bundled with the pinned
# esbuild (from tsx), as `make setup` does.
FROM node:20-bookworm-slim AS web
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY clients/typescript clients/typescript
COPY web web
RUN npx esbuild web/demo/src/banner.ts --bundle --format=iife --target=es2022 --outfile=web/demo/dist/banner.js \
 && npx esbuild web/preferences/src/preferences.ts --bundle --format=iife --target=es2022 --outfile=web/preferences/dist/preferences.js

FROM python:3.11-slim-bookworm AS runtime
RUN groupadd --system --gid 10001 consentd \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin consentd
COPY --from=build /opt/consentd /opt/consentd
COPY migrations /opt/consentd/migrations
COPY --from=web /src/web /opt/consentd/web
# Bytecode is compiled above: the root filesystem can be read-only.
ENV PATH=/opt/consentd/bin:$PATH \
    CONSENTD_MIGRATIONS_DIR=/opt/consentd/migrations \
    CONSENTD_WEB_DIR=/opt/consentd/web \
    CONSENTD_EMBEDDED_POSTGRES=false \
    CONSENTD_GRPC_ADDRESS=0.0.0.0:50051 \
    CONSENTD_HTTP_ADDRESS=0.0.0.0:8080 \
    CONSENTD_METRICS_ADDRESS=0.0.0.0:9464 \
    CONSENTD_MIGRATE_ON_START=false \
    CONSENTD_LOG_FORMAT=json \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 10001:10001
EXPOSE 50051 8080 9464
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=6s --start-period=20s --retries=3 CMD ["consentd", "health"]
ENTRYPOINT ["consentd"]
CMD ["serve"]
