#!/usr/bin/env bash
# The whole test suite: unit tests and integration tests against the real local stack
# (started by the test session and left running for the next run; `learnstream stack down`
# stops it). Arguments are passed to pytest, e.g. `scripts/test.sh -m "not integration"`.
# The JavaScript client's tests (markers js and browser) need Node, npm and Chromium:
# scripts/js-setup.sh installs them when missing and builds clients/js.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
scripts/js-setup.sh
exec .venv/bin/python -m pytest "$@"
