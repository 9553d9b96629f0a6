"""The `hnas` command line (python-fire). User errors print one line and exit with status 2."""
import hnas  # noqa: F401  (the zlib guard runs before paddle loads)

import sys
from pathlib import Path

import fire

from hnas.errors import HnasError


def train(config, fresh=False, **overrides):
    """Train a supernet: hnas train CONFIG [--fresh] [--section.key value ...]. Reruns resume."""
    from hnas.config import load_config
    from hnas.train.run import train_supernet
    cfg = load_config(config, **overrides)
    trainer = train_supernet(cfg, fresh=fresh)
    print(f"trained {cfg['output']['dir']} to epoch {cfg['train']['epochs']} (step {trainer.global_step}); "
          + " ".join(f"{k} {v:.4f}" for k, v in sorted(trainer.epoch_scores.items())))


def test(config, checkpoint, archs, out, shard=None, **overrides):
    """Score a competition arch file: hnas test CONFIG --checkpoint DIR --archs IN.json --out OUT.json"""
    from hnas.config import load_config
    from hnas.evaluate.run import evaluate_arch_file
    evaluate_arch_file(load_config(config, **overrides), checkpoint, archs, out, shard=shard)


def merge(archs, out, *parts, normalize=False, space="resnet20"):
    """Merge shard outputs: hnas merge IN.json OUT.json PART1 PART2 ... [--normalize]"""
    from hnas.evaluate.runner import merge_parts
    from hnas.spaces import get_space
    entries = merge_parts(archs, get_space(space), parts, out, normalize=normalize)
    print(f"wrote {out} ({len(entries)} archs from {len(parts)} shards)")


def standalone(config, arch, out_dir=None, fresh=False, **overrides):
    """Train one arch from scratch (ground truth): hnas standalone CONFIG --arch STRING"""
    from hnas.config import load_config
    from hnas.train.run import train_standalone
    result = train_standalone(load_config(config, **overrides), arch, out_dir=out_dir, fresh=fresh)
    print(f"{result['arch']}: test acc {result['acc']:.4f} loss {result['loss']:.4f}")


def sample(out, n=100, seed=0, space="resnet20"):
    """Write a competition-format list of N uniformly sampled archs: hnas sample OUT.json --n 100"""
    from hnas.evaluate.archfile import sample_arch_file
    from hnas.spaces import get_space
    sample_arch_file(out, get_space(space), int(n), seed=seed)
    print(f"wrote {out} ({n} archs, seed {seed})")


def rank(pred, gt, space="resnet20", plot=None, ks=(10, 50, 100)):
    """Rank consistency of a score file against ground truth: hnas rank --pred A.json --gt B.json [--plot P.png]"""
    from hnas.metrics.report import format_table, rank_files
    from hnas.spaces import get_space
    ks = (ks,) if isinstance(ks, int) else tuple(int(k) for k in ks)
    plot = plot or str(Path(pred).with_suffix("")) + "_vs_gt.png"
    print(format_table(rank_files(pred, gt, get_space(space), ks, plot)))
    print(f"scatter plot: {plot}")


COMMANDS = {"train": train, "test": test, "merge": merge, "standalone": standalone, "sample": sample, "rank": rank}


def main(argv=None):
    try:
        fire.Fire(COMMANDS, command=argv, name="hnas")
    except HnasError as err:
        print(f"hnas: error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("hnas: interrupted; rerun the same command to resume", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
