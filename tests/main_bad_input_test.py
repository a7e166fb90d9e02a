"""Bad input at every entry point: exit status 1 and one paragraph naming the culprit.

Table-driven (issue 10, item 7): each row runs the runner in-process with the
tiny MNIST demo (gin_configs/mnist/infogan.gin + smoke/tiny.gin) plus one
fault, and checks that stderr ends in one paragraph starting "compare_gan2: "
that names the binding, file or value at fault, with no Python traceback.
A second table does the same for the tools. Most faults fail before anything
is built (gin parse, value types, dataset construction); the three that can
only surface in the training graph (a generator/dataset shape mismatch, a
corrupt image read without validation) take a few seconds each.
"""

import pathlib
import re

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import distribute
from compare_gan2 import main
from tools import compute_fid_stats
from tools import export_generator
from tools import sample

ROOT = pathlib.Path(__file__).resolve().parents[1]
DEMO = str(ROOT / "gin_configs" / "mnist" / "infogan.gin")
TINY = str(ROOT / "gin_configs" / "smoke" / "tiny.gin")


@pytest.fixture(scope="module", name="data")
def _data(tmp_path_factory) -> pathlib.Path:
  """Broken inputs: an empty folder, a folder with a corrupt image, bad .npz labels, bad gin."""
  root = tmp_path_factory.mktemp("bad_input")
  (root / "empty").mkdir()
  (root / "corrupt" / "a").mkdir(parents=True)
  rng = np.random.default_rng(0)
  for i in range(4):
    png = tf.io.encode_png(rng.integers(0, 256, (8, 8, 1), dtype=np.uint8))
    tf.io.write_file(str(root / "corrupt" / "a" / f"{i}.png"), png)
  (root / "corrupt" / "a" / "bad.png").write_bytes(b"not an image")
  np.savez(root / "labels.npz", images=np.zeros((12, 28, 28), np.uint8),
           labels=np.array([0] * 11 + [20]))
  (root / "typo.gin").write_text("# a comment\n\ngans.ModularGAN.loss_fn = @losses.hinje\n")
  (root / "types.gin").write_text("\ntrain_lib.Schedule.total_steps = '3'\n")
  return root


def _paragraph(err: str, prefix: str) -> str:
  """The error paragraph: from the last line starting with `prefix` (logs may precede it)."""
  starts = [m.start() for m in re.finditer(f"^{re.escape(prefix)}", err, re.MULTILINE)]
  assert starts, f"no line starts with {prefix!r}: {err[-1500:]}"
  return err[starts[-1]:].strip()


def _check(code: int, err: str, prefix: str, culprits: list[str]) -> None:
  assert code == 1, err[-1500:]
  assert "Traceback" not in err
  paragraph = _paragraph(err, prefix)
  assert "\n\n" not in paragraph  # one paragraph
  for culprit in culprits:
    assert culprit in paragraph, f"{culprit!r} not in: {paragraph}"


FOLDER = ["train_lib.train.dataset = @data.image_folder()",
          "data.image_folder.path = '{d}/corrupt'", "data.image_folder.resolution = 28",
          "data.image_folder.channels = 1"]
# (case, extra gin files, extra bindings, what the message must contain); {d}: the data dir.
RUNNER_CASES = [
    ("unknown_parameter", [], ["gans.ModularGAN.disc_itres = 2"], ["disc_itres", "gin binding"]),
    ("unknown_dataset", [], ["train_lib.train.dataset = @data.cifar11()"],
     ["data.cifar11", "Did you mean: compare_gan2.data.cifar10?"]),
    ("misspelt_name_in_a_file", ["{d}/typo.gin"], [],
     ["{d}/typo.gin", "line 3", "losses.hinje", "Did you mean: compare_gan2.losses.hinge"]),
    ("syntax_error", [], ["gans.ModularGAN.disc_iters = ("], ["gans.ModularGAN.disc_iters"]),
    ("missing_gin_file", ["{d}/nope.gin"], [], ["not found", "{d}/nope.gin"]),
    ("string_for_int", [], ["train_lib.train.global_batch_size = 'abc'"],
     ["train_lib.train.global_batch_size", "expects int", "'abc'"]),
    ("float_for_int", [], ["gans.ModularGAN.disc_iters = 1.5"],
     ["gans.ModularGAN.disc_iters", "expects int", "1.5"]),
    ("wrong_type_in_a_file", ["{d}/types.gin"], [],
     ["train_lib.Schedule.total_steps", "'3'", "{d}/types.gin, line 2"]),
    ("negative_z_dim", [], ["infogan.Generator.z_dim = -3"], ["infogan.Generator.z_dim", "-3"]),
    ("unsupported_resolution", [], ["IMAGE_SHAPE = (30, 30, 1)"],
     ["infogan.Generator", "30x30", "multiples of 4"]),
    ("generator_and_dataset_shapes_differ", [], ["IMAGE_SHAPE = (32, 32, 1)"],
     ["[28,28,1]", "[32,32,1]", "image_shape"]),
    ("missing_npz", [], ["train_lib.train.dataset = @data.npz()",
                         "data.npz.path = '{d}/nothere.npz'"], ["{d}/nothere.npz", "not found"]),
    ("empty_image_folder", [], ["train_lib.train.dataset = @data.image_folder()",
                                "data.image_folder.path = '{d}/empty'"],
     ["{d}/empty", "no images"]),
    ("corrupt_image", [], FOLDER, ["{d}/corrupt/a/bad.png", "corrupt"]),
    ("corrupt_image_read_in_training", [], FOLDER + ["data.image_folder.validate = False"],
     ["{d}/corrupt/a/bad.png", "corrupt file"]),
    ("label_out_of_range", [], ["train_lib.train.dataset = @data.npz()",
                                "data.npz.path = '{d}/labels.npz'", "data.npz.num_classes = 10"],
     ["{d}/labels.npz", "label 20", "[-1, 10)"]),
    ("batch_not_divisible_by_disc_iters", [], ["gans.ModularGAN.disc_iters = 2",
                                               "train_lib.train.global_batch_size = 8"],
     ["per-replica batch 8", "divisible by 3", "disc_iters + 1"]),
]


