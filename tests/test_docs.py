"""The documentation is code: every spec in docs/ and the README checks as its page says.

Conventions of the pages (README.md, "Development"):

- A ```` ```cnn ```` block is a spec. It checks clean, unless an HTML comment on
  the line before it, ``<!-- specc check: E201 W401 -->``, names the codes that
  ``specc check`` reports for it, in order. A block without ``model`` or
  ``block`` is a fragment of a model: it checks inside the first spec of its page.
- A spec is ``specc fmt``-canonical, unless marked ``<!-- specc fmt: not
  canonical (why) -->`` (then it must really not be, so a stale mark is caught).
- A block holding only ``--8<-- "examples/x.cnn"`` shows that file (the
  pymdownx.snippets extension includes it when MkDocs builds the page).
- Every ``$ specc ...`` line of a ```` ```console ```` block is a command line
  the CLI parser accepts, and the files under ``examples/`` it names exist.

The generated reference pages must equal what their scripts write now, and
every diagnostic code's example must report its code with its exit status.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import io
import os
import re
import shlex
from pathlib import Path
from types import ModuleType

import pytest
from conftest import EXAMPLES, ROOT, require

from specc.check import check_source
from specc.cli import build_parser
from specc.codes import REGISTRY
from specc.diagnostics import SpeccError
from specc.fmt import format_source

DOCS = ROOT / "docs"
PAGES = [*sorted(DOCS.rglob("*.md")), ROOT / "README.md"]
GENERATORS = ("gen_diagnostics", "gen_cli", "gen_layers")

_FENCE = re.compile(r"^```(\w*)\s*$")
_MARK = re.compile(r"^<!-- specc (check|fmt): (.*?) -->$")
_SNIPPET = re.compile(r'^--8<-- "([^"]+)"$')


@dataclasses.dataclass
class Block:
    """A fenced code block of a page, with the specc marks on the lines just before it."""

    page: Path
    line: int
    info: str
    text: str
    marks: dict[str, str]

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def expected_codes(self) -> list[str]:
        return self.marks.get("check", "").split()

    @property
    def is_spec(self) -> bool:
        return re.search(r"^\s*(model|block)\b", self.text, re.M) is not None


def read_blocks(page: Path) -> list[Block]:
    """Every fenced block of ``page`` (snippets expanded), in order."""
    lines = page.read_text(encoding="utf-8").split("\n")
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        marks: dict[str, str] = {}
        above = i - 1
        while above >= 0 and (mark := _MARK.match(lines[above])):
            marks[mark.group(1)] = mark.group(2)
            above -= 1
        end = lines.index("```", i + 1)
        text = "\n".join(lines[i + 1 : end]) + "\n"
        if snippet := _SNIPPET.match(text.strip()):
            text = (ROOT / snippet.group(1)).read_text(encoding="utf-8")
        blocks.append(Block(page, i + 1, match.group(1), text, marks))
        i = end + 1
    return blocks


def _cnn_blocks() -> list[Block]:
    return [b for page in PAGES for b in read_blocks(page) if b.info == "cnn"]


def _as_checked(block: Block) -> str:
    """The spec text to check: the block, or a fragment inside its page's first model."""
    if block.is_spec:
        return block.text
    first = next(b for b in read_blocks(block.page) if b.info == "cnn" and "model" in b.text)
    body = "\n".join(line for line in first.text.splitlines() if "expect" not in line)
    return body.rstrip().removesuffix("}") + block.text + "}\n"


CNN_BLOCKS = _cnn_blocks()


def test_the_pages_hold_specs():
    pages = {b.page.relative_to(ROOT).as_posix() for b in CNN_BLOCKS}
    assert {"README.md", "docs/language.md", "docs/diagnostics.md"} <= pages, pages
    assert {"docs/tutorial/cifar10.md", "docs/tutorial/mnist.md"} <= pages, pages
    assert len(CNN_BLOCKS) >= 40


@pytest.mark.parametrize("block", CNN_BLOCKS, ids=lambda b: b.where)
def test_block_checks_as_its_page_says(block):
    text = _as_checked(block)
    result = check_source(text, "block.cnn")
    codes = [d.code for d in result.diagnostics]
    assert codes == block.expected_codes, f"{block.where}: {result.diagnostics}"
    if not codes and "model" in text:
        assert result.models and all(m.inferred for m in result.models), block.where


