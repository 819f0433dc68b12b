#!/usr/bin/env bash
# Installs what Learnstream needs on a fresh machine, idempotently:
#   - system tools: Java 17 + Maven (to fetch and run Apache Kafka), PostgreSQL server binaries
#   - a project virtualenv in .venv with the package and its dev extras
# Safe to run repeatedly; it only does work when something is missing or pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v java >/dev/null 2>&1 || need_apt+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || need_apt+=(maven)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need_apt+=(postgresql)
scripts/apt-install.sh bootstrap "${need_apt[@]}"

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv"
  "$python" -m venv .venv
fi
stamp=.venv/.learnstream-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ requirements.lock -nt "$stamp" ]; then
  echo "bootstrap: installing learnstream and its locked dependencies into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  # The lock (scripts/lock.sh) pins every distribution: a fresh clone installs what the
  # tests last passed with, not whatever is newest on the day.
  .venv/bin/python -m pip install -q -c requirements.lock -e '.[dev]'
  touch "$stamp"
fi
