"""Tests for compare_gan2.architectures.resnet_cifar (SNGAN Table 4, compare_gan resnet_cifar.py).

Parameter counts come from a counter written here from compare_gan's
resnet_cifar.py and arch_ops.py, independently of the port's tables; the
ordered variable lists are compare_gan's resnet_norm_test.py.
"""

import functools
import keras
import numpy as np
import pytest

from compare_gan2 import testing
from compare_gan2.architectures import base
from compare_gan2.architectures import resnet_cifar
from compare_gan2.ops import normalization

NORMS = {None: None, "bn": normalization.BatchNorm, "cbn": normalization.ConditionalBatchNorm,
         "smbn": normalization.SelfModulatedBatchNorm}
ZEROS = keras.initializers.Zeros()  # Fast to allocate; counts do not depend on values.


# --- An independent counter (compare_gan's arch_ops: conv2d and linear have biases). ---

# compare_gan's counting rules, shared in compare_gan2.testing.
conv = functools.partial(testing.conv_params, 3)  # every ResNet conv here is 3x3
linear = testing.linear_params
norm_params = testing.norm_params


def block(cin, cout, kind=None, z_dim=0, y_dim=0, ln=False):
  """resnet_ops.py:150-182: 3x3 shortcut, bn1, conv1, bn2, conv2 (+ ln1, ln2)."""
  norms = norm_params(kind, cin, z_dim, y_dim) + norm_params(kind, cout, z_dim, y_dim)
  return 2 * conv(cin, cout) + conv(cout, cout) + norms + (2 * (cin + cout) if ln else 0)


def generator_count(kind, ch=256, z_dim=128, classes=10, colors=3, hier=False, ez=False, ey=False):
  """resnet_cifar.py:63-105, read from compare_gan."""
  total = (linear(z_dim, z_dim) if ez else 0) + (linear(classes, z_dim) if ey else 0)
  y_dim = z_dim if ey else classes
  chunk = z_dim // 4 if hier else z_dim
  total += linear(chunk, 16 * ch)
  total += 3 * block(ch, ch, kind, chunk, chunk + y_dim if hier else y_dim)
  return total + norm_params(kind, ch, z_dim, y_dim) + conv(ch, colors)


def discriminator_count(ch=128, colors=3, classes=10, project_y=False, ln=False, kind=None):
  """resnet_cifar.py:132-167: B1 colours->ch, B2..B4 ch->ch, linear, embedding."""
  blocks = block(colors, ch, kind, 0, classes, ln) + 3 * block(ch, ch, kind, 0, classes, ln)
  return blocks + linear(ch, 1) + (linear(classes, ch, bias=False) if project_y else 0)


# --- Counts. ---

@pytest.mark.parametrize("kind,pinned", [(None, 5_846_019), ("bn", 5_849_603),
                                         ("cbn", 5_881_859), ("smbn", 5_993_187)])
def test_full_size_generator_counts(kind, pinned):
  """docs/design.md §10: z_dim 128, 10 classes."""
  g = resnet_cifar.Generator(num_classes=10, batch_norm=NORMS[kind], kernel_initializer=ZEROS)
  g.build_variables()
  assert testing.trainable_count(g) == generator_count(kind) == pinned


@pytest.mark.parametrize("project_y,layer_norm,pinned", [
    (False, False, 1_483_137), (True, False, 1_484_417), (False, True, 1_484_935)])
def test_full_size_discriminator_counts(project_y, layer_norm, pinned):
  d = resnet_cifar.Discriminator(num_classes=10, project_y=project_y, layer_norm=layer_norm,
                                 spectral_norm=True, kernel_initializer=ZEROS)
  d.build_variables()
  assert testing.trainable_count(d) == discriminator_count(project_y=project_y, ln=layer_norm) == pinned


ALL = {"hierarchical_z": True, "embed_z": True, "embed_y": True}
# Every norm plain and with all options; each option alone with the norms it affects
# (variable creation dominates the run time of these tests).
G_CASES = ([(kind, {}) for kind in NORMS] + [(kind, ALL) for kind in NORMS]
           + [("cbn", {name: True}) for name in ALL] + [("smbn", {"hierarchical_z": True}),
                                                        ("smbn", {"embed_z": True})])
