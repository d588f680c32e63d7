#!/bin/sh
kill -TERM $(cat /tmp/p16/D/serve.pid); for i in $(seq 60); do kill -0 $(cat /tmp/p16/D/serve.pid) 2>/dev/null || exit 0; sleep 1; done; echo "still running"
