"""compare_gan2: a TensorFlow 2 / Keras 3 port of google/compare_gan."""

import os as _os

# oneDNN is off by default on CPUs without AVX-512 and is 4x faster there
# (docs/design.md §7). It only takes effect if set before TensorFlow loads, and
# a value the user chose is kept.
_os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

__version__ = "0.1.0"
