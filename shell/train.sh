#!/usr/bin/env bash
# Train a supernet. With no arguments: configs/quickstart.yaml on the bundled digits.
#   bash shell/train.sh [CONFIG] [--section.key value ...]
# Multi-GPU: python -m paddle.distributed.launch --gpus 0,1,2,3 -m hnas train CONFIG
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=configs/quickstart.yaml
if [[ $# -gt 0 && $1 != --* ]]; then CONFIG=$1; shift; fi
exec python -m hnas train "$CONFIG" "$@"
