"""Figures for reports: a headless pyplot, and PNGs written atomically (a reader never sees half a file)."""
from hnas.io import atomic_write


def subplots(*args, **kwargs):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt.subplots(*args, **kwargs)


def save_png(fig, path):
    import matplotlib.pyplot as plt
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
    plt.close(fig)