D_CASES = [(None, False, False), (None, True, True), ("bn", False, True), ("cbn", True, False)]


@pytest.mark.parametrize("kind,options", G_CASES,
                         ids=[f"{k}-{'+'.join(o) or 'plain'}" for k, o in G_CASES])
def test_generator_count_matches_counter(kind, options):
  g = resnet_cifar.Generator(ch=8, z_dim=16, num_classes=3, image_shape=(32, 32, 1),
                             batch_norm=NORMS[kind], **options)
  g.build_variables()
  expected = generator_count(kind, ch=8, z_dim=16, classes=3, colors=1,
                             hier=options.get("hierarchical_z", False),
                             ez=options.get("embed_z", False), ey=options.get("embed_y", False))
  assert testing.trainable_count(g) == expected


@pytest.mark.parametrize("kind,project_y,layer_norm", D_CASES)
def test_discriminator_count_matches_counter(kind, project_y, layer_norm):
  d = resnet_cifar.Discriminator(ch=8, num_classes=3, image_shape=(32, 32, 1),
                                 batch_norm=NORMS[kind], project_y=project_y,
                                 layer_norm=layer_norm)
  d.build_variables()
  assert testing.trainable_count(d) == discriminator_count(8, 1, 3, project_y, layer_norm, kind)


# --- compare_gan's resnet_norm_test.py: exact ordered variable lists. ---

def _conv_vars(scope, shape, sn=False):
  u_var = [(f"{scope}/kernel/u_var", [int(np.prod(shape[:-1])), 1])] if sn else []
  return [(f"{scope}/kernel", shape), *u_var, (f"{scope}/bias", [shape[-1]])]


def _norm_vars(scope, kind, c=256):
  return {None: [],
          "bn": [(f"{scope}/gamma", [c]), (f"{scope}/beta", [c])],
          "cbn": [(f"{scope}/condition/gamma/kernel", [10, c]),
                  (f"{scope}/condition/beta/kernel", [10, c])],
          "smbn": [(f"{scope}/sbn/hidden/kernel", [128, 32]), (f"{scope}/sbn/hidden/bias", [32]),
                   (f"{scope}/sbn/gamma/kernel", [32, c]), (f"{scope}/sbn/gamma/bias", [c]),
                   (f"{scope}/sbn/beta/kernel", [32, c]), (f"{scope}/sbn/beta/bias", [c])]}[kind]


def expected_generator_variables(kind, sn=False):
  """resnet_norm_test.py:31-369, one compare_gan list per norm (and SN's global list)."""
  out = _conv_vars("generator/fc_noise", [128, 4096], sn)
  for b in (1, 2, 3):
    scope, conv_shape = f"generator/B{b}", [3, 3, 256, 256]
    out += (_conv_vars(f"{scope}/up_conv_shortcut", conv_shape, sn)
            + _norm_vars(f"{scope}/bn1", kind) + _conv_vars(f"{scope}/up_conv1", conv_shape, sn)
            + _norm_vars(f"{scope}/bn2", kind) + _conv_vars(f"{scope}/same_conv2", conv_shape, sn))
  return out + _norm_vars("generator/final_norm", kind) + _conv_vars(
      "generator/final_conv", [3, 3, 256, 3], sn)


def expected_discriminator_variables():
  """resnet_norm_test.py:71-112."""
  out = []
  for b, cin, first in ((1, 3, "down"), (2, 128, "down"), (3, 128, "same"), (4, 128, "same")):
    scope = f"discriminator/B{b}"
    second = "same" if first == "same" else "down"
    out += (_conv_vars(f"{scope}/{first}_conv_shortcut", [3, 3, cin, 128])
            + _conv_vars(f"{scope}/same_conv1", [3, 3, cin, 128])
            + _conv_vars(f"{scope}/{second}_conv2", [3, 3, 128, 128]))
  return out + _conv_vars("discriminator/disc_final_fc", [128, 1])