@pytest.mark.parametrize("block", [b for b in CNN_BLOCKS if b.is_spec], ids=lambda b: b.where)
def test_spec_is_canonical_unless_marked(block):
    try:
        formatted = format_source(block.text, "block.cnn")
    except SpeccError:
        assert "E101" in block.expected_codes, f"{block.where} does not parse"
        return
    if "fmt" in block.marks:
        assert block.marks["fmt"].startswith("not canonical"), block.marks
        assert formatted != block.text, f"{block.where} is canonical: drop its fmt mark"
    else:
        assert formatted == block.text, f"{block.where} is not what specc fmt writes"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_shipped_examples_are_canonical(path):
    text = path.read_text(encoding="utf-8")
    assert format_source(text, path.name) == text, f"run specc fmt {path.relative_to(ROOT)}"


def _commands() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        for block in read_blocks(page):
            if block.info == "console":
                found += [
                    (f"{block.where}", line[2:])
                    for line in block.text.splitlines()
                    if line.startswith("$ specc ")
                ]
    return found


COMMANDS = _commands()


def test_the_pages_show_commands():
    shown = {shlex.split(command)[1] for _, command in COMMANDS}
    assert {"check", "summary", "keras", "init", "onnx", "run"} <= shown, shown


@pytest.mark.parametrize(("where", "command"), COMMANDS, ids=[c for _, c in COMMANDS])
def test_shown_command_is_accepted(where, command):
    words = shlex.split(command)
    with contextlib.redirect_stderr(io.StringIO()) as err:
        try:
            build_parser().parse_args(words[1:])
        except SystemExit as exc:
            pytest.fail(f"{where}: `{command}` is refused by the parser: {err.getvalue()}")
            raise AssertionError from exc
    for word in words:
        if word.startswith("examples/"):
            assert (ROOT / word).is_file(), f"{where}: {word} does not exist"


def _generator(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"docs_{name}", DOCS / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", GENERATORS)
def test_generated_page_is_current(name):
    module = _generator(name)
    committed = module.PAGE.read_text(encoding="utf-8")
    assert module.render_page() == committed, f"run python docs/{name}.py and commit the page"


@pytest.mark.parametrize("code", list(REGISTRY))
def test_code_example_reports_its_code(code):
    """Each code's example, run as the page shows it, reports that code with its exit status."""
    trigger = _generator("gen_diagnostics").trigger
    entry = REGISTRY[code]
    output, status = trigger(entry)
    assert f"[{code}]" in output, output
    if entry.python:
        return
    if entry.severity == "warning":
        assert status == 0, output
        strict = entry.command.replace("specc check", "specc check --strict")
        output, status = trigger(entry.replace(command=strict))
        assert f"[{code}]" in output
    assert status == entry.exit_class, output


def test_every_code_is_documented():
    for entry in REGISTRY.values():
        assert entry.title and entry.doc and entry.fix, entry.code
        assert entry.example or entry.command != "specc check example.cnn", entry.code
        assert entry.command or entry.python, entry.code


def _repository_files() -> list[Path]:
    """The files of the checkout: tracked or new, not git-ignored (build output and
    downloaded wheels are not the project's); every file where git is unavailable."""
    import subprocess

    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT, capture_output=True, check=True,
        ).stdout.decode("utf-8").split("\0")  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        skipped = ("node_modules", "__pycache__", ".git")
        return [p for p in ROOT.rglob("*") if p.is_file() and not set(skipped) & set(p.parts)]
    return [ROOT / name for name in listed if name and (ROOT / name).is_file()]


def test_nothing_in_the_repository_points_outside_it():
    outside = ("../" + "shared", "/" + "work/")
    offenders = []
    for file in _repository_files():
        try:
            text = file.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        offenders += [f"{file.relative_to(ROOT)}: {o}" for o in outside if o in text]
    assert not offenders, offenders


def test_mkdocs_builds_strictly(tmp_path):
    """As .ci/run builds the site: a broken link, anchor or included file is an error."""
    require("material")
    import subprocess
    import sys

    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "site" / "diagnostics" / "index.html").is_file()
