"""Wiring a recipe into a training run: data + space + model + plan -> Trainer -> checkpoints."""
import dataclasses
import random
from contextlib import nullcontext
from pathlib import Path

import paddle

from hnas.archfile import read_arch_file
from hnas.build import (data_from_config, loader_options, model_meta, scorer_for, seed_everything,
                        standalone_from_config, supernet_from_meta)
from hnas.checkpoint import CheckpointDir, load_params, resolve_checkpoint, restore_optimizer
from hnas.config_schema import LIST_RANGES
from hnas.data.loading import data_loader
from hnas.errors import HnasError
from hnas.layout import CHECKPOINT_GLOBS, CONFIG, FEWSHOT, LATEST, RESULT, SAMPLE_RANGES, SKIPPED_IMAGES, part_dir
from hnas.interfaces import GrowsFromFewerGroups, StartsFromPretrained
from hnas.fingerprint import training_precision, training_settings
from hnas.io import check_writable, write_json
from hnas.lock import only_writer
from hnas.precision import Precision
from hnas.scoring import fixed_batches, loss_and_accuracy
from hnas.proxies import build_prior
from hnas.proxies.limits import Limits
from hnas.spaces import build_sampler, get_space
from hnas.spaces.list_ranges import ListRanges, ranged
from hnas.spaces.pareto import ParetoAware, ParetoAwareByPrior
from hnas.spaces.samplers import WithinLimits
from hnas.spaces.split import SpaceSplit
from hnas.train.callbacks import BranchAt, Checkpointer, NaNGuard, ProgressBar, ScalarLogger
from hnas.train.losses import PairwiseRankLoss
from hnas.train.optim import build_optimizer
from hnas.train.plans import StepPlan
from hnas.train import contrastive
from hnas.train.nsas import NsasPlan
from hnas.train.size_biased import SizeBiasedPlan
from hnas.train.trainer import Trainer


def _cycling_batches(dataset, batch_size, seed):
    """Independent batches for archs that must not share the step's batch (same_batch: false)."""
    sampler = paddle.io.DistributedBatchSampler(dataset, batch_size, shuffle=True, drop_last=True)
    loader = data_loader(dataset, batch_sampler=sampler, return_list=True)
    state = {"epoch": 10_000 + seed, "it": None}

    def next_batch():
        while True:
            if state["it"] is None:
                sampler.set_epoch(state["epoch"])
                state["it"] = iter(loader)
            try:
                images, labels = next(state["it"])
                return images, labels
            except StopIteration:
                state["epoch"] += 1
                state["it"] = None
    return next_batch


def _teacher(config, data):
    t = config["train"]
    params, meta = resolve_checkpoint(t["teacher_checkpoint"])
    space = get_space(config["space"])
    arch = space.parse(t["teacher_arch"] or meta.get("arch") or space.format(space.largest()), key="teacher_arch")
    teacher = standalone_from_config(config, arch, data.num_classes)
    load_params(teacher, params)
    teacher.eval()
    return teacher


def _rank_loss(config, space, data):
    t = config["train"]
    if not t["rank_loss"]:
        return None
    prior = build_prior(t["rank_loss"], space, data.num_classes, data.image_size, config["model"])
    return PairwiseRankLoss(prior, t["rank_schedule"], t["rank_weight"], t["rank_ramp_epochs"], t["rank_margin"],
                            t["rank_form"])


def _pareto_aware(config, space, data, sampler):
    """The sampler itself, or with train.pareto its Pareto-aware wrapper (hnas.spaces.pareto)."""
    t, model = config["train"], config["model"]
    if not t["pareto"]:
        return sampler
    quality, flops = t["pareto_quality"], build_prior("flops", space, data.num_classes, data.image_size, model)
    if quality == "loss":
        return ParetoAware(sampler, flops, t["pareto"], t["pareto_candidates"], t["pareto_window"])
    return ParetoAwareByPrior(sampler, flops, build_prior(quality, space, data.num_classes, data.image_size, model),
                              t["pareto"], t["pareto_candidates"], t["pareto_window"])


