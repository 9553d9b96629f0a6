"""`hnas fuse` and `eval.fuse`: fuse a scored arch file with priors named (computed here, resumably,
beside the output) or given as score files, and record the method and weights beside the output."""
import json
from pathlib import Path

from hnas.errors import HnasError
from hnas.archfile import keys_naming_other_archs, read_arch_file, write_arch_file
from hnas.fusion import DEFAULT_METHOD, DEFAULT_WEIGHT, fuse, fusion_weights, resolve_weights
from hnas.fingerprint import digest
from hnas.io import write_json
from hnas.layout import fusion_record, prior_cache
from hnas.proxies import PROXIES


def _prior_scores(source, scores_path, entries, out, space, num_classes, image_size, model):
    """{key: score} of a prior: computed for a name (cached beside `out`), read for a path."""
    if source in PROXIES:
        from hnas.proxies.score import counted_model, score_arch_file
        archs = [[k, a] for k, a, _ in entries]  # the list, not its scores: a rescored file reuses the prior
        network = counted_model(model)  # the same network whichever way its options were written
        path = prior_cache(out, source, digest([archs, space.name, num_classes, image_size, network], length=8))
        if not path.is_file():
            score_arch_file(scores_path, path, source, space.name, num_classes, image_size, model)
        # written here from the validated list: read back without validating every arch again
        return str(path), {k: (e["arch"], e["acc"]) for k, e in json.loads(path.read_text()).items()}
    path = Path(source)
    if not path.is_file():
        raise HnasError(f"prior {source!r} is neither a prior hnas computes ({', '.join(PROXIES)}) nor a score file")
    return str(path), {k: (a, s) for k, a, s in read_arch_file(path, space, with_scores=True)}


def fuse_files(scores_path, priors, out, space, method=DEFAULT_METHOD, weight=DEFAULT_WEIGHT,
               num_classes=None, image_size=None, model=None):
    """Write `out` (competition format, acc = fused score) and `out`.fusion.json; returns the record.
    A named prior is computed once per arch list and settings, in a file beside `out`."""
    weights = fusion_weights(priors, method, weight)
    entries = read_arch_file(scores_path, space, with_scores=True)
    supernet = {k: s for k, _, s in entries}
    sources, prior_scores = {}, {}
    for name in weights:
        sources[name], scored = _prior_scores(name, scores_path, entries, out, space, num_classes, image_size, model)
        differ = keys_naming_other_archs({k: a for k, (a, _) in scored.items()}, entries)
        if differ:
            raise HnasError(f"{sources[name]} and {scores_path} name different archs for {len(differ)} keys "
                            f"(e.g. {differ[0]!r}); fuse scores of the same arch list")
        prior_scores[name] = {k: s for k, (_, s) in scored.items()}
    numbers, rules = resolve_weights(supernet, prior_scores, weights)
    fused = fuse(supernet, prior_scores, numbers, method)
    write_arch_file(out, [(k, a) for k, a, _ in entries], fused)
    record = {"method": method, "supernet": {"scores": str(scores_path), "weight": 1.0},
              "priors": {name: {"scores": sources[name], "weight": w,
                                **({"automatic": rules[name]} if name in rules else {})}
                         for name, w in numbers.items()}}
    write_json(fusion_record(out), record, indent=1)
    return record
