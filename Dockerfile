# syntax=docker/dockerfile:1
# consentd: a non-root image. No embedded PostgreSQL here: set DATABASE_URL, CONSENTD_SECRET_KEY
# and CONSENTD_AUDIT_SIGNING_KEY, run `consentd migrate` as a separate job, probe with
# `consentd health`.

FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY clients/python clients/python
COPY service service
RUN python -m venv /opt/consentd \
 && /opt/consentd/bin/pip install --no-cache-dir ./clients/python . \
 && /opt/consentd/bin/consentd --help >/dev/null

FROM python:3.11-slim-bookworm
RUN useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin consentd
COPY --from=build /opt/consentd /opt/consentd
COPY migrations /opt/consentd/migrations
ENV PATH=/opt/consentd/bin:$PATH \
    CONSENTD_MIGRATIONS_DIR=/opt/consentd/migrations \
    CONSENTD_GRPC_ADDRESS=0.0.0.0:50051 \
    CONSENTD_HTTP_ADDRESS=0.0.0.0:8080 \
    CONSENTD_MIGRATE_ON_START=false \
    CONSENTD_LOG_FORMAT=json \
    PYTHONDONTWRITEBYTECODE=1
USER 10001
EXPOSE 50051 8080
HEALTHCHECK --interval=10s --timeout=6s --retries=3 CMD ["consentd", "health"]
ENTRYPOINT ["consentd"]
CMD ["serve"]