def _tf1(model, variables):
  names = base.compare_gan_names(model)
  return [(names[v.path], list(v.shape)) for v in variables]


@pytest.mark.parametrize("kind", list(NORMS))
def test_generator_variables_in_compare_gan_order(kind, created):
  g = resnet_cifar.Generator(num_classes=10, batch_norm=NORMS[kind], kernel_initializer=ZEROS)
  g.build_variables(batch_size=8)
  expected = expected_generator_variables(kind)
  assert _tf1(g, [r.variable for r in created if r.variable.trainable]) == expected
  assert _tf1(g, g.trainable_variables) == expected  # Keras keeps the same order.


def test_discriminator_variables_in_compare_gan_order(created):
  d = resnet_cifar.Discriminator(num_classes=10, kernel_initializer=ZEROS)
  d.build_variables(batch_size=8)
  expected = expected_discriminator_variables()
  assert _tf1(d, [r.variable for r in created if r.variable.trainable]) == expected
  assert _tf1(d, d.trainable_variables) == expected


def test_spectral_norm_global_variables_in_compare_gan_order(created):
  """resnet_norm_test.py:316-369: `kernel/u_var` ("left" mode) right after each kernel."""
  g = resnet_cifar.Generator(num_classes=10, spectral_norm=True, kernel_initializer=ZEROS)
  g.build_variables(batch_size=8)
  assert _tf1(g, [r.variable for r in created]) == expected_generator_variables(None, sn=True)
  assert len(g.variables) == len(created)


def test_projection_and_options_are_named_as_compare_gan():
  g = resnet_cifar.Generator(ch=8, z_dim=16, num_classes=3, embed_z=True, embed_y=True,
                             batch_norm=normalization.ConditionalBatchNorm, hierarchical_z=True)
  g.build_variables()
  shapes = {name: tuple(v.shape) for v in g.variables
            for name in [base.compare_gan_names(g)[v.path]]}
  assert shapes["generator/embed_z/kernel"] == (16, 16)
  assert shapes["generator/embed_y/kernel"] == (3, 16)
  assert shapes["generator/fc_noise/kernel"] == (4, 16 * 8)  # First of four z chunks.
  assert shapes["generator/B2/bn1/condition/gamma/kernel"] == (4 + 16, 8)  # [z_2, embed_y(y)].
  assert shapes["generator/final_norm/condition/gamma/kernel"] == (16, 8)  # Embedded y only.
  d = resnet_cifar.Discriminator(ch=8, num_classes=3, project_y=True)
  d.build_variables()
  assert [v.path for v in d.variables][-1] == "discriminator/embedding_fc/kernel"
  assert d.embedding_fc.bias is None


# --- Forward passes, options and errors. ---

def _inputs(batch=2, z_dim=16, classes=3, seed=0):
  rng = np.random.RandomState(seed)
  z = rng.randn(batch, z_dim).astype(np.float32)
  y = np.eye(classes, dtype=np.float32)[rng.randint(classes, size=batch)]
  return z, y


def test_features_are_mean_pooled_and_projection_adds_the_embedding_dot_features():
  _, y = _inputs()
  images = np.random.RandomState(2).rand(2, 32, 32, 1).astype(np.float32)
  d = resnet_cifar.Discriminator(ch=8, num_classes=3, project_y=True, image_shape=(32, 32, 1))
  out = d(images, y)
  x = images
  for block in d.blocks:
    x = block(x)
  assert x.shape == (2, 8, 8, 8)
  np.testing.assert_allclose(out.features, np.mean(np.maximum(x, 0.0), axis=(1, 2)), rtol=1e-5)
  plain = d.disc_final_fc(out.features)
  embedding = y @ d.embedding_fc.kernel.numpy()
  np.testing.assert_allclose(out.logits, plain + np.sum(embedding * out.features, axis=1,
                                                        keepdims=True), rtol=1e-5)


