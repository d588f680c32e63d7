#!/bin/sh
# usage: start.sh [faketime-spec]
cd /tmp/p16/src
export PYTHONPATH=/tmp/p16/src/service CONSENTD_DATA_DIR=/tmp/p16/D/data CONSENTD_GRPC_ADDRESS=127.0.0.1:51191 CONSENTD_HTTP_ADDRESS=127.0.0.1:8991 CONSENTD_METRICS_ADDRESS=off
export CONSENTD_SMTP_HOST=127.0.0.1 CONSENTD_SMTP_PORT=2525 CONSENTD_SMTP_TLS=none CONSENTD_SMTP_FROM=dpo@consentd.test CONSENTD_PREFERENCES=true
if [ -n "$1" ]; then
  nohup faketime -f "$1" /work/main/.venv/bin/consentd serve >> /tmp/p16/D/serve.log 2>&1 &
else
  nohup /work/main/.venv/bin/consentd serve >> /tmp/p16/D/serve.log 2>&1 &
fi
echo $! > /tmp/p16/D/serve.pid
