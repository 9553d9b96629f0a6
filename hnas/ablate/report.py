"""The ablation's outputs: results.csv (one line per prior, and per supernet x seed x evaluation or
fusion), subsets.csv, table.md (means and spreads over seeds, beside the best prior and the ground
truth's ceiling) and plot.png. Every ranker's agreement with the parameter count is printed beside
its tau: it shows whether a recipe values capacity the way stand-alone training does."""
import csv
import json
import textwrap
from collections import defaultdict

import numpy as np

from hnas.layout import ABLATION_PLOT, ABLATION_RESULTS, ABLATION_SUBSETS, ABLATION_TABLE
from hnas.ablate.spec import slug
from hnas.archfile import read_arch_file, write_arch_file
from hnas.fusion import DEFAULT_WEIGHT, fuse
from hnas.io import atomic_write, write_text
from hnas.metrics import (kendall_tau, leave_one_seed_out_tau, mean_ceiling_estimate, rank_report, seed_vs_seed_tau,
                          split_half_tau)
from hnas.metrics.report import matched_scores
from hnas.plots import save_png, subplots
from hnas.proxies import count_params


def _rank_columns(pred_path, gt_path, space, ks, gt, params):
    """The rank columns of one score file, and its scores {key: score} of the ground-truth archs."""
    keys, pred, acc = matched_scores(pred_path, gt_path, space)
    report = rank_report(pred, acc, ks)
    report["kendall_tau_b_loss"] = kendall_tau(pred, [-gt[k]["loss"] for k in keys])
    report["kendall_tau_b_params"] = kendall_tau(pred, [params[k] for k in keys])
    return report, dict(zip(keys, pred))


def _fused_file(spec, space, cell, name, fusion, prior_scores):
    """The cell's first evaluation fused with the priors (a file beside its scores)."""
    first = read_arch_file(next(iter(cell["evals"].values()))["scores"], space, with_scores=True)
    out = spec.run_dir(cell["row"], cell["seed"]) / "scores" / f"fused_{slug(name)}.json"
    fused = fuse({k: s for k, _, s in first}, {p: prior_scores[p] for p in fusion["weights"]}, fusion["weights"],
                 fusion["method"])
    write_arch_file(out, [(k, a) for k, a, _ in first], fused)
    return out


def _mean_spread(values, digits=3):
    values = [v for v in values if v is not None]
    if not values:
        return ""
    text = f"{np.mean(values):.{digits}f}"
    return text + (f" ± {np.std(values):.{digits}f}" if len(values) > 1 else "")


def _write_csv(path, rows):
    columns = list(dict.fromkeys(key for row in rows for key in row))

    def write(tmp):
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, columns)
            writer.writeheader()
            writer.writerows(rows)
    atomic_write(path, write)


def _plot(path, labels, means, spreads, ceiling):
    fig, ax = subplots(figsize=(8, 0.35 * len(labels) + 1.5))
    y = np.arange(len(labels))
    ax.barh(y, means, xerr=spreads, color="tab:blue", alpha=0.7, capsize=3)
    ax.axvline(ceiling, color="tab:red", linestyle="--", label=f"stand-alone seed vs seed ({ceiling:.3f})")
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("Kendall tau-b against stand-alone accuracy (mean ± std over seeds)")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    save_png(fig, path)


def _verdict(groups):
    """Which rows beat the best prior by more than their own spread over seeds."""
    priors = {row: rs[0]["kendall_tau_b"] for (kind, row, _), rs in groups.items() if kind == "prior"}
    if not priors:
        return "No prior was computed, so no row is compared with one."
    best = max(priors, key=priors.get)
    winners = [f"{row} [{name}] ({np.mean([r['kendall_tau_b'] for r in rs]):.3f})"
               for (kind, row, name), rs in groups.items() if kind != "prior" and len(rs) > 1
               and np.mean([r["kendall_tau_b"] for r in rs]) - np.std([r["kendall_tau_b"] for r in rs]) > priors[best]]
    return (f"Best prior: {best} ({priors[best]:.3f}). Rows whose mean tau-b minus its std over seeds is above it: "
            + ("; ".join(winners) if winners else "none") + ".")


