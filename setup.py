"""Packaging for compare_gan2, a TensorFlow 2 / Keras 3 port of google/compare_gan."""

import pathlib

import setuptools

_ROOT = pathlib.Path(__file__).parent


def _version() -> str:
  """Reads __version__ without importing the package (importing pulls in TF)."""
  for line in (_ROOT / "compare_gan2" / "__init__.py").read_text().splitlines():
    if line.startswith("__version__"):
      return line.split("=")[1].strip().strip('"')
  raise RuntimeError("compare_gan2/__init__.py defines no __version__")


# One line per dependency, pinned to the release line the project is tested on
# (see docs/design.md for the measured behaviours the code relies on).
INSTALL_REQUIRES = [
    "tensorflow>=2.21.0,<2.22",
    "keras>=3.15.1,<3.16",
    "tensorflow-gan==2.1.0",
    # TF-GAN imports TFP; 0.25 is the release built against TF 2.21.
    "tensorflow-probability>=0.25.0,<0.26",
    "tensorflow-datasets>=4.9.10,<4.10",
    # tfds 4.9.10's download path imports it without declaring it.
    "importlib_resources>=6.0",
    # tf.summary needs it; TF 2.21 no longer installs it.
    "tensorboard>=2.21.0,<2.22",
    # Loads the Inception network for FID/IS from a TF-Hub handle (evaluation/inception.py).
    "tensorflow-hub==0.16.1",
    # tensorflow_hub 0.16.1 imports pkg_resources, which setuptools >= 81 no
    # longer ships; torch (the `bench` extra) pulls the newest setuptools.
    "setuptools<81",
    # MiniBatchKMeans for PRD, as compare_gan's metrics/prd_score.py.
    "scikit-learn>=1.9,<1.10",
    # Metric-over-steps plots and PRD curves (evaluation/results.py, metrics/prd.py).
    "matplotlib>=3.10,<3.12",
    # cdist for the fractal dimension (metrics/fractal_dimension.py); scikit-learn needs it too.
    "scipy>=1.13,<2",
    "gin-config==0.5.0",
    "absl-py>=2.1,<3",
    "numpy>=2.0,<2.5",
]

EXTRAS_REQUIRE = {
    "test": [
        "pytest>=8.0,<10",
    ],
    # benchmarks/ only: the PyTorch twins `make bench` compares against. Never
    # imported by compare_gan2.
    "bench": [
        "torch==2.13.0",
    ],
}

setuptools.setup(
    name="compare_gan2",
    version=_version(),
    description="GAN research library for TensorFlow 2 / Keras 3, ported from google/compare_gan.",
    long_description=(_ROOT / "README.md").read_text(),
    long_description_content_type="text/markdown",
    license="Apache 2.0",
    python_requires=">=3.10",
    packages=setuptools.find_packages(include=["compare_gan2", "compare_gan2.*"])
    + ["compare_gan2_tools"],
    package_dir={"compare_gan2_tools": "tools"},
    # The bundled MNIST test set (compare_gan2/data/bundled.py), loaded offline.
    package_data={"compare_gan2.data": ["bundled/*.gz", "bundled/README.md"],
                  # The shipped MNIST classifier (evaluation/mnist_classifier.py).
                  "compare_gan2.evaluation": ["mnist_classifier.weights.npz",
                                              "mnist_classifier.weights.json"]},
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
    entry_points={
        "console_scripts": [
            "compare_gan2=compare_gan2.__main__:run",
            "compare_gan2_pretrain_labeller=compare_gan2_tools.pretrain_labeller:run",
            "compare_gan2_list_configurables=compare_gan2_tools.list_configurables:run",
            "compare_gan2_model_summary=compare_gan2_tools.model_summary:run",
            "compare_gan2_compute_fid_stats=compare_gan2_tools.compute_fid_stats:run",
            "compare_gan2_sample=compare_gan2_tools.sample:run",
            "compare_gan2_export_generator=compare_gan2_tools.export_generator:run",
            "compare_gan2_train_mnist_classifier=compare_gan2_tools.train_mnist_classifier:run",
            "compare_gan2_migrate_gin=compare_gan2_tools.migrate_gin:run",
            "compare_gan2_convert_compare_gan_checkpoint="
            "compare_gan2_tools.convert_compare_gan_checkpoint:run",
        ],
    },
)
