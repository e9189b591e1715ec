"""Write docs/diagnostics.md from the code registry (specc.codes), running every example.

Usage: python docs/gen_diagnostics.py [--check]

Each code's example is written to ``example.cnn`` in a fresh folder, with the
other files its ``setup`` names, and its command is run through specc's own
CLI there (its Python example through the API); the page shows what it printed.
Generating fails when an example does not report its code. ``--check`` writes
nothing and exits 1 when the committed page differs (tests/test_docs.py).
"""

from __future__ import annotations

import contextlib
import importlib.abc
import io
import json
import os
import shlex
import sys
import tempfile
import traceback
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from specc.check import check_source
from specc.cli import main as specc_main
from specc.codes import REGISTRY, Code

PAGE = Path(__file__).resolve().parent / "diagnostics.md"

GROUPS = {
    "E1": "The language",
    "E2": "What Keras would refuse",
    "E3": "Expectations and budgets",
    "W4": "Lint warnings",
    "E5": "Weights files",
    "E6": "Inputs, backends, targets and outputs",
    "E7": "Imported models",
    "E8": "Training data and checkpoints",
}

HEADER = """\
# Diagnostics

Every problem specc finds is reported at its place in the file, with a stable
code, a severity, a one-line message and, where it helps, a `help:` line:

```text
FILE:LINE:COLUMN: SEVERITY[CODE]: MESSAGE
  LINE | the source line
       |   ^^^^ the span
  help: what to do
```

`specc check --format json|sarif|github` reports the same diagnostics as JSON,
as SARIF 2.1.0 (whose rules carry each code's title, description and fix) or as
GitHub annotations. The exit status follows from the codes: **1** when the spec
is at fault (errors; warnings too with `--strict`), **2** when something outside
it is (a file that cannot be read, weights or an input that do not fit, a backend
this machine lacks). Warnings are silenced on their line with `# noqa: W401`
(several codes separated by commas) or all of them with `# noqa`; errors cannot be
silenced.

This page is generated from the code registry (`specc/codes/`) by
`python docs/gen_diagnostics.py`, which runs every example below: the output shown
is what specc printed.
"""


def _sample(folder: Path, x: np.ndarray | None = None) -> None:
    """``x.npy``: one sample of the examples' 784-vector input, or ``x``."""
    np.save(folder / "x.npy", np.zeros(784, np.float32) if x is None else x)


def _weights(**changes: np.ndarray | None) -> Callable[[Path], None]:
    """A setup writing ``weights.npz`` (the example's dense layer, with ``changes``) and x.npy."""

    def write(folder: Path) -> None:
        arrays: dict[str, np.ndarray | None] = {
            "dense/kernel": np.zeros((784, 10), np.float32),
            "dense/bias": np.zeros(10, np.float32),
            **changes,
        }
        np.savez(folder / "weights.npz", **{k: v for k, v in arrays.items() if v is not None})
        _sample(folder)

    return write


def _not_weights(folder: Path) -> None:
    (folder / "weights.npz").write_text("not weights\n", encoding="utf-8")
    _sample(folder)


def _text_file(folder: Path) -> None:
    (folder / "notes.txt").write_text("model m {\n  input 8\n  dense 2\n}\n", encoding="utf-8")


def _layer(
    class_name: str,
    name: str,
    inputs: list[str] | None = None,
    built: list[int | None] | None = None,
    **config: object,
) -> dict:
    """One entry of a Keras 3 config: a built-in layer reading the layers ``inputs``
    (functional), built on the input shape ``built`` (Sequential)."""
    entry: dict[str, object] = {
        "module": "keras.layers",
        "class_name": class_name,
        "config": {"name": name, **config},
        "registered_name": None,
        "name": name,
    }
    if built is not None:
        entry["build_config"] = {"input_shape": built}
    if inputs is not None:
        tensors = [
            {"class_name": "__keras_tensor__", "config": {"keras_history": [i, 0, 0]}}
            for i in inputs
        ]
        entry["inbound_nodes"] = [{"args": tensors if len(tensors) > 1 else tensors[0]}]
    return entry


def _policy(name: str) -> dict:
    """A dtype policy as Keras 3 writes it."""
    config = {"name": name}
    return {
        "module": "keras",
        "class_name": "DTypePolicy",
        "config": config,
        "registered_name": None,
    }


