"""`hnas rank`: compare a predicted score file with a ground-truth file of the same archs."""
from pathlib import Path

import numpy as np
from scipy import stats

from hnas.errors import HnasError
from hnas.archfile import read_arch_file
from hnas.metrics import rank_report
from hnas.plots import save_png, subplots


def matched_scores(pred_path, gt_path, space):
    """(keys, predicted, true) for the keys both files share; the arch strings must agree."""
    pred = {k: (a, s) for k, a, s in read_arch_file(pred_path, space, with_scores=True)}
    true = {k: (a, s) for k, a, s in read_arch_file(gt_path, space, with_scores=True)}
    keys = [k for k in true if k in pred]
    if len(keys) < 2:
        raise HnasError(f"{pred_path} and {gt_path} share {len(keys)} keys; need at least 2 to rank")
    differ = [k for k in keys if pred[k][0] != true[k][0]]
    if differ:
        raise HnasError(f"{len(differ)} keys name different archs in {pred_path} and {gt_path}: "
                        + ", ".join(f"{k} ({pred[k][0]} vs {true[k][0]})" for k in differ[:3]))
    return keys, np.array([pred[k][1] for k in keys]), np.array([true[k][1] for k in keys])


def format_table(report):
    width = max(len(name) for name in report)
    return "\n".join(f"{name:<{width}}  {value:.4f}" if isinstance(value, float) else f"{name:<{width}}  {value}"
                     for name, value in report.items())


def scatter_plot(pred, true, path, title=""):
    fig, (values, ranks) = subplots(1, 2, figsize=(10, 4.5))
    values.scatter(true, pred, s=6, alpha=0.6)
    values.set(xlabel="ground truth", ylabel="predicted", title="values")
    ranks.scatter(stats.rankdata(true), stats.rankdata(pred), s=6, alpha=0.6)
    ranks.set(xlabel="ground-truth rank", ylabel="predicted rank", title="ranks (1 = lowest)")
    fig.suptitle(title)
    fig.tight_layout()
    save_png(fig, path)


def rank_files(pred_path, gt_path, space, ks=(10, 50, 100), plot=None):
    keys, pred, true = matched_scores(pred_path, gt_path, space)
    report = rank_report(pred, true, ks)
    if plot:
        scatter_plot(pred, true, plot, f"{Path(pred_path).name} vs {Path(gt_path).name}: "
                                        f"tau-b {report['kendall_tau_b']:.3f}, n={len(keys)}")
    return report
