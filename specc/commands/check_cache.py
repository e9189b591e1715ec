"""``specc check``'s results kept between runs, as ruff keeps its lint results.

Checking a spec needs pydantic and the parser, and importing them is most of
a check's time (benchmarks/bench_check.py). A file checked before, with the
same bytes, the same budgets and the same installed code, gets its
diagnostics and model summaries back from the cache, importing neither.

An entry is the JSON of one file's result (design.md's ``models`` and
``diagnostics``), named by the SHA-256 of everything the result depends on:
the path as given (diagnostics name it), the file's bytes, ``--max-params``
and ``--max-macs``, and a fingerprint of the code (path, size and mtime of
every file of specc, its generated parser included, and of its grammar,
pydantic and pydantic-core, and the Python version). An entry that cannot be
read is a miss. The folder is ``$XDG_CACHE_HOME/specc/check`` (``~/.cache``),
at most :data:`MAX_ENTRIES` files; ``--no-cache`` or ``SPECC_NO_CACHE=1`` turns it off.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from specc.diagnostics import Diagnostic, RelatedSpan, Span
from specc.io import write_atomically

MAX_ENTRIES = 4000  # about 4 KB each; the oldest half goes when there are more
_PACKAGE = Path(__file__).resolve().parent.parent


@dataclass
class FileReport:
    """One file as ``specc check`` reports it: its text, diagnostics and model summaries."""

    file: str
    source: str
    diagnostics: list[Diagnostic]
    models: list[dict[str, Any]]


def cache_dir() -> Path | None:
    """The cache folder, or None when the cache is turned off."""
    if os.environ.get("SPECC_NO_CACHE", "") not in ("", "0"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "specc" / "check"


def _code_roots() -> list[Path]:
    """Folders and files whose contents decide a check's result."""
    from specc.resources import resource_dir

    roots = [_PACKAGE, resource_dir("grammar")]
    for name in ("pydantic", "pydantic_core"):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            roots.append(Path(spec.origin))
    return roots


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A digest of the installed code: any edit, upgrade or reinstall changes it."""
    digest = hashlib.sha256(f"{sys.version}\0".encode())
    for root in _code_roots():
        for path in sorted(_files(root)):
            try:
                st = os.stat(path)
            except OSError:
                continue
            digest.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def _files(root: Path) -> list[str]:
    if root.is_file():
        return [str(root)]
    out = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        out.extend(os.path.join(folder, n) for n in names if n.endswith((".py", ".lark")))
    return out


def entry_key(path: str, text: str, max_params: int | None, max_macs: int | None) -> str:
    """The name of the entry for this file, these budgets and this code."""
    digest = hashlib.sha256(code_fingerprint().encode())
    digest.update(json.dumps([path, max_params, max_macs]).encode())
    digest.update(text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def recall(folder: Path, key: str, path: str, text: str) -> FileReport | None:
    """The cached report, or None (no entry, or one that cannot be read)."""
    try:
        data = json.loads((folder / f"{key}.json").read_text(encoding="utf-8"))
        diagnostics = [
            Diagnostic(
                d["code"],
                d["message"],
                _span(d),
                d["help"],
                d["severity"],
                tuple(RelatedSpan(_span(r), r["message"]) for r in d.get("related", ())),
            )
            for d in data["diagnostics"]
        ]
        return FileReport(path, text, diagnostics, list(data["models"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _span(d: dict[str, Any]) -> Span:
    return Span(d["file"], d["line"], d["column"], d["end_line"], d["end_column"])


def store(folder: Path, key: str, report: FileReport) -> None:
    """Keep ``report``; a cache that cannot be written is no cache, not an error."""
    data = {
        "models": report.models,
        "diagnostics": [d.to_json() for d in report.diagnostics],
    }
    with contextlib.suppress(OSError):
        if not folder.is_dir():
            folder.mkdir(parents=True, exist_ok=True)
        elif sum(1 for _ in os.scandir(folder)) >= MAX_ENTRIES:
            _prune(folder)
        write_atomically(str(folder / f"{key}.json"), json.dumps(data))


def _prune(folder: Path) -> None:
    entries = sorted(os.scandir(folder), key=lambda e: e.stat().st_mtime)
    for entry in entries[: len(entries) // 2]:
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
