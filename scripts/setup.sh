#!/usr/bin/env bash
# Sets up a development environment from nothing but Python 3.10+, Node 20 and npm:
# a virtual environment in .venv with jupyter-repro installed by `pip install .` (which builds the
# TypeScript with npm and installs the prebuilt JupyterLab extension and the server-extension config).
# Sourced by demo.sh and test.sh; safe to run again (it reinstalls the package, keeping the venv).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
EXTRAS=${EXTRAS:-test}

step() { printf '\n==> %s\n' "$*"; }

command -v node >/dev/null || { echo "setup: Node.js (>= 20) is required to build the JupyterLab extension" >&2; exit 2; }
command -v npm >/dev/null || { echo "setup: npm is required to build the JupyterLab extension" >&2; exit 2; }

if [ ! -x "$VENV/bin/python" ]; then
  step "creating virtual environment $VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
fi

step "pip install .[$EXTRAS] (builds the TypeScript with npm)"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
"$VENV/bin/python" -m pip install --quiet ".[$EXTRAS]"

export PATH="$PWD/$VENV/bin:$PATH"
hash -r
