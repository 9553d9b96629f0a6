#!/usr/bin/env bash
# Create .venv (if missing) and install hnas with its pinned dependencies into it.
# GPU machines: HNAS_GPU=1 bash shell/setup.sh installs paddlepaddle-gpu==2.6.2 instead of the CPU wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[[ -x .venv/bin/python ]] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements.txt
if [[ ${HNAS_GPU:-0} == 1 ]]; then
  .venv/bin/python -m pip uninstall -y -q paddlepaddle
  .venv/bin/python -m pip install -q paddlepaddle-gpu==2.6.2
fi
.venv/bin/python -m pip install -q --no-deps -e .
