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
if ((${#need_apt[@]})); then
  if [ "$(id -u)" = 0 ]; then
    echo "bootstrap: installing ${need_apt[*]} with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "bootstrap: please install: ${need_apt[*]} (e.g. sudo apt-get install ${need_apt[*]})" >&2
    exit 1
  fi
fi

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
