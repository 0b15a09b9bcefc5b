#!/usr/bin/env bash
# README command 1: set everything up, then run the main job on the bundled example notebook.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
EXTRAS=${EXTRAS:-examples}
source scripts/setup.sh

step "jupyter repro on examples/sales_report.ipynb"
jupyter repro --version
jupyter labextension list 2>&1 | grep -i "jupyter-repro"
jupyter server extension list 2>&1 | grep -i "jupyter_repro"
