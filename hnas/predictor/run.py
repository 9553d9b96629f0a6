"""`hnas predict`: a supernet scores a sample of an arch file (growing it if asked), a predictor fills
in the rest; or a score file a user already has fills in its arch file. Every round of scoring is an
`hnas test` run (resumable, shardable, multi-process under paddle.distributed.launch) on a sample
file kept in OUT.sample/, so a rerun picks up where it stopped and writes the same bytes."""
import copy
import json
from pathlib import Path

import numpy as np

from hnas.errors import HnasError
from hnas.archfile import keys_naming_other_archs, read_arch_file, space_of_file, write_arch_file
from hnas.predictor.fill import FillIn, write_filled
from hnas.predictor.growth import DEFAULT_PLATEAU, check_plan, next_size
from hnas.predictor.regressor import check_fit_size
from hnas.predictor.selection import choose

DEFAULT_FOLDS = 5


def sample_dir(out):
    return Path(f"{out}.sample")


def predict_from_scores(scores, archs, out, folds=DEFAULT_FOLDS, seed=0, space=None):
    """Fill in `archs` from the scores `scores` holds for some of its keys (same arch per key)."""
    space = space_of_file(archs, override=space)
    entries = read_arch_file(archs, space)
    listed = dict(entries)
    given = read_arch_file(scores, space, with_scores=True)
    differ = keys_naming_other_archs(listed, given)
    missing = [key for key, _, _ in given if key not in listed]
    if differ or missing:
        key = (differ or missing)[0]
        raise HnasError(f"{scores}: {len(differ)} keys name another arch than in {archs} and {len(missing)} keys are "
                        f"not in it (e.g. {key!r}); give scores of that file's own entries")
    scored = {key: value for key, _, value in given}
    check_fit_size(len(scored), folds)
    fill = FillIn(space, entries)
    quality = fill.quality(scored, folds, seed)
    return write_filled(out, fill, scored, quality, seed, sample={"method": "given", "scores": str(scores)})


def _score_round(config, checkpoint, sample, scores, space, shard):
    """Score a round's sample file into `scores`: this process's shard under --shard or
    paddle.distributed.launch, then every process waits for the whole round."""
    from hnas.evaluate.run import evaluate_arch_file
    from hnas.lock import wait_for_outputs
    from hnas.layout import shard_part
    from hnas.score_store import merge_parts, parse_shard
    if scores.is_file():
        wanted, done = set(json.loads(sample.read_text())), set(json.loads(scores.read_text()))
        if wanted != done:
            raise HnasError(f"{scores} holds the scores of another sample ({len(done - wanted)} of its archs are not in "
                            f"{sample.name}): its folder belongs to a run with another --sample, --select, --seed or "
                            f"arch file; give another --out or remove {sample.parent}")
        return
    if shard is None:  # alone, or under paddle.distributed.launch, where rank 0 merges the ranks' parts
        evaluate_arch_file(config, checkpoint, sample, scores)
        wait_for_outputs([scores], "the merged round", config["eval"]["wait_timeout"])
        return
    index, count = parse_shard(shard)
    parts = [shard_part(scores, i, count) for i in range(count)]
    evaluate_arch_file(config, checkpoint, sample, parts[index], shard=shard)
    wait_for_outputs(parts, "the other shards of the round", config["eval"]["wait_timeout"])
    merge_parts(sample, space, parts, scores)


def predict_with_supernet(config, checkpoint, archs, out, sample, select="spread", target=None, max_sample=None,
                          plateau=DEFAULT_PLATEAU, folds=DEFAULT_FOLDS, seed=0, shard=None):
    """Score `sample` archs of `archs` with the supernet (doubling while the K-fold tau-b is below
    `target`, up to `max_sample`, stopping at a plateau), fill in the rest; returns the record (None
    in a process that does not write: shards other than 0, ranks other than 0)."""
    import paddle
    from hnas.score_store import parse_shard
    space = space_of_file(archs, expected=config["space"])
    entries = read_arch_file(archs, space)
    check_plan(sample, len(entries), target, max_sample, plateau)
    check_fit_size(sample, folds)
    writer = parse_shard(shard)[0] == 0 and paddle.distributed.get_rank() == 0
    if config["eval"]["fuse"]:
        raise HnasError("eval.fuse fuses a whole scored list: predict without it, then hnas fuse --scores OUT")
    config = copy.deepcopy(config)
    normalize, config["eval"]["normalize"] = config["eval"]["normalize"], False  # one scale across rounds
    fill = FillIn(space, entries)
    work = sample_dir(out)
    scored, history, size = {}, [], sample
    while size is not None:
        round_number = len(history) + 1
        pool = [i for i, (key, _) in enumerate(entries) if key not in scored]
        chosen = choose(pool, size - len(scored), select, fill.params, np.random.RandomState([seed, round_number]))
        round_archs, round_scores = work / f"round{round_number}.json", work / f"round{round_number}.scores.json"
        write_arch_file(round_archs, [entries[i] for i in chosen], {entries[i][0]: 0.0 for i in chosen})
        _score_round(config, checkpoint, round_archs, round_scores, space, shard)
        scored.update({key: e["acc"] for key, e in json.loads(round_scores.read_text()).items()})
        quality = fill.quality(scored, folds, seed)
        history.append((len(scored), quality["tau_b"]))
        size, why = next_size(history, len(entries), target, max_sample, plateau)
        print(f"sample of {len(scored)} archs: K-fold tau-b of the fill-in against the supernet {quality['tau_b']:.4f}"
              + ("" if size is None else f"; growing to {size}"))
    if not writer:
        return None
    record = write_filled(out, fill, scored, quality, seed, normalize=normalize, sample={
        "method": select, "seed": seed, "first": sample, "target": target, "max_sample": max_sample,
        "plateau": plateau, "stop": why, "rounds": [{"size": n, "kfold_tau_b": t} for n, t in history],
        "scores": [str(work / f"round{i + 1}.scores.json") for i in range(len(history))],
        "checkpoint": str(checkpoint), "metric": config["eval"]["metric"], "bn_mode": config["eval"]["bn_mode"]})
    return record
