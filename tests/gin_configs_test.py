"""Every shipped gin config parses, builds and trains when shrunk by smoke/tiny.gin.

Like dopamine's gin_config_test and big_vision's runlocal: the real file plus
gin_configs/smoke/tiny.gin, no parallel test-only copy and no skip list. Two
depths bound the cost (a 128 px BigGAN costs ~50 s end to end, mostly
tf.function tracing, and there are ~55 configs):
- END_TO_END, one config per GAN class, trains two steps through
  `compare_gan2.main` (checkpoints, samples, export);
  test_end_to_end_covers_every_gan_class keeps that list complete (the
  runner is the same for every architecture; tests/main_test.py and the
  architecture tests cover the rest);
- every other config parses and one batch of its own dataset is read; its
  experiment builds (`configurables.build_experiment()`) and one eager `gan.train_step` on
  the batch must give finite values, unless a config with the same train step
  (all bindings equal but the data's, the schedule's and evaluation's) already
  took one: the per-label-fraction files of a method differ from each other
  only there, so they build and read only their dataset.
Offline: TFDS datasets are `tfds.testing.mock_data` (random examples drawn
from each builder's feature spec, no download); the files that configs name
by macro (pre-trained soft labels, cluster labels, the CelebA-HQ folder) are
small stand-ins written to a temp dir and bound over the placeholders.
"""

import glob
import pathlib
import re

import gin
import keras
import numpy as np
import pytest
import tensorflow_datasets as tfds

from compare_gan2 import configurables
from compare_gan2 import gin_text
from compare_gan2 import main
from compare_gan2 import pretraining
from compare_gan2 import run_config
from compare_gan2.data import pipeline

ROOT = pathlib.Path(__file__).resolve().parents[1]
TINY = ROOT / "gin_configs" / "smoke" / "tiny.gin"
ALL_CONFIGS = sorted(p for p in (ROOT / "gin_configs").rglob("*.gin") if p.parent.name != "smoke")
# Labeller pre-training configs (tools/pretrain_labeller) bind no GAN: they
# build their labeller and take a step in test_labeller_config_takes_one_step.
LABELLER_CONFIGS = [p for p in ALL_CONFIGS
                    if re.search(r"^pretraining\.train_labeller\.", p.read_text(), re.MULTILINE)]
CONFIGS = [p for p in ALL_CONFIGS if p not in LABELLER_CONFIGS]
# Examples per mocked split (generated lazily, so size costs little): enough
# that a 5% label subset (data.LabelOptions keeps an example when
# unit_hash(seed, index) < k) holds labelled examples.
MOCK_EXAMPLES = 160
FOLDER_IMAGES = 16  # the CelebA-HQ stand-in, decoded in full when the dataset is built
IMAGENET_TRAIN_EXAMPLES = 1_281_167  # rows of an ImageNet cluster-label file (TFDS metadata)
NUM_CLUSTERS = 50
# Mock ImageNet spreads MOCK_EXAMPLES over 1000 classes (~0.16 per class), where
# k% of every class rounds to no label at all and a labelled-only split is
# empty; there k% is drawn over all labels (per class: tests/data/labels_test.py).
FEW_MOCK_LABELS = ["data.LabelOptions.class_balanced = False"]


def _mock_label_bindings(config: pathlib.Path) -> list[str]:
  """FEW_MOCK_LABELS for a config that keeps k% of the labels, else nothing."""
  return FEW_MOCK_LABELS if "LabelOptions.fraction" in pathlib.Path(config).read_text() else []

# What does not change the train step: which images and labels (their shapes
# are fixed by the networks), the schedule, evaluation.
NOT_THE_STEP = (*run_config.HARMLESS, "compare_gan2.data.", "compare_gan2.train_lib.train.dataset")
STEPPED = {}  # train-step signature -> the config that trained it (in file order)

# The cheapest config of each GAN class; for S3GAN the one with every head
# (rotation, projection, predictor) and unlabelled rows.
END_TO_END = (
    "mnist/infogan.gin",
    "mnist/ssgan.gin",
    "mnist/msgan.gin",
    "imagenet128/fewer_labels/s3gan_co_10pct.gin",
)


