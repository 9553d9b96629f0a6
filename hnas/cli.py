"""The `hnas` command line (python-fire). User errors print one line and exit with status 2."""
import hnas  # noqa: F401  (the zlib guard runs before paddle loads)

import contextlib
import signal
import sys
from pathlib import Path

import fire

from hnas.errors import HnasError, say


def train(config, fresh=False, part=None, **overrides):
    """Train a supernet: hnas train CONFIG [--fresh] [--section.key value ...]. Reruns resume.
    A recipe with stages trains each in turn; with train.fewshot_gene, every few-shot part, or
    only part I with --part I."""
    from hnas.config import command_line_over_stages, load_config
    from hnas.train.stages import train_recipe
    cfg = command_line_over_stages(load_config(config, **overrides), overrides)
    trainer = train_recipe(cfg, fresh=fresh, part=_index(part, "--part"))
    print(f"trained {cfg['output']['dir']} to epoch {cfg['train']['epochs']} (step {trainer.global_step}); "
          + " ".join(f"{k} {v:.4f}" for k, v in sorted(trainer.epoch_scores.items())))


def test(config, checkpoint, archs, out, shard=None, part=None, **overrides):
    """Score a competition arch file: hnas test CONFIG --checkpoint DIR --archs IN.json --out OUT.json
    [--shard I/N] [--part I: only the archs of few-shot part I; hnas merge joins the parts]"""
    from hnas.config import load_config
    from hnas.evaluate.run import evaluate_arch_file
    evaluate_arch_file(load_config(config, **overrides), checkpoint, archs, out, shard=shard,
                       part=_index(part, "--part"))