def write_report(spec, space, gt_path, priors, cells, num_classes):
    gt = json.loads(gt_path.read_text())
    model = {"name": spec.base["model"]["name"]}
    params = {k: count_params(space, space.parse(e["arch"]), num_classes, model) for k, e in gt.items()}
    seed_scores = defaultdict(list)  # (kind, row, eval) -> one {key: score} per seed

    def rank(path, group=None):
        report, scores = _rank_columns(path, gt_path, space, spec.ks, gt, params)
        if group:
            seed_scores[group].append(scores)
        return report

    prior_scores = {p: {k: s for k, _, s in read_arch_file(info["scores"], space, with_scores=True)}
                    for p, info in priors.items()}  # read once, fused into every cell
    results, subsets = [], []
    for prior, info in priors.items():
        results.append({"kind": "prior", "row": prior, "seed": "", "eval": "", **rank(info["scores"]),
                        "train_seconds": 0.0, "eval_seconds_per_arch": info["seconds_per_arch"]})
    for cell in cells:
        for name, info in cell["evals"].items():
            results.append({"kind": "supernet", "row": cell["row"], "seed": cell["seed"], "eval": name,
                            **rank(info["scores"], ("supernet", cell["row"], name)),
                            "train_seconds": cell["train_seconds"], "eval_seconds_per_arch": info["seconds_per_arch"]})
        first_eval, first = next(iter(cell["evals"].items()))
        for name, fusion in spec.fusions.items():
            fused = _fused_file(spec, space, cell, name, fusion, prior_scores)
            row = f"{cell['row']} + {name}"
            results.append({"kind": "fused", "row": row, "seed": cell["seed"], "eval": first_eval,
                            **rank(fused, ("fused", row, first_eval)), "train_seconds": cell["train_seconds"],
                            "eval_seconds_per_arch": first["seconds_per_arch"]})
        full = cell["subsets"].get("1.0")
        for fraction, info in cell["subsets"].items():
            _, subset, reference = matched_scores(info["scores"], full["scores"], space)
            subsets.append({"row": cell["row"], "seed": cell["seed"], "fraction": float(fraction),
                            "images": info["images"], "seconds_per_arch": info["seconds_per_arch"],
                            "kendall_tau_b_vs_full_test": kendall_tau(subset, reference)})
    _write_csv(spec.output / ABLATION_RESULTS, results)
    if subsets:
        _write_csv(spec.output / ABLATION_SUBSETS, subsets)
    table = _markdown(spec, gt, results, subsets, params, prior_scores, seed_scores)
    write_text(spec.output / ABLATION_TABLE, table)
    return table


def _one_more_run(gt, prior_scores):
    """What training every arch once more would rank like, alone and fused with each prior at the
    default weight (the most a ranker as good as one stand-alone run can reach by fusion), and the
    priors against the same means."""
    per_seed = [e["accs"] for e in gt.values()]
    seeds = len(per_seed[0])
    runs = leave_one_seed_out_tau(per_seed)
    priors = {p: scores for p, scores in prior_scores.items() if all(k in scores for k in gt)}

    def fused_with(name):
        return lambda run: list(fuse(dict(zip(gt, run)), {name: priors[name]}, {name: DEFAULT_WEIGHT}).values())

    alone = "; ".join(f"prior {p} {leave_one_seed_out_tau(per_seed, [priors[p][k] for k in gt])['mean']:.3f}"
                      for p in priors)
    fused = "; ".join(f"the run + {p} {leave_one_seed_out_tau(per_seed, fused_with(p))['mean']:.3f}" for p in priors)
    return (f"One more stand-alone run per arch (each seed's runs against the mean of the other {seeds - 1}, "
            f"every seed left out once): accuracy {runs['mean']:.3f} (min {runs['min']:.3f}, max {runs['max']:.3f})"
            + (f"; against the same means: {alone}; fused (default weight, {DEFAULT_WEIGHT}): {fused}." if priors else "."))


def between_seeds(scores_per_seed):
    """Mean Kendall tau-b between every two seeds' scores of a row ({key: score} per seed): high
    agreement between seeds beside a low tau against the ground truth means a systematic error
    that more seeds cannot average away."""
    if len(scores_per_seed) < 2:
        return ""
    keys = list(scores_per_seed[0])
    return f"{seed_vs_seed_tau([[scores[k] for scores in scores_per_seed] for k in keys])['mean']:.3f}"


