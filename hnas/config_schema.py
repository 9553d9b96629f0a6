"""Every recipe key: its type, its range or allowed values, its default and what it does. The
allowed values of choice keys are defined here and imported by the code that acts on them, so a
recipe is checked completely when it loads, before any data is read or a model is built.
docs/config.md is generated from this module: python -m hnas.config_schema > docs/config.md"""
from typing import Any, Dict, List, Literal, Optional, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

SPACE_NAMES = ("resnet20", "resnet48")
SOURCES = ("digits", "idx", "npz", "cifar100", "imagefolder")
AUGMENTATIONS = ("official", "cutout", "none")
SHARING = ("full", "front", "end", "independent", "branch")
FC_SHARING = ("full", "independent", "branch")
RESIDUAL_ACTS = ("relu", "prelu")
OUTER_ACTIVATION_NAMES = ("relu", "prelu", "mish", "swish", "selu")
MODEL_NAMES = ("resnet20",) + tuple("resnet48" if a == "relu" else f"resnet48_{a}" for a in OUTER_ACTIVATION_NAMES)
STRATEGIES = ("single_path", "dyna_batch", "sandwich", "size_biased", "nsas", "standalone")  # the last: stand-alone runs only
SAMPLERS = ("uniform", "strict_fair", "params_pool", "progressive", "levels", "arch_pool")
PARETO_PICKS = ("best", "worst")
LIST_RANGES = {"cvpr2022_track1": "resnet48"}  # built-in train.sample_like ranges and their space
PROXIES = ("flops", "params", "zen")
DISTILL = ("none", "inplace", "teacher")
DISTILL_LOSSES = ("kd", "mixed", "ce_kd", "alpha")
RANK_SCHEDULES = ("constant", "linear", "progressive")
RANK_FORMS = ("step", "pgonas")
METRICS = ("loss", "acc")
BN_MODES = ("supernet", "calib_train", "calib_test", "batch")
SUBSETS = ("random", "stratified", "disagreement")
FUSION_METHODS = ("rank", "zscore")
STAGE_KINDS = ("largest", "supernet", "contrastive")
AMP_MODES = ("off", "fp16", "bf16")
MODEL_SPACE = {name: "resnet20" if name == "resnet20" else "resnet48" for name in MODEL_NAMES}
RESNET20_ONLY = ("conv", "bn", "fc", "always_project", "bn_running_stats", "residual_act")  # model keys
STARTING_WEIGHTS = ("pretrained", "reorder")  # model keys that say where weights start, not which network
REORDERING_MODELS = tuple(name for name, space in MODEL_SPACE.items() if space == "resnet48")
MAX_SEED = 2 ** 32 - 1  # numpy's and scikit-learn's seeds are 32-bit
WAIT_TIMEOUT = 6 * 3600  # seconds a sharded run waits for other shards' files with none appearing


def one_of(values):
    return Literal[values]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Data(Section):
    name: one_of(SOURCES) = Field("digits", description="dataset reader")
    root: Optional[str] = Field(None, description="dataset file or folder (digits needs none)")
    image_size: int = Field(32, ge=1, description="images are resized to this many pixels a side")
    augment: one_of(AUGMENTATIONS) = Field("official", description="training augmentation")
    test_size: Optional[int] = Field(None, ge=1, description="keep this many test images (fixed, class-stratified)")
    train_size: Optional[int] = Field(None, ge=1, description="keep this many training images (fixed, class-stratified)")
    split_seed: int = Field(0, ge=0, le=MAX_SEED, description="seed of the train/test split and of the size limits")
    num_classes: Optional[int] = Field(None, ge=2, description="classes (default: the dataset's)")
    batch_size: int = Field(128, ge=1, description="training batch per process")
    num_workers: int = Field(0, ge=0, description="data-loader worker processes (training and scoring)")
    shared_memory: bool = Field(True, description="data-loader workers hand batches over in shared memory (off where /dev/shm is small, as in some containers)")
    max_bad_images: int = Field(100, ge=0, description="imagefolder: unreadable images skipped (each warned about and listed in the run's skipped_images.txt) before it is an error")
    crop_sizes: Optional[List[int]] = Field(None, min_length=1,
                                            description="imagefolder: training crop sizes, one drawn per batch")


