"""FLOPs and parameters of any arch of either space, for the model a recipe builds (pure Python;
each space counts its own models, reading the recipe's `model` options)."""


def count_params(space, arch, num_classes, model_options=None):
    return space.count_params(arch, num_classes, model_options)


def count_flops(space, arch, image_size, num_classes, model_options=None):
    """Multiply-accumulates for one image at `image_size` (None: the arch's own resolution,
    space.image_size)."""
    return space.count_flops(arch, image_size, num_classes, model_options)
