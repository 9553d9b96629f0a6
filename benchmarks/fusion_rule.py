"""The automatic fusion weight (hnas.fusion.weight_rule) against rankers of known strength and real supernets.

(b) Strong rankers: the real 1,000-arch 2021 ground truth (../shared/anchors) turned into rankers of
known strength: normal scores of the true ranks plus seeded Gaussian noise, the noise calibrated (on
seeds 1000-1009) so that they rank at Kendall tau-b 0.6, 0.75, 0.85 and 0.95; each fused with a prior
(hnas proxy's scores of the 1,000 archs) on 10 other noise seeds. Test: fused >= max(ranker alone,
prior alone) - 0.01 at every strength.
(a) Weak rankers: every cell (row x supernet seed) of the Fashion-MNIST ablation, fused with the Zen
prior: does the fused mean reach the prior's level, as the old fixed weight 2 did?
Then the rule's sensitivity to the prior strength it assumes.

    python benchmarks/fusion_rule.py        # about 2 minutes; computes the 2021 priors first if absent (Zen: minutes)
"""
import hnas  # noqa: F401  (zlib guard)

import json
from pathlib import Path

import numpy as np

from hnas.fusion import fuse
from hnas.fusion.weight_rule import PRIOR_STRENGTH, auto_weight
from hnas.metrics import kendall_tau
from known_rankers import GT_2021, KnownRankers, ground_truth_2021

PRIORS_2021 = Path("benchmarks/out/priors_2021")
ABLATION = Path("benchmarks/out/ablate_fmnist")
STRENGTHS = (0.6, 0.75, 0.85, 0.95)
TEST_SEEDS = range(10)
FIXED = (0.25, 0.5, 1.0, 2.0)


def read_scores(path, keys):
    data = json.loads(Path(path).read_text())
    return np.array([data[k]["acc"] for k in keys], dtype=float)


def priors_2021(gt_path, keys):
    from hnas.proxies.score import score_arch_file
    scores = {}
    for name in ("zen", "params", "flops"):
        path = PRIORS_2021 / f"{name}.json"
        if not path.is_file():
            score_arch_file(gt_path, path, name, "resnet20")
        scores[name] = read_scores(path, keys)
    return scores


def fused_tau(ranker, prior, weight, truth):
    keys = range(len(ranker))
    fused = fuse(dict(zip(keys, ranker)), {"p": dict(zip(keys, prior))}, {"p": weight})
    return kendall_tau([fused[k] for k in keys], truth)


def fused_auto_tau(ranker, priors, truth):
    """Fused with every named prior at its automatic weight (hnas's default)."""
    keys = range(len(ranker))
    fused = fuse(dict(zip(keys, ranker)), {n: dict(zip(keys, p)) for n, p in priors.items()},
                 {n: "auto" for n in priors})
    return kendall_tau([fused[k] for k in keys], truth)


def mean_std(values):
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


def strong_rankers(truth, priors, rankers):
    print("\n(b) Rankers of known strength on the real 2021 ground truth (1,000 archs), 10 noise seeds each\n")
    print("| ranker alone | prior (alone) | fused, automatic weight | its weight (mean) | pass | "
          + " | ".join(f"fixed {w:g}" for w in FIXED) + " |")
    print("|---|---|---|---|---|" + "---|" * len(FIXED))
    combos = [(name,) for name in priors] + [("zen", "params")]
    for target in STRENGTHS:
        for combo in combos:
            alone, auto, weights, fixed = [], [], [], {w: [] for w in FIXED}
            for seed in TEST_SEEDS:
                ranker = rankers.of_strength(target, seed)
                alone.append(kendall_tau(ranker, truth))
                auto.append(fused_auto_tau(ranker, {n: priors[n] for n in combo}, truth))
                weights.append([auto_weight(ranker, priors[n], PRIOR_STRENGTH[n])["weight"] for n in combo])
                if len(combo) == 1:
                    for w in FIXED:
                        fixed[w].append(fused_tau(ranker, priors[combo[0]], w, truth))
            prior_tau = max(kendall_tau(priors[n], truth) for n in combo)
            passed = np.mean(auto) >= max(np.mean(alone), prior_tau) - 0.01
            print(f"| {mean_std(alone)} | {' + '.join(combo)} ({prior_tau:.3f}) | {mean_std(auto)} | "
                  f"{' + '.join(f'{w:.2f}' for w in np.mean(weights, axis=0))} | {'yes' if passed else '**no**'} | "
                  + " | ".join(f"{np.mean(fixed[w]):.3f}" if fixed[w] else "" for w in FIXED) + " |")