class Model(Section):
    name: Optional[one_of(MODEL_NAMES)] = Field(None, description="a registered model of the space (default: the space's)")
    conv: one_of(SHARING) = Field("full", description="resnet20: how conv weights are shared across widths")
    bn: one_of(SHARING) = Field("full", description="resnet20: how BN parameters and statistics are shared")
    fc: one_of(FC_SHARING) = Field("full", description="resnet20: how the classifier is shared")
    always_project: bool = Field(False, description="resnet20: a 1x1 projection on every block's shortcut")
    bn_running_stats: bool = Field(True, description="resnet20: BN keeps running statistics")
    residual_act: one_of(RESIDUAL_ACTS) = Field("relu", description="resnet20: activation after each residual add")
    pretrained: Optional[str] = Field(None, description="largest-model weights to start from: the organisers' resnet48.pdparams (2022) or resnet20.pdparams (2021, their naming is recognised), or a stand-alone run's .pdparams of the largest arch")
    reorder: bool = Field(False, description="resnet48: sort the pretrained channels by importance")
    stage_groups: int = Field(1, ge=1, le=7,  # hnas.spaces.stage_groups.MAX_GROUPS (a test keeps them equal)
                              description="resnet48: weight groups per stage, chosen by the stage's output width (the 2022 4th place's few-shot supernet; 1: one-shot); a checkpoint with fewer groups grows into it")


