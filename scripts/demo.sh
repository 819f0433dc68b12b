#!/usr/bin/env bash
# The main job, end to end: install, start the local stack (Kafka + PostgreSQL), migrate,
# simulate learners into Kafka, ingest, project, and print what landed.
# Arguments are passed to `learnstream demo` (see `learnstream demo --help`). With
# --serve-example it then serves the JavaScript client's example page until Ctrl-C, so the
# client is set up and built first (scripts/js-setup.sh); without it the run ends by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
for arg in "$@"; do
  if [ "$arg" = "--serve-example" ]; then
    scripts/js-setup.sh
    break
  fi
done
exec .venv/bin/learnstream demo "$@"
