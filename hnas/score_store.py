"""Scoring an arch file: resumable (atomic partial results), shardable, mergeable."""
import hashlib
import json
import time
from collections import namedtuple
from pathlib import Path

from hnas.errors import HnasError, say
from hnas.archfile import min_max, read_arch_file, write_arch_file
from hnas.io import read_json, write_json
from hnas.layout import partial, shard_part
from hnas.stopping import arm, stop_here
from hnas.lock import only_writer, wait_for_outputs
from hnas.progress import progress


def parse_shard(shard):
    """'I/N' -> (I, N) with 0 <= I < N."""
    if shard is None:
        return 0, 1
    try:
        index, count = (int(v) for v in str(shard).split("/"))
    except ValueError:
        raise HnasError(f"--shard {shard!r}: expected I/N, e.g. 0/2") from None
    if not 0 <= index < count:
        raise HnasError(f"--shard {shard!r}: expected 0 <= I < N")
    return index, count


def shard_entries(entries, index, count):
    return entries[index::count]


ShardPlan = namedtuple("ShardPlan", "index count target launched")


def shard_plan(shard, out_path, world, rank):
    """This process's share of an arch file. With --shard I/N it scores every N-th entry from the
    I-th into OUT itself (hnas merge joins the shards); under paddle.distributed.launch (world > 1,
    no --shard) rank R of W scores its share into OUT.partRofW and rank 0 merges them into OUT."""
    index, count = parse_shard(shard)
    launched = shard is None and world > 1
    if launched:
        index, count = rank, world
    return ShardPlan(index, count, shard_part(out_path, index, count) if launched else Path(out_path), launched)


def merge_launched_parts(archs_path, space, out_path, count, wait_timeout, normalize=False):
    """Rank 0 of a launched run: wait for every rank's part (one line, not a hang, if one died),
    then merge them into OUT, holding OUT's lock so that ranks waiting for it see the merge running."""
    parts = [shard_part(out_path, i, count) for i in range(count)]
    with only_writer(out_path, "scores file"):
        wait_for_outputs(parts, "the other ranks' parts", wait_timeout)
        return merge_parts(archs_path, space, parts, out_path, normalize=normalize)


def file_digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class ScoreStore:
    """Scores saved atomically to one JSON file with the fingerprint of the work that made them
    (hnas.fingerprint): the file is reused only by the same work. Another fingerprint restarts from
    nothing, or with `mismatch` set, is that error. `extra` is saved alongside (search's history)."""

    def __init__(self, path, fingerprint, mismatch=None):
        self.path = Path(path)
        self.fingerprint = json.loads(json.dumps(fingerprint, default=str))  # compared with its saved form
        self.scores, self.extra = {}, {}
        try:
            saved = read_json(self.path, "partial scores file") if self.path.exists() else None
        except HnasError as err:  # its scores cannot be read back: they are scored again
            say(f"warning: {err}; scoring its archs again")
            saved = None
        saved = saved if isinstance(saved, dict) else None
        if saved is not None and saved.get("fingerprint") == self.fingerprint:
            self.scores = saved.get("scores", {})
            self.extra = {k: v for k, v in saved.items() if k not in ("fingerprint", "scores")}
        elif saved is not None and mismatch:
            raise HnasError(mismatch)

    def save(self):
        write_json(self.path, {"fingerprint": self.fingerprint, "scores": self.scores, **self.extra})


class SaveSchedule:
    """When to rewrite a growing results file: every `every` new results or `seconds`, but never so
    often that saving takes over a tenth of the time, so the bookkeeping stays linear in the results
    (a fast scorer over 50,000 archs would otherwise rewrite a growing file thousands of times)."""

    def __init__(self, save, every=20, seconds=30.0):
        self._save, self.every, self.seconds = save, every, seconds
        self.last, self.unsaved, self.cost = time.time(), 0, 0.0

    def added(self, count=1):
        self.unsaved += count
        since = time.time() - self.last
        if (self.unsaved >= self.every or since > self.seconds) and since >= 9 * self.cost:
            self.save_now()

    def save_now(self):
        start = time.time()
        self._save()
        self.last, self.unsaved, self.cost = time.time(), 0, time.time() - start


def score_entries(evaluate, entries, out_path, fingerprint, save_every=20, save_seconds=30.0):
    """Score [(key, arch string)] with evaluate(arch string) -> float, resuming from the partial
    file when its fingerprint matches. Returns {key: score}. The partial file is saved on a
    SaveSchedule (every `save_every` archs or `save_seconds`)."""
    store = ScoreStore(partial(out_path), fingerprint)
    wanted = {key for key, _ in entries}
    store.scores = scores = {k: v for k, v in store.scores.items() if k in wanted}
    if scores:
        print(f"resuming {out_path}: {len(scores)}/{len(entries)} archs already scored")
    schedule = SaveSchedule(store.save, save_every, save_seconds)
    arm()
    try:
        with progress(total=len(entries), initial=len(scores), unit="arch", desc="scoring", dynamic_ncols=True) as bar:
            for key, text in entries:
                if key in scores:
                    continue
                scores[key] = evaluate(text)
                bar.update(1)
                schedule.added()
                stop_here(f"{len(scores)} of {len(entries)} archs scored (kept in {store.path})")
    finally:  # an interrupted or failed run keeps every arch it scored
        store.save()
    return scores


def finish(out_path, entries, scores, normalize=False):
    write_arch_file(out_path, entries, min_max(scores) if normalize else scores)
    partial(out_path).unlink(missing_ok=True)


def merge_parts(archs_path, space, part_paths, out_path, normalize=False):
    """Combine shard outputs (raw scores) into one file in the arch file's order."""
    entries = read_arch_file(archs_path, space)
    scores = {}
    for part in part_paths:
        part = Path(part)
        if not part.is_file():
            raise HnasError(f"shard output not found: {part}")
        for key, entry in json.loads(part.read_text()).items():
            scores[key] = entry["acc"]
    missing = [key for key, _ in entries if key not in scores]
    if missing:
        raise HnasError(f"merge: {len(missing)} archs of {archs_path} are in no shard output (e.g. {missing[0]})")
    write_arch_file(out_path, entries, min_max({k: scores[k] for k, _ in entries}) if normalize
                    else {k: scores[k] for k, _ in entries})
    return entries