class Train(Section):
    epochs: int = Field(300, ge=1, description="training epochs")
    lr: float = Field(0.1, ge=0, description="peak learning rate (cosine decay; 0 only recalibrates BN)")
    momentum: float = Field(0.9, ge=0, lt=1, description="SGD momentum")
    nesterov: bool = Field(False, description="Nesterov momentum")
    weight_decay: float = Field(0.0, ge=0, description="L2 weight decay")
    warmup_steps: int = Field(0, ge=0, description="linear warm-up steps")
    clip_norm: Optional[float] = Field(None, gt=0, description="clip the gradient's global norm")
    seed: int = Field(0, ge=0, le=MAX_SEED, description="seed of weights, sampling and data order")
    amp: one_of(AMP_MODES) = Field("off", description="mixed precision of training, supernet and stand-alone (fp16 with loss scaling, bf16; GPU, XPU and custom devices only: float32 on a CPU)")
    warmup_epochs: Optional[float] = Field(None, ge=0, description="warm-up in epochs (overrides warmup_steps)")
    lr_reference_batch: Optional[int] = Field(None, ge=1,
                                              description="scale lr by batch_size * world_size / this")
    strategy: one_of(STRATEGIES[:-1]) = Field("sandwich", description="archs trained per step")
    sampler: one_of(SAMPLERS) = Field("uniform", description="how archs are drawn")
    middle_sampler: Optional[one_of(SAMPLERS)] = Field(None, description="sandwich: sampler of the middle archs")
    num_archs: int = Field(4, ge=1, description="archs per step")
    phase_epochs: Union[int, List[int]] = Field(1, description="progressive / levels samplers: epochs per phase (progressive: or one count per phase)")
    depth_phases: int = Field(2, ge=1, description="progressive sampler: depth phases")
    width_phases: int = Field(3, ge=1, description="progressive sampler: width phases; levels: width levels")
    pareto: Optional[one_of(PARETO_PICKS)] = Field(None, description="Pareto-aware sampling: train the best or worst candidate")
    pareto_candidates: int = Field(3, ge=2, description="Pareto-aware sampling: candidates per draw")
    pareto_quality: one_of(("loss",) + PROXIES) = Field("loss", description="Pareto-aware sampling: how candidates are judged")
    pareto_window: float = Field(0.1, gt=0, lt=1, description="Pareto-aware sampling: relative FLOPs window around the target")
    same_batch: bool = Field(True, description="every arch of a step sees the same batch")
    distill: one_of(DISTILL) = Field("inplace", description="knowledge distillation source")
    distill_loss: one_of(DISTILL_LOSSES) = Field("kd", description="distillation loss")
    kd_temperature: float = Field(1.0, gt=0, description="distillation temperature")
    teacher_checkpoint: Optional[str] = Field(None, description="distill teacher: a stand-alone run or checkpoint")
    teacher_arch: Optional[str] = Field(None, description="distill teacher's arch (default: the largest)")
    rank_loss: Optional[one_of(PROXIES)] = Field(None, description="pairwise rank loss toward this prior")
    rank_weight: float = Field(1.0, ge=0, description="rank loss weight")
    rank_schedule: one_of(RANK_SCHEDULES) = Field("constant", description="rank loss weight over training")
    rank_ramp_epochs: int = Field(10, ge=0, description="epochs of the rank loss ramp")
    rank_margin: float = Field(0.0, ge=0, description="rank loss margin")
    rank_form: one_of(RANK_FORMS) = Field("step", description="pairs of the rank loss (pgonas: the 2022 3rd place's extra pairs)")
    min_flops: Optional[float] = Field(None, ge=0, description="train only archs with at least these MACs")
    max_flops: Optional[float] = Field(None, ge=0, description="train only archs with at most these MACs")
    min_params: Optional[float] = Field(None, ge=0, description="train only archs with at least these parameters")
    max_params: Optional[float] = Field(None, ge=0, description="train only archs with at most these parameters")
    arch_pool: Optional[str] = Field(None, description="sampler arch_pool: an arch file to draw from")
    arch_pool_size: int = Field(100, ge=1, description="sampler arch_pool / params_pool: pool size")
    size_candidates: int = Field(400, ge=1, description="strategy size_biased: archs drawn per step, of which the num_archs largest train")
    size_extra_every: int = Field(3, ge=0, description="strategy size_biased: one more random arch every N steps (0: never)")
    size_scaled_loss: bool = Field(False, description="strategy size_biased: scale each arch's loss by its width sum over the largest's")
    nsas_archive: int = Field(10, ge=2, description="strategy nsas: archs in the diverse archive trained every step beside num_archs sampled ones")
    nsas_recent: int = Field(100, ge=1, description="strategy nsas: recently sampled archs that may replace an archive member")
    nsas_knn: int = Field(9, ge=1, description="strategy nsas: an arch's diversity is its mean distance to this many nearest archive members")
    nsas_refresh_every: int = Field(500, ge=1, description="strategy nsas: redraw the archive every N steps")
    nsas_weight: float = Field(0.5, gt=0, description="strategy nsas: loss weight of each sampled arch")
    nsas_archive_weight: float = Field(0.5, gt=0, description="strategy nsas: loss weight of the archive, shared by its archs (each trained on the labels)")
    moco_dim: int = Field(128, ge=2, description="contrastive stage: embedding size of the projection head")
    moco_queue: int = Field(65536, ge=1, description="contrastive stage: keys kept as negatives")
    moco_momentum: float = Field(0.999, ge=0, lt=1, description="contrastive stage: the key encoder's momentum")
    moco_temperature: float = Field(0.2, gt=0, description="contrastive stage: InfoNCE temperature")
    sample_like: Optional[str] = Field(None, description="train where you score: draw only the choices of each gene that an arch list uses (an arch file, or built-in ranges: " + ", ".join(LIST_RANGES) + "); scoring still takes any arch")
    init_checkpoint: Optional[str] = Field(None, description="start a fresh run from a trained supernet's weights")
    fewshot_gene: Optional[Union[str, List[str]]] = Field(None, description="few-shot: split the space on this gene (c19, depth3, ...), or on several with fewshot_groups")
    fewshot_groups: Optional[List[List[Any]]] = Field(None, description="few-shot: explicit groups, one part each: values of the gene, or lists of one value per gene; archs in no group are scored by the supernet the parts start from (train.init_checkpoint or the previous stage)")
    fewshot_parts: int = Field(2, ge=2, description="few-shot: number of sub-supernets")
    branch_epoch: Optional[int] = Field(None, ge=0, description="multi-branch sharing: the epoch branches part ways")
    eval_every: int = Field(1, ge=0, description="score the largest and smallest arch every N epochs (0: never)")
    log_every: int = Field(20, ge=1, description="train.log line every N steps")
    keep_checkpoints: int = Field(2, ge=1, description="checkpoints kept (epoch ends and mid-epoch ones)")
    checkpoint_every: int = Field(0, ge=0, description="also save a checkpoint every N steps inside an epoch (0: at epoch ends only); a stopped or killed run resumes from it exactly")
    checkpoint_minutes: float = Field(0.0, ge=0, description="also save a checkpoint inside an epoch when this many minutes passed since the last one (0: off)")

    @model_validator(mode="after")
    def _rules_across_keys(self):
        """Rules between keys of this section, checked with the rest so that a wrong pair fails when
        the recipe loads, not minutes in after the data and the supernet are built."""
        problems = []
        if self.distill == "inplace" and self.strategy != "sandwich":
            problems.append(f"distill inplace needs strategy sandwich (the largest arch is the teacher), got "
                            f"{self.strategy}")
        if self.strategy == "sandwich" and self.num_archs < 2:
            problems.append(f"strategy sandwich needs num_archs >= 2 (largest + smallest), got {self.num_archs}")
        if self.rank_loss and not (self.strategy == "sandwich" or (self.strategy == "dyna_batch"
                                                                    and self.num_archs >= 2)):
            problems.append(f"rank_loss needs at least two archs per step (strategy sandwich, or dyna_batch with "
                            f"num_archs >= 2), got strategy {self.strategy} with num_archs {self.num_archs}")
        if self.rank_loss and self.rank_form == "pgonas" and (self.strategy != "sandwich" or self.num_archs < 3
                                                               or self.rank_margin):
            problems.append(f"rank_form pgonas draws num_archs - 2 extra pairs beside a sandwich and has no margin: "
                            f"needs strategy sandwich, num_archs >= 3 and rank_margin 0, got {self.strategy}, "
                            f"{self.num_archs}, {self.rank_margin}")
        per_phase = self.phase_epochs if isinstance(self.phase_epochs, list) else [self.phase_epochs]
        if isinstance(self.phase_epochs, list) and "levels" in (self.sampler, self.middle_sampler):
            problems.append("phase_epochs: the levels sampler takes one count of epochs per phase, not a list")
        if any(epochs < 0 for epochs in per_phase) or (not isinstance(self.phase_epochs, list) and self.phase_epochs < 1):
            problems.append(f"phase_epochs {self.phase_epochs!r}: expected a count >= 1, or a list of counts >= 0")
        if self.strategy in ("size_biased", "nsas") and self.pareto:
            problems.append(f"pareto picks one arch among candidates, which strategy {self.strategy} does not "
                            f"train: use one of them")
        if problems:
            raise ValueError("train: " + "; ".join(problems))
        return self



