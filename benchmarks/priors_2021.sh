#!/usr/bin/env bash
# Rank consistency of the priors against the real CVPR 2021 Track 1 stand-alone accuracies
# (the 1,000 archs of ../shared/anchors): bash benchmarks/priors_2021.sh [OUT_DIR]
set -euo pipefail
gt=${HNAS_ANCHORS:-../shared/anchors}/cvpr2021_track1_gt_first_1000.json
out=${1:-benchmarks/out/priors_2021}
mkdir -p "$out"
for prior in params flops zen; do
    start=$(date +%s)
    hnas proxy --archs "$gt" --proxy "$prior" --out "$out/$prior.json"
    echo "== $prior ($(( $(date +%s) - start )) s)"
    hnas rank --pred "$out/$prior.json" --gt "$gt" --plot "$out/$prior.png" --ks 10,50,100
done
