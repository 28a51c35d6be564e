#!/usr/bin/env bash
# Tests the web client: type check, Vitest unit tests (transport, store, Markdown), then the
# end-to-end suite in Debian's Chromium against the real stack (redis-server, parley-gateway,
# parley-worker with a real model), which needs the C++ build (PARLEY_BUILD_DIR, default
# build/parley) and web/dist. Screenshots and logs go to test-artifacts/e2e/.
# E2E=0 skips the browser suite; E2E=required fails when its prerequisites are missing (CI sets it).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/web"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npx tsc --noEmit -p tsconfig.json
npx vitest run
[ "${E2E:-1}" = "0" ] && exit 0
"$root/scripts/build-web.sh"
# `make test BUILD_DIR=...` passes its build folder down; PARLEY_BUILD_DIR wins when set.
export PARLEY_BUILD_DIR="${PARLEY_BUILD_DIR:-${BUILD_DIR:-build/parley}}"
export PARLEY_E2E_REQUIRED=$([ "${E2E:-1}" = "required" ] || [ "${CI:-}" = "true" ] && echo 1 || echo 0)
mkdir -p "$root/test-artifacts/e2e"
npm run --silent e2e
