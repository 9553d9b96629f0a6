"""The command line the per-row benchmark scripts share: which ablation, which of its rows, which seeds."""
import argparse

DEFAULT_ROW = "3rd place (shared FC), weight decay 5e-4"  # the best single-change row whose supernets were kept


def row_parser(doc):
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--ablation", default="configs/ablate_fmnist.yaml")
    parser.add_argument("--row", default=DEFAULT_ROW)
    parser.add_argument("--seeds", default="0,1,2", type=lambda text: [int(s) for s in text.split(",")])
    return parser


def load_row(args):
    """(ablation spec, space, [(key, arch string)] of its ground-truth archs) for parsed arguments."""
    from hnas.ablate.spec import AblationSpec
    from hnas.archfile import read_arch_file
    from hnas.spaces import get_space
    spec = AblationSpec(args.ablation)
    space = get_space(spec.base["space"])
    return spec, space, read_arch_file(spec.archs, space)
