#!/usr/bin/env bash
# README command 1: set everything up, then run the main job on the bundled example notebook.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
EXTRAS=${EXTRAS:-examples}
source scripts/setup.sh

step "the pipeline in examples/sales_report.ipynb"
jupyter repro steps examples/sales_report.ipynb

step "verify that it reproduces its saved outputs (headless, fresh kernel, cached steps)"
jupyter repro verify examples/sales_report.ipynb
