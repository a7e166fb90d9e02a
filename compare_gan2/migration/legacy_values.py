"""How compare_gan's gin values (strings and `@references`) become compare_gan2 values.

compare_gan's architecture strings (`gans/consts.py`), the widths compare_gan
fixes in code and compare_gan2.data (dataset names); docs/design.md §12.8,
§12.11. A `@reference`'s target is its `Configurable.new` in legacy_names.py;
the groups below say which references each parameter accepts. The translator
and the guide both read these tables.
"""

from compare_gan2 import data
from compare_gan2.migration import legacy_names as names

ARCHITECTURES: dict[str, str] = {
    "dcgan_arch": "dcgan",
    "infogan_arch": "infogan",
    "resnet5_arch": "resnet5",
    "resnet30_arch": "resnet30",
    "resnet_biggan_arch": "resnet_biggan",
    "resnet_biggan_deep_arch": "resnet_biggan_deep",
    "resnet_cifar_arch": "resnet_cifar",
    "resnet_stl_arch": "resnet_stl",
    "sndcgan_arch": "sndcgan",
    "resnet5_biggan_arch": "resnet_biggan",  # first gin release (docs/design.md §12.10)
}
# Architecture strings whose classes compare_gan registers with gin, and the
# module of those classes (their bindings override G.* / D.*, docs/design.md §12.5).
REGISTERED_MODULES: dict[str, str] = {
    "resnet_biggan_arch": "compare_gan.architectures.resnet_biggan",
    "resnet_biggan_deep_arch": "compare_gan.architectures.resnet_biggan_deep",
    "resnet_cifar_arch": "compare_gan.architectures.resnet_cifar",
    "resnet5_biggan_arch": "compare_gan.architectures.resnet5_biggan",
}
UNAVAILABLE_ARCHITECTURES: dict[str, str] = {
    "dummy_arch": "compare_gan's test-only single-layer networks (not in consts.ARCHITECTURES)",
}
# Widths compare_gan fixes in code (no gin parameter): (G ch, D ch).
FIXED_WIDTHS: dict[str, tuple[int, int]] = {
    "resnet_cifar": (256, 128), "resnet5": (64, 64), "resnet30": (64, 64), "resnet_stl": (64, 64),
}
# Families whose compare_gan D ignores D.layer_norm / D.batch_norm_fn.
IGNORES_D_LAYER_NORM = ("dcgan", "sndcgan", "infogan", "resnet_biggan_deep")
IGNORES_D_BATCH_NORM = ("sndcgan",)

def _kind(prefix: str) -> tuple[str, ...]:
  """The translatable selectors under `prefix` (their target is `Configurable.new`)."""
  return tuple(s for s, c in names.CONFIGURABLES.items() if s.startswith(prefix) and c.new)


LOSSES = tuple(s for s in _kind("compare_gan.gans.loss_lib.") if not s.endswith(".loss"))
PENALTIES = tuple(s for s in _kind("compare_gan.gans.penalty_lib.") if not s.endswith(".penalty"))
NORMS = tuple(s for s in _kind("compare_gan.architectures.arch_ops.") if "batch_norm" in s)
OPTIMIZERS = _kind("tf.train.")
LATENTS = _kind("tf.random.")
NO_NORM = "None"  # Configurable.new of no_batch_norm
CONDITIONAL_NORM = "compare_gan.architectures.arch_ops.conditional_batch_norm"
SELF_MODULATED_NORM = "compare_gan.architectures.arch_ops.self_modulated_batch_norm"
# Which `z.*` parameters each sampler takes (compare_gan's z forwards only those).
LATENT_PARAMS: dict[str, tuple[str, ...]] = {
    "tf.random.uniform": ("minval", "maxval"),
    "tf.random.normal": ("stddev",),
    "tf.random.truncated_normal": ("stddev",),
}

SSGAN = "compare_gan.gans.ssgan.SSGAN"
S3GAN = "compare_gan.gans.s3gan.S3GAN"
_MODULAR = "compare_gan.gans.modular_gan.ModularGAN"
GAN_CLASSES: dict[str, str] = {
    _MODULAR: "gans.ModularGAN",
    "compare_gan.gans.gpu_modular_gan.GPUModularGAN": "gans.ModularGAN",
    SSGAN: "gans.SSGAN",
    S3GAN: "gans.S3GAN",
}
# A GAN class's own bindings override those of its bases (docs/design.md §12.5).
GAN_BASES: dict[str, tuple[str, ...]] = {
    _MODULAR: (),
    "compare_gan.gans.gpu_modular_gan.GPUModularGAN": (_MODULAR,),
    SSGAN: (_MODULAR,),
    S3GAN: (_MODULAR,),
}

# dataset.name -> the compare_gan2.data builder (compare_gan2.data.NAMED).
DATASETS: dict[str, str] = {name: builder.__name__ for name, builder in data.NAMED}
# The DiffAugment fork's ImageNet subsets (data-efficient-gans at 0b63395,
# DiffAugment-biggan-imagenet/compare_gan/datasets.py:653-654): the first N
# training examples of imagenet_128, as (builder, N).
FORK_SUBSETS: dict[str, tuple[str, int]] = {
    "imagenet_128_0.5": ("imagenet_128", 640_583),
    "imagenet_128_0.25": ("imagenet_128", 320_291),
}
# The fork's only crop; its training transform also flips every image.
FORK_CROP = "zoomed"
# The fork's DiffAugment: its configurable, the GAN classes that never apply it
# (the fork's SSGAN and S3GAN override create_loss without it), and the entries
# of a comma-separated policy (DiffAugment_tf.py:69-73, AUGMENT_FNS).
FORK_DIFF_AUGMENT = "compare_gan.gans.modular_gan.DiffAugment"
FORK_UNAUGMENTED_GANS = (SSGAN, S3GAN)
FORK_POLICIES = ("color", "translation", "cutout")
BUILDERS = dict(data.NAMED)
# Not in compare_gan's DATASETS (google/compare_gan#44): the user prepares the
# images; the nearest builder is an image folder at the intended resolution.
CELEBA_HQ = "celeb_a_hq_128"
CELEBA_HQ_BUILDER = "image_folder"
CELEBA_HQ_SHAPE = (128, 128, 3)
