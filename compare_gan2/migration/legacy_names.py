"""Every gin name compare_gan defines, its parameters and defaults, and where each goes.

The 39 `gin.configurable`s of google/compare_gan at 19922d3, the TF externals
of gin 0.1.4's `gin.tf.external_configurables`, the names of the first gin
release, renamed in 9b16cbb (docs/design.md §12.10-12.11), and the one name
the DiffAugment fork adds (`DiffAugment.policy`). The
translator (legacy_gin.py) reads parameters, defaults and kinds from here and
emits its bindings under the `new` names given here; docs/MIGRATION.md is
rendered from the same tables (guide.py), so the two cannot drift.

Kinds of parameter:
- MAP: translated; `new` names the compare_gan2 binding(s) it becomes
  (`{family}` is the architecture module, `{dataset}` the dataset builder).
- DEAD: accepted by compare_gan but without effect (a caller passes it, or the
  feature it configures is off); a binding that changes it gets a warning.
- FIXED: compare_gan2 supports only compare_gan's default; another value fails.
- ACCEPTED: any value is fine and needs no binding (the note says why).
"""

import dataclasses
from typing import Any

MAP, DEAD, FIXED, ACCEPTED = "map", "dead", "fixed", "accepted"
# gin 0.1.4's REQUIRED sentinel (config.py:152); an unbound one is an error here.
REQUIRED = "__gin_required__"


@dataclasses.dataclass(frozen=True)
class Const:
  """A gin constant such as `%tf.float32` (gin.tf registers 21, docs/design.md §12.7)."""
  name: str

  def __repr__(self) -> str:
    return "%" + self.name


@dataclasses.dataclass(frozen=True)
class RawDefault:
  """A Python default that is a raw TF object, so bindings on it do not apply.

  See docs/design.md §12.6.
  """
  selector: str


@dataclasses.dataclass(frozen=True)
class Param:
  """One bindable parameter: compare_gan default, kind, compare_gan2 target(s)."""
  default: Any
  kind: str = MAP
  new: tuple[str, ...] = ()
  note: str = ""


@dataclasses.dataclass(frozen=True)
class Configurable:
  """One compare_gan configurable.

  Attributes:
    selector: the complete gin selector (what every partial selector resolves to).
    source: compare_gan file:line of the decorator.
    params: bindable parameters; None for a TF external that is never translated
      (any parameter is accepted; referencing it is an error unless `new` is set).
    new: the compare_gan2 name for a reference `@selector` (empty: not translatable).
    error: why any use of it fails.
  """
  selector: str
  source: str
  params: dict[str, Param] | None
  new: str = ""
  error: str = ""


def _dead(default: Any, note: str) -> Param:
  return Param(default, DEAD, (), note)


def _fixed(default: Any, note: str) -> Param:
  return Param(default, FIXED, (), note)


_CALLER = "the caller always passes it"
_ADAM_LR = "ModularGAN passes g_lr / d_lr"
_RAW_UNIFORM = RawDefault("tf.random.uniform")
_RAW_ADAM = RawDefault("tf.train.AdamOptimizer")
_FLOAT32 = Const("tf.float32")

G_PARAMS = {
    "batch_norm_fn": Param(None, MAP, ("{family}.Generator.batch_norm",),
                           "a class: see References"),
    "spectral_norm": Param(False, MAP, ("{family}.Generator.spectral_norm",),
                           "True becomes @ops.SpectralNormConfig()"),
}
D_PARAMS = {
    "batch_norm_fn": Param(None, MAP, ("{family}.Discriminator.batch_norm",),
                           "a class: see References"),
    "layer_norm": Param(False, MAP, ("{family}.Discriminator.layer_norm",)),
    "spectral_norm": Param(False, MAP, ("{family}.Discriminator.spectral_norm",),
                           "True becomes @ops.SpectralNormConfig()"),
}
_NAME = _fixed(None, "renames the variable scope; compare_gan2 keeps generator/discriminator")


def _family_param(net: str, name: str, default: Any, note: str = "") -> Param:
  return Param(default, MAP, (f"{{family}}.{net}.{name}",), note)