def _in_space(space, arch):
    """Whether `arch` belongs to `space` (a few-shot part holds only some of the file's archs)."""
    try:
        space.validate(arch)
    except HnasError:
        return False
    return True


def _is_main_process():
    return paddle.distributed.get_rank() == 0


def _callbacks(run_dir, checkpoints, meta, t):
    callbacks = [NaNGuard()]
    if t.get("branch_epoch") is not None and meta["kind"] == "supernet":
        callbacks.append(BranchAt(t["branch_epoch"]))
    if _is_main_process():
        callbacks += [ProgressBar(), ScalarLogger(run_dir, t["log_every"]),
                      Checkpointer(checkpoints, meta, keep=t["keep_checkpoints"], every_steps=t["checkpoint_every"],
                                   minutes=t["checkpoint_minutes"])]
    return callbacks


def _resume(trainer, checkpoints, meta):
    latest = checkpoints.latest()
    if latest is None:
        return
    if latest.get("model") != meta.get("model") or latest.get("space") != meta.get("space"):
        raise HnasError(f"{checkpoints.root} holds a run of another model ({latest.get('space')}, "
                        f"{latest.get('model')}); use another output.dir or pass --fresh")
    before, now = latest.get("recipe"), meta.get("recipe")
    if before is not None and now is not None and before != now:
        changed = sorted(k for k in set(before) | set(now) if before.get(k) != now.get(k))
        shown = ", ".join(f"{k} {before.get(k)!r} -> {now.get(k)!r}" for k in changed[:3])
        raise HnasError(f"{checkpoints.root} was trained with other settings ({shown}"
                        f"{', ...' if len(changed) > 3 else ''}); rerun with its settings, "
                        f"use another output.dir, or pass --fresh")
    load_params(trainer.network, checkpoints.root / latest["params"])
    restore_optimizer(trainer.optimizer, trainer.network, checkpoints.root / latest["optimizer"])
    trainer.precision.set_state_dict(latest.get("amp_scaler", {}))
    trainer.start_epoch, trainer.global_step = latest["epoch"], latest["step"]
    trainer.start_epoch_step = latest.get("epoch_step", 0)
    inside = f", {trainer.start_epoch_step} steps into epoch {latest['epoch'] + 1}" if trainer.start_epoch_step else ""
    print(f"resuming {checkpoints.root} after epoch {latest['epoch']}{inside} (step {latest['step']})")
    if latest.get("total_steps", meta["total_steps"]) != meta["total_steps"]:
        # paddle's cosine decay is recursive in the last lr, so a restored state continues the old
        # length; the closed form at the current step follows the new one
        trainer.schedule.step(trainer.global_step)
        print(f"the schedule now spans {meta['total_steps']} steps instead of {latest['total_steps']}")


def _fresh_start(run_dir):
    for pattern in (*CHECKPOINT_GLOBS, LATEST):
        for path in Path(run_dir).glob(pattern):
            path.unlink()


def train_supernet(config, fresh=False, part=None):
    """Train the recipe's supernet into output.dir; with train.fewshot_gene, the few-shot part
    `part` (every part in turn when None) into output.dir/partIofK."""
    t = config["train"]
    run_dir = Path(config["output"]["dir"])
    check_writable(run_dir)
    space = get_space(config["space"])
    if t["fewshot_gene"]:
        split = SpaceSplit(space, t["fewshot_gene"], t["fewshot_parts"], t["fewshot_groups"])
        if not split.covers and not t["init_checkpoint"]:
            raise HnasError("train.fewshot_groups leave archs in no group, which are scored by the supernet the "
                            "parts start from: set train.init_checkpoint, or split in a stage after one")
        if part is None:
            return [train_supernet(config, fresh, i) for i in range(split.parts)][-1]
        space = split.part(part)
        if _is_main_process():
            rest = {} if split.covers else {"rest": str(Path(t["init_checkpoint"]).resolve())}
            write_json(run_dir / FEWSHOT, dict(split.describe(), space=config["space"], **rest), indent=1)
        run_dir = part_dir(run_dir, part, split.parts)
        check_writable(run_dir)
    elif part is not None:
        raise HnasError(f"--part {part}: this recipe trains one supernet; set train.fewshot_gene to split it")
    ranges = _list_ranges(config) if t["sample_like"] else None
    with _only_writer(run_dir):
        if ranges and _is_main_process():
            write_json(run_dir / SAMPLE_RANGES, {"source": ranges.source, "ranges": ranges.describe()}, indent=1)
        return _train_supernet_into(run_dir, config, ranged(space, ranges) if ranges else space, fresh)


