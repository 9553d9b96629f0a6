"""Weights published by others, under hnas's tensor names.

The CVPR 2021 Track 1 organisers' full-width ResNet20 (`pretrained_model/resnet20.pdparams`, the
baseline's distillation teacher) computes the same function as hnas's stand-alone ResNet20 of the
largest arch, under other names: `conv1.conv1.0` / `.1` are the stem's conv and BN,
`layer{s}.{i}.conv1.0` / `.1`, `.conv2.0` / `.1` and `.downsample.0` / `.1` block 3(s-1)+i's
conv1 / bn1, conv2 / bn2 and shortcut conv / BN, and `fc` the classifier. A state dict in that
naming is recognised by its stem and renamed; any other is returned as it is.
"""
import re

from hnas.errors import HnasError

_STEM = "conv1.conv1."
_BLOCK = re.compile(r"layer([1-3])\.(\d+)\.(conv1|conv2|downsample)\.([01])\.(.+)")
_BLOCK_PARTS = {("conv1", "0"): "conv1", ("conv1", "1"): "bn1", ("conv2", "0"): "conv2", ("conv2", "1"): "bn2",
                ("downsample", "0"): "shortcut_conv", ("downsample", "1"): "shortcut_bn"}
BLOCKS_PER_STAGE = 3


def is_organisers_resnet20(state):
    return any(name.startswith(_STEM) for name in state)


def from_organisers_resnet20(state, source="the state dict"):
    """The organisers' 2021 ResNet20 names -> hnas's ResNet20 names (a name neither knows: one error)."""
    renamed, unknown = {}, []
    for name, tensor in state.items():
        new = _rename(name)
        if new is None:
            unknown.append(name)
        else:
            renamed[new] = tensor
    if unknown:
        raise HnasError(f"{source} is in the CVPR 2021 organisers' ResNet20 naming but has {len(unknown)} tensors "
                        f"that naming does not have (e.g. {unknown[0]})")
    return renamed


def _rename(name):
    if name.startswith(_STEM):
        part, _, field = name[len(_STEM):].partition(".")
        return {"0": f"stem_conv.{field}", "1": f"stem_bn.{field}"}.get(part)
    if name.startswith("fc."):
        return name
    match = _BLOCK.fullmatch(name)
    if not match or int(match.group(2)) >= BLOCKS_PER_STAGE:
        return None
    stage, index, layer, part, field = match.groups()
    return f"blocks.{BLOCKS_PER_STAGE * (int(stage) - 1) + int(index)}.{_BLOCK_PARTS[layer, part]}.{field}"


def to_organisers_resnet20(state):
    """hnas's ResNet20 names -> the organisers' (for tests and for handing weights back)."""
    inverse = {}
    for name, tensor in state.items():
        if name.startswith(("stem_conv.", "stem_bn.")):
            layer, _, field = name.partition(".")
            inverse[f"{_STEM}{'0' if layer == 'stem_conv' else '1'}.{field}"] = tensor
        elif name.startswith("blocks."):
            _, block, layer, field = name.split(".", 3)
            stage, index = divmod(int(block), BLOCKS_PER_STAGE)
            (organisers_layer, part), = [key for key, ours in _BLOCK_PARTS.items() if ours == layer]
            inverse[f"layer{stage + 1}.{index}.{organisers_layer}.{part}.{field}"] = tensor
        else:
            inverse[name] = tensor
    return inverse
