"""Tests for compare_gan2.data.transforms: decoding, channels, crops, resizes.

Values are checked against numpy (PNG is lossless), the TF1 resize against
the legacy op compare_gan used, the ImageNet crops against their definitions
(`datasets.py:430-477`), and a transform inside tf.data against eager.
"""

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2.data import transforms

# A 1x1 GIF89a of color (200, 100, 50), written by hand: TensorFlow has no GIF
# encoder. Header, screen 1x1 with a 2-color table, image descriptor, LZW data.
GIF = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00" + bytes([200, 100, 50, 0, 0, 0])
       + b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00;")


def _rgb(height=6, width=9, seed=0):
  return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _luma(rgb):
  return np.round(rgb.astype(np.float64) @ [0.2989, 0.5870, 0.1140]).astype(np.uint8)


@pytest.mark.parametrize("source_channels", [1, 2, 3, 4])
def test_decode_png_to_gray_and_rgb(source_channels):
  rgb = _rgb()
  pixels = {1: _luma(rgb)[..., None], 2: np.dstack([_luma(rgb), np.full(rgb.shape[:2], 9)]),
            3: rgb, 4: np.dstack([rgb, np.full(rgb.shape[:2], 9)])}[source_channels]
  png = tf.io.encode_png(pixels.astype(np.uint8))
  as_rgb = transforms.decode(png, 3).numpy()
  as_gray = transforms.decode(png, 1).numpy()
  assert as_rgb.shape == (6, 9, 3) and as_gray.shape == (6, 9, 1)
  expected_rgb = rgb if source_channels >= 3 else np.repeat(_luma(rgb)[..., None], 3, -1)
  np.testing.assert_array_equal(as_rgb, expected_rgb)
  # libpng's own RGB -> gray conversion may round differently by one level.
  assert np.abs(as_gray[..., 0].astype(int) - _luma(rgb)).max() <= 1


def test_decode_gif_and_jpeg():
  assert transforms.decode(tf.constant(GIF), 3).numpy().tolist() == [[[200, 100, 50]]]
  # The GIF decoder only gives RGB; gray goes through rgb_to_grayscale.
  assert transforms.decode(tf.constant(GIF), 1).numpy().tolist() == [[[_luma(
      np.array([200, 100, 50]))]]]
  smooth = np.broadcast_to(np.array([120, 60, 200], np.uint8), (16, 16, 3))
  jpeg = tf.io.encode_jpeg(smooth, quality=100)
  assert np.abs(transforms.decode(jpeg, 3).numpy().astype(int) - smooth).max() <= 2


@pytest.mark.parametrize("contents", [b"", b"hello, not an image"])
def test_non_image_bytes_fail_naming_the_file(contents):
  with pytest.raises(tf.errors.InvalidArgumentError, match="photos/broken.png"):
    transforms.decode(tf.constant(contents), 3, "photos/broken.png")


def test_convert_channels():
  rgba = np.dstack([_rgb(), np.zeros((6, 9), np.uint8)])
  np.testing.assert_array_equal(transforms.convert_channels(tf.constant(rgba), 3), _rgb())
  gray = transforms.convert_channels(tf.constant(_rgb()), 1).numpy()
  np.testing.assert_array_equal(gray[..., 0], _luma(_rgb()))
  tiled = transforms.convert_channels(tf.constant(gray), 3).numpy()
  np.testing.assert_array_equal(tiled, np.repeat(gray, 3, -1))
  with pytest.raises(ValueError, match="cannot convert an image with 5 channels"):
    transforms.convert_channels(tf.zeros([2, 2, 5]), 3)


@pytest.mark.parametrize("shape", [(10, 20), (20, 10)])
def test_fit_image_center_crops_non_square_images(shape):
  image = np.zeros(shape + (3,), np.uint8)
  side = min(shape)
  top, left = (shape[0] - side) // 2, (shape[1] - side) // 2
  image[top:top + side, left:left + side] = 255  # only the central square is white
  fitted = transforms.fit_image(tf.constant(image), side, 3).numpy()
  np.testing.assert_array_equal(fitted, np.ones((side, side, 3), np.float32))
  small = transforms.fit_image(tf.constant(image), 4, 1).numpy()
  assert small.shape == (4, 4, 1) and small.dtype == np.float32
  np.testing.assert_allclose(small, 1.0, atol=1e-6)