def _list_ranges(config):
    """train.sample_like's per-gene ranges: built-in, or read off an arch file."""
    like, space = config["train"]["sample_like"], get_space(config["space"])
    if like in LIST_RANGES:
        ranges = ListRanges.builtin(space, like)
    else:
        archs = [space.parse(text, key) for key, text in read_arch_file(like, space)]
        ranges = ListRanges.from_archs(space, archs, f"arch list {like}")
    if _is_main_process():
        print(f"training draws inside {ranges.summary(space)}")
    return ranges


def _only_writer(run_dir):
    """The run directory's lock, held by the process that writes it (rank 0 of a launch)."""
    return only_writer(run_dir, "run directory") if _is_main_process() else nullcontext()


def _train_supernet_into(run_dir, config, space, fresh):
    t = config["train"]
    if fresh and _is_main_process():
        _fresh_start(run_dir)
    seed_everything(t["seed"])
    data = data_from_config(config, run_dir / SKIPPED_IMAGES)
    meta = dict(model_meta(config, data), recipe=training_settings(config, ("space", "data", "model", "train")))
    supernet = _starting_supernet(config, meta)
    steps_per_epoch = _steps_per_epoch(data, config["data"]["batch_size"])
    limits = training_limits(config, space, data)
    pool = ([arch for arch in (space.parse(text) for _, text in read_arch_file(t["arch_pool"], space))
             if _in_space(space, arch)] if t["arch_pool"] else None)

    def sampler_named(name, seed=t["seed"]):
        sampler = build_sampler(name, space, seed=seed, num_classes=data.num_classes,
                                pool_size=t["arch_pool_size"], steps_per_epoch=steps_per_epoch,
                                phase_epochs=t["phase_epochs"], depth_phases=t["depth_phases"],
                                width_phases=t["width_phases"], arch_pool=pool)
        return WithinLimits(sampler, limits) if limits.active else sampler
    sampler = _pareto_aware(config, space, data, sampler_named(t["sampler"]))
    middle = _pareto_aware(config, space, data, sampler_named(t["middle_sampler"])) if t["middle_sampler"] else sampler
    rank_loss = _rank_loss(config, space, data)
    extra_pairs = rank_loss is not None and rank_loss.form == "pgonas"
    if t["strategy"] == "size_biased":
        plan = SizeBiasedPlan(space, sampler, t["num_archs"], t["distill"], t["size_candidates"],
                              t["size_extra_every"], t["size_scaled_loss"])
    elif t["strategy"] == "nsas":
        plan = NsasPlan(space, sampler, t["num_archs"], t["distill"], t["nsas_archive"], t["nsas_recent"],
                        t["nsas_knn"], t["nsas_refresh_every"], t["nsas_weight"], t["nsas_archive_weight"])
    else:
        plan = StepPlan(t["strategy"], space, middle if t["strategy"] == "sandwich" else sampler,
                        t["num_archs"], t["distill"],
                        rank_sampler=sampler_named("uniform", t["seed"] + 1) if extra_pairs else None,
                        rank_pairs=t["num_archs"] - 2 if extra_pairs else 0)
    scorer = scorer_for(supernet, data, config)

    def epoch_eval():
        if not t["eval_every"]:
            return {}
        scores = {}
        for label, arch in (("largest", space.largest()), ("smallest", space.smallest())):
            result = scorer.evaluate(arch)
            scores[f"{label}_acc"], scores[f"{label}_loss"] = result["acc"], result["loss"]
        return scores

    trainer = Trainer(
        supernet, plan, data.image_size, same_batch=t["same_batch"], distill_loss_name=t["distill_loss"],
        temperature=t["kd_temperature"], teacher=_teacher(config, data) if t["distill"] == "teacher" else None,
        extra_batches=None if t["same_batch"] else _cycling_batches(data.train, config["data"]["batch_size"], t["seed"]),
        epoch_eval=epoch_eval, rank_loss=rank_loss, precision=Precision(t["amp"], "train.amp"))
    if _is_main_process():
        write_json(run_dir / CONFIG, config, indent=2)
    return _prepare_resume_fit(trainer, config, data, dict(t, batch_size=config["data"]["batch_size"]),
                               run_dir, meta)