@pytest.mark.parametrize("files, bindings, culprits", [c[1:] for c in RUNNER_CASES],
                         ids=[c[0] for c in RUNNER_CASES])
def test_runner_names_the_culprit(tmp_path, capsys, data, files, bindings, culprits):
  """Exit 1, one paragraph starting "compare_gan2: " naming the fault, no traceback."""
  argv = [f"--model_dir={tmp_path / 'run'}", f"--gin_config={DEMO}", f"--gin_config={TINY}"]
  argv += [f"--gin_config={f.format(d=data)}" for f in files]
  argv += [f"--gin_bindings={b.format(d=data)}" for b in bindings]
  code = main.main(argv)
  _check(code, capsys.readouterr().err, "compare_gan2: ", [c.format(d=data) for c in culprits])


@pytest.mark.parametrize("argv, culprits", [
    (["--strategy=gpu"], ["'gpu'", "'mirrored'"]),
    (["--strategy=tpu"], ["--tpu"]),
    # Evaluation jobs are one process next to the workers, not one per worker.
    (["--strategy=multi_worker", "--schedule=continuous_eval"],
     ["--schedule=continuous_eval", "separate process"]),
], ids=["unknown_strategy", "tpu_without_address", "multi_worker_continuous_eval"])
def test_runner_names_a_bad_topology(tmp_path, capsys, argv, culprits):
  """A strategy name or a missing --tpu is named before anything is built."""
  code = main.main([f"--model_dir={tmp_path}", f"--gin_config={DEMO}", f"--gin_config={TINY}",
                    *argv])
  _check(code, capsys.readouterr().err, "compare_gan2: ", culprits)


def test_batch_not_divisible_by_the_replicas(tmp_path, capsys, monkeypatch, two_replicas):
  """Under 2 replicas a global batch of 5 is refused naming both numbers."""
  monkeypatch.setattr(distribute, "resolve_strategy", lambda *_: two_replicas)
  code = main.main([f"--model_dir={tmp_path}", f"--gin_config={DEMO}", f"--gin_config={TINY}",
                    "--gin_bindings=train_lib.train.global_batch_size = 5"])
  _check(code, capsys.readouterr().err, "compare_gan2: ",
         ["global batch size 5", "2 replicas"])


FID = ["--cache_dir={d}/cache"]
# (case, tool module, argv after the program name, what the message must contain).
TOOL_CASES = [
    ("sample_missing_run", sample, ["--model_dir={d}/nowhere", "--output={d}/x.png"],
     ["{d}/nowhere/operative_config.gin"]),
    ("sample_missing_export", sample, ["--export_dir={d}/nowhere", "--output={d}/x.png"],
     ["{d}/nowhere", "saved_model.pb"]),
    ("export_missing_run", export_generator, ["--model_dir={d}/nowhere"],
     ["{d}/nowhere/operative_config.gin"]),
    ("fid_stats_unknown_dataset", compute_fid_stats, ["--dataset=@data.cifar11()", *FID],
     ["data.cifar11", "Did you mean: compare_gan2.data.cifar10?"]),
    ("fid_stats_missing_npz", compute_fid_stats,
     ["--dataset=@data.npz()", "--gin_bindings=data.npz.path = '{d}/nothere.npz'", *FID],
     ["{d}/nothere.npz"]),
    ("fid_stats_wrong_type", compute_fid_stats,
     ["--dataset=@data.bundled_mnist()", "--gin_bindings=data.bundled_mnist.resolution = 'x'",
      *FID], ["data.bundled_mnist.resolution", "expects int", "'x'"]),
    ("fid_stats_corrupt_image", compute_fid_stats,
     ["--dataset=@data.image_folder()", "--extractor=@evaluation.MnistClassifierConfig()",
      *(f"--gin_bindings={b}" for b in FOLDER[1:] + ["data.image_folder.validate = False"]),
      *FID], ["{d}/corrupt/a/bad.png", "corrupt file"]),
]


@pytest.mark.parametrize("tool, argv, culprits", [c[1:] for c in TOOL_CASES],
                         ids=[c[0] for c in TOOL_CASES])
def test_tools_name_the_culprit(capsys, data, tool, argv, culprits):
  """The tools' bad input: exit 1, "<tool>: " and the culprit, no traceback."""
  name = tool.__name__.rsplit(".", 1)[-1]
  code = tool.main([name, *(a.format(d=data) for a in argv)])
  _check(code, capsys.readouterr().err, f"{name}: ", [c.format(d=data) for c in culprits])