def test_fit_image_keeps_values_in_unit_range():
  image = np.kron(np.eye(8, dtype=np.uint8) * 255, np.ones((4, 4), np.uint8))[..., None]
  for resolution in (5, 13, 64):
    fitted = transforms.fit_image(tf.constant(image), resolution, 3).numpy()
    assert fitted.min() >= 0.0 and fitted.max() <= 1.0
  as_float = transforms.fit_image(tf.constant(image / 255.0), 32, 1).numpy()
  np.testing.assert_allclose(as_float, image / 255.0, atol=1e-6)


def test_legacy_resize_is_compare_gans_tf1_bilinear():
  image = tf.constant(_rgb(7, 7).astype(np.float32))
  legacy = tf.compat.v1.image.resize(image, [12, 12], tf.compat.v1.image.ResizeMethod.BILINEAR)
  np.testing.assert_array_equal(transforms.legacy_resize(image, 12), legacy)
  assert np.abs(transforms.legacy_resize(image, 12) - tf.image.resize(image, [12, 12])).max() > 1


def test_pad_or_resize_zero_pads_mnist_to_32():
  digit = np.random.default_rng(1).uniform(size=(28, 28, 1)).astype(np.float32)
  padded = transforms.pad_or_resize(tf.constant(digit), 32).numpy()
  np.testing.assert_array_equal(padded[2:30, 2:30], digit)
  assert padded.sum() == pytest.approx(digit.sum(), rel=1e-6)
  assert transforms.pad_or_resize(tf.constant(digit), 32, "resize").shape == (32, 32, 1)
  assert transforms.pad_or_resize(tf.constant(digit), 16).shape == (16, 16, 1)
  with pytest.raises(ValueError, match="upscale"):
    transforms.pad_or_resize(tf.constant(digit), 32, "stretch")


def test_imagenet_crops():
  image = tf.reshape(tf.range(30 * 50 * 3, dtype=tf.float32), [30, 50, 3])
  seed = tf.constant([1, 2], tf.int64)
  np.testing.assert_array_equal(transforms.crop_imagenet(image, "middle", seed),
                                image[:, 10:40])
  assert transforms.crop_imagenet(image, "none", seed).shape == (30, 50, 3)
  for method in ("distorted", "random"):
    crop = transforms.crop_imagenet(image, method, seed)
    again = transforms.crop_imagenet(image, method, seed)
    np.testing.assert_array_equal(crop, again)  # stateless: a pure function of the seed
    height, width = crop.shape[:2]
    assert height == width
  distorted = [transforms.crop_imagenet(image, "distorted", tf.constant([s, 0], tf.int64)).shape
               for s in range(20)]
  areas = {h * w / (30 * 50) for h, w, _ in distorted}
  assert len(areas) > 1 and all(0.5 * 0.9 <= a <= 0.6 for a in areas)  # max square: 900/1500
  with pytest.raises(ValueError, match="crop method"):
    transforms.crop_imagenet(image, "center", seed)


def test_zoomed_crop_is_a_centred_square_of_random_size():
  # The DiffAugment fork's "zoomed": the box "distorted" would sample inside the
  # min(H, W) square, moved to the centre.
  image = tf.reshape(tf.range(40 * 60 * 3, dtype=tf.float32), [40, 60, 3])
  sides = set()
  for s in range(20):
    seed = tf.constant([s, 3], tf.int64)
    crop = transforms.crop_imagenet(image, "zoomed", seed)
    np.testing.assert_array_equal(crop, transforms.crop_imagenet(image, "zoomed", seed))
    side = crop.shape[0]
    assert crop.shape == (side, side, 3) and 0.5 <= side * side / 40 ** 2 <= 1.0
    top, left = (40 - side) // 2, (60 - side) // 2
    np.testing.assert_array_equal(crop, image[top:top + side, left:left + side])
    sides.add(side)
  assert len(sides) > 3


def test_transforms_inside_tf_data_match_eager():
  png = tf.io.encode_png(_rgb(12, 20))
  eager = transforms.fit_image(transforms.decode(png, 1), 8, 1)
  ds = tf.data.Dataset.from_tensors(png).map(
      lambda b: transforms.fit_image(transforms.decode(b, 1), 8, 1))
  np.testing.assert_array_equal(next(iter(ds)), eager)
