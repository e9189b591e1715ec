"""The layout printer of the Keras emitter agrees with ``ruff format`` on random code.

Hundreds of random statements (calls with nested calls, tuples, lists, long
names and strings; Keras's ``x = layers.X(...)(x)`` shape; exploded lists)
are printed by :mod:`specc.emit.keras_format` and must be exactly what
ruff itself writes: ``ruff format --check`` passes on the file.
"""

from __future__ import annotations

import ast
import random

from test_keras_emit_common import ruff

from specc.emit.keras_format import Doc, call, collection, render

NAMES = ("a", "bb", "conv2d_1", "x", "layers.Dense", "keras.initializers.RandomNormal")


class RandomCode:
    """Random expression documents from a seeded generator."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def name(self) -> str:
        return self.rng.choice(NAMES) + "_" * self.rng.randint(0, 30)

    def value(self, depth: int = 0) -> Doc:
        r = self.rng.random()
        if depth < 3 and r < 0.2:
            return call(self.name(), self.args(depth + 1, self.rng.randint(0, 5)))
        if depth < 3 and r < 0.35:
            n = self.rng.randint(0, 4)
            items = [self.value(depth + 1) for _ in range(n)]
            return collection("(", items, ")", one_tuple=n == 1)
        if depth < 3 and r < 0.45:
            items = [self.value(depth + 1) for _ in range(self.rng.randint(0, 5))]
            return collection("[", items, "]")
        if r < 0.7:
            return '"' + "s" * self.rng.randint(0, 60) + '"'
        return str(self.rng.randint(0, 10 ** self.rng.randint(1, 12)))

    def args(self, depth: int, n: int) -> list[Doc]:
        k = self.rng.randint(0, n)
        keywords = [(self.name().split(".")[-1] + "=", self.value(depth)) for _ in range(n - k)]
        return [self.value(depth) for _ in range(k)] + keywords

    def statement(self) -> Doc:
        kind = self.rng.random()
        if kind < 0.5:
            target = self.name().split(".")[0]
            layer = call("layers.Conv" + "X" * self.rng.randint(0, 20), self.args(1, 7))
            tensor = self.rng.choice(
                [
                    "x",
                    "inputs_" + "y" * self.rng.randint(0, 60),
                    collection("[", ["x", "y" * self.rng.randint(1, 40), "zz"], "]"),
                ]
            )
            return (f"{target} = ", layer, call("", [tensor]))
        if kind < 0.7:
            items = [self.value(1) for _ in range(self.rng.randint(1, 4))]
            stack = collection("[", items, "]", exploded=True)
            return ("return ", call("keras.Sequential", [stack, ("name=", '"m"')]))
        return ("v = ", self.value(0))


def test_printer_matches_ruff_format(tmp_path):
    functions = []
    for seed in range(2):
        code = RandomCode(seed)
        for i in range(300):
            functions.append(f"def f{seed}_{i}():\n{render(code.statement(), indent=1)}\n")
    source = "\n\n".join(functions)
    ast.parse(source)
    path = tmp_path / "layout.py"
    path.write_text(source)
    result = ruff("format", "--check", "--diff", str(path))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr


def test_short_calls_stay_on_one_line():
    doc = ("x = ", call("layers.Dense", ["10", ("name=", '"dense"')]), call("", ["x"]))
    assert render(doc, indent=1) == '    x = layers.Dense(10, name="dense")(x)'
    assert render(collection("(", ["3"], ")", one_tuple=True)) == "(3,)"
    assert render(collection("[", ["1"], "]", exploded=True)) == "[\n    1,\n]"