def _starting_supernet(config, meta):
    """The supernet a run starts from (a resumed run then loads its own checkpoint over it):
    model.pretrained's largest model, then train.init_checkpoint's weights."""
    supernet = supernet_from_meta(meta)
    if config["model"]["pretrained"]:  # every supernet kind starts from a largest model (StartsFromPretrained)
        assert isinstance(supernet, StartsFromPretrained)
        supernet.load_pretrained(config["model"]["pretrained"], reorder=config["model"]["reorder"])
    if config["train"]["init_checkpoint"]:
        _load_supernet_weights(supernet, config["train"]["init_checkpoint"])
    return supernet


def _load_supernet_weights(supernet, source):
    """A supernet's weights from a run directory or .pdparams: a supernet run's, or the supernet's
    part of a contrastive stage's."""
    params, meta = resolve_checkpoint(source)
    prefix = contrastive.SUPERNET if meta.get("kind") == contrastive.KIND else ""
    if isinstance(supernet, GrowsFromFewerGroups):
        supernet.load_grown(params, prefix=prefix)
    else:
        load_params(supernet, params, prefix=prefix)


def train_contrastive(config, fresh=False):
    """A contrastive stage (hnas.train.contrastive) into output.dir: the supernet's largest arch,
    started from model.pretrained or train.init_checkpoint like a supernet run."""
    t = config["train"]
    run_dir = Path(config["output"]["dir"])
    check_writable(run_dir)
    with _only_writer(run_dir):
        if fresh and _is_main_process():
            _fresh_start(run_dir)
        seed_everything(t["seed"])
        data = data_from_config(config, run_dir / SKIPPED_IMAGES)
        meta = dict(model_meta(config, data), kind=contrastive.KIND,
                    recipe=training_settings(config, ("space", "data", "model", "train")))
        supernet = _starting_supernet(config, meta)
        space = get_space(config["space"])
        channels = space.blocks(space.largest())[-1].cout
        net = contrastive.ContrastiveNet(supernet, supernet_from_meta(meta), channels, t["moco_dim"], t["moco_queue"],
                                         t["moco_momentum"], t["moco_temperature"], t["seed"])
        trainer = contrastive.ContrastiveTrainer(net, contrastive.ContrastivePlan(space), data.image_size,
                                                 precision=Precision(t["amp"], "train.amp"))
        if _is_main_process():
            write_json(run_dir / CONFIG, config, indent=2)
        views = dataclasses.replace(data, train=contrastive.TwoViews.of(data.train))
        return _prepare_resume_fit(trainer, config, views, dict(t, batch_size=config["data"]["batch_size"]),
                                   run_dir, meta)


def training_limits(config, space, data):
    t = config["train"]
    limits = Limits(space, data.num_classes, data.image_size, config["model"], t["min_flops"], t["max_flops"],
                    t["min_params"], t["max_params"])
    limits.check_reachable(random.Random(t["seed"]))
    return limits


def _steps_per_epoch(data, batch_size):
    return len(data.train) // batch_size // paddle.distributed.get_world_size()


