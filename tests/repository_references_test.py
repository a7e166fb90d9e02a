"""Every reference in the repository resolves inside it (docs/design.md §11).

A user who clones compare_gan2 has only the repository: code, configs, tests
and docs may cite compare_gan at a pinned commit, papers by arXiv id and the
project's own docs/, but no notes kept outside it. Relative links in README.md
and docs/*.md, every `docs/...` path the repository mentions, and every
`docs/design.md §N` it cites must exist.
"""

import os
import pathlib
import re
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[1]
# Built from parts so that this file does not match itself.
_OUTSIDE_NOTES = tuple(name + ".md" for name in
                       ("COMPARE_GAN", "METHODS", "ENVIRONMENT", "PEERS", "DESIGN"))
_OUTSIDE_PATHS = tuple("shared/" + sub for sub in ("reference", "tools")) + (".." + "/shared",)
# Case-sensitive: docs/design.md (lowercase) is the project's own.
_OUTSIDE = re.compile("|".join(re.escape(s) for s in _OUTSIDE_NOTES + _OUTSIDE_PATHS))
_SKIPPED_DIRS = {".git", ".venv", "venv", "build", "dist", "__pycache__", ".pytest_cache",
                 ".mypy_cache", ".pytype", "node_modules"}
_MARKDOWN_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_DOCS_PATH = re.compile(r"(?<![\w/.-])docs/[\w./-]*\w\.\w+")
_DESIGN_SECTION = re.compile(r"docs/design\.md §(\d+)")


def tracked_files(root: pathlib.Path) -> list[pathlib.Path]:
  """The repository's files: `git ls-files` in a checkout, else a walk without build dirs."""
  if (root / ".git").exists():
    listing = subprocess.run(["git", "-C", str(root), "ls-files", "-z"], check=True,
                             capture_output=True).stdout.decode()
    return [root / name for name in listing.split("\0") if name]
  files = []
  for folder, dirs, names in os.walk(root):
    dirs[:] = [d for d in dirs if d not in _SKIPPED_DIRS and not d.endswith(".egg-info")]
    files.extend(pathlib.Path(folder) / name for name in names)
  return sorted(files)


def text_lines(path: pathlib.Path) -> list[str]:
  """The file's lines, or [] for binary files (NUL bytes or not UTF-8)."""
  if not path.is_file():  # deleted in the work tree but still tracked
    return []
  data = path.read_bytes()
  if b"\0" in data:
    return []
  try:
    return data.decode("utf-8").splitlines()
  except UnicodeDecodeError:
    return []


def outside_references(root: pathlib.Path) -> list[str]:
  """`file:line: text` for every mention of a note or folder outside the repository."""
  found = []
  for path in tracked_files(root):
    for number, line in enumerate(text_lines(path), 1):
      if _OUTSIDE.search(line):
        found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
  return found


def broken_links(root: pathlib.Path) -> list[str]:
  """Relative Markdown links of README.md and docs/*.md whose file does not exist."""
  found = []
  for path in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
    for number, line in enumerate(text_lines(path), 1):
      for target in _MARKDOWN_LINK.findall(line):
        if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
          continue  # a URL (http:, mailto:, ...) or an anchor in the same file
        relative = target.split("#", 1)[0]
        if not (path.parent / relative).exists():
          found.append(f"{path.relative_to(root)}:{number}: link to missing {target}")
  return found


def missing_docs(root: pathlib.Path) -> list[str]:
  """Mentions of `docs/<file>` and `docs/design.md §N` that do not exist."""
  design = root / "docs" / "design.md"
  sections = set(re.findall(r"^## (\d+)\.", design.read_text(), re.M)) if design.exists() else set()
  found = []
  for path in tracked_files(root):
    for number, line in enumerate(text_lines(path), 1):
      for mention in _DOCS_PATH.findall(line):
        if not (root / mention).exists():
          found.append(f"{path.relative_to(root)}:{number}: missing {mention}")
      for section in _DESIGN_SECTION.findall(line):
        if section not in sections:
          found.append(f"{path.relative_to(root)}:{number}: docs/design.md has no §{section}")
  return found


def test_no_reference_points_outside_the_repository():
  found = outside_references(ROOT)
  assert not found, "references to notes outside the repository:\n" + "\n".join(found)


def test_relative_links_in_readme_and_docs_resolve():
  found = broken_links(ROOT)
  assert not found, "broken relative links:\n" + "\n".join(found)


def test_cited_docs_files_and_design_sections_exist():
  found = missing_docs(ROOT)
  assert not found, "citations of missing docs:\n" + "\n".join(found)


def test_the_checks_catch_each_kind_of_reference(tmp_path):
  """Each check flags a planted offence with its file and line, and nothing else."""
  docs = "docs/"  # split so that the planted paths do not count as this file's citations
  (tmp_path / "docs").mkdir()
  (tmp_path / "docs" / "design.md").write_text("## 1. Layout\n")
  (tmp_path / "README.md").write_text(
      f"ok [guide]({docs}design.md) [web](https://x.org/a.md) [here](#top)\n"
      f"bad [gone]({docs}gone.md#part)\n")
  (tmp_path / "code.py").write_text(
      f"# see {docs}design.md §1 and {docs}design.md\n"
      f"# see {_OUTSIDE_NOTES[0]} part 1\n"
      f"# {docs}design.md §{7}, {docs}missing.md\n"
      "# ../" + "shared/data is fine only if not .." + "/shared\n")
  assert outside_references(tmp_path) == [
      f"code.py:2: # see {_OUTSIDE_NOTES[0]} part 1",
      "code.py:4: # ../" + "shared/data is fine only if not .." + "/shared"]
  assert broken_links(tmp_path) == [f"README.md:2: link to missing {docs}gone.md#part"]
  assert sorted(missing_docs(tmp_path)) == [
      f"README.md:2: missing {docs}gone.md",
      f"code.py:3: {docs}design.md has no §{7}",
      f"code.py:3: missing {docs}missing.md"]