def _markdown(spec, gt, results, subsets, params, prior_scores, seed_scores):
    accs = [e["acc"] for e in gt.values()]
    seeds = len(next(iter(gt.values()))["accs"])
    lines = [f"Ground truth: {len(gt)} archs, stand-alone test accuracy averaged over {seeds} seed(s), "
             f"{min(accs):.3f}..{max(accs):.3f}; its Kendall tau-b with the parameter count: "
             f"{kendall_tau(accs, [params[k] for k in gt]):.3f}."]
    ceiling = None
    if seeds > 1:
        ceiling = split_half_tau([e["accs"] for e in gt.values()])
        loss_ceiling = split_half_tau([[-v for v in e["losses"]] for e in gt.values()])
        pairs = seed_vs_seed_tau([e["accs"] for e in gt.values()])
        lines.append(f"The ceiling, split-half Kendall tau-b of the stand-alone runs (mean over {seeds // 2} seeds "
                     f"against the other {seeds - seeds // 2}, every split): accuracy {ceiling['mean']:.3f} "
                     f"(min {ceiling['min']:.3f}), loss {loss_ceiling['mean']:.3f} (min {loss_ceiling['min']:.3f}); "
                     f"one seed against another: {pairs['mean']:.3f}. Against the mean over all {seeds} seeds, "
                     f"which the rows below are scored on, a perfect ranker would reach about "
                     f"{mean_ceiling_estimate([e['accs'] for e in gt.values()]):.2f} (accuracy; Spearman-Brown "
                     f"estimate).")
        lines.append(_one_more_run(gt, prior_scores))
    ks = [k for k in spec.ks if k <= len(gt)]
    groups = defaultdict(list)
    for r in results:
        groups[(r["kind"], r["row"], r["eval"])].append(r)
    own = {key: rs for key, rs in groups.items() if key[0] != "fused"}  # priors and supernet rows
    fusions = list(spec.fusions)
    # one line per row, its fused variants as columns (a line per fusion repeated every row's name)
    header = (["ranker", "eval", "runs", "tau-b (acc)", "tau-b vs params", "tau-b between seeds"]
              + [f"+ {name}" for name in fusions] + ["train s", "eval s/arch"])
    lines += ["", "Kendall tau-b against the stand-alone accuracy, mean ± std over seeds; `+ F`: the row's "
              "scores fused with fusion F (its first evaluation setting).", "",
              "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    labels, means, spreads = [], [], []
    for (kind, row, name), rs in own.items():
        label = f"prior: {row}" if kind == "prior" else row
        fused = [groups.get(("fused", f"{row} + {fusion}", name), []) for fusion in fusions]
        cells = [label, name, str(len(rs))]
        cells += [_mean_spread([r[c] for r in rs]) for c in ("kendall_tau_b", "kendall_tau_b_params")]
        cells.append(between_seeds(seed_scores.get((kind, row, name), [])))
        cells += [_mean_spread([r["kendall_tau_b"] for r in f]) if f else "" for f in fused]
        cells += [_mean_spread([r["train_seconds"] for r in rs], 0) if kind != "prior" else "",
                  _mean_spread([r["eval_seconds_per_arch"] for r in rs], 4)]
        lines.append("| " + " | ".join(cells) + " |")
        taus = [r["kendall_tau_b"] for r in rs]
        labels.append(f"{label} [{name}]" if name else label)
        means.append(np.mean(taus))
        spreads.append(np.std(taus))
    detail = ["ranker", "eval", "Pearson", "Spearman"] + [f"P@{k}" for k in ks] + ["tau-b (loss)"]
    lines += ["", "The same rows, other agreement measures (every figure, fused rows too, is in results.csv):", "",
              "| " + " | ".join(detail) + " |", "|" + "---|" * len(detail)]
    for (kind, row, name), rs in own.items():
        cells = [f"prior: {row}" if kind == "prior" else row, name]
        cells += [_mean_spread([r[c] for r in rs]) for c in ["pearson", "spearman"]
                  + [f"precision@{k}" for k in ks] + ["kendall_tau_b_loss"]]
        lines.append("| " + " | ".join(cells) + " |")
    _plot(spec.output / ABLATION_PLOT, labels, means, spreads, ceiling["mean"] if ceiling else float("nan"))
    lines += ["", _verdict(groups)]
    if subsets:
        lines += ["", f"Test subsets (scored with the first evaluation setting, {next(iter(spec.evals))!r}); "
                  "tau-b of subset scores against full-test scores of the same supernet, over every row and seed:",
                  "", "| test fraction | images | s/arch | tau-b vs full test | min |", "|---|---|---|---|---|"]
        by_fraction = defaultdict(list)
        for s in subsets:
            by_fraction[s["fraction"]].append(s)
        for fraction, ss in sorted(by_fraction.items()):
            taus = [s["kendall_tau_b_vs_full_test"] for s in ss]
            lines.append(f"| {fraction:g} | {ss[0]['images']} | {_mean_spread([s['seconds_per_arch'] for s in ss], 4)} "
                         f"| {_mean_spread(taus)} | {min(taus):.3f} |")
    # prose wrapped for a terminal and a diff; table lines stay whole
    return "\n".join(line if line.startswith("|") else textwrap.fill(line, 110) for line in lines) + "\n"
