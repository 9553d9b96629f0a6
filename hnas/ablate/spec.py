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

from hnas.config import load_config, read_yaml_mapping
from hnas.errors import HnasError
from hnas.layout import safe_name
from hnas.fusion import DEFAULT_METHOD, fusion_weights
from hnas.proxies import PROXIES

KEYS = {"recipe", "overrides", "archs", "ground_truth", "seeds", "rows", "grid", "evals", "subsets", "priors",
        "fusions", "ks", "output", "workers"}
GROUND_TRUTH_DEFAULTS = {"seeds": 3, "cache": "checkpoints/groundtruth", "file": None}
FIXED_SECTIONS = ("space", "data", "standalone")  # rows share the data and the ground truth
# ...except how the supernet's training images are augmented, which leaves the images and the
# ground truth as they are
ROW_DATA_KEYS = ("augment",)


def _shared(config, section):
    if section != "data":
        return config[section]
    return {k: v for k, v in config[section].items() if k not in ROW_DATA_KEYS}


def slug(name):
    return safe_name(name, "row")


def _mapping(value, where):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise HnasError(f"ablation file: {where} must be a mapping, got {value!r}")
    return value


def _rows(raw):
    rows = {str(k): _mapping(v, f"rows.{k}") for k, v in _mapping(raw.get("rows"), "rows").items()}
    axes = [(axis, list(_mapping(values, f"grid.{axis}").items()))
            for axis, values in _mapping(raw.get("grid"), "grid").items()]
    for combination in itertools.product(*[values for _, values in axes]) if axes else ():
        name = " / ".join(f"{axis}={value}" for (axis, _), (value, _) in zip(axes, combination))
        overrides = {}
        for _, (_, changes) in zip(axes, combination):
            overrides.update(_mapping(changes, name))
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
        raw = read_yaml_mapping(path, "ablation file")
        unknown = sorted(set(raw) - KEYS)
        if unknown:
            raise HnasError(f"ablation file {path}: unknown keys {unknown}; known: {sorted(KEYS)}")
        for key in ("recipe", "archs"):
            if not raw.get(key):
                raise HnasError(f"ablation file {path}: `{key}` is required")
        self.path, self.recipe, self.archs = path, raw["recipe"], raw["archs"]
        self.ground_truth = {**GROUND_TRUTH_DEFAULTS, **_mapping(raw.get("ground_truth"), "ground_truth")}
        if set(self.ground_truth) != set(GROUND_TRUTH_DEFAULTS):
            raise HnasError(f"ablation file {path}: unknown ground_truth keys "
                            f"{sorted(set(self.ground_truth) - set(GROUND_TRUTH_DEFAULTS))}; "
                            f"known: {sorted(GROUND_TRUTH_DEFAULTS)}")
        self.seeds = [int(s) for s in raw.get("seeds", [0])]
        self.overrides = _mapping(raw.get("overrides"), "overrides")
        self.rows = _rows(raw)
        self.sources = _sources(self.rows)
        self.evals = {str(k): _mapping(v, f"evals.{k}") for k, v in
                      _mapping(raw.get("evals") or {"batch / loss": {}}, "evals").items()}
        for name, overrides in self.evals.items():
            if any(not key.startswith("eval.") for key in overrides):
                raise HnasError(f"ablation eval {name!r}: only eval.* keys may change, got {sorted(overrides)}")
        self.subsets = sorted({float(f) for f in raw.get("subsets", [])} | ({1.0} if raw.get("subsets") else set()))
        if any(not 0 < f <= 1 for f in self.subsets):
            raise HnasError(f"ablation file: subsets are fractions of the test set in (0, 1], got {self.subsets}")
        self.priors = list(raw.get("priors", []))
        bad = [p for p in self.priors if p not in PROXIES]
        if bad:
            raise HnasError(f"ablation file: unknown priors {bad}; expected some of {list(PROXIES)}")
        self.fusions = {str(name): _fusion(name, value, self.priors)
                        for name, value in _mapping(raw.get("fusions"), "fusions").items()}
        self.ks = tuple(int(k) for k in raw.get("ks", (5, 10)))
        self.output = Path(output or raw.get("output") or Path("checkpoints") / f"ablate_{path.stem}")
        self.workers = int(workers or raw.get("workers", 1))
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
