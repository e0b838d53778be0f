#!/usr/bin/env bash
# Runs one expression through the C# oracle (Mono) and prints its value and .NET type, or the
# exception or compile error. Usage:
#   crates/csharp/oracle/run-one.sh 'EXPR' [context.json]
# EXPR is @(...) or @{...} (a bare expression is wrapped in @(...)); context.json follows
# CONTRACTS.md §A (default: all defaults). Needs mcs, mono and Newtonsoft.Json
# (.ci/install.d/20-mono.sh).
set -euo pipefail
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 'EXPR' [context.json]" >&2
  exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
ctx=""
if [ $# -eq 2 ]; then
  ctx="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
fi
cd "$here/../../.."
ORACLE_EXPR="$1" ORACLE_CONTEXT="$ctx" cargo test -q -p apim-csharp --test oracle -- --ignored --exact run_one --nocapture \
  | sed -n 's/^ORACLE //p'
