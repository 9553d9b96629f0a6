"""The ResNet20 channel supernet: the stand-alone ResNet20 with shared, sliced layers."""
from contextlib import nullcontext

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from hnas.checkpoint import fitting_state
from hnas.models.bn_modes import BatchNormModes, BatchNormModesMixin
from hnas.models.resnet20 import ResNet20, residual_activation
from hnas.models.shared_layers import Branching, SharedBatchNorm, SharedConv2D, SharedLinear
from hnas.spaces.resnet20 import CLASSIFIER_POSITION, NUM_BLOCKS, STAGE_FIRST_BLOCKS, ResNet20Space


# the stand-alone layer's tensors each shared layer starts from (same layer names in both nets)
STANDALONE_FIELDS = {SharedConv2D: ("weight",), SharedLinear: ("weight", "bias"),
                     SharedBatchNorm: ("weight", "bias", "_mean", "_variance")}


class SuperBlock(nn.Layer):
    def __init__(self, index, in_choices, mid_choices, out_choices, conv, bn, bn_running_stats, residual_act):
        super().__init__()
        self.act = residual_activation(residual_act)
        stride = 2 if index in STAGE_FIRST_BLOCKS and index > 0 else 1
        self.conv1 = SharedConv2D(in_choices, mid_choices, 3, stride, conv)
        self.bn1 = SharedBatchNorm(in_choices, mid_choices, bn, bn_running_stats)
        self.conv2 = SharedConv2D(mid_choices, out_choices, 3, 1, conv)
        self.bn2 = SharedBatchNorm(mid_choices, out_choices, bn, bn_running_stats)
        # non-first blocks project only when in != out, which some archs need
        self.shortcut_conv = SharedConv2D(in_choices, out_choices, 1, stride, conv)
        self.shortcut_bn = SharedBatchNorm(in_choices, out_choices, bn, bn_running_stats)
        self.residual = True  # False drops the shortcut branch (Zen-score measures the plain net)

    def forward(self, x, spec):
        out = F.relu(self.bn1(self.conv1(x, spec.cin, spec.mid), spec.cin, spec.mid))
        out = self.bn2(self.conv2(out, spec.mid, spec.cout), spec.mid, spec.cout)
        if not self.residual:
            return self.act(out)
        if spec.project:
            x = self.shortcut_bn(self.shortcut_conv(x, spec.cin, spec.cout), spec.cin, spec.cout)
        return self.act(out + x)


