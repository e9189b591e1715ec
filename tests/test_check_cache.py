"""``specc check``'s result cache: a hit prints what a fresh check prints, and anything
the result depends on (the file, the budgets, the installed code) makes it a miss."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import EXAMPLES, ROOT

from specc.cli import main
from specc.commands import check_cache, skeleton

WARNS = "model w {\n  input 4x4x3\n  dense 2\n}\n"
FAILS = "model m {\n  input 3x3x1\n  conv2d 8 5\n}\n"
RELATED = ROOT / "tests" / "golden" / "diagnostics" / "blocks.cnn"  # notes at block layers


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """The cache on, in a folder of its own."""
    monkeypatch.delenv("SPECC_NO_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    check_cache.code_fingerprint.cache_clear()
    yield tmp_path / "cache" / "specc" / "check"
    check_cache.code_fingerprint.cache_clear()


def specs(tmp_path) -> list[str]:
    (tmp_path / "warns.cnn").write_text(WARNS)
    (tmp_path / "fails.cnn").write_text(FAILS)
    (tmp_path / "empty.cnn").write_text("")
    return [*map(str, EXAMPLES), str(tmp_path / "warns.cnn"), str(tmp_path / "fails.cnn"),
            str(RELATED), str(tmp_path / "empty.cnn"), str(tmp_path / "missing.cnn")]  # fmt: skip


def _check(argv, capsys) -> tuple[int, str, str]:
    status = main(["check", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def _no_fresh_check(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("checked again: the cache missed")

    monkeypatch.setattr(skeleton, "check_text", refuse)


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github"])
def test_a_hit_prints_what_a_fresh_check_prints(fmt, cache, tmp_path, capsys, monkeypatch):
    files = specs(tmp_path)
    fresh = _check(["--format", fmt, "--no-cache", *files], capsys)
    assert not cache.exists()  # --no-cache neither reads nor writes
    assert _check(["--format", fmt, *files], capsys) == fresh
    assert len(list(cache.iterdir())) == len(files) - 1  # not the unreadable one
    _no_fresh_check(monkeypatch)
    assert _check(["--format", fmt, *files], capsys) == fresh
    assert fresh[0] == 2  # missing.cnn


def test_the_file_and_the_budgets_are_part_of_the_key(cache, tmp_path, capsys):
    spec = tmp_path / "m.cnn"
    spec.write_text(WARNS)
    assert _check([str(spec)], capsys)[0] == 0
    spec.write_text(FAILS)
    status, out, _ = _check([str(spec)], capsys)
    assert status == 1 and "error[E201]" in out
    spec.write_text(WARNS)
    assert _check([str(spec)], capsys)[0] == 0
    status, out, _ = _check(["--max-params", "5", str(spec)], capsys)
    assert status == 1 and "error[E302]" in out


def test_a_change_of_the_code_is_a_miss(cache, tmp_path, capsys, monkeypatch):
    code = tmp_path / "rules.py"
    code.write_text("# a rule\n")
    roots = check_cache._code_roots()
    monkeypatch.setattr(check_cache, "_code_roots", lambda: [*roots, code])
    spec = tmp_path / "m.cnn"
    spec.write_text(WARNS)
    _check([str(spec)], capsys)
    os.utime(code, ns=(0, 1))
    check_cache.code_fingerprint.cache_clear()
    calls = []
    real = skeleton.check_text
    monkeypatch.setattr(skeleton, "check_text", lambda *a, **k: calls.append(a) or real(*a, **k))
    _check([str(spec)], capsys)
    assert len(calls) == 1


def test_an_unreadable_entry_is_a_miss(cache, tmp_path, capsys):
    spec = tmp_path / "m.cnn"
    spec.write_text(FAILS)
    fresh = _check([str(spec)], capsys)
    [entry] = cache.iterdir()
    entry.write_text('{"models": [], "diagnostics": [{"code": "E999"}]}')
    assert _check([str(spec)], capsys) == fresh
    assert "E201" in entry.read_text()


def test_a_hit_imports_neither_pydantic_nor_the_parser(cache, tmp_path):
    parser = "specc.syntax.lalr_parser"
    code = (
        "import sys; from specc.cli import main; rc = main(['check', '-q', sys.argv[1]]); "
        f"print(sorted(m for m in ('pydantic', {parser!r}, 'numpy', 'rich') if m in sys.modules))"
    )
    env = {**os.environ}
    for expected in (f"['pydantic', {parser!r}]", "[]"):
        run = subprocess.run(
            [sys.executable, "-c", code, str(EXAMPLES[0])], capture_output=True, text=True, env=env
        )
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip() == expected
