"""`hnas test`: score every arch of a competition file with a trained supernet."""
from pathlib import Path

import paddle

from hnas.errors import HnasError
from hnas.archfile import read_arch_file, space_of_file
from hnas.build import build_scorer, fewshot_split
from hnas.score_store import file_digest, finish, merge_launched_parts, score_entries, shard_entries, shard_plan
from hnas.fusion import fusion_weights
from hnas.fusion.files import fuse_files
from hnas.io import check_writable
from hnas.fingerprint import scoring_settings, weights_fingerprint
from hnas.lock import only_writer
from hnas.checkpoint import final_stage, resolve_checkpoint
from hnas.layout import FEWSHOT, supernet_scores


def _part_entries(entries, space, checkpoint, part):
    """The entries of few-shot part `part` of the run in `checkpoint` (a multi-stage run's last stage)."""
    checkpoint = final_stage(checkpoint)
    if not (Path(checkpoint) / FEWSHOT).is_file():
        raise HnasError(f"--part {part}: {checkpoint} is not a few-shot run (no {FEWSHOT})")
    split = fewshot_split(checkpoint)
    split.part(part)  # an index out of range is one error
    return [(key, text) for key, text in entries if split.part_of(space.parse(text)) == part]


def evaluate_arch_file(config, checkpoint, archs, out, shard=None, part=None):
    """Score `archs` into `out`; with eval.fuse, the supernet's scores go to OUT.supernet.json and
    `out` holds them fused with the priors. With `part` (a few-shot run), only the archs of that
    part, scored by its sub-supernet; `hnas merge` joins the parts' outputs like shards'."""
    e = config["eval"]
    space = space_of_file(archs, expected=config["space"])
    entries = read_arch_file(archs, space)  # every entry validated before any work
    check_writable(Path(out).parent)
    fused_out, out = _fusion_outputs(e, Path(out), shard, part)
    rank = paddle.distributed.get_rank()
    index, count, target, launched = shard_plan(shard, out, paddle.distributed.get_world_size(), rank)
    mine = shard_entries(entries, index, count)
    if part is not None:  # a bad part fails before the data and the supernet are loaded
        mine = _part_entries(mine, space, checkpoint, part)
    params = _score_share(config, checkpoint, archs, space, mine, target, [index, count], part)
    if launched and rank == 0:
        merge_launched_parts(archs, space, out, count, e["wait_timeout"], normalize=e["normalize"])
    print(f"wrote {target} ({len(mine)} archs, metric {e['metric']}, bn_mode {e['bn_mode']})")
    if fused_out is None or rank != 0:
        return target
    _fuse(config, space, out, fused_out, params)
    return fused_out


def _fusion_outputs(e, out, shard, part):
    """(the fused file or None, the file the supernet's scores go to)."""
    if not e["fuse"]:
        return None, out
    if shard is not None or part is not None:
        raise HnasError("eval.fuse ranks the whole list: score shards or parts without it, "
                        "then hnas merge and hnas fuse")
    fusion_weights(e["fuse"], e["fuse_method"])  # a bad spec or method fails before any scoring
    return out, supernet_scores(out)


def _score_share(config, checkpoint, archs, space, mine, target, shard, part):
    """Score this process's entries into `target`, resumably; returns the weight files used."""
    e = config["eval"]
    with only_writer(target, "scores file"):  # a second hnas test on the same output fails before loading
        scorer, params = build_scorer(config, checkpoint)
        fingerprint = {"weights": weights_fingerprint(params), "archs": file_digest(archs), "shard": shard,
                       "part": part, "settings": scoring_settings(config)}
        scores = score_entries(lambda text: scorer.evaluate(space.parse(text))["score"], mine, target,
                               fingerprint, save_every=e["save_every"])
        finish(target, mine, scores, normalize=e["normalize"] and shard[1] == 1)
    return params


def _fuse(config, space, scores, fused_out, params):
    e = config["eval"]
    num_classes = (resolve_checkpoint(params[0])[1] or {}).get("num_classes") or config["data"]["num_classes"]
    fuse_files(scores, e["fuse"], fused_out, space, e["fuse_method"], num_classes=num_classes,
               image_size=config["data"]["image_size"], model=config["model"])
    print(f"wrote {fused_out} (the scores fused with priors {e['fuse']}, {e['fuse_method']})")
