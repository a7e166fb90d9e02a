"""The documentation holds together: README.md stays a short front door that links every
page of docs/, and every relative link in README.md and docs/*.md reaches an existing file
and, for a `#fragment` into Markdown, an existing heading (GitHub's anchor for it); and
docs/regularization.md's summary names every registered augmentation and regularizer
with the defaults its constructor has."""

import inspect
import pathlib
import re

from compare_gan2 import augment
from compare_gan2 import regularizers

ROOT = pathlib.Path(__file__).resolve().parents[1]
README_MAX_LINES = 220
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^\s*(```|~~~)")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


def _prose_lines(text: str) -> list[tuple[int, str]]:
  """(line number, line) outside fenced code blocks, where `#` starts no heading."""
  lines, in_fence = [], False
  for number, line in enumerate(text.split("\n"), start=1):
    if _FENCE.match(line):
      in_fence = not in_fence
    elif not in_fence:
      lines.append((number, line))
  return lines


def _anchors(path: pathlib.Path) -> set[str]:
  """GitHub's heading anchors: lower case, punctuation dropped, spaces to '-', repeats -1, -2."""
  seen: dict[str, int] = {}
  anchors = set()
  for _, line in _prose_lines(path.read_text(encoding="utf-8")):
    heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
    if not heading:
      continue
    slug = re.sub(r"[^\w\- ]", "", heading.group(1).lower()).replace(" ", "-")
    count = seen.get(slug, 0)
    seen[slug] = count + 1
    anchors.add(slug if count == 0 else f"{slug}-{count}")
  return anchors


def broken_links(page: pathlib.Path) -> list[str]:
  """'file:line: target (why)' for each relative link of `page` that leads nowhere."""
  problems = []
  for number, line in _prose_lines(page.read_text(encoding="utf-8")):
    for target in _LINK.findall(line):
      if _SCHEME.match(target):
        continue  # an absolute URL: outside the repository's files
      path_part, _, fragment = target.partition("#")
      resolved = (page.parent / path_part).resolve() if path_part else page
      where = f"{page.relative_to(ROOT) if page.is_relative_to(ROOT) else page}:{number}: {target}"
      if not resolved.exists():
        problems.append(f"{where} (no file {resolved})")
      elif fragment and resolved.suffix == ".md" and fragment not in _anchors(resolved):
        problems.append(f"{where} (no heading with anchor #{fragment} in {resolved.name})")
  return problems


def _pages() -> list[pathlib.Path]:
  return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_readme_is_a_front_door_of_at_most_220_lines():
  lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
  assert lines <= README_MAX_LINES, (
      f"README.md has {lines} lines (at most {README_MAX_LINES}): move details to docs/")


def test_every_relative_link_in_readme_and_docs_resolves():
  problems = [problem for page in _pages() for problem in broken_links(page)]
  assert not problems, "broken links:\n" + "\n".join(problems)


def test_readme_links_every_docs_page():
  readme = (ROOT / "README.md").read_text(encoding="utf-8")
  linked = {target.partition("#")[0] for target in _LINK.findall(readme)}
  missing = [page.name for page in sorted((ROOT / "docs").glob("*.md"))
             if f"docs/{page.name}" not in linked]
  assert not missing, f"README.md's 'Where to read on' does not link docs/{missing}"


def test_the_link_check_reports_missing_files_and_headings(tmp_path):
  """The checker itself: a missing file, a missing heading and a heading inside a code
  block (not a heading) are reported; existing ones, repeats and URLs are not."""
  (tmp_path / "other.md").write_text("# Other page\n\n## Set-up (`make`)\n\n## Set-up (`make`)\n")
  page = tmp_path / "page.md"
  page.write_text("\n".join([
      "[ok](other.md) [ok](other.md#set-up-make-1) [ok](#code) [url](https://x.org/a.md#b)",
      "[gone](missing.md)",
      "[no heading](other.md#install)",
      "```sh",
      "# not a heading",
      "```",
      "[fenced](#not-a-heading)",
      "## Code",
  ]))
  problems = broken_links(page)
  assert [p.split(": ")[1].split(" ")[0] for p in problems] == [
      "missing.md", "other.md#install", "#not-a-heading"], problems


# docs/regularization.md's summary table against the code: the gin names, every
# registered augmentation and regularizer, and every default a user can bind.
_ROW = re.compile(r"^\| (?P<method>[^|]+) \| (?P<paper>[^|]+) "
                  r"\| `(?P<gin>[\w.]+)` \| (?P<defaults>[^|]*) \|")
_DEFAULT = re.compile(r"`(\w+) = ([^`]+)`")
# Parameters the table leaves to the method's section: the component's name and ADA's
# Ranges (a dataclass of distributions, no literal).
_UNLISTED = {"name", "ranges"}


def _summary_rows() -> dict[str, dict[str, str]]:
  """gin name -> {parameter: default as the table writes it}."""
  text = (ROOT / "docs" / "regularization.md").read_text(encoding="utf-8")
  table = text.split("## Summary", 1)[1].split("\n## ", 1)[0]
  return {row["gin"]: dict(_DEFAULT.findall(row["defaults"]))
          for row in map(_ROW.match, table.split("\n")) if row}


def _documented_default(value: object) -> str:
  return value.__name__ if callable(value) else repr(value).replace("'", '"')


def test_regularization_summary_lists_every_component_with_its_code_defaults():
  rows = _summary_rows()
  classes = {**{f"augment.{augment.get(n).__name__}": augment.get(n) for n in augment.names()},
             **{f"regularizers.{n}": cls for n, cls in regularizers.registered().items()}}
  assert sorted(rows) == sorted(classes), "docs/regularization.md ## Summary vs the registries"
  for gin_name, cls in classes.items():
    params = inspect.signature(cls.__init__).parameters.values()
    code = {p.name: _documented_default(p.default) for p in params
            if p.default is not inspect.Parameter.empty and p.name not in _UNLISTED}
    assert rows[gin_name] == code, f"docs/regularization.md ## Summary, row {gin_name}"
