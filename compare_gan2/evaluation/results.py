"""Where evaluation results go: scores.csv, scores.json, TensorBoard and one plot per metric.

compare_gan appended rows to `model_dir/scores.csv` (`runner_lib.py:207-224`)
and read the evaluated checkpoints back from its
`checkpoint_path` column, so a restarted evaluation skipped them. Its writer had
two bugs, fixed here: rows with other keys than the header were written
misaligned (here the file is rewritten with the union of the keys), and the
config lookup raised a TypeError on Python 3. Every write goes to a temporary
file that then replaces the old one, so an interrupted write never leaves a
truncated results file, and an existing file that cannot be parsed is never
overwritten.

Files in model_dir: `scores.csv` (checkpoint_path, step, then the score keys
sorted), `scores.json` (the same rows), `eval/` (TensorBoard scalars
`eval/<key>` for every numeric key) and `plots/<metric>.png` (mean ± std over
steps for every `<metric>_mean`).
"""

import csv
import io
import json
import math
import os
from collections.abc import Mapping
from typing import Any

import matplotlib
import tensorflow as tf

matplotlib.use("Agg")  # files only; never needs a display
from matplotlib import pyplot  # noqa: E402  pylint: disable=g-import-not-at-top

from compare_gan2 import files  # noqa: E402

_FIXED = ("checkpoint_path", "step")


def _number(value: str) -> Any:
  if "_" in value:  # k_list values; float() would read "1_2" as 12
    return value
  try:
    number = float(value)
  except ValueError:
    return value
  return int(number) if value.isdigit() else number


class ResultsStore:
  """The evaluation results of one model_dir."""

  def __init__(self, model_dir: str, score_filename: str = "scores.csv"):
    self.model_dir = model_dir
    self.csv_path = os.path.join(model_dir, score_filename)
    self.json_path = os.path.splitext(self.csv_path)[0] + ".json"
    self.plot_dir = os.path.join(model_dir, "plots")
    self.rows = self._read()

  def _read(self) -> list[dict[str, Any]]:
    if not tf.io.gfile.exists(self.csv_path):
      return []
    with tf.io.gfile.GFile(self.csv_path) as f:
      reader = csv.DictReader(f)
      rows = []
      for line, row in enumerate(reader, start=2):
        if None in row or any(v is None for v in row.values()) or not row.get("step", "").isdigit():
          raise ValueError(f"{self.csv_path}, line {line}: not a scores row ({row}); fix or move "
                           "the file: evaluation will not overwrite it.")
        rows.append({k: _number(v) if v != "" else None for k, v in row.items()})
    if rows and not set(_FIXED) <= set(rows[0]):
      raise ValueError(f"{self.csv_path} has no {_FIXED} columns; evaluation will not overwrite it.")
    return rows

  def evaluated_steps(self) -> set[int]:
    """Steps that already have a row (compare_gan: the checkpoint_path column)."""
    return {int(row["step"]) for row in self.rows}

  def add(self, step: int, checkpoint_path: str, scores: Mapping[str, Any]) -> None:
    """Records the scores of one checkpoint (replacing an older row of that step)."""
    row = {"checkpoint_path": checkpoint_path, "step": int(step), **scores}
    self.rows = sorted([r for r in self.rows if int(r["step"]) != step] + [row],
                       key=lambda r: int(r["step"]))
    tf.io.gfile.makedirs(self.model_dir)
    files.write_atomically(self.csv_path, self._csv_text())
    files.write_atomically(self.json_path, json.dumps({"results": self.rows}, indent=1, default=str))
    self._write_summaries(step, scores)
    self.plot()

  def keys(self) -> list[str]:
    """Score keys over all rows, sorted (the CSV header after checkpoint_path, step)."""
    return sorted({k for row in self.rows for k in row} - set(_FIXED))

  def _csv_text(self) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(_FIXED) + self.keys(), lineterminator="\n")
    writer.writeheader()
    for row in self.rows:
      writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()

  def _write_summaries(self, step: int, scores: Mapping[str, Any]) -> None:
    writer = tf.summary.create_file_writer(os.path.join(self.model_dir, "eval"))
    with writer.as_default():
      for key, value in scores.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
          tf.summary.scalar(f"eval/{key}", float(value), step=step)
    writer.flush()
    writer.close()

  def plot(self) -> list[str]:
    """plots/<metric>.png: mean ± std against the step, one file per `<metric>_mean`."""
    paths = []
    for key in [k for k in self.keys() if k.endswith("_mean")]:
      metric = key[:-len("_mean")]
      points = [(int(r["step"]), r[key], r.get(f"{metric}_std") or 0.0) for r in self.rows
                if isinstance(r.get(key), (int, float)) and math.isfinite(r[key])]
      if points:
        paths.append(self._plot_metric(metric, points))
    return paths

  def _plot_metric(self, metric: str, points: list[tuple[int, float, float]]) -> str:
    steps, means, stds = zip(*points)
    figure, axes = pyplot.subplots(figsize=(5, 3.5), dpi=100)
    axes.errorbar(steps, means, yerr=stds, marker="o", capsize=3)
    axes.set_xlabel("generator step")
    axes.set_ylabel(metric)
    axes.set_title(f"{metric} ({os.path.basename(self.model_dir.rstrip('/'))})")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    path = os.path.join(self.plot_dir, f"{metric}.png")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    pyplot.close(figure)
    return files.write_atomically(path, buffer.getvalue())
