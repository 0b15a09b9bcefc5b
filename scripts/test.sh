#!/usr/bin/env bash
# README command 2: set everything up, then run the whole test suite:
# ruff, mypy --strict, eslint + prettier, tsc, Jest, the Galata ui-tests in Debian's Chromium, pytest.
# Any failure, and a pytest run that collects no test, fails the script.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh

step "ruff (lint + format check)"
ruff check .
ruff format --check .

step "mypy --strict"
mypy

step "eslint + prettier, tsc, Jest"
npm run --silent lint
npm run --silent typecheck
npm test --silent

step "ui-tests: Galata in Debian's Chromium"
bash scripts/ensure-chromium.sh
(
  cd ui-tests
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund --loglevel=error
  npx playwright test
)

step "pytest"
set +e
pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "test.sh: pytest collected no tests: that is a failure" >&2
  exit 1
fi
exit "$status"
