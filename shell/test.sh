#!/usr/bin/env bash
# Score an arch list with the trained supernet and write the submission JSON.
#   bash shell/test.sh [CONFIG] [--archs IN.json] [--out OUT.json] [--section.key value ...]
# With no arguments: the quickstart run's checkpoint scores 100 archs sampled with seed 0
# (written next to the checkpoint as archs_100.json) into checkpoints/quickstart/submission.json.
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=configs/quickstart.yaml
if [[ $# -gt 0 && $1 != --* ]]; then CONFIG=$1; shift; fi
NAME=$(basename "$CONFIG" .yaml)
RUN=checkpoints/$NAME
ARCHS="" OUT="" CHECKPOINT="" REST=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --archs) ARCHS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --checkpoint) CHECKPOINT=$2; shift 2 ;;
    --output.dir) RUN=$2; REST+=("$1" "$2"); shift 2 ;;
    *) REST+=("$1"); shift ;;
  esac
done
CHECKPOINT=${CHECKPOINT:-$RUN}
if [[ -z $ARCHS ]]; then
  ARCHS=$RUN/archs_100.json
  [[ -f $ARCHS ]] || python -m hnas sample "$ARCHS" --n 100 --seed 0
fi
OUT=${OUT:-$RUN/submission.json}
exec python -m hnas test "$CONFIG" --checkpoint "$CHECKPOINT" --archs "$ARCHS" --out "$OUT" "${REST[@]}"