@pytest.mark.parametrize("hierarchical_z", [False, True])
def test_norms_receive_compare_gans_conditioning(hierarchical_z, monkeypatch):
  """resnet_cifar.py:81-105: block i gets z_{i+1} and [z_{i+1}, y] (or z and y);
  final_norm the full z and the embedded y."""
  seen = {}
  apply_norm = base.apply_norm

  def spy(norm, x, z, y, training):
    seen[norm.path] = (z, y)
    return apply_norm(norm, x, z, y, training)

  monkeypatch.setattr(base, "apply_norm", spy)
  z, y = _inputs()
  g = resnet_cifar.Generator(ch=4, z_dim=16, num_classes=3, hierarchical_z=hierarchical_z,
                             embed_y=True, batch_norm=normalization.BatchNorm)
  g(z, y)
  y_embedded = g.y_embedding(y)
  chunks = np.split(z, 4, axis=1)
  for i in range(3):
    want_z = chunks[i + 1] if hierarchical_z else z
    want_y = np.concatenate([chunks[i + 1], y_embedded], 1) if hierarchical_z else y_embedded
    for norm in ("bn1", "bn2"):
      got_z, got_y = seen[f"generator/B{i + 1}/{norm}"]
      np.testing.assert_array_equal(got_z, want_z)
      np.testing.assert_allclose(got_y, want_y, rtol=1e-6)
  np.testing.assert_array_equal(seen["generator/final_norm"][0], z)
  np.testing.assert_allclose(seen["generator/final_norm"][1], y_embedded, rtol=1e-6)


def test_config_round_trip():
  g = resnet_cifar.Generator(ch=8, z_dim=16, num_classes=3, hierarchical_z=True, embed_z=True,
                             batch_norm=normalization.SelfModulatedBatchNorm, spectral_norm=True)
  clone = resnet_cifar.Generator.from_config(g.get_config())
  assert clone.get_config() == g.get_config() and clone.batch_norm is g.batch_norm
  d = resnet_cifar.Discriminator(ch=8, num_classes=3, project_y=True, layer_norm=True)
  restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(d))
  assert isinstance(restored, resnet_cifar.Discriminator)
  assert restored.get_config() == d.get_config()
  clone.build_variables()
  g.build_variables()
  assert testing.trainable_count(clone) == testing.trainable_count(g)


# Keras' own weight saving calls np.array(variable) the NumPy 2 way (keras core.py:172).
@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
def test_keras_save_and_load_restore_outputs(tmp_path):
  z, y = _inputs(z_dim=8)
  g = resnet_cifar.Generator(ch=4, z_dim=8, num_classes=3, spectral_norm=True,
                             batch_norm=normalization.ConditionalBatchNorm)
  images = g(z, y)
  g.save(tmp_path / "g.keras")
  restored = keras.saving.load_model(tmp_path / "g.keras")
  np.testing.assert_array_equal(restored(z, y), images)


def test_errors_are_clear():
  with pytest.raises(ValueError, match="supports square images of 32 px; got 64x64"):
    resnet_cifar.Generator(image_shape=(64, 64, 3))
  with pytest.raises(ValueError, match="supports square images of 32 px; got 48x48"):
    resnet_cifar.Discriminator(image_shape=(48, 48, 3))
  with pytest.raises(ValueError, match="color channels must be 1 or 3, got 4"):
    resnet_cifar.Discriminator(image_shape=(32, 32, 4))
  with pytest.raises(ValueError, match="not divisible by 4"):
    resnet_cifar.Generator(z_dim=10, hierarchical_z=True)
  with pytest.raises(ValueError, match="embed_y=True needs labels y"):
    resnet_cifar.Generator(ch=8, z_dim=16, embed_y=True).build_variables()
  with pytest.raises(ValueError, match="project_y=True needs num_classes > 0"):
    resnet_cifar.Discriminator(project_y=True)


def test_project_y_without_labels_is_a_clear_error():
  d = resnet_cifar.Discriminator(ch=8, num_classes=3, project_y=True)
  with pytest.raises(ValueError, match="project_y=True needs class information y"):
    d.build_variables(conditional=False)
  _, y = _inputs()
  images = np.zeros((2, 32, 32, 3), np.float32)
  d(images, y)
  with pytest.raises(ValueError, match="project_y=True needs class information y"):
    d(images)