def _parse_tiny(config: pathlib.Path, bindings: list[str], finalize: bool = True) -> None:
  """Parses the config, then tiny.gin, then `bindings`.

  tiny.gin's global batch is rounded up to a multiple of disc_iters + 1, since one
  global batch holds every D and G sub-batch: 15 for the 4 D steps of the
  BigGAN-CIFAR files, unchanged for 1, 2 and 5 D steps.
  """
  configurables.parse_gin([str(config), str(TINY)], bindings, finalize=False)
  gan = gin.query_parameter("train_lib.train.gan").selector
  try:
    parts = gin.query_parameter(f"{gan}.disc_iters") + 1
  except ValueError:  # unbound: ModularGAN's default, one D step
    parts = 2
  batch = configurables.bound("train_lib.train.global_batch_size")
  if batch % parts:
    gin.bind_parameter("train_lib.train.global_batch_size", -(-batch // parts) * parts)
  if finalize:
    gin.finalize()


def _name(config: pathlib.Path) -> str:
  return str(config.relative_to(ROOT / "gin_configs"))


@pytest.fixture(scope="module")
def macro_bindings(tmp_path_factory) -> list[str]:
  """Stand-ins for the files configs name by macro, as gin bindings over the placeholders.

  The formats are the readers': soft labels are float logits [examples, 1000]
  (data/labels.py), cluster labels int [ImageNet train examples] in [0, k)
  (data/relabel.py), CelebA-HQ a folder of 128 px images (data.image_folder).
  """
  root = tmp_path_factory.mktemp("macro_files")
  rng = np.random.default_rng(0)
  soft = root / "soft_labels.npy"
  np.save(soft, rng.normal(size=(MOCK_EXAMPLES, 1000)).astype(np.float32))
  clusters = root / "clusters.npy"
  np.save(clusters, rng.integers(0, NUM_CLUSTERS, IMAGENET_TRAIN_EXAMPLES).astype(np.int32))
  faces = root / "celebahq128"
  faces.mkdir()
  for i in range(FOLDER_IMAGES):
    image = rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)
    keras.utils.save_img(faces / f"{i:05d}.png", image)
  return [f'SOFT_LABELS_FILE = "{soft}"', f'CLUSTER_LABELS_FILE = "{clusters}"',
          f'CELEBA_HQ_DIR = "{faces}"']


def _gan_and_family() -> tuple[str, str]:
  """(GAN class, architecture family) of the parsed config, e.g. ("S3GAN", "resnet_biggan")."""
  gan = gin.query_parameter("train_lib.train.gan")
  generator = gin.query_parameter(f"{gan.selector}.generator")
  return gan.configurable.name, generator.configurable.module.split(".")[-1]


def _step_signature() -> tuple:
  """The parsed config's bindings that define its train step, as sorted (name, value) pairs."""
  bindings = gin_text.parse_bindings(gin.config_str())
  return tuple(sorted((gin_text.key_name(key), repr(value)) for key, value in bindings.items()
                      if not f"{key[1]}.{key[2]}".startswith(NOT_THE_STEP)))


def test_there_are_configs():
  """The glob finds the shipped configs, so the parametrized tests below are not vacuous."""
  assert len(CONFIGS) > 40


@pytest.mark.parametrize("config", ALL_CONFIGS, ids=_name)
def test_config_opens_with_provenance(config):
  """Each file opens with a '#' comment: paper, table row, expected number, hardware."""
  header = config.read_text(encoding="utf-8").splitlines()
  assert header[0].startswith("#"), f"{config} must open with a provenance comment"
  comment = " ".join(line for line in header if line.startswith("#"))
  assert "hardware" in comment.lower(), f"{config}: the header names no recommended hardware"


def test_every_config_is_listed_in_the_readme():
  """gin_configs/README.md's tables name every file (with its expected number and hardware).

  The Fewer Labels tables name files relative to their folder, without ".gin".
  """
  text = (ROOT / "gin_configs" / "README.md").read_text(encoding="utf-8")
  missing = []
  for config in [*CONFIGS, TINY]:
    names = {_name(config), _name(config).removesuffix(".gin")}
    if config.parent.name == "fewer_labels":
      names |= {config.name, config.stem}
    if not any(f"`{name}`" in text for name in names):
      missing.append(_name(config))
  assert not missing, f"gin_configs/README.md does not list {missing}"


@pytest.mark.parametrize("config", END_TO_END)
def test_config_trains_end_to_end(config, macro_bindings, tmp_path):
  """Two steps through the runner: exit 0 and checkpoints at steps 0, 1 and 2."""
  path = ROOT / "gin_configs" / config
  args = [f"--model_dir={tmp_path}", f"--gin_config={path}", f"--gin_config={TINY}"]
  args += [f"--gin_bindings={b}" for b in macro_bindings]
  with tfds.testing.mock_data(num_examples=MOCK_EXAMPLES):
    code = main.main(args)
  assert code == 0
  assert len(glob.glob(str(tmp_path / "ckpt-*.index"))) == 3
  STEPPED.setdefault(_step_signature(), config)  # the runner leaves the run's config parsed


@pytest.mark.parametrize("config", [c for c in CONFIGS if _name(c) not in END_TO_END], ids=_name)
def test_config_builds_and_takes_one_step(config, macro_bindings):
  """Parse (config + tiny), build, read a batch, one eager train step: values finite.

  A config whose train step a config before it already took (the per-label-
  fraction files) builds and reads only its dataset: its GAN is that config's.
  """
  _parse_tiny(config, macro_bindings + _mock_label_bindings(config))
  keras.utils.set_random_seed(0)
  signature = _step_signature()
  with tfds.testing.mock_data(num_examples=MOCK_EXAMPLES):
    if signature in STEPPED:
      dataset, exp = configurables.bound("train_lib.train.dataset"), None
    else:
      exp = configurables.build_experiment()
      dataset = exp.dataset
    batch_size = configurables.bound("train_lib.train.global_batch_size")
    batch = next(iter(pipeline.train_dataset(dataset, batch_size)))
  assert batch["images"].shape[0] == batch_size
  if exp is None:
    return
  STEPPED[signature] = _name(config)
  values = exp.gan.train_step(batch)
  assert values, "train_step logged nothing"
  for key, value in values.items():
    assert np.isfinite(np.asarray(value)).all(), f"{_name(config)}: {key} = {value}"
  assert int(exp.gan.g_optimizer.iterations.numpy()) == 1


def test_end_to_end_covers_every_gan_class(macro_bindings):
  """END_TO_END holds exactly one config for each GAN class the configs use."""
  classes = {}
  for config in CONFIGS:
    gin.clear_config()
    configurables.parse_gin([str(config), str(TINY)], macro_bindings, finalize=False)
    classes.setdefault(_gan_and_family()[0], []).append(_name(config))
  for gan, names in classes.items():
    picked = [n for n in names if n in END_TO_END]
    assert len(picked) == 1, f"{gan}: END_TO_END must hold one of {names}, holds {picked}"
  assert len(classes) == len(END_TO_END)


@pytest.mark.parametrize("config", LABELLER_CONFIGS, ids=_name)
def test_labeller_config_takes_one_step(config, tmp_path):
  """Parse (config + tiny), then one eager training step of its labeller: finite losses.

  tiny.gin cuts F to width 1 and the batches to 4 images; the step count
  replaces the config's epochs (the recipe still converts them with the
  dataset's stated size, so a schedule in epochs is exercised).
  """
  configurables.parse_gin([str(config), str(TINY)], _mock_label_bindings(config))
  keras.utils.set_random_seed(0)
  with tfds.testing.mock_data(num_examples=MOCK_EXAMPLES):
    trained = gin.get_configurable(pretraining.train_labeller)(
        str(tmp_path), steps=1, epochs=None, run_eagerly=True, log_every=1)
  assert trained.step == 1 and trained.history
  for key, value in trained.history[0].items():
    assert np.isfinite(value), f"{_name(config)}: {key} = {value}"


def test_labeller_configs_are_found():
  assert {_name(c) for c in LABELLER_CONFIGS} >= {
      "imagenet128/fewer_labels/labeller_s4l.gin",
      "imagenet128/fewer_labels/labeller_rotation.gin"}
