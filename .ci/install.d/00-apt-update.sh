#!/usr/bin/env bash
# Refresh Debian's package lists once, for the installers that follow.
set -euo pipefail
if command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq || echo "warning: apt-get update failed; later installs may miss packages"
fi