def _generator(module: str, source: str, **params: Any) -> Configurable:
  own = {k: _family_param("Generator", k, v) for k, v in params.items()}
  return Configurable(f"compare_gan.architectures.{module}.Generator", source,
                      {**own, **G_PARAMS, "name": _NAME,
                       "image_shape": _dead(None, "ModularGAN passes the dataset's shape")})


def _discriminator(module: str, source: str, dead: tuple[str, ...] = (),
                   **params: Any) -> Configurable:
  own = {k: (_dead(v, "stored but never used (attention is fixed at 64x64)") if k in dead
             else _family_param("Discriminator", k, v)) for k, v in params.items()}
  return Configurable(f"compare_gan.architectures.{module}.Discriminator", source,
                      {**own, **D_PARAMS, "name": _NAME})


_BIGGAN_G = dict(ch=96, blocks_with_attention="B4", hierarchical_z=True, embed_z=False,
                 embed_y=True, embed_y_dim=128, embed_bias=False)
_BIGGAN_D = dict(ch=96, blocks_with_attention="B1", project_y=True)

_GAN_PARAMS = {
    "deprecated_split_disc_calls": _fixed(False, "D is called once on concat(real, fake)"),
    "experimental_joint_gen_for_disc": _fixed(False, "one G call per D sub-step"),
    "experimental_force_graph_unroll": Param(
        False, ACCEPTED, (), "compare_gan2 always runs the unrolled (TPU) step; see the notes"),
    "g_use_ema": Param(False, MAP, ("gans.ModularGAN.ema",), "True becomes @gans.EmaConfig()"),
    "ema_decay": Param(0.9999, MAP, ("gans.EmaConfig.decay",)),
    "ema_start_step": Param(40000, MAP, ("gans.EmaConfig.start_step",)),
    "g_optimizer_fn": Param(_RAW_ADAM, MAP, ("train_lib.train.g_optimizer",),
                            "@G/{optimizer}(): see References"),
    "d_optimizer_fn": Param(None, MAP, ("train_lib.train.d_optimizer",),
                            "None reuses the G optimizer's class and settings"),
    "g_lr": Param(0.0002, MAP, ("G/{optimizer}.learning_rate",)),
    "d_lr": Param(None, MAP, ("D/{optimizer}.learning_rate",), "None means g_lr"),
    "conditional": Param(False, MAP, ("gans.ModularGAN.conditional",
                                      "{family}.Generator.num_classes",
                                      "{family}.Discriminator.num_classes")),
    "fit_label_distribution": Param(False, MAP, ("gans.ModularGAN.fit_label_distribution",)),
}
# The public name: SSGAN and S3GAN take ModularGAN's parameters too (**kwargs).
GAN_PARAMS = _GAN_PARAMS


def _weights(gan: str) -> dict[str, Param]:
  return {"weight_rotation_loss_d": Param(1.0, MAP, (f"gans.{gan}.weight_rotation_loss_d",), "β"),
          "weight_rotation_loss_g": Param(0.2, MAP, (f"gans.{gan}.weight_rotation_loss_g",), "α")}


_SSGAN_PARAMS = {
    "self_supervision": Param("rotation_gan", MAP, ("gans.SSGAN.self_supervision",),
                              '"rotation_only" stays; other strings containing "rotation" '
                              'become "rotation_gan", any other string "none" (ssgan.py:147,212)'),
    "rotated_batch_size": Param(REQUIRED, MAP, ("gans.SSGAN.rotated_batch_size",),
                                "global rotation rows per D or G update, as compare_gan"),
    **_weights("SSGAN"),
}
_S3GAN_PARAMS = {
    "self_supervision": Param("rotation", MAP, ("gans.S3GAN.self_supervision",),
                              '"rotation" or "none"'),
    "rotated_batch_fraction": Param(REQUIRED, MAP, ("gans.S3GAN.rotated_batch_fraction",)),
    **_weights("S3GAN"),
    **{name: Param(default, MAP, (f"gans.S3GAN.{name}",)) for name, default in (
        ("project_y", False), ("use_predictor", False), ("use_soft_pred", False),
        ("weight_class_loss", 1.0), ("use_soft_labels", False))},
}
_NORM_TARGETS = tuple(f"ops.{c}.{{param}}" for c in
                      ("BatchNorm", "ConditionalBatchNorm", "SelfModulatedBatchNorm"))
