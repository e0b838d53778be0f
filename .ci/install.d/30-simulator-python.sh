#!/usr/bin/env bash
# Python packages for the simulator's SDK tests (tests/python, run by
# crates/simulator/tests/python_sdk.rs): the official openai SDK, tiktoken and pytest.
# Installs into the python3 found on PATH, which is the one the tests run.
set -euo pipefail
if ! command -v python3 >/dev/null 2>&1; then
  echo "warning: python3 not found; the simulator's SDK tests will fail under CI"
  exit 0
fi
if python3 -c 'import openai, tiktoken, pytest' >/dev/null 2>&1; then
  exit 0
fi
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore openai tiktoken pytest \
  || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages openai tiktoken pytest