def _prepare_resume_fit(trainer, config, data, recipe, run_dir, meta):
    """Optimizer from `recipe` (lr, momentum, weight_decay, epochs, batch_size, warmup_steps or
    warmup_epochs, lr_reference_batch, clip_norm), resume from `run_dir` if it holds a checkpoint,
    then train to recipe epochs."""
    steps_per_epoch = _steps_per_epoch(data, recipe["batch_size"])
    lr = recipe["lr"]
    if recipe.get("lr_reference_batch"):
        lr *= recipe["batch_size"] * paddle.distributed.get_world_size() / recipe["lr_reference_batch"]
    warmup = recipe["warmup_steps"] if recipe.get("warmup_epochs") is None \
        else int(recipe["warmup_epochs"] * steps_per_epoch)
    trainable = [param for param in trainer.network.parameters() if not param.stop_gradient]
    optimizer, schedule = build_optimizer(trainable, lr, recipe["momentum"],
                                recipe["weight_decay"], steps_per_epoch * recipe["epochs"],
                                warmup, recipe["clip_norm"], recipe.get("nesterov", False))
    trainer.prepare(optimizer, paddle.nn.CrossEntropyLoss(), schedule)
    meta = dict(meta, total_steps=steps_per_epoch * recipe["epochs"])
    checkpoints = CheckpointDir(run_dir)
    _resume(trainer, checkpoints, meta)
    trainer.fit(data.train, recipe["epochs"], recipe["batch_size"],
                _callbacks(run_dir, checkpoints, meta, config["train"]), loader_options(config["data"]),
                seed=config["train"]["seed"])
    skipped = Path(run_dir) / SKIPPED_IMAGES  # written only when an image folder had unreadable images
    if skipped.is_file() and _is_main_process():
        print(f"skipped {len(set(skipped.read_text().splitlines()))} unreadable images (listed in {skipped})")
    return trainer


def train_standalone(config, arch_text, out_dir=None, fresh=False, init=None):
    """Train one arch with the stand-alone recipe, from scratch or from `init` (e.g. an `hnas export`
    model.pdparams, to fine-tune); write result.json (test acc and loss)."""
    space = get_space(config["space"])
    arch = space.parse(arch_text, key="--arch")
    run_dir = Path(out_dir or Path(config["output"]["dir"]) / "standalone" / space.format(arch))
    check_writable(run_dir)
    with _only_writer(run_dir):
        return _train_standalone_into(run_dir, config, space, arch, fresh, init)


def _train_standalone_into(run_dir, config, space, arch, fresh, init):
    s, t = config["standalone"], config["train"]
    if fresh:
        _fresh_start(run_dir)
    seed_everything(t["seed"])
    data = data_from_config(config, run_dir / SKIPPED_IMAGES)
    network = standalone_from_config(config, arch, data.num_classes)
    if init:
        load_params(network, init)  # a checkpoint in run_dir, if any, still wins: the run resumes
    meta = {"kind": "standalone", "space": config["space"], "arch": space.format(arch),
            "num_classes": data.num_classes, "image_size": data.image_size, "model": dict(config["model"]),
            "recipe": dict(training_settings(config, ("data", "model", "standalone")), seed=t["seed"],
                           **training_precision(config))}
    test_batches = fixed_batches(data.test, config["eval"]["batch_size"], loader_options=loader_options(config["data"]))

    def final_eval():
        network.eval()
        result = loss_and_accuracy(network, test_batches)
        network.train()
        return {"test_acc": result["acc"], "test_loss": result["loss"]}

    def epoch_eval():
        return final_eval() if t["eval_every"] else {}

    trainer = Trainer(network, StepPlan("standalone"), data.image_size, epoch_eval=epoch_eval,
                      precision=Precision(t["amp"], "train.amp"))
    _prepare_resume_fit(trainer, config, data, s, run_dir, meta)
    final = final_eval()
    result = {"arch": space.format(arch), "acc": final["test_acc"], "loss": final["test_loss"],
              "epochs": s["epochs"], "seed": t["seed"], "dataset": config["data"]["name"]}
    if _is_main_process():
        write_json(run_dir / RESULT, result, indent=2)
    return result
