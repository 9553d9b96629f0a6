"""What the per-row benchmark scripts (finetune_rank.py, linear_probe_rank.py) share: their command
line (which ablation, which of its rows, which seeds), the ground truth they rank against, a row's own
supernet scores, and the mean +- std cells of their tables (gt_budget_pilot.py reads its priors with
`scored` too)."""
import argparse
import json
from pathlib import Path

import numpy as np

from hnas.layout import ABLATION_CELL as CELL_FILE
from hnas.ablate.spec import AblationSpec
from hnas.archfile import read_arch_file
from hnas.metrics import kendall_tau, leave_one_seed_out_tau, split_half_tau
from hnas.proxies import count_params
from hnas.spaces import get_space

DEFAULT_ROW = "3rd place (shared FC), weight decay 5e-4"  # the best single-change row whose supernets were kept


def row_parser(doc):
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--ablation", default="configs/ablate_fmnist.yaml")
    parser.add_argument("--row", default=DEFAULT_ROW)
    parser.add_argument("--seeds", default="0,1,2", type=lambda text: [int(s) for s in text.split(",")])
    return parser


def load_row(args):
    """(ablation spec, space, [(key, arch string)] of its ground-truth archs) for parsed arguments."""
    spec = AblationSpec(args.ablation)
    space = get_space(spec.base["space"])
    return spec, space, read_arch_file(spec.archs, space)


class Truth:
    """The ablation's ground truth over its archs (in file order), their parameter counts, and
    Kendall tau-b cells against both."""

    def __init__(self, spec, space, entries, num_classes):
        gt = json.loads(Path(spec.ground_truth.get("file") or spec.output / "ground_truth.json").read_text())
        self.keys = [key for key, _ in entries]
        self.acc = [gt[k]["acc"] for k in self.keys]
        self.per_seed = [gt[k]["accs"] for k in self.keys]
        self.params = [count_params(space, space.parse(text), num_classes, spec.base["model"]) for _, text in entries]

    def tau_cells(self, scores_per_seed):
        """'mean ± std' of tau-b against the ground truth and with the parameter count, over seeds
        ({key: score} per seed)."""
        ordered = [[scores[k] for k in self.keys] for scores in scores_per_seed]
        return tuple(_mean_std([kendall_tau(s, against) for s in ordered]) for against in (self.acc, self.params))

    def reference_rows(self, spec, space):
        """(label, tau-b vs ground truth, tau-b vs params) of the rows every table stands beside: the best
        prior, the ground truth's ceiling and its own agreement with params, and one more stand-alone run."""
        zen = self.prior_cells(scored(spec.output / "priors" / "zen.json", space))
        one_run = leave_one_seed_out_tau(self.per_seed)
        return [("prior: zen (best prior)", *zen),
                ("ground truth's ceiling (split-half)", f"{split_half_tau(self.per_seed)['mean']:.3f}", ""),
                (f"ground truth ({len(self.per_seed[0])}-seed mean) itself", "", f"{kendall_tau(self.acc, self.params):.3f}"),
                (f"one more stand-alone run, {spec.base['standalone']['epochs']} epochs "
                 f"(vs the other {len(self.per_seed[0]) - 1} seeds' mean)",
                 f"{one_run['mean']:.3f} ({one_run['min']:.3f}..{one_run['max']:.3f})", "")]

    def prior_cells(self, scores):
        """Tau-b of one deterministic ranker ({key: score}) against the ground truth and with params."""
        ordered = [scores[k] for k in self.keys]
        return tuple(f"{kendall_tau(ordered, against):.3f}" for against in (self.acc, self.params))


def _mean_std(values):
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


def scored(path, space):
    return {k: s for k, _, s in read_arch_file(path, space, with_scores=True)}


def row_scores(spec, space, row, seed):
    """The row's supernet scores of one seed under the ablation's first evaluation."""
    cell = json.loads((spec.run_dir(row, seed) / CELL_FILE).read_text())
    return scored(cell["evals"][next(iter(spec.evals))]["scores"], space)