_LATENT = {
    "distribution_fn": Param(_RAW_UNIFORM, MAP, ("gans.ModularGAN.z_fn",),
                             "see References"),
    "minval": Param(-1.0, MAP, ("{sampler}.minval",), "uniform only"),
    "maxval": Param(1.0, MAP, ("{sampler}.maxval",), "uniform only"),
    "stddev": Param(1.0, MAP, ("{sampler}.stddev",), "normal and truncated normal only"),
}


def _norm_param(param: str, default: Any, new_param: str, note: str = "") -> Param:
  return Param(default, MAP, tuple(t.format(param=new_param) for t in _NORM_TARGETS), note)


def _tf_random(name: str, new: str = "", **own: Param) -> Configurable:
  params = {"shape": _dead(None, "z passes it"), **own,
            "dtype": _fixed(_FLOAT32, "images and z are float32"),
            "seed": _dead(None, "compare_gan2 draws z statelessly from gans.ModularGAN.seed"),
            "name": _dead(None, _CALLER)}
  return Configurable(f"tf.random.{name}", "gin/tf/external_configurables.py", params, new)


def _tf_optimizer(name: str, new: str = "", **own: Param) -> Configurable:
  params = None
  if new:
    params = {"learning_rate": _dead(0.001, _ADAM_LR), **own,
              "use_locking": _dead(False, "no Keras equivalent; no effect on results"),
              "name": _dead(name.replace("Optimizer", ""), "ModularGAN passes it")}
  return Configurable(f"tf.train.{name}", "gin/tf/external_configurables.py", params, new)


