"""The ablation file: which recipe, which archs, which rows (recipe overrides), evaluations,
test subsets and priors. Every row's recipe is loaded (and so checked) before any work starts.

    recipe: configs/digits_rank_benchmark.yaml   # the base recipe
    overrides: {train.epochs: 20}                # applied to every supernet row
    archs: benchmarks/digits_archs.json          # the ground-truth arch set (competition format)
    ground_truth: {seeds: 3, cache: checkpoints/groundtruth, file: benchmarks/digits_gt.json}
                                                 # file: a committed ground truth used instead of training
                                                 # when its .meta.json names this recipe and seed count
    seeds: [0, 1]                                # each supernet row is trained once per seed
    rows: {baseline: {}, uniform: {train.sampler: uniform}}
                                                 # a row with `from: ROW` starts each seed from that row's
                                                 # supernet of the same seed (train.init_checkpoint), after
                                                 # it; its training time includes the source's
    grid:                                        # and/or: the cartesian product of named axes
      sharing: {end BN: {model.bn: end}, full BN: {model.bn: full}}
      sampler: {fair: {train.sampler: strict_fair}, uniform: {train.sampler: uniform}}
    evals: {batch / loss: {eval.bn_mode: batch, eval.metric: loss}}
    subsets: [0.1, 0.25, 1.0]                    # test fractions, scored with the first eval
    priors: [params, flops, zen]
    fusions: {zen 0.5: zen=0.5}                  # extra rows: every supernet row (first eval) fused with
                                                 # priors above (NAME=WEIGHT,...; or {priors: ..., method: zscore})
    ks: [5, 10]                                  # precision@K and top-K tau
    output: benchmarks/out/ablate_digits
"""
import itertools
from pathlib import Path
from typing import Any, Dict, List, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hnas.config import checked, load_config, read_yaml_mapping
from hnas.config_schema import MAX_SEED, PROXIES, one_of
from hnas.errors import HnasError
from hnas.layout import safe_name
from hnas.fusion import DEFAULT_METHOD, fusion_weights

FIXED_SECTIONS = ("space", "data", "standalone")  # rows share the data and the ground truth
# ...except how the supernet's training images are augmented, which leaves the images and the
# ground truth as they are
ROW_DATA_KEYS = ("augment",)
Overrides = Dict[str, Any]  # {section.key: value}, checked when each row's recipe loads


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GroundTruth(_Strict):
    seeds: int = Field(3, ge=1, description="stand-alone runs per arch")
    cache: str = Field("checkpoints/groundtruth", description="the stand-alone runs' cache")
    file: Optional[str] = Field(None, description="a committed ground truth used instead of training when its "
                                                  ".meta.json names this recipe and seed count")


class AblationFile(_Strict):
    """The structure of an ablation file (what each key holds); AblationSpec checks what needs the
    recipe: every row's overrides, sources, fusions against the priors."""
    recipe: str
    archs: str
    overrides: Overrides = {}
    ground_truth: GroundTruth = Field(default_factory=GroundTruth)
    seeds: List[int] = Field([0], min_length=1)
    rows: Dict[str, Optional[Overrides]] = {}
    grid: Dict[str, Dict[str, Optional[Overrides]]] = {}
    evals: Dict[str, Optional[Overrides]] = {"batch / loss": {}}
    subsets: List[float] = []
    priors: List[one_of(PROXIES)] = []
    fusions: Dict[str, Any] = {}
    ks: List[int] = [5, 10]
    output: Optional[str] = None
    workers: int = Field(1, ge=1)

    @field_validator("seeds")
    @classmethod
    def _seeds_in_range(cls, seeds):
        if any(not 0 <= s <= MAX_SEED for s in seeds):
            raise ValueError(f"seeds are integers in 0..{MAX_SEED}")
        return seeds

    @field_validator("evals")
    @classmethod
    def _only_eval_keys(cls, evals):
        for name, overrides in evals.items():
            if any(not key.startswith("eval.") for key in overrides or {}):
                raise ValueError(f"eval {name!r}: only eval.* keys may change, got {sorted(overrides)}")
        return evals

    @field_validator("subsets")
    @classmethod
    def _fractions(cls, subsets):
        if any(not 0 < f <= 1 for f in subsets):
            raise ValueError("subsets are fractions of the test set in (0, 1]")
        return subsets

    @field_validator("ks")
    @classmethod
    def _positive(cls, ks):
        if any(k < 1 for k in ks):
            raise ValueError("ks are positive counts")
        return ks


def _shared(config, section):
    if section != "data":
        return config[section]
    return {k: v for k, v in config[section].items() if k not in ROW_DATA_KEYS}


