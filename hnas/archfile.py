"""Competition arch files: {"arch1": {"arch": "...", "acc": float}, ...}, read with validation of
every entry before any work, written atomically with the same keys in the same order."""
from pathlib import Path

from hnas.errors import ArchError, HnasError
from hnas.io import read_json, write_json
from hnas.spaces import SPACES, get_space

SPACE_PARSERS = {name: space() for name, space in SPACES.items()}

MAX_LISTED_ERRORS = 5


def _load(path):
    path = Path(path)
    if not path.is_file():
        raise HnasError(f"arch file not found: {path} (expected a competition-format JSON)")
    data = read_json(path, "arch file")
    if not isinstance(data, dict) or not data:
        raise HnasError(f"arch file {path}: expected a non-empty object {{\"arch1\": {{\"arch\": ...}}, ...}}")
    return data


def space_of_strings(keyed_texts, where, override=None, expected=None):
    """The search space whose strings these are: `override` (a --space value) if given, else the
    one space that parses them (a 52-digit string is the 2022 space, 20 dashed widths the 2021
    one). Strings of two spaces, or a space other than `expected` (a recipe's), are one error;
    strings of no space fall back to `expected` (or resnet20), whose reader then lists them."""
    if override is not None:
        space = get_space(override)
        if expected is not None and override != expected:
            raise HnasError(f"--space {override} disagrees with the recipe's space {expected}")
        return space
    keys_by_space, order = {}, list(SPACES)
    for key, text in keyed_texts:
        for name in order:
            try:
                SPACE_PARSERS[name].parse(text)
            except ArchError:
                continue
            keys_by_space.setdefault(name, []).append(key)
            order.remove(name)
            order.insert(0, name)  # files hold one space: try the last match first
            break
    if len(keys_by_space) > 1:
        mixed = "; ".join(f"{len(keys)} {name} ({', '.join(map(repr, keys[:2]))}{', ...' if len(keys) > 2 else ''})"
                          for name, keys in keys_by_space.items())
        raise HnasError(f"{where} mixes search spaces: {mixed}; give one space per file")
    if not keys_by_space:
        return get_space(expected or "resnet20")
    name = next(iter(keys_by_space))
    if expected is not None and name != expected:
        examples = {"resnet20": "configs/cvpr2021_*.yaml", "resnet48": "configs/cvpr2022_*.yaml"}
        raise HnasError(f"{where} holds {name} archs but the recipe is for {expected}; use a {name} recipe "
                        f"({examples.get(name, 'its space: ' + name)}) and a supernet trained with it")
    return get_space(name)


def space_of_file(path, override=None, expected=None):
    """The search space of an arch file's strings (space_of_strings)."""
    if override is not None and expected is None:
        return get_space(override)
    data = _load(path)
    texts = [(key, entry["arch"]) for key, entry in data.items()
             if isinstance(entry, dict) and isinstance(entry.get("arch"), str)]
    return space_of_strings(texts, f"arch file {path}", override, expected)


def read_arch_file(path, space, with_scores=False):
    """[(key, arch string), ...] in file order, or [(key, arch string, acc), ...] with_scores;
    all bad entries are reported in one error."""
    path = Path(path)
    data = _load(path)
    entries, errors = [], []
    for key, entry in data.items():
        text = entry.get("arch") if isinstance(entry, dict) else None
        if text is None:
            errors.append(f"{key!r}: no 'arch' field")
            continue
        try:
            space.parse(text, key=key)
        except ArchError as err:
            errors.append(str(err))
            continue
        if not with_scores:
            entries.append((key, text))
        elif isinstance(entry.get("acc"), (int, float)) and not isinstance(entry.get("acc"), bool):
            entries.append((key, text, float(entry["acc"])))
        else:
            errors.append(f"{key!r}: 'acc' is {entry.get('acc')!r}, expected a number")
    if errors:
        shown = "; ".join(errors[:MAX_LISTED_ERRORS])
        more = f" (and {len(errors) - MAX_LISTED_ERRORS} more)" if len(errors) > MAX_LISTED_ERRORS else ""
        raise HnasError(f"{path}: {len(errors)} bad entr{'y' if len(errors) == 1 else 'ies'}, nothing scored: {shown}{more}")
    return entries


def keys_naming_other_archs(listed, entries):
    """Keys of `entries` ([(key, arch string, ...)]) that `listed` ({key: arch string}) holds with another arch."""
    return [entry[0] for entry in entries if entry[0] in listed and listed[entry[0]] != entry[1]]


def write_arch_file(path, entries, scores):
    """entries: [(key, arch string)]; scores: {key: float}."""
    write_json(path, {key: {"arch": text, "acc": scores[key]} for key, text in entries})


def sample_arch_file(path, space, count, seed=0, extremes=False):
    """A competition-format list of `count` archs drawn uniformly per position (acc 0.0), followed
    by the space's largest and smallest archs if `extremes`."""
    from hnas.spaces.samplers import UniformSampler
    sampler = UniformSampler(space, seed=f"list:{seed}")
    entries = [(f"arch{i + 1}", space.format(sampler.draw(i))) for i in range(count)]
    if extremes:
        entries += [("largest", space.format(space.largest())), ("smallest", space.format(space.smallest()))]
    write_arch_file(path, entries, {key: 0.0 for key, _ in entries})
    return entries


def min_max(scores):
    low, high = min(scores.values()), max(scores.values())
    span = (high - low) or 1.0
    return {key: (value - low) / span for key, value in scores.items()}
