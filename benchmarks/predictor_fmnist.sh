#!/usr/bin/env bash
# The accuracy predictor on the Fashion-MNIST benchmark (issue 24): 3 quickstart-recipe supernets
# (the benchmark recipe at 15 epochs with weight decay 5e-4, the ablation's row "3rd place (shared FC),
# weight decay 5e-4"), each scoring the 48 ground-truth archs and 5,000 uniformly sampled archs on 200
# test images (10% of the recipe's 2,000), and the 48 and the first 2,000 of the 5,000 as the recipe says
# (2,000 images: about 0.6-1 s per arch here, so 5,000 archs x 3 seeds would take 4 hours).
# Every step resumes; the scores are committed under benchmarks/out/predict_fmnist/, so the table
# rebuilds in seconds:
#   bash benchmarks/predictor_fmnist.sh && python benchmarks/predictor_fmnist.py
set -euo pipefail
cd "$(dirname "$0")/.."
recipe=configs/fmnist_rank_benchmark.yaml
out=benchmarks/out/predict_fmnist
recipe_flags=(--train.epochs 15 --train.weight_decay 0.0005)
mkdir -p "$out"
[[ -f $out/archs_5000.json ]] || hnas sample "$out/archs_5000.json" --n 5000 --seed 24
[[ -f $out/archs_2000.json ]] || python -c "import json, sys; d = json.load(open(sys.argv[1])); \
json.dump(dict(list(d.items())[:2000]), open(sys.argv[2], 'w'))" "$out/archs_5000.json" "$out/archs_2000.json"
for seed in ${SEEDS:-0 1 2}; do
  run=checkpoints/predict_fmnist/seed$seed
  [[ -f $run/trained ]] || { hnas train "$recipe" "${recipe_flags[@]}" --train.seed "$seed" --output.dir "$run" && touch "$run/trained"; }
  mkdir -p "$out/seed$seed"
  for scoring in gt48:200 gt48:2000 archs_5000:200 archs_2000:2000; do
    list=${scoring%:*} images=${scoring#*:}
    archs=$out/$list.json
    [[ $list == gt48 ]] && archs=benchmarks/fmnist_archs.json
    scores=$out/seed$seed/${list}_${images}img.json
    [[ -f $scores ]] || hnas test "$recipe" "${recipe_flags[@]}" --train.seed "$seed" --checkpoint "$run" \
        --archs "$archs" --out "$scores" --eval.max_images "$images"
  done
done
