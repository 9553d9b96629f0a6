#!/usr/bin/env bash
# The searched arch under a FLOPs limit against random archs under the same limit, each retrained
# stand-alone with 3 seeds (issue 6's measurement):
#   bash benchmarks/search_digits.sh [SUPERNET_RUN] [OUT_DIR]
# SUPERNET_RUN defaults to the first supernet of configs/ablate_rank_digits.yaml (hnas ablate).
set -euo pipefail
config=configs/digits_rank_benchmark.yaml
run=${1:-benchmarks/out/ablate_rank_digits/runs/supernet/seed0}
out=${2:-benchmarks/out/search_digits}
limit=700000   # MACs at 8x8: about the 20th percentile of uniformly drawn archs
mkdir -p "$out"
hnas search "$config" --checkpoint "$run" --out "$out/evolution" --method evolution --max_flops $limit \
    --generations 10 --population 20 --parents 5 --mutations 10 --crossovers 10 --top_k 3 --seed 0
hnas search "$config" --checkpoint "$run" --out "$out/random" --method random --max_flops $limit \
    --budget 5 --top_k 5 --seed 1
python - "$out" <<'PY'
import json, sys
out = sys.argv[1]
top = json.load(open(f"{out}/evolution/top.json"))
rand = json.load(open(f"{out}/random/scored.json"))
archs = {f"searched{i + 1}": {"arch": e["arch"], "acc": 0.0} for i, e in enumerate(top.values())}
archs.update({f"random{i + 1}": {"arch": e["arch"], "acc": 0.0} for i, e in enumerate(rand.values())})
json.dump(archs, open(f"{out}/retrain.json", "w"), indent=1)
PY
hnas groundtruth "$config" --archs "$out/retrain.json" --out "$out/retrained.json" --seeds 3 --workers 2
python - "$out" <<'PY'
import json, sys
import numpy as np
from hnas.proxies import count_flops
from hnas.spaces import ResNet20Space
out, space = sys.argv[1], ResNet20Space()
result = json.load(open(f"{out}/retrained.json"))
print("| arch | kind | MACs | stand-alone acc (mean ± std, 3 seeds) | loss |")
print("|---|---|---|---|---|")
for key, e in result.items():
    macs = count_flops(space, space.parse(e["arch"]), 8, 10)
    print(f"| {e['arch']} | {key} | {macs} | {e['acc']:.4f} ± {e['acc_std']:.4f} | {e['loss']:.4f} |")
for kind in ("searched", "random"):
    accs = [e["acc"] for k, e in result.items() if k.startswith(kind)]
    print(f"{kind}: mean stand-alone acc {np.mean(accs):.4f} over {len(accs)} archs")
PY
