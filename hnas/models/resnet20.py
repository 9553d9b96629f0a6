"""Stand-alone ResNet20 built from a channel arch, exactly as the 2021 organisers defined it."""
import paddle.nn as nn
import paddle.nn.functional as F

from hnas.spaces.resnet20 import CLASSIFIER_POSITION, ResNet20Space


def batch_norm(channels, running_stats=True):
    # use_global_stats=False: always normalise with the batch's statistics (BN without running stats)
    return nn.BatchNorm2D(channels, use_global_stats=None if running_stats else False)


# the activation after each residual add: ReLU (the organisers') or one PReLU slope per block (the
# 2021 winner's candidates enhancement); its names are the recipe schema's RESIDUAL_ACTS
RESIDUAL_ACTIVATIONS = {"relu": nn.ReLU, "prelu": nn.PReLU}


def residual_activation(name):
    return RESIDUAL_ACTIVATIONS[name]()


class BasicBlock(nn.Layer):
    def __init__(self, spec, bn_running_stats=True, residual_act="relu"):
        super().__init__()
        self.act = residual_activation(residual_act)
        self.conv1 = nn.Conv2D(spec.cin, spec.mid, 3, spec.stride, 1, bias_attr=False)
        self.bn1 = batch_norm(spec.mid, bn_running_stats)
        self.conv2 = nn.Conv2D(spec.mid, spec.cout, 3, 1, 1, bias_attr=False)
        self.bn2 = batch_norm(spec.cout, bn_running_stats)
        self.project = spec.project
        self.residual = True  # False drops the shortcut branch (Zen-score measures the plain net)
        if spec.project:
            self.shortcut_conv = nn.Conv2D(spec.cin, spec.cout, 1, spec.stride, bias_attr=False)
            self.shortcut_bn = batch_norm(spec.cout, bn_running_stats)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if not self.residual:
            return self.act(out)
        shortcut = self.shortcut_bn(self.shortcut_conv(x)) if self.project else x
        return self.act(out + shortcut)


class ResNet20(nn.Layer):
    def __init__(self, arch, num_classes=100, always_project=False, bn_running_stats=True, residual_act="relu"):
        super().__init__()
        space = ResNet20Space()
        self.arch = arch = space.parse(arch) if isinstance(arch, str) else space.validate(tuple(arch))
        self.stem_conv = nn.Conv2D(3, arch[0], 3, 1, 1, bias_attr=False)
        self.stem_bn = batch_norm(arch[0], bn_running_stats)
        self.blocks = nn.LayerList([BasicBlock(spec, bn_running_stats, residual_act)
                                    for spec in space.blocks(self.arch, always_project)])
        self.fc = nn.Linear(arch[CLASSIFIER_POSITION], num_classes)

    def features(self, x):
        """The feature map before global pooling."""
        x = F.relu(self.stem_bn(self.stem_conv(x)))
        for block in self.blocks:
            x = block(x)
        return x

    def forward(self, x):
        return self.fc(F.adaptive_avg_pool2d(self.features(x), 1).flatten(1))


def count_trainable_params(layer):
    return sum(int(p.numel()) for p in layer.parameters() if p.trainable)