def _input(name: str = "input_layer", size: int = 8) -> dict:
    return _layer("InputLayer", name, batch_shape=[None, size], dtype="float32")


def _keras(*layers: dict, weights: bool = True, **functional: object) -> Callable[[Path], None]:
    """A setup writing ``model.keras`` as Keras 3 saves it: a Sequential of ``layers``
    (functional with ``functional``'s input_layers and output_layers), weights empty.

    Every example below is refused while its config is read, before any array
    is looked up, so ``model.weights.h5`` holds no layers.
    """
    kind = "Functional" if functional else "Sequential"
    config = {
        "module": "keras",
        "class_name": kind,
        "config": {"name": "model", "layers": list(layers), **functional},
        "registered_name": None,
    }

    def write(folder: Path) -> None:
        import h5py

        with h5py.File(folder / "model.weights.h5", "w"):
            pass
        with zipfile.ZipFile(folder / "model.keras", "w") as archive:
            archive.writestr("metadata.json", json.dumps({"keras_version": "3.10.0"}))
            archive.writestr("config.json", json.dumps(config))
            if weights:
                archive.write(folder / "model.weights.h5", "model.weights.h5")
        (folder / "model.weights.h5").unlink()

    return write


class _NoModule(importlib.abc.MetaPathFinder):
    """Makes ``import NAME`` fail as it does where NAME is not installed."""

    def __init__(self, name: str) -> None:
        self.name = name

    def find_spec(self, fullname: str, path: object, target: object = None) -> None:
        if fullname.partition(".")[0] == self.name:
            raise ModuleNotFoundError(f"No module named '{self.name}'", name=self.name)


@contextlib.contextmanager
def _without(name: str) -> Iterator[None]:
    saved = {k: v for k, v in sys.modules.items() if k.partition(".")[0] == name}
    for key in saved:
        del sys.modules[key]
    finder = _NoModule(name)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
        sys.modules.update(saved)


def _data(**arrays: np.ndarray) -> Callable[[Path], None]:
    """A setup writing ``data.npz`` with ``arrays`` (default: 20 8x8x1 images, ids 0..9)."""
    x = np.linspace(0, 1, 20 * 64, dtype=np.float32).reshape(20, 8, 8, 1)
    y = np.arange(20) % 10
    arrays = {"x": x, "y": y} | arrays

    def write(folder: Path) -> None:
        np.savez(folder / "data.npz", **{k: v for k, v in arrays.items() if v is not None})

    return write


def _not_data(folder: Path) -> None:
    (folder / "data.npz").write_text("x,y\n0,1\n", encoding="utf-8")


# What each code's ``setup`` says, made: code -> function writing the files into a folder.
SETUPS: dict[str, Callable[[Path], None]] = {
    "E501": _not_weights,
    "E502": _weights(**{"dense/bias": None}),
    "E503": _weights(**{"dense_1/kernel": np.zeros((2, 2), np.float32)}),
    "E504": _weights(**{"dense/kernel": np.zeros((784, 20), np.float32)}),
    "E505": _weights(**{"dense/kernel": np.full((784, 10), np.nan, np.float32)}),
    "E602": lambda folder: _sample(folder, np.zeros((28, 28), np.float32)),
    "E603": lambda folder: _sample(folder, np.array(["a"] * 784)),
    "E604": lambda folder: _sample(folder, np.array([np.nan] + [0.0] * 783, np.float32)),
    "E605": _sample,
    "E611": _sample,
    "E612": _weights(),
    "E701": _text_file,
    "E702": _keras(_input(), _layer("Embedding", "embedding", input_dim=100, output_dim=4)),
    "E703": _keras(_input(), _layer("Lambda", "lambda", function="x * 2")),
    "E704": _keras(_input(), _layer("Dense", "dense", units=2, dtype=_policy("float16"))),
    "E705": _keras(
        _input("a"),
        _input("b"),
        _layer("Concatenate", "concatenate", ["a", "b"]),
        _layer("Dense", "dense", ["concatenate"], units=2),
        input_layers=[["a", 0, 0], ["b", 0, 0]],
        output_layers=[["dense", 0, 0]],
    ),
    "E706": _keras(_input(), _layer("Dense", "dense", units=2), weights=False),
    # dense_1's recorded input, the output of dense, is 5 wide; dense makes 4.
    "E707": _keras(
        _input(),
        _layer("Dense", "dense", units=4),
        _layer("Dense", "dense_1", built=[None, 5], units=2),
    ),
    "E801": _not_data,
    "E802": _data(x=None, y=None, images=np.zeros((4, 8, 8, 1), np.float32)),
    "E803": _data(y=np.arange(20) % 10 + (np.arange(20) == 3) * 7),
    "E804": _data(x=np.zeros((0, 8, 8, 1), np.float32), y=np.zeros((0,), np.int64)),
    "E805": _data(),
    "E806": _data(),
    "E807": _data(),
}
# Machines that a setup sentence describes, made for the duration of the command.
ENVIRONMENTS: dict[str, Callable[[], contextlib.AbstractContextManager[None]]] = {
    "E605": lambda: _without("cupy"),
    "E613": lambda: _without("graphviz"),
}


