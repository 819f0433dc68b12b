#!/usr/bin/env bash
# The main job, end to end: install, start the local stack (Kafka + PostgreSQL), migrate,
# simulate learners into Kafka, ingest, project, and print what landed.
# Arguments are passed to `learnstream demo` (see `learnstream demo --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/learnstream demo "$@"