class Eval(Section):
    metric: one_of(METRICS) = Field("loss", description="the score: -loss or accuracy")
    bn_mode: one_of(BN_MODES) = Field("batch", description="BN statistics archs are scored with")
    amp: one_of(AMP_MODES) = Field("off", description="mixed precision of scoring (fp16, bf16; GPU, XPU and custom devices only: float32 on a CPU)")
    max_images: Optional[int] = Field(None, ge=1, description="score on this many test images (default: all)")
    subset: one_of(SUBSETS) = Field("random", description="which max_images: at random, per class, or where pilot archs disagree (measured: random is best, benchmarks/README.md)")
    subset_seed: int = Field(0, ge=0, le=MAX_SEED, description="seed of the test subset and the pilot archs")
    pilot_archs: int = Field(6, ge=2, description="subset disagreement: pilot archs")
    normalize: bool = Field(False, description="min-max normalise the written scores")
    batch_size: int = Field(256, ge=1, description="scoring batch")
    calib_batches: int = Field(20, ge=1, description="calib_* BN modes: calibration batches")
    save_every: int = Field(20, ge=1, description="save partial scores every N archs")
    wait_timeout: float = Field(WAIT_TIMEOUT, gt=0, description="sharded scoring: seconds a process waits for the other shards' files with none appearing (a dead shard on this host is noticed at once)")
    fuse: Optional[str] = Field(None, description="fuse the scores with priors: NAME[=WEIGHT],... (no weight: the automatic one, docs/priors.md)")
    fuse_method: one_of(FUSION_METHODS) = Field("rank", description="fusion of ranks or z-scores")


class Standalone(Section):
    epochs: int = Field(200, ge=1, description="stand-alone training epochs")
    lr: float = Field(0.1, gt=0, description="peak learning rate")
    momentum: float = Field(0.9, ge=0, lt=1, description="SGD momentum")
    weight_decay: float = Field(5e-4, ge=0, description="L2 weight decay")
    batch_size: int = Field(128, ge=1, description="training batch")
    warmup_steps: int = Field(500, ge=0, description="linear warm-up steps")
    clip_norm: Optional[float] = Field(None, gt=0, description="clip the gradient's global norm")


class Output(Section):
    dir: Optional[str] = Field(None, description="run directory (default: checkpoints/<name>)")


