"""The CVPR 2021 organisers' ResNet20 tensor names, mapped to hnas's and back (pure, no paddle)."""
import pytest

from hnas.errors import HnasError
from hnas.foreign_names import from_organisers_resnet20, is_organisers_resnet20, to_organisers_resnet20


def test_the_organisers_names_map_to_hnas_names_and_back():
    theirs = {"conv1.conv1.0.weight": 1, "conv1.conv1.1._mean": 2, "layer1.0.conv1.0.weight": 3,
              "layer2.0.downsample.0.weight": 4, "layer2.0.downsample.1._variance": 5, "layer3.2.conv2.1.bias": 6,
              "fc.weight": 7, "fc.bias": 8}
    ours = from_organisers_resnet20(theirs)
    assert ours == {"stem_conv.weight": 1, "stem_bn._mean": 2, "blocks.0.conv1.weight": 3,
                    "blocks.3.shortcut_conv.weight": 4, "blocks.3.shortcut_bn._variance": 5, "blocks.8.bn2.bias": 6,
                    "fc.weight": 7, "fc.bias": 8}
    assert to_organisers_resnet20(ours) == theirs
    assert is_organisers_resnet20(theirs) and not is_organisers_resnet20(ours)


def test_a_name_outside_that_naming_is_one_error():
    with pytest.raises(HnasError, match=r"f.pdparams is in the CVPR 2021 organisers' ResNet20 naming but has 1 tensors "
                                        r"that naming does not have \(e.g. layer1.3.conv1.0.weight\)"):
        from_organisers_resnet20({"conv1.conv1.0.weight": 1, "layer1.3.conv1.0.weight": 2}, "f.pdparams")
