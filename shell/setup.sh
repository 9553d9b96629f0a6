#!/usr/bin/env bash
# Create a venv (if missing) and install hnas with its pinned dependencies into it.
#   bash shell/setup.sh                        the default stack, Paddle 2.6.2 + PaddleSlim 2.6.0, numpy 1, in .venv
#   HNAS_STACK=paddle3 bash shell/setup.sh     Paddle 3.3.1 + PaddleSlim 2.6.0, numpy 2, in .venv-paddle3
# GPU machines: HNAS_GPU=1 installs the GPU wheel instead of the CPU one: paddlepaddle-gpu==2.6.2 from PyPI,
# or for Paddle 3 paddlepaddle-gpu==3.3.1 from Paddle's own index (HNAS_PADDLE_INDEX, default CUDA 11.8).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
STACK=${HNAS_STACK:-default}
case $STACK in
  default) VENV=${HNAS_VENV:-.venv}; REQUIREMENTS=requirements.txt; PADDLE=2.6.2 ;;
  paddle3) VENV=${HNAS_VENV:-.venv-paddle3}; REQUIREMENTS=requirements-paddle3.txt; PADDLE=3.3.1 ;;
  *) echo "setup.sh: HNAS_STACK=$STACK: expected default or paddle3" >&2; exit 2 ;;
esac
[[ -x $VENV/bin/python ]] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -r "$REQUIREMENTS"
[[ $STACK == paddle3 ]] && "$VENV/bin/python" -m pip install -q --no-deps paddleslim==2.6.0
if [[ ${HNAS_GPU:-0} == 1 ]]; then
  "$VENV/bin/python" -m pip uninstall -y -q paddlepaddle
  if [[ $STACK == paddle3 ]]; then
    "$VENV/bin/python" -m pip install -q "paddlepaddle-gpu==$PADDLE" \
      -i "${HNAS_PADDLE_INDEX:-https://www.paddlepaddle.org.cn/packages/stable/cu118/}"
  else
    "$VENV/bin/python" -m pip install -q "paddlepaddle-gpu==$PADDLE"
  fi
fi
"$VENV/bin/python" -m pip install -q --no-deps -e .
