#!/usr/bin/env bash
# Installs Debian's Chromium for the ui-tests when it is missing (Playwright cannot download browsers
# here). Needs root or sudo; CHROMIUM_PATH may point at another Chromium instead.
set -euo pipefail
chromium=${CHROMIUM_PATH:-/usr/bin/chromium}
if [ -x "$chromium" ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null; then
  sudo=(sudo)
else
  echo "ensure-chromium: $chromium is missing and neither root nor sudo is available: install 'chromium' or set CHROMIUM_PATH" >&2
  exit 2
fi
echo "ensure-chromium: installing Debian's chromium (apt-get)"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq chromium >/dev/null
"$chromium" --version