def trigger(code: Code) -> tuple[str, int]:
    """Run ``code``'s example in a fresh folder: (what it printed, exit status)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if code.example:
            (folder / "example.cnn").write_text(code.example, encoding="utf-8")
        if code.code in SETUPS:
            SETUPS[code.code](folder)
        cwd = os.getcwd()
        out, err = io.StringIO(), io.StringIO()
        environment = ENVIRONMENTS.get(code.code, contextlib.nullcontext)
        os.chdir(folder)
        try:
            with environment(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                status = _python(code) if code.python else specc_main(_argv(code.command))
        finally:
            os.chdir(cwd)
    return out.getvalue() + err.getvalue(), status


def _argv(command: str) -> list[str]:
    words = shlex.split(command)
    assert words[0] == "specc", command
    return words[1:]


def _python(code: Code) -> int:
    """Run the Python example (it prints what it catches); 0 as a finished script exits."""
    exec(compile(code.python, "example.py", "exec"), {"__name__": "__main__"})
    return 0


def _entry(code: Code) -> str:
    output, status = trigger(code)
    if f"[{code.code}]" not in output:
        raise SystemExit(f"{code.code}: the example does not report it:\n{output}")
    expected = 0 if code.python or code.severity == "warning" else code.exit_class
    if status != expected:
        raise SystemExit(f"{code.code}: the example exits {status}, its exit class is {expected}")
    kind = code.severity
    exit_text = f"exit status {code.exit_class}" + (" with `--strict`" if kind == "warning" else "")
    lines = [f"### {code.code}: {code.title} {{#{code.code.lower()}}}", ""]
    lines += [f"*{kind}, {exit_text}*", "", code.doc, ""]
    if code.example:
        reported = [d.code for d in check_source(code.example, "example.cnn").diagnostics]
        if reported:
            lines.append(f"<!-- specc check: {' '.join(reported)} -->")
        lines += ["```cnn", code.example.rstrip("\n"), "```", ""]
    if code.setup:
        lines += [f"Where {code.setup}:", ""]
    if code.python:
        lines += ["```python", code.python.rstrip("\n"), "```", "", "It prints:", ""]
        lines += ["```text", output.rstrip("\n"), "```", ""]
    else:
        lines += ["```console", f"$ {code.command}", output.rstrip("\n"), "```", ""]
    lines += [f"**Fix.** {code.fix}", ""]
    return "\n".join(lines)


def render_page() -> str:
    """The whole page: header, then every code by group."""
    parts = [HEADER]
    group = None
    for code in REGISTRY.values():
        if code.code[:2] != group:
            group = code.code[:2]
            parts.append(f"## {GROUPS[group]}\n")
        parts.append(_entry(code))
    return "\n".join(parts).rstrip("\n") + "\n"


def main(argv: list[str]) -> int:
    """Write the page, or with ``--check`` report whether it is current."""
    try:
        page = render_page()
    except Exception:
        traceback.print_exc()
        return 2
    if "--check" in argv:
        current = PAGE.read_text(encoding="utf-8") if PAGE.exists() else ""
        if current != page:
            print(f"{PAGE} is out of date: run python docs/gen_diagnostics.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(page, encoding="utf-8")
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