class ResNet20Supernet(BatchNormModesMixin, nn.Layer):
    """Runs the active arch (`set_arch`); `export_state(arch)` gives a stand-alone ResNet20's weights."""

    def __init__(self, num_classes=100, conv="full", bn="full", fc="full",
                 always_project=False, bn_running_stats=True, residual_act="relu"):
        super().__init__()
        self.space = ResNet20Space()
        self.num_classes, self.always_project, self.residual_act = num_classes, always_project, residual_act
        ch = self.space.choices
        self.stem_conv = SharedConv2D((3,), ch[0], 3, 1, conv)
        self.stem_bn = SharedBatchNorm((3,), ch[0], bn, bn_running_stats)
        self.blocks = nn.LayerList([
            SuperBlock(b, ch[2 * b], ch[2 * b + 1], ch[2 * b + 2], conv, bn, bn_running_stats, residual_act)
            for b in range(NUM_BLOCKS)])
        self.fc = SharedLinear(ch[CLASSIFIER_POSITION], num_classes, fc)
        self.arch = self.space.largest()
        self.bn_modes = BatchNormModes({name: layer for name, layer in self.named_sublayers()
                                        if isinstance(layer, SharedBatchNorm)})

    def set_arch(self, arch):
        self.arch = self.space.validate(tuple(arch))

    def weights_fixed(self):
        """Nothing here depends on the weights between forwards (the shared layers slice views)."""
        return nullcontext()

    def branch(self):
        """Multi-branch sharing (model conv/bn/fc: branch): give every width bucket its own weights,
        started from the shared ones; from now on each trains apart. Other sharing: nothing changes."""
        for layer in self.sublayers():
            if isinstance(layer, Branching):
                layer.branch()

    def is_branched(self):
        return any(layer.is_branched() for layer in self.sublayers() if isinstance(layer, Branching))

    @paddle.no_grad()
    def load_pretrained(self, path, reorder=False):
        """Start every shared weight from a full-width ResNet20: the CVPR 2021 organisers'
        pretrained_model/resnet20.pdparams (their naming is recognised) or an `hnas standalone` run
        of the largest arch. Each sharing key's weight starts as the slice of the largest's tensor
        its widest choice uses; shortcuts the largest arch has none of, and residual-activation
        slopes the file lacks, keep their init. `reorder` is ResNet48's (the schema allows it only there)."""
        largest = ResNet20(self.space.largest(), self.num_classes, self.always_project, residual_act=self.residual_act)
        state = fitting_state(path, largest.state_dict(), f"a largest ResNet20 with {self.num_classes} classes",
                              optional=(".act.",))
        for name, layer in self.named_sublayers():
            fields = STANDALONE_FIELDS.get(type(layer))
            if fields and f"{name}.weight" in state:
                layer.start_from(*(state[f"{name}.{field}"] for field in fields))
        own = dict(self.named_parameters())
        for name, tensor in state.items():
            if ".act." in name:
                own[name].set_value(paddle.to_tensor(tensor))

    def set_state_dict(self, state_dict, *args, **kwargs):
        """Load a state, and with it whether the layers are branched (they mirror that flag)."""
        result = super().set_state_dict(state_dict, *args, **kwargs)
        for layer in self.sublayers():
            if isinstance(layer, Branching):
                layer.read_branched_flag()
        return result

    def features(self, x):
        """The active arch's feature map before global pooling."""
        arch = self.arch
        x = F.relu(self.stem_bn(self.stem_conv(x, 3, arch[0]), 3, arch[0]))
        for block, spec in zip(self.blocks, self.space.blocks(arch, self.always_project)):
            x = block(x, spec)
        return x

    def forward(self, x):
        return self.fc(F.adaptive_avg_pool2d(self.features(x), 1).flatten(1), self.arch[CLASSIFIER_POSITION])

    def export_state(self, arch):
        """State dict (numpy) of the stand-alone ResNet20 for `arch`, sliced from the shared weights."""
        arch = self.space.validate(tuple(arch))
        state = {}

        def conv(name, layer, cin, cout):
            state[f"{name}.weight"] = layer.weight(cin, cout)

        def bn(name, layer, cin, cout):
            for field, tensor in zip(("weight", "bias", "_mean", "_variance"), layer.tensors(cin, cout)):
                state[f"{name}.{field}"] = tensor

        conv("stem_conv", self.stem_conv, 3, arch[0])
        bn("stem_bn", self.stem_bn, 3, arch[0])
        for block, spec in zip(self.blocks, self.space.blocks(arch, self.always_project)):
            prefix = f"blocks.{spec.index}"
            conv(f"{prefix}.conv1", block.conv1, spec.cin, spec.mid)
            bn(f"{prefix}.bn1", block.bn1, spec.cin, spec.mid)
            conv(f"{prefix}.conv2", block.conv2, spec.mid, spec.cout)
            bn(f"{prefix}.bn2", block.bn2, spec.mid, spec.cout)
            if spec.project:
                conv(f"{prefix}.shortcut_conv", block.shortcut_conv, spec.cin, spec.cout)
                bn(f"{prefix}.shortcut_bn", block.shortcut_bn, spec.cin, spec.cout)
            state.update({f"{prefix}.act.{name}": tensor for name, tensor in block.act.named_parameters()})
        state["fc.weight"], state["fc.bias"] = self.fc.params(arch[CLASSIFIER_POSITION])
        return {name: tensor.numpy() for name, tensor in state.items()}
