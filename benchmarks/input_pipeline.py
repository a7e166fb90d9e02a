r"""Input-pipeline throughput (images/s) of compare_gan2.data; not a test.

    .venv/bin/python benchmarks/input_pipeline.py [--rounds=5] [--batches=50]

Measures `data.train_dataset` (one input pipeline, the whole global batch) at
global batch 64 for:
- the bundled MNIST at 32x32 (random access, in memory);
- a folder of JPEGs it writes to a temporary directory (random access, one
  file read and decoded per image): 1,024 RGB images of 128x96, non-square,
  fitted to 64x64 RGB;
- the same JPEGs as TFRecord files (streaming, window shuffle).
Each round times `--batches` batches after 5 warm-up batches on a fresh
iterator; the table gives the median round. For scale, a DCGAN 32x32 training
step at batch 64 takes about 0.83 s on this kind of 2-core CPU (about 77
images/s, docs/design.md §7), so the pipeline only has to stay
above that while sharing the cores with training.
"""

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from compare_gan2 import data  # noqa: E402

BATCH = 64


def _write_jpegs(root: str, count: int = 1024) -> list[bytes]:
  """Smooth random 128x96 RGB JPEGs (photo-like sizes) in 4 class folders."""
  rng = np.random.default_rng(0)
  encoded = []
  for i in range(count):
    coarse = rng.integers(0, 256, (12, 16, 3)).astype(np.float32)
    image = tf.cast(tf.image.resize(coarse, [96, 128]), tf.uint8)
    jpeg = tf.io.encode_jpeg(image, quality=90)
    folder = os.path.join(root, "jpegs", f"class{i % 4}")
    os.makedirs(folder, exist_ok=True)
    tf.io.write_file(os.path.join(folder, f"{i:05d}.jpg"), jpeg)
    encoded.append(jpeg.numpy())
  return encoded


def _write_tfrecords(root: str, encoded: list[bytes]) -> str:
  for shard in range(4):
    with tf.io.TFRecordWriter(os.path.join(root, f"jpegs-{shard}.tfrecord")) as writer:
      for i in range(shard, len(encoded), 4):
        feature = {"image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[encoded[i]])),
                   "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[i % 4]))}
        writer.write(tf.train.Example(
            features=tf.train.Features(feature=feature)).SerializeToString())
  return os.path.join(root, "jpegs-*.tfrecord")


def images_per_second(dataset: data.Dataset, rounds: int, batches: int) -> list[float]:
  """Images/s of each round: a fresh iterator, 5 warm-up batches, then `batches`."""
  results = []
  for round_index in range(rounds):
    iterator = iter(data.train_dataset(dataset, BATCH, seed=round_index, shuffle_window=512))
    for _ in range(5):
      next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
      next(iterator)
    results.append(batches * BATCH / (time.perf_counter() - start))
  return results


def main() -> None:
  """Writes the test images, then prints the Markdown table."""
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--rounds", type=int, default=5)
  parser.add_argument("--batches", type=int, default=50)
  args = parser.parse_args()
  with tempfile.TemporaryDirectory() as root:
    encoded = _write_jpegs(root)
    cases = [
        ("bundled MNIST (in memory)", "32x32x1", data.bundled_mnist(resolution=32)),
        ("JPEG folder, 1,024 files of 128x96", "64x64x3",
         data.image_folder(os.path.join(root, "jpegs"), resolution=64)),
        ("same JPEGs as 4 TFRecord files", "64x64x3",
         data.tfrecord(_write_tfrecords(root, encoded), resolution=64, label_key="label")),
    ]
    print(f"| source | output | batch | images/s (median of {args.rounds}) | min - max |")
    print("|---|---|---|---|---|")
    for name, shape, dataset in cases:
      rates = images_per_second(dataset, args.rounds, args.batches)
      print(f"| {name} | {shape} | {BATCH} | {statistics.median(rates):,.0f} | "
            f"{min(rates):,.0f} - {max(rates):,.0f} |", flush=True)


if __name__ == "__main__":
  main()