def _index(value, flag):
    """A non-negative integer option, or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise HnasError(f"{flag} {value!r}: expected a part number 0, 1, ...")
    return value


def merge(archs, out, *parts, normalize=False, space=None):
    """Merge shard or few-shot part outputs: hnas merge IN.json OUT.json PART1 PART2 ... [--normalize] [--space S]"""
    from hnas.archfile import space_of_file
    from hnas.score_store import merge_parts
    entries = merge_parts(archs, space_of_file(archs, override=space), parts, out, normalize=normalize)
    print(f"wrote {out} ({len(entries)} archs from {len(parts)} shards)")


def standalone(config, arch, out_dir=None, fresh=False, init=None, **overrides):
    """Train one arch from scratch (ground truth) or fine-tune it from exported weights:
    hnas standalone CONFIG --arch STRING [--init EXPORT_DIR/model.pdparams]"""
    from hnas.config import load_config
    from hnas.train.run import train_standalone
    result = train_standalone(load_config(config, **overrides), arch, out_dir=out_dir, fresh=fresh, init=init)
    print(f"{result['arch']}: test acc {result['acc']:.4f} loss {result['loss']:.4f}")


def sample(out, n=100, seed=0, space="resnet20", extremes=False):
    """Write a competition-format list of N uniformly sampled archs: hnas sample OUT.json --n 100
    [--extremes: add the largest and smallest archs as entries 'largest' and 'smallest']"""
    from hnas.archfile import sample_arch_file
    from hnas.spaces import get_space
    entries = sample_arch_file(out, get_space(space), int(n), seed=seed, extremes=extremes)
    print(f"wrote {out} ({len(entries)} archs, seed {seed})")


def groundtruth(config, archs, out, seeds=3, workers=1, cache="checkpoints/groundtruth", **overrides):
    """Train every arch of a list stand-alone once per seed (cached, resumable) and write the means:
    hnas groundtruth CONFIG --archs IN.json --out GT.json [--seeds 3] [--workers 2]"""
    from hnas.config import load_config
    from hnas.archfile import read_arch_file, space_of_file
    from hnas.metrics import leave_one_seed_out_tau, seed_vs_seed_tau, split_half_tau
    from hnas.train.groundtruth import train_ground_truth, write_ground_truth
    cfg = load_config(config, **overrides)
    entries = read_arch_file(archs, space_of_file(archs, expected=cfg["space"]))
    table = train_ground_truth(cfg, entries, int(seeds), cache, workers=int(workers))
    write_ground_truth(out, table, cfg, int(seeds))
    print(f"wrote {out} ({len(table)} archs x {seeds} seeds)")
    if int(seeds) > 1:
        for field in ("accs", "losses"):
            sign = -1.0 if field == "losses" else 1.0
            per_seed = [[sign * v for v in row[field]] for row in table.values()]
            what = "accuracy" if field == "accs" else "loss"
            for label, tau in (("split-half (the ceiling)", split_half_tau(per_seed)),
                               ("one seed against another", seed_vs_seed_tau(per_seed)),
                               ("one seed against the mean of the others", leave_one_seed_out_tau(per_seed))):
                print(f"Kendall tau-b {label}, {what}: {tau['mean']:.4f} (min {tau['min']:.4f}, max {tau['max']:.4f})")


def rank(pred, gt, space=None, plot=None, ks=(10, 50, 100)):
    """Rank consistency of a score file against ground truth: hnas rank --pred A.json --gt B.json [--plot P.png]
    [--space S: read the files as space S; by default the space is the one the arch strings belong to]"""
    from hnas.archfile import space_of_file
    from hnas.metrics.report import format_table, rank_files
    ks = (ks,) if isinstance(ks, int) else tuple(int(k) for k in ks)
    plot = plot or str(Path(pred).with_suffix("")) + "_vs_gt.png"
    print(format_table(rank_files(pred, gt, space_of_file(pred, override=space), ks, plot)))
    print(f"scatter plot: {plot}")


def proxy(archs, out, proxy="params", space=None, num_classes=None, image_size=None, model=None,
          batch_size=16, repeats=3, gamma=1e-2, seed=0, shard=None, config=None):
    """Score an arch file with a prior (higher = expected better), resumably:
    hnas proxy --archs IN.json --proxy flops|params|zen --out OUT.json [--space S (default: the strings' own)]
    [--image_size N] [--model resnet48_prelu] [--config RECIPE: its model options, classes and image size, so
    the prior counts the network the recipe trains]; Zen-score: [--batch_size 16 --repeats 3 --gamma 0.01
    --seed 0]; [--shard I/N] scores every N-th arch (hnas merge joins the shards), as does each rank under
    python -m paddle.distributed.launch (rank 0 merges)"""
    from hnas.config import load_config
    from hnas.proxies.score import launched_ranks, score_arch_file
    if config is not None:
        recipe = load_config(config)
        if model is not None:
            raise HnasError("--model and --config both name the network: give one")
        model, space = recipe["model"], space or recipe["space"]
        num_classes = num_classes or recipe["data"]["num_classes"]
        image_size = image_size or recipe["data"]["image_size"]
    zen = {"batch_size": batch_size, "repeats": repeats, "gamma": gamma, "seed": seed} if proxy == "zen" else {}
    entries = score_arch_file(archs, out, proxy, space, num_classes, image_size, model, shard, launched_ranks(), **zen)
    print(f"wrote {out} ({len(entries)} archs, prior {proxy}{f', shard {shard}' if shard else ''})")


def fuse(scores, out, prior=(), method="rank", weight=None, space=None, num_classes=None, image_size=None,
         model=None):
    """Fuse supernet scores with priors (no ground truth): hnas fuse --scores S.json --prior zen --prior params
    --out F.json [--prior zen=0.3 (own weight)] [--prior P.json=1 (a score file, with its weight)]
    [--weight W (for priors given without one; default auto: set from the supernet's agreement with each prior)]
    [--method rank|zscore] [--space S (default: the strings' own)] [--num_classes N --image_size N --model NAME (for priors computed
    here)]; the method and weights go to F.json.fusion.json"""
    from hnas.archfile import space_of_file
    from hnas.fusion import DEFAULT_WEIGHT
    from hnas.fusion.files import fuse_files
    from hnas.layout import fusion_record
    record = fuse_files(scores, _names(prior), out, space_of_file(scores, override=space), method,
                        DEFAULT_WEIGHT if weight is None else weight, num_classes, image_size, model)
    weights = ", ".join(f"{name} {p['weight']:g}" for name, p in record["priors"].items())
    print(f"wrote {out} ({method} fusion: supernet 1, {weights}); record: {fusion_record(out)}")


def predict(config=None, archs=None, out=None, checkpoint=None, scores=None, sample=None, select="spread", target=None,
            max_sample=None, plateau=0.01, folds=5, seed=0, shard=None, space=None, **overrides):
    """Score a sample of an arch file with the supernet and fill in the rest with an accuracy predictor:
    hnas predict CONFIG --checkpoint RUN --archs ALL.json --out OUT.json --sample 2500 [--select spread|random]
    [--target 0.95 --max_sample 10000 --plateau 0.01: double the sample until the fill-in's K-fold tau-b
    reaches the target, stops rising or hits the cap] [--folds 5] [--seed 0] [--shard I/N];
    or fill in from scores you have: hnas predict --scores SOME.json --archs ALL.json --out OUT.json.
    OUT.json.predict.json records which archs were predicted, the predictor and the fill-in's quality."""
    from hnas.layout import predict_record
    from hnas.predictor.fill import RULES_NOTE
    from hnas.predictor.run import predict_from_scores, predict_with_supernet
    if archs is None or out is None:
        raise HnasError("hnas predict needs --archs ALL.json and --out OUT.json")
    if scores is not None:
        given = [name for name, value in (("CONFIG", config), ("--checkpoint", checkpoint), ("--sample", sample))
                 if value is not None]
        if given or overrides:
            raise HnasError(f"hnas predict --scores fills in from a score file: {', '.join(given or overrides)} "
                            "belong to scoring with a supernet")
        record = predict_from_scores(scores, archs, out, folds=folds, seed=seed, space=space)
    else:
        missing = [name for name, value in (("--checkpoint", checkpoint), ("--sample", sample)) if value is None]
        if missing:
            raise HnasError(f"hnas predict needs {', '.join(missing)} (or --scores SOME.json to fill in from scores)")
        from hnas.config import load_config
        record = predict_with_supernet(load_config(config, **overrides), checkpoint, archs, out, sample, select,
                                       target, max_sample, plateau, folds, seed, shard)
    if record is None:
        return
    print(f"wrote {out}: {record['scored']} archs scored, {record['predicted']} predicted; fill-in K-fold tau-b "
          f"{record['fill_in_quality']['kfold_tau_b']:.4f}; record: {predict_record(out)}")
    if record["space"] == "resnet48":
        say(f"note: {RULES_NOTE}")


def _names(value):
    if value is None:
        return ()
    return tuple(str(value).split(",")) if isinstance(value, str) else tuple(str(v) for v in value)


def search(config, checkpoint, out, method="evolution", generations=10, population=20, parents=5, mutations=10,
           crossovers=10, mutate_prob=0.1, budget=None, dims=None, base_arch=None, top_k=10, seed=0, fresh=False,
           min_flops=None, max_flops=None, min_params=None, max_params=None, **overrides):
    """Search a trained supernet: hnas search CONFIG --checkpoint RUN --out DIR [--method evolution|random|grid]
    [--max_flops N] [--max_params N] [--generations 10 --population 20 --parents 5 --mutations 10
    --crossovers 10 --mutate_prob 0.1] [--budget N (random)] [--dims c1,c2 --base_arch A (grid)]"""
    from hnas.config import load_config
    from hnas.search.run import search as run_search
    run_search(load_config(config, **overrides), checkpoint, out, method, int(generations), int(population),
               int(parents), int(mutations), int(crossovers), float(mutate_prob), budget and int(budget),
               _names(dims), base_arch, int(top_k), seed, fresh, min_flops, max_flops, min_params, max_params)


def export(config, checkpoint, arch, out, **overrides):
    """Export one arch as a stand-alone model (BN recalibrated on training data; .pdparams and a
    paddle.jit inference model), checked against the supernet: hnas export CONFIG --checkpoint RUN --arch A --out DIR"""
    from hnas.config import load_config
    from hnas.search.export import export_subnet
    report = export_subnet(load_config(config, **overrides), checkpoint, arch, out)
    print(f"exported {report['arch']} to {out}: test acc {report['exported']['acc']:.4f} "
          f"(supernet {report['supernet']['acc']:.4f}), loss {report['exported']['loss']:.4f}")


def analyze(scores, by=None, space=None, out=None):
    """EDF of a scored arch list, overall or split by one dimension (GML-style design-space analysis):
    hnas analyze --scores scored.json [--by c19 | depth3 | s3.conv2] [--space S] [--out DIR]"""
    from hnas.archfile import space_of_file
    from hnas.search.analyze import analyze as run_analyze
    table, plot = run_analyze(scores, space_of_file(scores, override=space), by, out)
    print(table)
    print(f"plot: {plot}")


def ablate(config, output=None, workers=None):
    """Rank consistency of a grid of recipes against stand-alone ground truth (resumable):
    hnas ablate configs/ablate_digits.yaml [--workers 2] [--output DIR]"""
    from hnas.ablate.run import run_ablation
    from hnas.ablate.spec import AblationSpec
    spec = AblationSpec(config, output=output, workers=workers)
    print(run_ablation(spec))
    from hnas import layout
    print(f"wrote {spec.output}/{layout.ABLATION_RESULTS}, {layout.ABLATION_TABLE}, {layout.ABLATION_PLOT}")


def doctor(device="auto", amp="fp16", image_size=None, steps=3, batch_size=16, archs=4, images=64):
    """Check this machine before a long run: the device, both supernets training a few steps and scoring
    a few archs on random images, in float32 and with --amp fp16|bf16, and a table of speeds:
    hnas doctor [--device auto|gpu|cpu] [--image_size 224 (default: 224 on a GPU, 32 on a CPU)]
    [--steps 3 --batch_size 16 --archs 4 --images 64]; exits 1 with one line when a check fails"""
    from hnas.doctor import run_doctor
    if run_doctor(device, amp, image_size, int(steps), int(batch_size), archs=int(archs), images=int(images)):
        sys.exit(1)


COMMANDS = {"train": train, "test": test, "merge": merge, "standalone": standalone, "sample": sample, "rank": rank,
            "groundtruth": groundtruth, "proxy": proxy, "fuse": fuse, "predict": predict,
            "ablate": ablate, "search": search,
            "export": export, "analyze": analyze, "doctor": doctor}


REPEATABLE_FLAGS = ("--prior",)


def _join_repeated(argv):
    """`--prior zen --prior params=0.3` -> `--prior zen,params=0.3` (fire keeps only the last of a repeated flag)."""
    out, position = [], {}
    i = 0
    while i < len(argv):
        name, sep, value = argv[i].partition("=")
        if name in REPEATABLE_FLAGS and (sep or i + 1 < len(argv)):
            if not sep:
                value, i = argv[i + 1], i + 1
            if name in position:
                out[position[name]] += "," + value
            else:
                out += [name, value]
                position[name] = len(out) - 1
        else:
            out.append(argv[i])
        i += 1
    return out


HELP_FLAGS = ("--help", "-h")


def _help_last(argv):
    """`hnas VERB ... --help` -> `hnas VERB -- --help`: python-fire shows a verb's help and exits 0
    only for that form; otherwise it first calls the verb with whatever arguments came before."""
    if "--" in argv or not any(a in HELP_FLAGS for a in argv):
        return argv
    return ([argv[0]] if argv[0] in COMMANDS else []) + ["--", "--help"]


def _known_command(argv):
    """One `hnas: error:` line for a command hnas does not have (python-fire's own is another style)."""
    if argv and not argv[0].startswith("-") and argv[0] not in COMMANDS:
        import difflib
        close = difflib.get_close_matches(argv[0], COMMANDS, n=1)
        raise HnasError(f"unknown command {argv[0]!r}" + (f"; did you mean {close[0]!r}?" if close else "")
                        + f" (commands: {', '.join(COMMANDS)})")


# commands whose loops stop at a step or arch boundary on SIGTERM / SIGINT, saving first (hnas.stopping)
STOPPABLE = ("train", "standalone", "groundtruth", "test", "predict", "proxy", "search", "ablate")


def main(argv=None):
    from hnas import stopping
    argv = _help_last(_join_repeated(sys.argv[1:] if argv is None else list(argv)))
    try:
        _known_command(argv)
        if argv and argv[0] in STOPPABLE and "--help" not in argv:
            stopping.install()
        # python-fire writes help to stderr; help asked for is output, so it goes to stdout (pipes, less)
        with contextlib.redirect_stderr(sys.stdout) if "--help" in argv else contextlib.nullcontext():
            fire.Fire(COMMANDS, command=argv, name="hnas")
    except HnasError as err:
        say(f"error: {err}")
        sys.exit(2)
    except stopping.Stopped as stop:
        say(f"stopped by {signal.Signals(stop.signum).name} at {stop.where}; to resume: "
            f"{stopping.resume_command(argv)}")
        sys.exit(128 + stop.signum)
    except KeyboardInterrupt:  # a command without stop points
        say("interrupted; rerun the same command to resume")
        sys.exit(130)


if __name__ == "__main__":
    main()
