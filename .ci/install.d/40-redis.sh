#!/usr/bin/env bash
# redis-server for the engine's shared-counter tests (crates/engine/tests/limits_redis.rs).
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1; then
  apt-get install -y -qq redis-server >/dev/null
  # The tests start their own servers; the packaged service is not needed.
  if command -v service >/dev/null 2>&1; then service redis-server stop >/dev/null 2>&1 || true; fi
else
  echo "warning: apt-get not found; install redis-server to run the Redis tests" >&2
fi