class Recipe(Section):
    name: Optional[str] = Field(None, description="run name (default: the config file's stem)")
    space: one_of(SPACE_NAMES) = Field("resnet20", description="search space")
    data: Data = Field(default_factory=Data)
    model: Model = Field(default_factory=Model)
    train: Train = Field(default_factory=Train)
    eval: Eval = Field(default_factory=Eval)
    standalone: Standalone = Field(default_factory=Standalone)
    output: Output = Field(default_factory=Output)
    stages: Optional[List[Dict[str, Any]]] = Field(
        None, min_length=1, description="stages trained in turn: a list of {name, kind (largest or supernet), section.key: value}")

    @model_validator(mode="after")
    def _rules_across_sections(self, info: ValidationInfo):
        """Which model a space has, which options that model has, and what it starts from. (A stage's
        teacher may come from an earlier stage: hnas.train.stages checks the order of stages.)"""
        problems = []
        in_stage = (info.context or {}).get("stage", False)
        if self.train.distill == "teacher" and not self.train.teacher_checkpoint and not (self.stages or in_stage):
            problems.append("train.distill teacher needs train.teacher_checkpoint (a `hnas standalone` run or "
                            ".pdparams)")
        name = self.model.name or self.space
        if MODEL_SPACE[name] != self.space:
            problems.append(f"model.name {name} belongs to search space {MODEL_SPACE[name]}, not {self.space}")
        elif self.space != "resnet20":
            changed = [f"model.{key}" for key in RESNET20_ONLY
                       if getattr(self.model, key) != Model.model_fields[key].default]
            if changed:
                problems.append(f"{', '.join(changed)}: resnet20 options; model {name} has none of them")
        if self.model.reorder and name not in REORDERING_MODELS:
            problems.append(f"model.reorder: model {name} cannot reorder channels (the resnet48 models can)")
        if self.model.stage_groups != 1 and name not in REORDERING_MODELS:
            problems.append(f"model.stage_groups: model {name} has no stage groups (the resnet48 models have)")
        progressive = [f"train.{key} progressive" for key in ("sampler", "middle_sampler")
                       if getattr(self.train, key) == "progressive"]
        if progressive and self.space != "resnet48":
            problems.append(f"{', '.join(progressive)}: progressive shrinking needs elastic depth (space resnet48), "
                            f"not {self.space}")
        if self.train.branch_epoch is not None and "branch" not in (self.model.conv, self.model.bn, self.model.fc):
            problems.append("train.branch_epoch needs multi-branch sharing (model conv, bn or fc: branch)")
        if LIST_RANGES.get(self.train.sample_like, self.space) != self.space:
            problems.append(f"train.sample_like {self.train.sample_like}: ranges of search space "
                            f"{LIST_RANGES[self.train.sample_like]}, not {self.space}")
        if problems:
            raise ValueError("; ".join(problems))
        return self



def reference():
    """docs/config.md: every key with its type, default and meaning."""
    lines = ["# Recipe reference", "", "Generated from `hnas/config_schema.py` (`python -m hnas.config_schema > docs/config.md`).",
             "A recipe is a YAML file of these sections; `base: other.yaml` starts from another recipe, and",
             "`--section.key value` overrides any key on the command line. Every value is checked when the",
             "recipe loads; all bad keys are reported in one error line.", ""]
    top = [(name, field) for name, field in Recipe.model_fields.items() if not _is_section(field)]
    lines += _table("top level", top)
    for name, field in Recipe.model_fields.items():
        if _is_section(field):
            lines += _table(name, list(field.annotation.model_fields.items()))
    return "\n".join(lines)


def _is_section(field):
    return isinstance(field.annotation, type) and issubclass(field.annotation, Section)


def _table(title, fields):
    rows = [f"## {title}", "", "| key | type | default | allowed | meaning |", "|---|---|---|---|---|"]
    for name, field in fields:
        kind, choices = _kind(field.annotation)
        bounds = [f"{symbol} {getattr(m, attr)}" for m in field.metadata
                  for attr, symbol in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")) if hasattr(m, attr)]
        allowed = ", ".join(f"`{c}`" for c in choices) or " and ".join(bounds)
        rows.append(f"| `{name}` | {kind} | `{field.default!r}` | {allowed} | {field.description} |")
    return rows + [""]


def _kind(annotation):
    """(type in words, allowed choices) of a field annotation."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Union:
        kind, choices = _kind(next(a for a in args if a is not type(None)))
        return f"{kind} or None", choices
    if origin is Literal:
        return "choice", args
    if origin is list:
        return f"list of {_kind(args[0])[0]}", ()
    if origin is dict:
        return "mapping", ()
    return annotation.__name__, ()


if __name__ == "__main__":
    print(reference())
