"""Weight-sharing layers of the 2021 Track 1 3rd-place study.

Each layer holds one weight per *sharing key* and slices `[:out, :in]` at forward, as
once-for-all's dynamic layers do. The variant decides the key:
  full        one weight for every (in, out) choice
  front       one weight per input width (shared across output widths)
  end         one weight per output width (shared across input widths)
  independent one weight per (in, out) pair
  branch      the 2021 winner's multi-branch supernet: one weight for every choice until branch()
              is called, then one weight per width bucket (BRANCHES equal quarters of the widest
              output; the classifier's by input width), each started from the shared weight
"""
import paddle
import paddle.nn as nn
import paddle.nn.functional as F


BRANCHES = 4  # the 2021 winner's b_num


def branch_of(width, choices):
    """The bucket of `width`: which of BRANCHES equal parts of the widest choice it falls in."""
    return min(BRANCHES - 1, (width - 1) * BRANCHES // max(choices))


# which weight a (cin, cout) layer uses under each kind of sharing but branch (the recipe schema's SHARING)
SHARING_KEYS = {"full": lambda cin, cout: "all", "front": lambda cin, cout: f"in{cin}",
                "end": lambda cin, cout: f"out{cout}", "independent": lambda cin, cout: f"in{cin}_out{cout}"}


def sharing_key(sharing, cin, cout, branch=None):
    """The key of the weight an (in, out) choice uses; `branch`: its bucket once a branch-sharing
    layer has branched (None before)."""
    if sharing == "branch":
        return "all" if branch is None else f"b{branch}"
    return SHARING_KEYS[sharing](cin, cout)


def _sharing_keys(sharing, in_choices, out_choices):
    """Every key with the largest (in, out) its weight must hold."""
    shapes = {}
    branches = [None] + ([branch_of(c, out_choices) for c in out_choices] if sharing == "branch" else [])
    for cin in in_choices:
        for cout in out_choices:
            for branch in branches:
                if branch is not None and branch != branch_of(cout, out_choices):
                    continue
                key = sharing_key(sharing, cin, cout, branch)
                old = shapes.get(key, (0, 0))
                shapes[key] = (max(old[0], cin), max(old[1], cout))
    return shapes


class Branching:
    """What a branch-sharing layer adds: a persistent flag (saved with the weights, so a resumed run
    stays branched) and branch(), which starts every bucket's weights from the shared ones. Every
    forward asks the flag, so it is mirrored as a Python value (reading the saved tensor would copy
    it to the host in every layer): read_branched_flag() refreshes the mirror after a state is loaded."""

    def _init_branching(self, sharing, choices):
        self.branch_choices = tuple(choices)
        self._branched = False
        if sharing == "branch":
            self.register_buffer("branched", paddle.zeros([1]))

    def is_branched(self):
        return self._branched

    def read_branched_flag(self):
        self._branched = self.sharing == "branch" and bool(self.branched.numpy()[0])

    def branch_for(self, width):
        return branch_of(width, self.branch_choices) if self.is_branched() else None

    @paddle.no_grad()
    def branch(self):
        if self.sharing != "branch" or self.is_branched():
            return
        _start_from(self, {field: getattr(self, f"{field}_all") for field in ("w", "b", "mean", "var")
                            if hasattr(self, f"{field}_all")})  # the shared weight rewrites itself unchanged
        self.branched.set_value(paddle.ones([1]))
        self._branched = True


class SharedConv2D(Branching, nn.Layer):
    def __init__(self, in_choices, out_choices, kernel_size, stride=1, sharing="full"):
        super().__init__()
        self.sharing, self.stride, self.padding = sharing, stride, kernel_size // 2
        self._init_branching(sharing, out_choices)
        for key, (cin, cout) in _sharing_keys(sharing, in_choices, out_choices).items():
            weight = self.create_parameter(
                [cout, cin, kernel_size, kernel_size],
                default_initializer=nn.initializer.KaimingNormal(fan_in=cin * kernel_size * kernel_size))
            self.add_parameter(f"w_{key}", weight)

    def weight(self, cin, cout):
        return getattr(self, "w_" + sharing_key(self.sharing, cin, cout, self.branch_for(cout)))[:cout, :cin]

    def start_from(self, weight):
        """Every sharing key's weight from `weight` (the widest choice's): the slice it would use."""
        _start_from(self, {"w": weight})

    def forward(self, x, cin, cout):
        return F.conv2d(x, self.weight(cin, cout), stride=self.stride, padding=self.padding)


class SharedLinear(Branching, nn.Layer):
    def __init__(self, in_choices, num_classes, sharing="full"):
        super().__init__()
        self.sharing = sharing
        self._init_branching(sharing, in_choices)  # a classifier branches by its input width
        for key, cin in self._key_widths(sharing, in_choices).items():
            bound = 1.0 / cin ** 0.5
            init = nn.initializer.Uniform(-bound, bound)
            self.add_parameter(f"w_{key}", self.create_parameter([cin, num_classes], default_initializer=init))
            self.add_parameter(f"b_{key}", self.create_parameter([num_classes], is_bias=True, default_initializer=init))

    @staticmethod
    def _key_widths(sharing, in_choices):
        """{key: the widest input its weight takes}; an independent classifier has one weight per
        input width, a branch-sharing one a shared weight and one per input-width bucket."""
        if sharing == "independent":
            return {sharing_key("front", cin, None): cin for cin in in_choices}
        widths = {"all": max(in_choices)}
        if sharing == "branch":
            for cin in in_choices:
                key = sharing_key(sharing, cin, None, branch_of(cin, in_choices))
                widths[key] = max(widths.get(key, 0), cin)
        return widths

    def params(self, cin):
        if self.sharing == "independent":
            key = sharing_key("front", cin, None)
        else:
            key = sharing_key(self.sharing, cin, None, self.branch_for(cin))
        return getattr(self, "w_" + key)[:cin], getattr(self, "b_" + key)

    def forward(self, x, cin):
        weight, bias = self.params(cin)
        return F.linear(x, weight, bias)

    def start_from(self, weight, bias):
        _start_from(self, {"w": weight, "b": bias})


class SharedBatchNorm(Branching, nn.Layer):
    """BatchNorm over a slice of channels, with one set of parameters and running statistics per
    sharing key. Like paddle's BatchNorm it uses batch statistics in training (updating the running
    ones unless momentum is 1.0) and running statistics in eval; hnas.models.bn_modes drives the
    evaluator's modes. With running_stats=False it always uses batch statistics (the 2021 2nd place).
    """

    def __init__(self, in_choices, out_choices, sharing="full", running_stats=True, momentum=0.9, epsilon=1e-5):
        super().__init__()
        self.sharing, self.running_stats = sharing, running_stats
        self._momentum, self.epsilon = momentum, epsilon
        self._init_branching(sharing, out_choices)
        for key, (_, cout) in _sharing_keys(sharing, in_choices, out_choices).items():
            self.add_parameter(f"w_{key}", self.create_parameter(
                [cout], default_initializer=nn.initializer.Constant(1.0)))
            self.add_parameter(f"b_{key}", self.create_parameter([cout], is_bias=True))
            self.register_buffer(f"mean_{key}", paddle.zeros([cout]))
            self.register_buffer(f"var_{key}", paddle.ones([cout]))

    def tensors(self, cin, cout):
        """(weight, bias, running mean, running var) of this (in, out) choice, sliced to cout."""
        key = self.statistics_key(cin, cout)
        return tuple(getattr(self, f"{name}_{key}")[:cout] for name in ("w", "b", "mean", "var"))

    def start_from(self, weight, bias, mean, var):
        _start_from(self, {"w": weight, "b": bias, "mean": mean, "var": var})

    def statistics_key(self, cin, cout):
        """The sharing key whose running statistics this (in, out) choice normalises with."""
        return sharing_key(self.sharing, cin, cout, self.branch_for(cout))

    def forward(self, x, cin, cout):
        weight, bias, mean, var = self.tensors(cin, cout)
        if not self.training and self.running_stats:
            return F.batch_norm(x, mean, var, weight, bias, training=False, epsilon=self.epsilon)
        # the statistics are prefix views of the key's buffers, so the kernel's own update lands in
        # them on the device; momentum 1.0 leaves them as they are (batch statistics only)
        momentum = self._momentum if self.training and self.running_stats else 1.0
        return F.batch_norm(x, mean, var, weight, bias, training=True, momentum=momentum, epsilon=self.epsilon)


@paddle.no_grad()
def _start_from(layer, sources):
    """Set each of `layer`'s FIELD_KEY tensors to the leading slice of sources[FIELD] it has room for
    (a branching layer's buckets from its shared weight; every key from a stand-alone net's tensor)."""
    tensors = list(layer.named_parameters(include_sublayers=False)) + list(layer.named_buffers(include_sublayers=False))
    for name, tensor in tensors:
        field, _, key = name.partition("_")
        if field in sources and key:
            source = paddle.to_tensor(sources[field])
            tensor.set_value(source[tuple(slice(0, n) for n in tensor.shape)].astype(tensor.dtype))
