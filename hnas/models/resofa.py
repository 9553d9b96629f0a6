"""The CVPR 2022 supernet: paddleslim's Convert over the largest ResNet48, driven by ResOFA.

ResOFA is a thin subclass of paddleslim's OFABase (OFA without its own sampling, distillation and
static-graph tracing, none of which it uses). Convert turns every conv/BN/linear of the largest
ResNet48 into a super layer that runs the first C channels of its weights; ResOFA adds what OFA
lacks for this space:
  - elastic depth per stage (blocks past a stage's active depth are skipped),
  - widths from a 52-char arch, with the residual-tied widths consistent by construction (the
    space only admits tied archs; each super layer gets its exact channel count, make_divisible
    included, which OFA's expand_ratio would truncate instead),
  - the arch string of the active subnet, export of a stand-alone ResNet48, loading the
    competition's pretrained largest model (optionally with channels reordered by importance),
  - the evaluator's BN modes.
"""
import paddle

from paddleslim.nas.ofa.ofa import OFABase
from paddleslim.nas.ofa.convert_super import Convert, supernet

from hnas.compat.cropped_layers import crop_super_layers, keeping_crops
from hnas.models.bn_modes import BatchNormModes, BatchNormModesMixin
from hnas.models.resnet48 import ResNet48
from hnas.spaces.resnet48 import RATIOS, ResNet48Space
from hnas.checkpoint import fitting_state


def plain_name(name):
    """Parameter name without paddleslim's Block wrapper (`conv1.fn.weight` -> `conv1.weight`)."""
    return name.replace(".fn.", ".")


class ResOFA(BatchNormModesMixin, OFABase):
    def __init__(self, num_classes=1000, outer_act="relu"):
        self.space, self.num_classes, self.outer_act = ResNet48Space(), num_classes, outer_act
        super().__init__(crop_super_layers(Convert(supernet(expand_ratio=list(RATIOS))).convert(self._largest_model())))
        self.bn_modes = BatchNormModes({name: layer for name, layer in self.model.named_sublayers()
                                       if isinstance(layer, paddle.nn.BatchNorm2D)})  # SuperBatchNorm2D included
        self.set_arch(self.space.largest())

    # -- the active subnet -----------------------------------------------------------------
    def set_arch(self, arch):
        if isinstance(arch, str):
            arch = self.space.parse(arch)
        self.arch = self.space.validate(arch)
        config = {name: {} for name in self.ofa_layers}
        config["blocks.0.conv"] = {"channel": self.space.stem_width(self.arch)}
        specs = self.space.blocks(self.arch)
        prefixes, _ = self._layer_names(self.arch, specs)
        for spec, prefix in zip(specs, prefixes):
            config[f"{prefix}.conv1"] = {"channel": spec.mid}
            config[f"{prefix}.conv2"] = {"channel": spec.cout}
            if spec.project:
                config[f"{prefix}.downsample.0"] = {"channel": spec.cout}
        self.current_config = config  # what OFABase.layers_forward gives each super layer

    def _largest_model(self):
        """The network Convert turns into super layers."""
        return ResNet48(self.space.largest(), self.num_classes, self.outer_act, self.space)

    def _layer_names(self, arch, specs):
        """Where `arch` runs in the converted model: each block's name (one per spec), and the head's."""
        return [f"blocks.{1 + spec.slot}" for spec in specs], f"blocks.{len(self.model.blocks) - 1}"

    def active_arch(self):
        """The 52-char string of the active subnet."""
        return self.space.format(self.arch)

    def forward(self, x):
        self.model.active_depths = self.arch.depths
        return self.model(x)

    def features(self, x):
        """The active arch's feature map before global pooling."""
        self.model.active_depths = self.arch.depths
        return self.model.features(x)

    def weights_fixed(self):
        """Scoring one arch: the cropped layers keep their crops for the block (hnas.compat.cropped_layers)."""
        return keeping_crops(self.model)

    # -- weights in and out -------------------------------------------------------------------
    def export_state(self, arch):
        """State dict (numpy) of the stand-alone ResNet48 for `arch`, sliced from the supernet."""
        arch = self.space.validate(arch)
        specs = self.space.blocks(arch)
        blocks, head = self._layer_names(arch, specs)
        source_of = dict(enumerate(["blocks.0"] + blocks + [head]))
        source = {plain_name(k): v for k, v in self.model.state_dict().items()}
        state = {}
        target = ResNet48(arch, self.num_classes, self.outer_act, self.space)
        for name, tensor in target.state_dict().items():
            shape = tensor.shape
            _, index, rest = name.split(".", 2)
            value = source[f"{source_of[int(index)]}.{rest}"].numpy()
            state[name] = value[tuple(slice(0, n) for n in shape)]
        return state

    def load_pretrained(self, path, reorder=False):
        """Load a largest-model state dict (the competition's resnet48.pdparams, or a stand-alone
        ResNet48(largest) checkpoint). Activation parameters it lacks (PReLU slopes) keep their init."""
        largest = self._largest_state()
        names = {plain_name(name): name for name in largest}
        state = fitting_state(path, {plain_name(n): t for n, t in largest.items()},
                              f"a largest ResNet48 with {self.num_classes} classes", optional=(".act.",))
        matched = {names[key]: tensor for key, tensor in state.items()}
        self.model.set_state_dict(matched)
        if reorder:
            self.model.reorder_channels()

    def _largest_state(self):
        """The converted model's tensors a largest ResNet48 holds (by the converted names)."""
        return self.model.state_dict()


__all__ = ["ResOFA", "plain_name"]
