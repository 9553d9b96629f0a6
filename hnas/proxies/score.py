"""`hnas proxy`: score a competition arch file with a prior, resumably (the evaluator's runner)."""
from pathlib import Path

from hnas.archfile import read_arch_file, space_of_file
from hnas.score_store import file_digest, finish, score_entries
from hnas.io import check_writable
from hnas.proxies import build_prior

DEFAULT_CLASSES = {"resnet20": 100, "resnet48": 1000}


def score_arch_file(archs, out, proxy, space_name=None, num_classes=None, image_size=None,
                    model=None, **zen_options):
    """Score `archs` with a prior; the space is the strings' own unless `space_name` overrides it."""
    space = space_of_file(archs, override=space_name)
    space_name = space.name
    entries = read_arch_file(archs, space)  # every entry validated before any work
    check_writable(Path(out).parent)
    num_classes = num_classes or DEFAULT_CLASSES[space_name]
    prior = build_prior(proxy, space, num_classes, image_size, {"name": model}, **zen_options)
    fingerprint = {"proxy": proxy, "space": space_name, "num_classes": num_classes, "image_size": image_size,
                   "model": model, "zen": zen_options, "archs": file_digest(archs)}
    scores = score_entries(lambda text: prior(space.parse(text)), entries, out, fingerprint)
    finish(out, entries, scores)
    return entries
