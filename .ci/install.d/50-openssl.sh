#!/usr/bin/env bash
# openssl: the gateway's certificate tests make a self-signed certificate at test time
# (crates/gateway/tests/certificates.rs).
set -euo pipefail
if command -v openssl >/dev/null 2>&1; then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1; then
  apt-get install -y -qq openssl >/dev/null
else
  echo "warning: apt-get not found; install openssl to run the certificate tests" >&2
fi
