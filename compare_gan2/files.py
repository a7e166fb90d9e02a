"""Writing files that readers never see half-written.

The runner, the evaluators and the data caches all write files that another
process (a resumed run, a second worker, continuous evaluation) may read at
any moment, on a local disk or a gs:// bucket (`cache_root` is where the caches live). Each write goes to a temporary
name beside the target and is renamed over it, so a reader finds the old file
or the new one, never a partial one, and a failed write leaves nothing behind.
"""

import os
import uuid

import tensorflow as tf


def cache_root() -> str:
  """Where caches that outlive a run go: $COMPARE_GAN2_CACHE, or ~/.cache/compare_gan2."""
  return os.environ.get("COMPARE_GAN2_CACHE") or os.path.join(
      os.path.expanduser("~"), ".cache", "compare_gan2")


def write_atomically(path: str, data: bytes | str) -> str:
  """Writes `data` to `path` through a temporary file and a rename.

  Args:
    path: the target; any path `tf.io.gfile` accepts. Its folder is created.
    data: bytes are written as they are, a str as text.

  Returns:
    `path`.
  """
  tf.io.gfile.makedirs(os.path.dirname(path) or ".")
  temp = f"{path}.tmp-{uuid.uuid4().hex}"
  try:
    with tf.io.gfile.GFile(temp, "wb" if isinstance(data, bytes) else "w") as f:
      f.write(data)
    tf.io.gfile.rename(temp, path, overwrite=True)
  finally:
    if tf.io.gfile.exists(temp):
      tf.io.gfile.remove(temp)
  return path
