"""The 2022 4th place's few-shot supernet: ResOFA with per-stage weight groups (hnas.spaces.stage_groups).

Group 0 of every stage is ResOFA's own blocks and head, under their usual names, so the organisers'
pretrained file and a one-group checkpoint load as they are. Groups 1.. are copies of the stage's
largest blocks (`groups.{stage}.{group - 1}.{block}`) and of the head (`heads.{group - 1}`), held at
full width like group 0: a group only ever runs the widths it covers, and copying between groups is
a copy of whole tensors. Every group starts as a copy of the group it grows from: a fresh or
pretrained supernet copies group 0, and a checkpoint with fewer groups (the previous stage of the
recipe) gives each new group the weights of the group that covered its widths.
"""
import re

import paddle.nn as nn

from hnas.checkpoint import fitting_state
from hnas.errors import HnasError
from hnas.models.resnet48 import BasicBlock, HeadBlock, ResNet48
from hnas.models.resofa import ResOFA
from hnas.spaces.stage_groups import StageGroups

_COPY = re.compile(r"model\.(groups\.(\d+)\.(\d+)\.\d+|heads\.(\d+))\.")


class GroupedResNet48(ResNet48):
    """The largest ResNet48 with extra copies of each stage's blocks; `active_groups` picks the copy
    each stage runs (and the head the last stage's group owns)."""

    def __init__(self, arch, num_classes, outer_act, space, groups):
        super().__init__(arch, num_classes, outer_act, space)
        specs = self.space.blocks(self.arch)
        self.groups = nn.LayerList([
            nn.LayerList([nn.LayerList([BasicBlock(spec, outer_act) for spec in specs if spec.stage == stage])
                          for _ in range(groups.sizes[stage] - 1)])
            for stage in range(len(self.stage_blocks))])
        self.heads = nn.LayerList([HeadBlock(specs[-1].cout, num_classes) for _ in range(groups.sizes[-1] - 1)])
        self.active_groups = (0,) * len(self.stage_blocks)

    def stage_layers(self, stage):
        group = self.active_groups[stage]
        return super().stage_layers(stage) if group == 0 else list(self.groups[stage][group - 1])

    def head(self):
        group = self.active_groups[-1]
        return super().head() if group == 0 else self.heads[group - 1]

    def block_name(self, stage, group, index):
        return f"blocks.{self.stage_blocks[stage][index]}" if group == 0 else f"groups.{stage}.{group - 1}.{index}"

    def head_name(self, group):
        return f"blocks.{len(self.blocks) - 1}" if group == 0 else f"heads.{group - 1}"


class GroupedResOFA(ResOFA):
    def __init__(self, num_classes=1000, outer_act="relu", stage_groups=2):
        self.stage_groups = StageGroups(stage_groups)
        super().__init__(num_classes, outer_act)
        self.set_state_dict(self.grown(self._group_zero()))

    def _largest_model(self):
        return GroupedResNet48(self.space.largest(), self.num_classes, self.outer_act, self.space, self.stage_groups)

    def set_arch(self, arch):
        super().set_arch(arch)
        self.model.active_groups = self.stage_groups.of(self.space, self.arch)

    def _layer_names(self, arch, specs):
        groups = self.stage_groups.of(self.space, arch)
        return ([self.model.block_name(spec.stage, groups[spec.stage], spec.index) for spec in specs],
                self.model.head_name(groups[-1]))

    def _group_zero(self):
        """Group 0's tensors, by the supernet's names (`model.` and the converted model's)."""
        return {name: tensor for name, tensor in self.state_dict().items() if not _COPY.match(name)}

    def _largest_state(self):
        return {name[len("model."):]: tensor for name, tensor in self._group_zero().items()}

    def load_pretrained(self, path, reorder=False):
        super().load_pretrained(path, reorder)
        self.set_state_dict(self.grown(self._group_zero()))

    # -- growing: a state with fewer groups ------------------------------------------------------
    def load_grown(self, path, prefix=""):
        """Load a supernet state with this many groups or fewer (a one-group ResOFA's included)."""
        state = fitting_state(path, self.state_dict(), f"a ResOFA with {self.stage_groups.count} stage groups or fewer",
                              optional=("model.groups.", "model.heads."), prefix=prefix)
        state = self.grown(state, where=f"checkpoint {path}")
        missing = [name for name in self.state_dict() if name not in state]
        if missing:  # a group's blocks without its head, or part of a group
            raise HnasError(f"checkpoint {path} holds part of a stage group: {len(missing)} tensors missing "
                            f"({', '.join(missing[:3])})")
        self.set_state_dict(state)

    def grown(self, state, where="the state"):
        """`state` (supernet names) with every group it lacks copied from the group it grows from."""
        fewer = StageGroups(self._groups_held(state, where))
        state = dict(state)
        for stage, size in enumerate(self.stage_groups.sizes):
            for group in range(fewer.sizes[stage], size):
                source = self.stage_groups.source(stage, group, fewer)
                for index in range(len(self.model.stage_blocks[stage])):
                    self._copy(state, self.model.block_name(stage, source, index),
                               self.model.block_name(stage, group, index))
                if stage == len(self.stage_groups.sizes) - 1:
                    self._copy(state, self.model.head_name(source), self.model.head_name(group))
        return state

    def _groups_held(self, state, where):
        """How many groups `state` holds; one error if its groups are not those of a grouped supernet."""
        held = [1] * len(self.stage_groups.sizes)
        for name in state:
            match = _COPY.match(name)
            if match and match.group(2) is not None:
                held[int(match.group(2))] = max(held[int(match.group(2))], int(match.group(3)) + 2)
        count = max(held)
        if list(StageGroups(count).sizes) != held:
            raise HnasError(f"{where} holds stage groups {held} per stage, which no grouped supernet has "
                            f"(expected {list(StageGroups(count).sizes)})")
        return count

    @staticmethod
    def _copy(state, source, target):
        source, target = f"model.{source}.", f"model.{target}."
        for name in [n for n in state if n.startswith(source)]:
            state[target + name[len(source):]] = state[name]


def resofa(num_classes=1000, outer_act="relu", stage_groups=1):
    """The 2022 supernet: ResOFA, or with stage_groups > 1 the 4th place's per-stage weight groups."""
    if stage_groups == 1:
        return ResOFA(num_classes, outer_act)
    return GroupedResOFA(num_classes, outer_act, stage_groups)


__all__ = ["GroupedResOFA", "GroupedResNet48", "resofa"]
