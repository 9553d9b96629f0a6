"""FLOPs / parameter budgets: which archs a search may score and a budgeted supernet may train."""
from hnas.errors import HnasError
from hnas.proxies.counts import count_flops, count_params

PROBE_DRAWS = 2000


def _bound(name, value):
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise HnasError(f"{name}: expected a number, got {value!r}") from None


class Limits:
    """arch -> True when its FLOPs (MACs) and parameter count lie inside the given bounds."""

    def __init__(self, space, num_classes, image_size=None, model_options=None, min_flops=None,
                 max_flops=None, min_params=None, max_params=None):
        self.space, self.num_classes, self.image_size = space, num_classes, image_size
        self.model_options = dict(model_options or {})
        self.bounds = {"flops": (_bound("min_flops", min_flops), _bound("max_flops", max_flops)),
                       "params": (_bound("min_params", min_params), _bound("max_params", max_params))}

    @property
    def active(self):
        return any(b is not None for pair in self.bounds.values() for b in pair)

    def measure(self, arch):
        return {"flops": count_flops(self.space, arch, self.image_size, self.num_classes, self.model_options),
                "params": count_params(self.space, arch, self.num_classes, self.model_options)}

    def __call__(self, arch):
        if not self.active:
            return True
        return self._inside(self.measure(arch))

    def describe(self):
        parts = []
        for key, (low, high) in self.bounds.items():
            if low is not None or high is not None:
                parts.append(f"{key} in [{low if low is not None else 0:.4g}, {high if high is not None else float('inf'):.4g}]")
        return ", ".join(parts) or "no limits"

    def check_reachable(self, rng):
        """Fail at once, naming the range the space covers, when no uniformly drawn arch fits the
        limits (rejection sampling could not find candidates either)."""
        if not self.active:
            return
        measured = [self.measure(self.space.sample(rng)) for _ in range(PROBE_DRAWS)]
        if not any(self._inside(m) for m in measured):
            spans = ", ".join(f"{k} {min(m[k] for m in measured):.4g}..{max(m[k] for m in measured):.4g}"
                              for k in ("flops", "params"))
            raise HnasError(f"no arch fits the limits ({self.describe()}): {PROBE_DRAWS} uniform draws "
                            f"cover {spans}")

    def _inside(self, values):
        return all((low is None or values[k] >= low) and (high is None or values[k] <= high)
                   for k, (low, high) in self.bounds.items())
