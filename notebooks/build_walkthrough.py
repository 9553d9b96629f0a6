"""Writes notebooks/hnas_walkthrough.ipynb from the cells below (edit here, then rerun this file):
    python notebooks/build_walkthrough.py"""
from pathlib import Path

import nbformat

CELLS = [
    ("md", """# hnas walkthrough: one-shot NAS with a weight-sharing supernet

In the style of the AI Studio projects of the CVPR 2021/2022 NAS challenges: train a supernet once, score
many sub-networks with it, and check how well that ranking agrees with stand-alone training (Kendall tau).
Everything here runs on the bundled scikit-learn digits on a CPU in a few minutes. Settings for the real
CIFAR-100 / ImageNet runs are given at the end of each step.

Set-up: in a checkout with `bash shell/setup.sh` done, the first cell does nothing. Anywhere else (AI Studio,
a fresh kernel) it installs what the walkthrough needs: the kit from `HNAS_SOURCE` (a git URL or a local
path; it is cloned next to the notebook) and the pinned stack of its `requirements.txt`, with
`paddlepaddle-gpu` instead of the CPU wheel when `nvidia-smi` finds a GPU. Restart the kernel after it
installs paddle."""),
    ("code", """# set-up: a no-op in a ready checkout; elsewhere installs the kit and its pinned stack
import importlib.util, os, shutil, subprocess, sys
from pathlib import Path


def install_hnas(repo=Path(os.environ.get("HNAS_REPO", "..")), source=os.environ.get("HNAS_SOURCE")):
    if importlib.util.find_spec("hnas") is not None and importlib.util.find_spec("paddle") is not None:
        return repo
    if not (repo / "hnas" / "__init__.py").exists():
        if not source:
            raise SystemExit("hnas is not installed and this notebook is not in a checkout: set HNAS_SOURCE "
                             "to the kit's git URL or folder and rerun this cell")
        repo = Path("hnas_kit")
        if not repo.exists():
            subprocess.check_call(["git", "clone", "--depth", "1", str(source), str(repo)])
    requirements = (repo / "requirements.txt").read_text()
    if shutil.which("nvidia-smi"):
        requirements = requirements.replace("paddlepaddle==", "paddlepaddle-gpu==")
    pinned = [line.split("#")[0].strip() for line in requirements.splitlines() if line.split("#")[0].strip()]
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", *pinned])
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "-e", str(repo)])
    os.environ["HNAS_REPO"] = str(repo.resolve())
    return repo


install_hnas()"""),
    ("code", """import zlib  # paddle 2.6 bundles an old zlib: load the system one first (see docs/troubleshooting.md)
import json, os
from pathlib import Path

import hnas
import paddle
from hnas.config import load_config

# TINY = 1 runs every step in seconds (the test suite runs this notebook that way)
TINY = os.environ.get("HNAS_NOTEBOOK_TINY", "0") == "1"
WORK = Path(os.environ.get("HNAS_NOTEBOOK_DIR", "notebook_run"))
REPO = Path(os.environ.get("HNAS_REPO", ".."))
WORK.mkdir(parents=True, exist_ok=True)
print("paddle", paddle.__version__, "| tiny settings:", TINY, "| outputs in", WORK)"""),
    ("md", """## 1. Data

`data.name: digits` is scikit-learn's bundled 8x8 handwritten digits; `cifar100` reads the official
python tarball as it is; `imagefolder` reads an ImageNet-layout folder; `npz` reads arrays."""),
    ("code", """from hnas.build import data_from_config

recipe = REPO / "configs" / "digits_rank_benchmark.yaml"
# the quickstart's supernet recipe: a shared classifier and the stand-alone runs' weight decay
base = {"output.dir": str(WORK / "supernet"), "model.fc": "full", "train.weight_decay": 0.0005}
if TINY:
    base.update({"data.train_size": 192, "data.test_size": 96, "train.epochs": 1, "eval.batch_size": 96,
                 "eval.calib_batches": 1, "standalone.epochs": 1, "standalone.batch_size": 32})
config = load_config(recipe, **base)
data = data_from_config(config)
print(len(data.train), "training and", len(data.test), "test images of", data.num_classes, "classes at",
      data.image_size, "px")"""),
    ("md", """## 2. Train the supernet

The recipe is `configs/quickstart.yaml`'s: the 2021 3rd place's shape (full conv sharing, end-shared BN,
the strict-fair sandwich rule with in-place distillation) with one classifier shared by every width
(`model.fc: full`; the published 16 independent heads get too few steps at this size and the sampled archs
score near chance) and weight decay 5e-4, the best supernet row of the Fashion-MNIST benchmark
(`benchmarks/README.md`). `hnas train CONFIG` does the same from a shell; rerunning it resumes from the
last epoch checkpoint.

*Real run:* `bash shell/train.sh configs/cvpr2021_track1_3rd.yaml` on CIFAR-100 (300 epochs, a GPU)."""),
    ("code", """from hnas.train.run import train_supernet

trainer = train_supernet(config)
print("trained to step", trainer.global_step)"""),
    ("md", """## 3. Score a list of archs

`hnas sample` draws a competition-format list (uniform per position, like the released lists), and
`hnas test` scores it with the supernet (here: BN statistics of each test batch, negative test loss).

*Real run:* `bash shell/test.sh CONFIG --archs Track1_final_archs.json --out submission.json`."""),
    ("code", """from hnas.cli import main as hnas_cli
from hnas.evaluate.run import evaluate_arch_file

archs = WORK / "archs.json"
hnas_cli(["sample", str(archs), "--n", "6" if TINY else "20", "--extremes"])
scores = WORK / "supernet_scores.json"
evaluate_arch_file(config, config["output"]["dir"], archs, scores)
print(json.dumps(json.loads(scores.read_text()), indent=1)[:400])"""),
    ("md", """## 4. Ground truth and the rank report

`hnas groundtruth` trains every listed arch stand-alone once per seed (cached and resumable) and prints
the ground truth's ceiling: the split-half Kendall tau (the mean over half the seeds against the mean
over the other half), and one seed against another. `hnas rank` compares any score file
with it and saves a scatter plot."""),
    ("code", """from IPython.display import Image, display

gt = WORK / "ground_truth.json"
hnas_cli(["groundtruth", str(recipe), "--archs", str(archs), "--out", str(gt), "--seeds", "2",
          "--cache", str(WORK / "gt_cache")] + [f"--{k}={v}" for k, v in base.items() if k != "output.dir"])
hnas_cli(["rank", "--pred", str(scores), "--gt", str(gt), "--plot", str(WORK / "supernet_vs_gt.png"), "--ks", "3"])
display(Image(str(WORK / "supernet_vs_gt.png")))"""),
    ("md", """## 5. Priors and the rank loss

Priors need no training: parameter count, FLOPs and the Zen-score. On the real 2021 ground truth the
Zen-score reaches Kendall tau-b 0.630 and the parameter count 0.587 (benchmarks/README.md). On the small
benchmarks here the Zen-score ranks better than every supernet; `hnas fuse` adds a prior to the supernet's
scores (normalised ranks; by default the prior's weight is set from how much the supernet agrees with it:
large beside a weak supernet, small beside a strong one), which brought the best Fashion-MNIST supernets to
the prior's level, not above it (`hnas test --eval.fuse zen` does it while scoring). The 2022 3rd place added a prior to
supernet training as a pairwise rank loss; `--train.rank_loss flops|params|zen` does that."""),
    ("code", """for prior in ("params", "flops", "zen"):
    out = WORK / f"prior_{prior}.json"
    extra = ["--image_size", "8", "--num_classes", "10"] + (["--batch_size", "4", "--repeats", "1"] if prior == "zen" else [])
    hnas_cli(["proxy", "--archs", str(archs), "--proxy", prior, "--out", str(out)] + extra)
    hnas_cli(["rank", "--pred", str(out), "--gt", str(gt), "--plot", str(WORK / f"{prior}.png"), "--ks", "3"])

fused = WORK / "fused_zen.json"
hnas_cli(["fuse", "--scores", str(scores), "--prior", "zen", "--out", str(fused), "--image_size", "8", "--num_classes", "10"])
hnas_cli(["rank", "--pred", str(fused), "--gt", str(gt), "--plot", str(WORK / "fused.png"), "--ks", "3"])

ranked = load_config(recipe, **{**base, "output.dir": str(WORK / "supernet_flops_rank"),
                                "train.rank_loss": "flops", "train.rank_schedule": "progressive",
                                "train.rank_weight": 2.0, "train.rank_ramp_epochs": 10})
train_supernet(ranked)"""),
    ("md", """## 6. Search and export

Evolutionary search under a FLOPs limit (candidates outside it are never scored), then the best arch is
exported as a stand-alone paddle model with BN recalibrated on training data, checked against the
supernet's score, and fine-tuned with `hnas standalone --init`."""),
    ("code", """from hnas.search.export import export_subnet
from hnas.search.run import search
from hnas.train.run import train_standalone

book = search(config, config["output"]["dir"], WORK / "search", generations=1 if TINY else 5,
              population=4 if TINY else 20, parents=2 if TINY else 5, mutations=2 if TINY else 10,
              crossovers=2 if TINY else 10, max_flops=900_000)
best = json.loads((WORK / "search" / "top.json").read_text())["top1"]["arch"]
report = export_subnet(config, config["output"]["dir"], best, WORK / "export")
print("exported", best, "acc", report["exported"]["acc"], "= supernet", report["supernet"]["acc"])
result = train_standalone(config, best, out_dir=WORK / "finetune", init=str(WORK / "export" / "model.pdparams"))
print("fine-tuned:", result)
display(Image(str(WORK / "search" / "pareto.png")))"""),
    ("md", """## Settings for the real challenges

| step | CIFAR-100 (2021) | ImageNet (2022) |
|---|---|---|
| train | `configs/cvpr2021_track1_3rd.yaml` (300 epochs) | `configs/cvpr2022_track1_3rd_prelu.yaml`, or the `_flops_rank` / `_zen_rank` recipes |
| score | `eval.bn_mode: batch`, metric loss, the 50,000-arch list | `eval.bn_mode: calib_train`, metric acc, 5,000 val images, the 45,000-arch list |
| scale out | `python -m paddle.distributed.launch --gpus 0,1,2,3 -m hnas train/test ...` | same |
| ablate | `hnas ablate` with your own ablation file over the real data | same |"""),
]


def build(path):
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.cells = [nbformat.v4.new_markdown_cell(text) if kind == "md" else nbformat.v4.new_code_cell(text)
                      for kind, text in CELLS]
    nbformat.write(notebook, str(path))


if __name__ == "__main__":
    build(Path(__file__).with_name("hnas_walkthrough.ipynb"))
