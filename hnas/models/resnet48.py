"""Stand-alone ResNet48 built from a depth + width arch (the CVPR 2022 Track 1 network).

Layer names follow the competition's model (`blocks.0` stem, `blocks.1..N` BasicBlocks,
`blocks.N+1` head), so the shipped `resnet48.pdparams` loads into ResNet48(largest) as it is.
The block's outer activation (after the residual add) is selectable; the inner one stays ReLU,
as the 2022 3rd place found best.
"""
import paddle
import paddle.nn as nn

from hnas.compat import bn_running_mean, bn_running_variance
from hnas.spaces.resnet48 import ResNet48Space

OUTER_ACTIVATIONS = {
    "relu": nn.ReLU,
    # one slope per block, so every width of the supernet shares it
    "prelu": lambda: nn.PReLU(num_parameters=1),
    "mish": nn.Mish,
    "swish": nn.Swish,
    "selu": nn.SELU,
}


def outer_activation(name):
    return OUTER_ACTIVATIONS[name]()  # a model name of the registry picks it


class StemBlock(nn.Layer):
    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2D(3, channels, 7, stride=2, padding=3, bias_attr=False)
        self.bn = nn.BatchNorm2D(channels)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2D(3, stride=2, padding=1)

    def forward(self, x):
        return self.maxpool(self.relu(self.bn(self.conv(x))))


class BasicBlock(nn.Layer):
    def __init__(self, spec, outer_act="relu"):
        super().__init__()
        self.conv1 = nn.Conv2D(spec.cin, spec.mid, 3, stride=spec.stride, padding=1, bias_attr=False)
        self.bn1 = nn.BatchNorm2D(spec.mid)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2D(spec.mid, spec.cout, 3, padding=1, bias_attr=False)
        self.bn2 = nn.BatchNorm2D(spec.cout)
        self.downsample = nn.Sequential(
            nn.Conv2D(spec.cin, spec.cout, 1, stride=spec.stride, bias_attr=False),
            nn.BatchNorm2D(spec.cout)) if spec.project else None
        self.act = outer_activation(outer_act)
        self.residual = True  # False drops the shortcut branch (Zen-score measures the plain net)

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        if not self.residual:
            return self.act(out)
        shortcut = self.downsample(x) if self.downsample is not None else x
        return self.act(out + shortcut)


class HeadBlock(nn.Layer):
    def __init__(self, channels, num_classes):
        super().__init__()
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x):
        return self.fc(paddle.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def _weight(layer):
    """The weight of a plain layer or of a paddleslim Block wrapping a super layer."""
    return getattr(layer, "fn", layer).weight


class ResNet48(nn.Layer):
    """`active_depths` (None: all) runs only the first blocks of each stage: the supernet's
    elastic depth, with the largest arch's blocks."""

    def __init__(self, arch, num_classes=1000, outer_act="relu", space=None):
        super().__init__()
        self.space = space or ResNet48Space()
        self.arch = self.space.parse(arch) if isinstance(arch, str) else self.space.validate(arch)
        specs = self.space.blocks(self.arch)
        self.blocks = nn.LayerList(
            [StemBlock(self.space.stem_width(self.arch))]
            + [BasicBlock(spec, outer_act) for spec in specs]
            + [HeadBlock(specs[-1].cout, num_classes)])
        self.stage_blocks = [[1 + i for i, s in enumerate(specs) if s.stage == stage] for stage in range(4)]
        self.active_depths = None

    def features(self, x):
        """The feature map before global pooling."""
        x = self.blocks[0](x)
        for stage, indices in enumerate(self.stage_blocks):
            depth = len(indices) if self.active_depths is None else self.active_depths[stage]
            for block in self.stage_layers(stage)[:depth]:
                x = block(x)
        return x

    def forward(self, x):
        return self.head()(self.features(x))

    def stage_layers(self, stage):
        """The blocks `stage` runs, in order."""
        return [self.blocks[index] for index in self.stage_blocks[stage]]

    def head(self):
        return self.blocks[-1]

    def basic_blocks(self):
        return list(self.blocks[1:-1])

    @paddle.no_grad()
    def reorder_channels(self):
        """Sort each block's inner channels by importance (L1 of conv2's input slices), the 2022
        demo's trick so that narrow subnets keep the most important filters. The function the
        network computes is unchanged; only the order of conv1's outputs moves."""
        for block in self.basic_blocks():
            conv1, conv2 = _weight(block.conv1), _weight(block.conv2)
            order = paddle.argsort(paddle.abs(conv2).sum(axis=[0, 2, 3]), descending=True)
            conv1.set_value(paddle.index_select(conv1, order, axis=0))
            conv2.set_value(paddle.index_select(conv2, order, axis=1))
            bn = block.bn1
            for tensor in (bn.weight, bn.bias, bn_running_mean(bn), bn_running_variance(bn)):
                tensor.set_value(paddle.index_select(tensor, order, axis=0))