_COMPARE_GAN = (
    Configurable("compare_gan.architectures.arch_ops.batch_norm", "arch_ops.py:327-329", {},
                 "ops.BatchNorm"),
    Configurable("compare_gan.architectures.resnet_biggan_deep.BigGanDeepResNetBlock",
                 "resnet_biggan_deep.py:61-71",
                 {p: _dead(d, "its callers pass all six") for p, d in
                  (("name", None), ("in_channels", None), ("out_channels", None),
                   ("scale", None), ("spectral_norm", False), ("batch_norm", None))}),
    Configurable("compare_gan.architectures.resnet_biggan.BigGanResNetBlock",
                 "resnet_biggan.py:80-89", {
                     "add_shortcut": _fixed(True, "BigGAN G blocks always have the 1x1 shortcut"),
                     "layer_norm": _fixed(False, "no layer norm in BigGAN G blocks"),
                     "sc_kernel_size": _fixed(1, "first gin release only; the shortcut is 1x1"),
                     **{p: _dead(None, _CALLER) for p in ("name", "in_channels", "out_channels",
                                                          "scale", "is_gen_block",
                                                          "spectral_norm", "batch_norm")}}),
    Configurable("compare_gan.architectures.arch_ops.conditional_batch_norm",
                 "arch_ops.py:423-425",
                 {"use_bias": Param(False, MAP, ("ops.ConditionalBatchNorm.use_bias",))},
                 "ops.ConditionalBatchNorm"),
    Configurable("compare_gan.tpu.tpu_ops.cross_replica_moments", "tpu/tpu_ops.py:94-95", {
        "parallel": _fixed(True, "E[x^2] - E[x]^2 in one round, as compare_gan2"),
        "group_size": _fixed(None, "statistics over all replicas")}),
    Configurable("compare_gan.architectures.abstract_arch.D", "abstract_arch.py:101-109", D_PARAMS),
    Configurable("compare_gan.datasets.dataset", "datasets.py:643-644", {
        "name": Param(REQUIRED, MAP, ("train_lib.train.dataset",), "see Datasets"),
        "seed": Param(547, MAP, ("data.train_input.seed",))}),
    Configurable("compare_gan.gans.penalty_lib.dragan_penalty", "penalty_lib.py:33-34",
                 {p: _dead(None, _CALLER) for p in ("discriminator", "x", "y", "is_training")},
                 "penalties.dragan"),
    Configurable("compare_gan.datasets.eval_imagenet_transform", "datasets.py:490-492", {
        "crop_method": Param("middle", MAP, ("data.{dataset}.eval_crop",), "ImageNet only")}),
    Configurable("compare_gan.eval_gan_lib.eval_z", "eval_gan_lib.py:43-45", {
        k: dataclasses.replace(v, kind=ACCEPTED, new=(),
                               note="evaluation samples with the run's z_fn; a different "
                                    "eval_z is reported as a warning")
        for k, v in _LATENT.items()}),
    Configurable("compare_gan.architectures.abstract_arch.G", "abstract_arch.py:48-56", G_PARAMS),
    Configurable("compare_gan.gans.loss_lib.hinge", "loss_lib.py:128-129",
                 {p: _dead(None, _CALLER) for p in ("d_real_logits", "d_fake_logits")},
                 "losses.hinge"),
    Configurable("compare_gan.gans.penalty_lib.l2_penalty", "penalty_lib.py:85-86",
                 {"discriminator": _dead(None, _CALLER)}, "penalties.l2"),
    Configurable("compare_gan.gans.loss_lib.least_squares", "loss_lib.py:105-106",
                 {p: _dead(None, _CALLER) for p in ("d_real", "d_fake")}, "losses.least_squares"),
    Configurable("compare_gan.gans.loss_lib.loss", "loss_lib.py:151-152", {
        "fn": Param(RawDefault("non_saturating"), MAP, ("gans.ModularGAN.loss_fn",),
                    "see References")}),
    Configurable("compare_gan.gans.modular_gan.ModularGAN", "modular_gan.py:56-75", _GAN_PARAMS,
                 "gans.ModularGAN"),
    Configurable("compare_gan.architectures.arch_ops.no_batch_norm", "arch_ops.py:322-323", {},
                 "None"),
    Configurable("compare_gan.gans.penalty_lib.no_penalty", "penalty_lib.py:28-29", {},
                 "penalties.no_penalty"),
    Configurable("compare_gan.gans.loss_lib.non_saturating", "loss_lib.py:53-54",
                 {p: _dead(None, _CALLER) for p in ("d_real_logits", "d_fake_logits")},
                 "losses.non_saturating"),
    Configurable("compare_gan.runner_lib.options", "runner_lib.py:72-80", {
        "batch_size": Param(REQUIRED, MAP, ("train_lib.train.global_batch_size",),
                            "times (disc_iters + 1): one compare_gan2 step holds all sub-steps"),
        "gan_class": Param(REQUIRED, MAP, ("train_lib.train.gan",), "@ModularGAN only"),
        "architecture": Param(REQUIRED, MAP, ("gans.ModularGAN.generator",
                                              "gans.ModularGAN.discriminator"),
                              "see Architectures"),
        "training_steps": Param(REQUIRED, MAP, ("train_lib.Schedule.total_steps",),
                                "G updates in both"),
        "discriminator_normalization": _dead(None, "deleted by get_options_dict"),
        "lamba": Param(1, MAP, ("gans.ModularGAN.penalty_weight",),
                       "dead with no_penalty, as in compare_gan"),
        "disc_iters": Param(1, MAP, ("gans.ModularGAN.disc_iters",)),
        "z_dim": Param(128, MAP, ("{family}.Generator.z_dim",))}),
    Configurable("compare_gan.gans.penalty_lib.penalty", "penalty_lib.py:105-106", {
        "fn": Param(RawDefault("no_penalty"), MAP, ("gans.ModularGAN.penalty_fn",),
                    "see References")}),
    Configurable("compare_gan.datasets.replace_labels", "datasets.py:174-175", {
        "file_pattern": _fixed(None, "label TFRecords are not read; give .npy/.npz soft labels "
                                     "with data.LabelOptions.soft_labels_file")}),
    _discriminator("resnet_biggan", "resnet_biggan.py:305-313", **_BIGGAN_D),
    _generator("resnet_biggan", "resnet_biggan.py:154-166", **_BIGGAN_G),
    _discriminator("resnet_biggan_deep", "resnet_biggan_deep.py:312-320",
                   dead=("blocks_with_attention",), ch=128, blocks_with_attention="B1",
                   project_y=True),
    _generator("resnet_biggan_deep", "resnet_biggan_deep.py:182-191", ch=128, embed_y=True,
               embed_y_dim=128, experimental_fast_conv_to_rgb=False),
    _discriminator("resnet_cifar", "resnet_cifar.py:115-119", project_y=False),
    _generator("resnet_cifar", "resnet_cifar.py:34-42", hierarchical_z=False, embed_z=False,
               embed_y=False),
    Configurable("compare_gan.main.run_config", "main.py:79-84", {
        "tf_random_seed": Param(None, MAP, ("gans.ModularGAN.seed",),
                                "initial weights: the runner's --seed flag"),
        "single_core": _dead(False, "choose the topology with the runner's --strategy"),
        "iterations_per_loop": Param(1000, MAP, ("train_lib.Schedule.steps_per_loop",)),
        "save_checkpoints_steps": Param(5000, MAP, ("train_lib.Schedule.checkpoint_every",
                                                    "train_lib.Schedule.sample_every")),
        "keep_checkpoint_max": Param(1000, MAP, ("train_lib.Schedule.keep_checkpoints",))}),
    Configurable("compare_gan.gans.s3gan.S3GAN", "s3gan.py:39-52",
                 {**_GAN_PARAMS, **_S3GAN_PARAMS}, "gans.S3GAN"),
    Configurable("compare_gan.architectures.arch_ops.self_modulated_batch_norm",
                 "arch_ops.py:370-373", {"num_hidden": Param(
                     32, MAP, ("ops.SelfModulatedBatchNorm.num_hidden",))},
                 "ops.SelfModulatedBatchNorm"),
    Configurable("compare_gan.architectures.arch_ops.spectral_norm", "arch_ops.py:453-454", {
        "epsilon": Param(1e-12, MAP, ("ops.SpectralNormConfig.epsilon",)),
        "singular_value": Param("left", MAP, ("ops.SpectralNormConfig.singular_value",))}),
    Configurable("compare_gan.gans.ssgan.SSGAN", "ssgan.py:39-51",
                 {**_GAN_PARAMS, **_SSGAN_PARAMS}, "gans.SSGAN"),
    Configurable("compare_gan.architectures.arch_ops.standardize_batch", "arch_ops.py:194-202", {
        "decay": _norm_param("decay", 0.999, "decay", "dead without moving averages"),
        "epsilon": _norm_param("epsilon", 1e-3, "epsilon"),
        "use_moving_averages": _norm_param("use_moving_averages", True, "use_moving_averages",
                                           "False: standing statistics at evaluation"),
        "use_cross_replica_mean": _norm_param("use_cross_replica_mean", None, "cross_replica")}),
    Configurable("compare_gan.datasets.train_imagenet_transform", "datasets.py:480-482", {
        "crop_method": Param("distorted", MAP, ("data.{dataset}.train_crop",), "ImageNet only")}),
    Configurable("compare_gan.gans.loss_lib.wasserstein", "loss_lib.py:82-83",
                 {p: _dead(None, _CALLER) for p in ("d_real_logits", "d_fake_logits")},
                 "losses.wasserstein"),
    Configurable("compare_gan.architectures.arch_ops.weights", "arch_ops.py:46-47", {
        "initializer": Param("normal", MAP, ("{family}.Generator.kernel_initializer",
                                             "{family}.Discriminator.kernel_initializer")),
        "stddev": _dead(0.02, "every layer passes its own stddev (0.02)")}),
    Configurable("compare_gan.gans.penalty_lib.wgangp_penalty", "penalty_lib.py:59-60",
                 {p: _dead(None, _CALLER) for p in ("discriminator", "x", "x_fake", "y",
                                                    "is_training")}, "penalties.wgan_gp"),
    Configurable("compare_gan.gans.modular_gan.z", "modular_gan.py:365-367", _LATENT),
)
# The DiffAugment fork of compare_gan,
# github.com/mit-han-lab/data-efficient-gans/blob/0b6339510be1e3859d360cbf464d0a425514a6b4/DiffAugment-biggan-imagenet/compare_gan/gans/modular_gan.py#L620-L652:
# `@gin.configurable("DiffAugment", whitelist=["policy"])` on ModularGAN.create_loss,
# which augments the reals and the fakes D sees, in D and G losses alike.
_FORK = (
    Configurable("compare_gan.gans.modular_gan.DiffAugment", "fork modular_gan.py:620-621", {
        "policy": Param("", MAP, ("gans.ModularGAN.augment", "augment.DiffAugment.policy"),
                        '@augment.DiffAugment() with the policy; "" binds nothing. Only '
                        "ModularGAN applies it (the fork's SSGAN/S3GAN do not)")}),
)
# First gin release (25c4945), renamed in 9b16cbb.
_HISTORICAL = (
    Configurable("compare_gan.gans.gpu_modular_gan.GPUModularGAN", "gpu_modular_gan.py",
                 _GAN_PARAMS, "gans.ModularGAN"),
    _generator("resnet5_biggan", "resnet5_biggan.py", **_BIGGAN_G),
    _discriminator("resnet5_biggan", "resnet5_biggan.py", **_BIGGAN_D),
)
_UNTRANSLATED_OPTIMIZERS = ("AdadeltaOptimizer", "AdagradOptimizer", "AdagradDAOptimizer",
                            "FtrlOptimizer", "ProximalGradientDescentOptimizer",
                            "ProximalAdagradOptimizer", "RMSPropOptimizer")