def slug(name):
    return safe_name(name, "row")


def _rows(raw):
    rows = {str(k): dict(v or {}) for k, v in raw.rows.items()}
    axes = [(axis, list(values.items())) for axis, values in raw.grid.items()]
    for combination in itertools.product(*[values for _, values in axes]) if axes else ():
        name = " / ".join(f"{axis}={value}" for (axis, _), (value, _) in zip(axes, combination))
        overrides = {}
        for _, (_, changes) in zip(axes, combination):
            overrides.update(changes or {})
        rows[name] = overrides
    if not rows:
        raise HnasError("ablation file: name at least one supernet row under `rows` or `grid`")
    slugs = [slug(n) for n in rows]
    if len(set(slugs)) != len(slugs):
        raise HnasError(f"ablation file: row names must differ in letters and digits: {sorted(rows)}")
    return rows


def _fusion(name, value, priors):
    """{'weights': {prior: weight}, 'method'} of one fusion row, checked against the computed priors."""
    value = value if isinstance(value, dict) else {"priors": value}
    unknown = sorted(set(value) - {"priors", "method"})
    if unknown:
        raise HnasError(f"ablation fusion {name!r}: unknown keys {unknown}; expected priors and method")
    method = value.get("method", DEFAULT_METHOD)
    weights = fusion_weights(value.get("priors"), method)
    missing = [p for p in weights if p not in priors]
    if missing:
        raise HnasError(f"ablation fusion {name!r} uses priors {missing} that `priors` does not compute ({priors})")
    return {"weights": weights, "method": method}


def _sources(rows):
    """{row: the row it starts from}, taken out of the rows' overrides; unknown or circular sources
    are one error."""
    sources = {name: str(overrides.pop("from")) for name, overrides in rows.items() if "from" in overrides}
    for name, source in sources.items():
        if source not in rows:
            raise HnasError(f"ablation row {name!r} starts from {source!r}, which is not a row; rows: {sorted(rows)}")
        seen = [name]
        while source in sources:
            if source in seen:
                raise HnasError(f"ablation rows start from each other in a circle: {' -> '.join(seen + [source])}")
            seen.append(source)
            source = sources[source]
    return sources


class AblationSpec:
    def __init__(self, path, output=None, workers=None):
        path = Path(path)
        raw = checked(AblationFile, read_yaml_mapping(path, "ablation file"), f"ablation file {path}")
        self.path, self.recipe, self.archs = path, raw.recipe, raw.archs
        self.ground_truth = raw.ground_truth.model_dump()
        self.seeds, self.overrides = list(raw.seeds), dict(raw.overrides)
        self.rows = _rows(raw)
        self.sources = _sources(self.rows)
        self.evals = {str(k): dict(v or {}) for k, v in raw.evals.items()}
        self.subsets = sorted(set(raw.subsets) | ({1.0} if raw.subsets else set()))
        self.priors = list(raw.priors)
        self.fusions = {str(name): _fusion(name, value, self.priors) for name, value in raw.fusions.items()}
        self.ks = tuple(raw.ks)
        self.output = Path(output or raw.output or Path("checkpoints") / f"ablate_{path.stem}")
        self.workers = int(workers or raw.workers)
        self.base = load_config(self.recipe)
        for name in self.rows:
            for seed in self.seeds:
                try:
                    config = self.row_config(name, seed)  # a bad key or pair of keys fails now, not an hour in
                except HnasError as err:
                    raise HnasError(f"ablation row {name!r}: {err}") from None
                changed = [s for s in FIXED_SECTIONS if _shared(config, s) != _shared(self.base, s)]
                if changed:
                    raise HnasError(f"ablation row {name!r} changes {', '.join(changed)}; every row shares the "
                                    f"data and the stand-alone ground truth (set those in the recipe)")

    def run_dir(self, row, seed):
        return self.output / "runs" / slug(row) / f"seed{seed}"

    def row_config(self, row, seed, **eval_overrides):
        start = ({"train.init_checkpoint": str(self.run_dir(self.sources[row], seed))} if row in self.sources
                 else {})
        return load_config(self.recipe, **{**self.overrides, **self.rows[row], **start, **eval_overrides,
                                           "train.seed": seed, "output.dir": str(self.run_dir(row, seed))})

    def waves(self):
        """The rows in training order: rows without a source first, then the rows starting from them, ..."""
        def depth(row):
            return 0 if row not in self.sources else 1 + depth(self.sources[row])
        deepest = max((depth(row) for row in self.rows), default=0)
        return [[row for row in self.rows if depth(row) == level] for level in range(deepest + 1)]