def ablation_cells():
    """[(row, seed, {key: score})] of every Fashion-MNIST ablation cell, and the ground truth."""
    gt = json.loads(Path("benchmarks/fmnist_gt.json").read_text())
    keys = list(gt)
    cells = []
    for run in sorted((ABLATION / "runs").iterdir()):
        for seed_dir in sorted(run.glob("seed*")):
            scores = seed_dir / "scores" / "as_the_recipe_says.json"
            if scores.is_file():
                cells.append((run.name, seed_dir.name, read_scores(scores, keys)))
    return keys, np.array([gt[k]["acc"] for k in keys]), cells


def weak_supernets(keys, truth, cells, zen):
    print(f"\n(a) Every Fashion-MNIST ablation cell ({len(cells)} supernets, 26 rows x 3 seeds) fused with the Zen prior "
          f"(alone {kendall_tau(zen, truth):.3f}); mean over the rows of each row's 3-seed mean\n")
    rows = {}
    for row, _, scores in cells:
        auto = auto_weight(scores, zen, PRIOR_STRENGTH["zen"])
        rows.setdefault(row, []).append((kendall_tau(scores, truth), fused_auto_tau(scores, {"zen": zen}, truth),
                                         fused_tau(scores, zen, 2.0, truth), auto["weight"]))
    means = np.array([np.mean(v, axis=0) for v in rows.values()])
    print("| | supernet alone | + Zen, automatic weight | + Zen, weight 2 (the old default) | automatic weight |")
    print("|---|---|---|---|---|")
    print(f"| mean over rows | {means[:, 0].mean():.3f} | {means[:, 1].mean():.3f} | {means[:, 2].mean():.3f} | "
          f"{means[:, 3].mean():.2f} ({means[:, 3].min():.2f}..{means[:, 3].max():.2f}) |")
    print(f"| lowest row | {means[:, 0].min():.3f} | {means[:, 1].min():.3f} | {means[:, 2].min():.3f} | |")
    print(f"| highest row | {means[:, 0].max():.3f} | {means[:, 1].max():.3f} | {means[:, 2].max():.3f} | |")


def sensitivity(truth, priors, rankers, fm_truth, cells, fm_zen):
    print("\nSensitivity to the assumed prior strength (Zen): Fashion-MNIST fused mean over all cells; on the "
          "2021 rankers, fused minus the better of ranker and prior (mean over 10 seeds; test: >= -0.01)\n")
    print("| assumed Zen tau-b | Fashion-MNIST fused | " + " | ".join(f"2021, ranker {t}" for t in STRENGTHS) + " |")
    print("|---|---|" + "---|" * len(STRENGTHS))
    for assumed in (0.5, 0.55, 0.6, 0.625, 0.65, 0.7):
        fm = np.mean([fused_tau(s, fm_zen, auto_weight(s, fm_zen, assumed)["weight"], fm_truth) for _, _, s in cells])
        margins = []
        for target in STRENGTHS:
            gaps = []
            for seed in TEST_SEEDS:
                ranker = rankers.of_strength(target, seed)
                w = auto_weight(ranker, priors["zen"], assumed)["weight"]
                gaps.append(fused_tau(ranker, priors["zen"], w, truth)
                            - max(kendall_tau(ranker, truth), kendall_tau(priors["zen"], truth)))
            margins.append(np.mean(gaps))
        mark = " (shipped)" if assumed == PRIOR_STRENGTH["zen"] else ""
        print(f"| {assumed}{mark} | {fm:.3f} | " + " | ".join(f"{m:+.3f}" for m in margins) + " |")


def main():
    keys, _, truth = ground_truth_2021()
    priors = priors_2021(GT_2021, keys)
    print("Reference rows, 2021: " + ", ".join(f"{n} {kendall_tau(p, truth):.3f}" for n, p in priors.items())
          + " (best prior: zen); the 2021 ground truth is one training per arch, so it has no ceiling or "
          "one-more-run row of its own.")
    print("Assumed prior strengths (hnas.fusion.weight_rule.PRIOR_STRENGTH): "
          + ", ".join(f"{n} {v}" for n, v in PRIOR_STRENGTH.items()))
    rankers = KnownRankers(truth)
    strong_rankers(truth, priors, rankers)
    fm_keys, fm_truth, cells = ablation_cells()
    fm_zen = read_scores(ABLATION / "priors" / "zen.json", fm_keys)
    print("\nReference rows, Fashion-MNIST: best prior zen 0.620; one more stand-alone run 0.496; "
          "ceiling (split-half) 0.543")
    weak_supernets(fm_keys, fm_truth, cells, fm_zen)
    sensitivity(truth, priors, rankers, fm_truth, cells, fm_zen)


if __name__ == "__main__":
    main()