_EXTERNALS = (
    _tf_optimizer("AdamOptimizer", "keras.optimizers.Adam",
                  beta1=Param(0.9, MAP, ("keras.optimizers.Adam.beta_1",)),
                  beta2=Param(0.999, MAP, ("keras.optimizers.Adam.beta_2",)),
                  epsilon=Param(1e-8, MAP, ("keras.optimizers.Adam.epsilon",),
                                "always written: Keras' default is 1e-7")),
    _tf_optimizer("GradientDescentOptimizer", "keras.optimizers.SGD"),
    _tf_optimizer("MomentumOptimizer", "keras.optimizers.SGD",
                  momentum=Param(REQUIRED, MAP, ("keras.optimizers.SGD.momentum",)),
                  use_nesterov=Param(False, MAP, ("keras.optimizers.SGD.nesterov",))),
    *(_tf_optimizer(name) for name in _UNTRANSLATED_OPTIMIZERS),
    *(Configurable(f"tf.train.{n}", "gin/tf/external_configurables.py", None) for n in (
        "exponential_decay", "inverse_time_decay", "natural_exp_decay", "polynomial_decay",
        "piecewise_constant")),
    *(Configurable(f"tf.losses.{n}", "gin/tf/external_configurables.py", None) for n in (
        "absolute_difference", "cosine_distance", "hinge_loss", "huber_loss", "log_loss",
        "mean_pairwise_squared_error", "mean_squared_error", "sigmoid_cross_entropy",
        "softmax_cross_entropy", "sparse_softmax_cross_entropy")),
    *(Configurable(f"tf.nn.{n}", "gin/tf/external_configurables.py", None) for n in (
        "crelu", "dropout", "elu", "leaky_relu", "relu", "relu6", "sigmoid", "softmax",
        "softplus", "softsign", "tanh")),
    _tf_random("normal", "gans.normal_latent", mean=_fixed(0.0, "gans.normal_latent has mean 0"),
               stddev=_dead(1.0, "z passes its own stddev")),
    _tf_random("truncated_normal", "tf.random.stateless_truncated_normal",
               mean=_fixed(0.0, "the stateless sampler gets no mean"),
               stddev=_dead(1.0, "z passes its own stddev")),
    _tf_random("uniform", "gans.uniform_latent", minval=_dead(0, "z passes its own minval"),
               maxval=_dead(None, "z passes its own maxval")),
    *(Configurable(f"tf.random.{n}", "gin/tf/external_configurables.py", None)
      for n in ("gamma", "multinomial", "poisson")),
)

CONFIGURABLES: dict[str, Configurable] = {
    c.selector: c for c in _COMPARE_GAN + _FORK + _HISTORICAL + _EXTERNALS}
# Other complete spellings of the same configurable (docs/design.md §12.2).
ALIASES = {"__main__.run_config": "compare_gan.main.run_config"}
# gin.tf's constants (`%tf.float32`), the only macros a legacy file may use undefined.
TF_CONSTANTS = tuple(f"tf.{t}" for t in (
    "float16", "float32", "float64", "bfloat16", "complex64", "complex128", "int8", "uint8",
    "uint16", "int16", "int32", "int64", "bool", "string", "qint8", "quint8", "qint16",
    "quint16", "qint32", "resource", "variant"))
COMPARE_GAN_COUNT = len(_COMPARE_GAN)
