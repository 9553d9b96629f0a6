"""`hnas analyze`: the empirical distribution function (EDF) of a scored arch list, overall and split
by one gene (a layer's width, a stage's depth), as in the GML toolkit's design-space analysis."""
from collections import defaultdict
from pathlib import Path

import numpy as np

from hnas.errors import HnasError
from hnas.archfile import read_arch_file
from hnas.io import check_writable, write_text
from hnas.plots import save_png, subplots


def edf_groups(space, entries, by=None):
    """{group label: sorted scores}; 'all' without `by`, else one group per value of gene `by`
    ('unused' for a block slot past its stage's depth)."""
    if by is None:
        return {"all": sorted(score for _, _, score in entries)}
    if by not in space.gene_names():
        raise HnasError(f"--by {by!r}: not a dimension of the {space.name} space; expected one of "
                        f"{', '.join(space.gene_names())}")
    groups = defaultdict(list)
    for _, text, score in entries:
        value = space.gene_values(space.parse(text))[by]
        groups["unused" if value is None else f"{by}={value}"].append(score)
    return {label: sorted(groups[label]) for label in sorted(groups, key=_natural)}


def _natural(label):
    value = label.rsplit("=", 1)[-1]
    return (0, int(value), label) if value.isdigit() else (1, 0, label)


def summary_rows(groups):
    rows = []
    for label, scores in groups.items():
        q = np.quantile(scores, [0.1, 0.5, 0.9])
        rows.append({"group": label, "n": len(scores), "mean": float(np.mean(scores)),
                     "p10": float(q[0]), "median": float(q[1]), "p90": float(q[2])})
    return rows


def plot_edfs(path, groups, title):
    fig, ax = subplots(figsize=(6, 4))
    for label, scores in groups.items():
        ax.step(scores, np.arange(1, len(scores) + 1) / len(scores), where="post", label=f"{label} (n={len(scores)})")
    ax.set(xlabel="score", ylabel="fraction of archs with score <= x", title=title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_png(fig, path)


def analyze(scores_path, space, by=None, out_dir=None):
    entries = read_arch_file(scores_path, space, with_scores=True)
    out_dir = Path(out_dir or Path(scores_path).with_suffix(""))
    check_writable(out_dir)
    groups = edf_groups(space, entries, by)
    rows = summary_rows(groups)
    name = f"edf_{by}" if by else "edf"
    plot_edfs(out_dir / f"{name}.png", groups, f"{Path(scores_path).name}" + (f" by {by}" if by else ""))
    lines = ["| group | n | mean | p10 | median | p90 |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['group']} | {r['n']} | {r['mean']:.4f} | {r['p10']:.4f} | {r['median']:.4f} | {r['p90']:.4f} |"
              for r in rows]
    table = "\n".join(lines) + "\n"
    write_text(out_dir / f"{name}.md", table)
    return table, out_dir / f"{name}.png"
