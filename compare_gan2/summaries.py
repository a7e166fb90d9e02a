"""What a run shows while it trains: TensorBoard scalars, image grids, progress.

compare_gan wrote `loss/d_{i}`, `loss/g` and image grids of real and fake
images through TPU host calls (`tpu/tpu_summaries.py`). Here the logged
values are the GAN's Mean trackers, averaged over the steps since the last
write, plus learning rates and steps/s; sample grids of a fixed z (one row per
class when conditional) also go to `model_dir/samples/step_<N>.png`.
"""

import os
import time

import numpy as np
import tensorflow as tf


def image_grid(images: np.ndarray, columns: int) -> np.ndarray:
  """Tiles [N, H, W, C] images in [0, 1] into one [rows·H, columns·W, C] image."""
  n, height, width, channels = images.shape
  rows = -(-n // columns)
  padded = np.zeros((rows * columns, height, width, channels), images.dtype)
  padded[:n] = images
  grid = padded.reshape(rows, columns, height, width, channels).swapaxes(1, 2)
  return grid.reshape(rows * height, columns * width, channels)


def write_png(path: str, image: np.ndarray) -> None:
  """Writes an [H, W, C] image in [0, 1] as PNG, creating the folder."""
  os.makedirs(os.path.dirname(path), exist_ok=True)
  pixels = tf.cast(tf.round(tf.clip_by_value(image, 0.0, 1.0) * 255.0), tf.uint8)
  tf.io.write_file(path, tf.io.encode_png(pixels))


class Progress:
  """Steps/s and ETA over the whole run (compare_gan's ReportProgressHook)."""

  def __init__(self, start_step: int, total_steps: int):
    self.start_step, self.total_steps = start_step, total_steps
    self.start_time = time.monotonic()

  def line(self, step: int) -> tuple[str, float]:
    """A one-line status and the steps per second so far."""
    elapsed = max(time.monotonic() - self.start_time, 1e-9)
    rate = (step - self.start_step) / elapsed
    eta = (self.total_steps - step) / rate if rate > 0 else float("inf")
    percent = 100.0 * step / max(self.total_steps, 1)
    return (f"step {step}/{self.total_steps} ({percent:.1f}%), {rate:.2f} steps/s, "
            f"ETA {eta / 60:.1f} min"), rate
