#!/usr/bin/env bash
# What the JavaScript client's tests need (clients/js), idempotently:
#   - Node.js 18+ and npm (Debian's nodejs and npm when missing)
#   - Chromium for the browser test (Debian's chromium, /usr/bin/chromium, when missing)
#   - the locked dev dependencies (npm ci: typescript, playwright-core; no browser download)
#   - the compiled package (npm run build -> clients/js/dist)
# scripts/test.sh runs it before pytest. Installing system packages needs root, as in
# scripts/bootstrap.sh; otherwise it says what to install.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  need_apt+=(nodejs npm)
elif ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)'; then
  echo "js-setup: Node $(node --version) is too old; the client needs Node 18 or later" >&2
  exit 1
fi
[ -x "${LS_CHROMIUM:-/usr/bin/chromium}" ] || need_apt+=(chromium)
scripts/apt-install.sh js-setup "${need_apt[@]}"

cd clients/js
# playwright-core never downloads a browser; the tests use Debian's chromium.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "js-setup: npm ci in clients/js"
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build
