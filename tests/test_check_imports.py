"""What a fresh ``specc check`` imports: the guard of its start-up time.

A check (no cached result) in a fresh interpreter, over every example, must
leave ``sys.modules`` without the libraries it does not need: the output
libraries (rich, jinja2), the numeric and model ones, lark itself (the
generated parser replaces it) and ``regex``; and of the commands, only
``check`` and the helpers it runs through. benchmarks/bench_check.py measures
the time; this test keeps what it measured from coming back.
"""

from __future__ import annotations

import ast
import inspect
import os
import subprocess
import sys

import pydantic
from conftest import EXAMPLES, ROOT

NOT_ON_THE_CHECK_PATH = (
    "rich",
    "jinja2",
    "numpy",
    "onnx",
    "onnxruntime",
    "tensorflow",
    "keras",
    "torch",
    "jax",
    "lark",
    "regex",
)
CHECK_COMMAND = {"check", "check_cache", "common", "skeleton"}


def _loaded_after(argv: list[str]) -> list[str]:
    """Every module in ``sys.modules`` after ``specc ARGV`` ran in a fresh interpreter."""
    code = (
        "import sys; from specc.cli import main; rc = main(sys.argv[1:]); "
        "print(sorted(sys.modules)); sys.exit(rc)"
    )
    env = {**os.environ, "SPECC_NO_CACHE": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, cwd=ROOT, env=env
    )
    assert proc.returncode == 0, proc.stderr
    return ast.literal_eval(proc.stdout.strip().splitlines()[-1])


def _tops(modules: list[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def test_a_fresh_check_imports_only_what_checking_needs():
    modules = _loaded_after(["check", "-q", "--no-cache", *map(str, EXAMPLES)])
    assert sorted(_tops(modules) & set(NOT_ON_THE_CHECK_PATH)) == []
    commands = {m.split(".")[2] for m in modules if m.startswith("specc.commands.")}
    assert commands <= CHECK_COMMAND, sorted(commands - CHECK_COMMAND)
    assert "specc.syntax.lalr_parser" in modules and "pydantic" in _tops(modules)


def test_the_probe_sees_a_library_a_command_does_import():
    modules = _loaded_after(["summary", str(EXAMPLES[0])])
    assert "rich" in _tops(modules)  # the summary table
    assert "specc.commands.summary" in modules


def test_layer_class_modules_have_no_string_annotations():
    """pydantic evaluates every annotation of every model class and of its bases at
    import; as strings (``from __future__ import annotations``) each one is compiled
    again, which cost a fresh check a fifth of specc's own start-up."""
    import specc.check  # noqa: F401  (every model class of the check path)

    classes, stack = set(), [pydantic.BaseModel]
    while stack:
        for cls in stack.pop().__subclasses__():
            if cls.__module__.startswith("specc.") and cls not in classes:
                classes.add(cls)
                stack.append(cls)
    modules = {sys.modules[cls.__module__] for cls in classes}
    assert len(modules) >= 6  # layer_base, the layers_* modules, graph
    future = sorted(
        m.__name__ for m in modules if "from __future__ import annotations" in inspect.getsource(m)
    )
    assert future == []
