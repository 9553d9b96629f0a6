#!/usr/bin/env bash
# Install hnas and its pinned dependencies into the current Python environment.
# GPU machines: set HNAS_GPU=1 to install paddlepaddle-gpu==2.6.2 instead of the CPU wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -r requirements.txt
if [[ ${HNAS_GPU:-0} == 1 ]]; then
  python -m pip uninstall -y paddlepaddle
  python -m pip install paddlepaddle-gpu==2.6.2
fi
python -m pip install -e . --no-deps
