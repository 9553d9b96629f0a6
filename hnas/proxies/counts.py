"""FLOPs and parameters of any arch of either space, for the model a recipe builds (pure Python)."""


def _model_name(space, model_options):
    return model_options.get("name") or space.name


def count_params(space, arch, num_classes, model_options=None):
    options = model_options or {}
    if space.name == "resnet20":
        return space.count_params(arch, num_classes, always_project=options.get("always_project", False))
    return space.count_params(arch, num_classes, prelu=_model_name(space, options).endswith("_prelu"))


def count_flops(space, arch, image_size, num_classes, model_options=None):
    """Multiply-accumulates for one image at `image_size` (None: 32 for resnet20, the arch's own
    resolution for resnet48)."""
    options = model_options or {}
    if space.name == "resnet20":
        return space.count_flops(arch, image_size or 32, num_classes,
                                 always_project=options.get("always_project", False))
    return space.count_flops(arch, image_size, num_classes)
