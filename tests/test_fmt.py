"""``specc fmt``: the formatted file means the same model, and formatting is a fixed point.

The ground truth is the checker itself: a spec and its formatted text must
check to the same IR (every node's kind, name, inputs, layer parameters,
shapes, weights, params and MACs; settings; expectations; diagnostic codes),
spans excluded since formatting moves lines.
"""

from __future__ import annotations

import random
import re
import subprocess
import sys
from collections import Counter

import pytest
from conftest import EXAMPLES
from specgen import generate_spec

from specc.check import CheckResult, check_source
from specc.diagnostics import SpeccError
from specc.fmt import format_source
from specc.ir.layers import LAYER_CLASSES

SEEDS = range(120)
COMMENT = re.compile(r"\"([^\"\\\n]|\\.)*\"|'([^'\\\n]|\\.)*'|(#[^\n]*)")


def facts(result: CheckResult) -> dict:
    """Everything the IR says about a file except where things were written."""
    models = []
    for model in result.models:
        nodes = [
            (
                node.kind,
                node.name,
                tuple(node.inputs),
                type(node.layer).__name__ if node.layer is not None else None,
                node.layer.model_dump() if node.layer is not None else None,
                node.output_shape,
                node.params,
                node.trainable_params,
                node.macs,
                [(w.name, w.shape, w.initializer, w.trainable) for w in node.weights],
                node.block,
            )
            for node in model.nodes
        ]
        models.append(
            {
                "name": model.name,
                "dtype": model.input_dtype,
                "output": model.output,
                "nodes": nodes,
                "compile": model.compile.kwargs if model.compile else None,
                "fit": model.fit.kwargs if model.fit else None,
                "expects": [(e.quantity, e.op, e.value) for e in model.expects],
            }
        )
    codes = sorted((d.code, d.severity) for d in result.diagnostics)
    return {"models": models, "diagnostics": codes}


def comments(text: str) -> Counter:
    """The comments of a file, as a multiset (the formatter may only move and join them)."""
    found = Counter()
    for line in text.split("\n"):
        for match in COMMENT.finditer(line):
            if match.group(3):  # merged comments are joined by two spaces: count pieces
                found.update(piece.strip() for piece in re.split(r"(?=  #)", match.group(3)))
                break
    return found


def assert_round_trip(text: str, name: str) -> str:
    """Format ``text``; the result checks to the same IR, keeps the comments, is a fixed point."""
    formatted = format_source(text, name)
    assert facts(check_source(formatted, name)) == facts(check_source(text, name)), formatted
    assert comments(formatted) == comments(text)
    assert format_source(formatted, name) == formatted, "formatting twice changed the file"
    return formatted


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_round_trip(path):
    text = path.read_text()
    before = check_source(text, path.name)
    assert before.models and not before.errors
    assert_round_trip(text, path.name)


def test_random_specs_round_trip():
    seen_kinds: set[str] = set()
    for seed in SEEDS:
        text = generate_spec(seed)
        result = check_source(text, f"seed{seed}.cnn")
        assert not result.errors, (seed, text)
        assert_round_trip(text, f"seed{seed}.cnn")
        seen_kinds |= {node.kind for m in result.models for node in m.nodes[1:]}
    # the random specs exercised the whole table of layers
    assert seen_kinds == {cls.kind for cls in LAYER_CLASSES}


def _perturb(canonical: str, rng: random.Random) -> str:
    """A spelling of the same file in a non-canonical layout: case, aliases, spaces, lines."""
    from specc.ir.layers import REGISTRY
    from specc.syntax.scope import KEYWORDS

    aliases: dict[str, list[str]] = {}
    for word, cls in REGISTRY.items():
        aliases.setdefault(cls.kind, []).append(word)
    out = []
    for line in canonical.split("\n"):
        code, sep, comment = line.partition("#")
        words = code.split()
        if words and words[0] in aliases and rng.random() < 0.7:
            words[0] = rng.choice(aliases[words[0]])
        if words and words[0].lower() in (*REGISTRY, *KEYWORDS) and rng.random() < 0.3:
            words[0] = words[0].upper() if rng.random() < 0.5 else words[0].capitalize()
        gap = " " * rng.randint(1, 3)
        text = " " * rng.randint(0, 7) + gap.join(words) + " " * rng.randint(0, 2)
        if sep:
            text += " " * rng.randint(1 if words else 0, 4) + sep + comment
        out.append(text)
        # extra blank lines only where they cannot form a new group
        if (not line.strip() or line.endswith("{")) and rng.random() < 0.5:
            out.extend([" " * rng.randint(0, 3)] * rng.randint(1, 3))
    return "\n" * rng.randint(0, 2) + "\n".join(out) + "\n" * rng.randint(0, 3)


@pytest.mark.parametrize("seed", range(40))
def test_one_canonical_layout(seed):
    """Any respelling (aliases, case, spacing, blank lines) formats to the same text."""
    rng = random.Random(seed)
    source = EXAMPLES[seed % len(EXAMPLES)].read_text() if seed % 2 else generate_spec(seed)
    canonical = format_source(source)
    perturbed = _perturb(canonical, rng)
    assert format_source(perturbed) == canonical, perturbed


TRICKY = """\


# leading comment

BLOCK Res(F, act=ReLU, same=valid) {   # block comment
  Conv 8 3 padding=same activation=act; BN  # two
  # inner own-line


  ADD {
    PATH {}
    path {   # open
      conv2d F*2+1 (F+1)//2 Name=Foo   # trailing
    }  # close
  }
}
model M {
  INPUT 32x32x3 DTYPE=Float32
  Res 4 act=RELU
  conv2d 8 (-1) 3
  dense (
    10,  # inside
    # own inside
  ) kernel_regularizer=L2(0.01)
  Compile optimizer=Adam(learning_rate=1E-3) metrics=[Accuracy, 'auc'] run_eagerly=TRUE
  expect Params == -(1 - 2)*3   # noqa
  path { # empty but commented
  }
  # end of model
}
# eof comment


"""

TRICKY_FORMATTED = """\
# leading comment

block Res(F, act=ReLU, same=valid) {  # block comment
  conv2d 8 3 padding=same activation=act
  batchnormalization  # two
  # inner own-line

  add {
    path { }
    path {  # open
      conv2d F*2+1 (F+1)//2 name=Foo  # trailing
    }  # close
  }
}
model M {
  input 32x32x3 dtype=float32
  Res 4 act=RELU
  conv2d 8 (-1) 3
  dense (10,) kernel_regularizer=l2(0.01)  # inside  # own inside
  compile optimizer=adam(learning_rate=1E-3) metrics=[Accuracy, 'auc'] run_eagerly=true
  expect params == -(1-2)*3  # noqa
  path {  # empty but commented
  }
  # end of model
}
# eof comment
"""


def test_layout_decisions():
    """The documented layout, on a file that exercises each rule (errors in it are kept too)."""
    assert format_source(TRICKY) == TRICKY_FORMATTED
    assert_round_trip(TRICKY, "tricky.cnn")


@pytest.mark.parametrize(
    "source",
    [
        "model m {\n  input 8\n  dense 4 k=a -1\n}\n",  # keyword value `a - 1`
        "model m {\n  input 8\n  reshape (-1,); dense 2\n}\n",
        "block b(same=valid) {\n  conv2d 8 3 SAME\n}\nmodel m {\n  input 8x8x3\n  b\n}\n",
        "block b(x) {\n  conv2d 8 3 padding=X\n}\nmodel m {\n  input 8x8x3\n  b same\n}\n",
        "model m { input 4; dense 2 }",
        "model m {\n  input 4\n  dense 2  # noqa: W401\n}",
        "",
        "# only a comment",
        "model m {\r\n  input 8\r\n  dense 2  # crlf\r\n}\r\n",
        "model m {\n  input 8x8x3  # a\u2028b\n  relu6  # noqa\n  flatten\n  dense 4\n}\n",
        "model m {\n\x0c  input 8\n  dense 2\n}\n",
        'model m {\n  input 8x8x3\n  conv2d 8 3 name="a#b"  # real comment\n}\n',
    ],
)
def test_edge_cases(source):
    assert_round_trip(source, "edge.cnn")


def test_bare_word_shadowed_by_block_parameter_keeps_its_case():
    text = "block b(same=valid) {\n  conv2d 8 3 SAME\n}\n"
    assert "conv2d 8 3 SAME" in format_source(text)
    assert "padding=same" in format_source("model m {\n  input 8x8x3\n  conv 8 3 PADDING=SAME\n}")


def test_syntax_error_is_refused_with_location():
    with pytest.raises(SpeccError) as info:
        format_source("model m {\n  input 8\n  dense (4\n", "bad.cnn")
    (diagnostic,) = info.value.diagnostics
    assert diagnostic.code == "E101"
    assert diagnostic.span.file == "bad.cnn"


def _specc(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "specc.cli", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
    )


def test_cli_formats_in_place_and_check_shows_a_diff(tmp_path):
    messy = tmp_path / "messy.cnn"
    messy.write_text("model m {\n    input 8\n  Dense 4   relu\n}\n")
    clean = tmp_path / "clean.cnn"
    clean.write_text("model m {\n  input 8\n  dense 4 relu\n}\n")
    proc = _specc("fmt", "--check", str(messy), str(clean))
    assert proc.returncode == 1
    assert f"--- a/{messy}" in proc.stdout and "+  dense 4 relu" in proc.stdout
    assert "-  Dense 4   relu" in proc.stdout
    assert messy.read_text().startswith("model m {\n    input 8")  # --check writes nothing
    assert _specc("fmt", str(messy)).returncode == 0
    assert messy.read_text() == clean.read_text()
    proc = _specc("fmt", "--check", str(messy), str(clean))
    assert proc.returncode == 0 and proc.stdout == ""


def test_cli_refuses_a_file_with_syntax_errors(tmp_path):
    bad = tmp_path / "bad.cnn"
    source = "model m {\n  input 8\n  dense 4 =\n}\n"
    bad.write_text(source)
    proc = _specc("fmt", str(bad))
    assert proc.returncode == 1
    assert f"{bad}:3:" in proc.stderr and "E101" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert bad.read_text() == source
    assert [p.name for p in tmp_path.iterdir()] == ["bad.cnn"]  # no temporary left behind


def test_cli_stdin_and_unreadable_file(tmp_path):
    proc = _specc("fmt", "-", stdin="MODEL m {\ninput 8\ndense 4\n}")
    assert proc.returncode == 0
    assert proc.stdout == "model m {\n  input 8\n  dense 4\n}\n"
    proc = _specc("fmt", str(tmp_path / "missing.cnn"))
    assert proc.returncode == 2 and "E100" in proc.stderr


def test_a_file_that_cannot_be_rewritten_gets_e615_and_exit_2(tmp_path, monkeypatch, capsys):
    import errno

    import specc.io
    from specc.cli import main

    spec = tmp_path / "m.cnn"
    spec.write_text("model m {\n input 8\n   dense 4\n}\n")

    def full_disk(path, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(specc.io, "write_atomically", full_disk)
    assert main(["fmt", str(spec)]) == 2
    err = capsys.readouterr().err
    assert f"{spec}:1:1: error[E615]: cannot write: No space left on device" in err
    assert spec.read_text() == "model m {\n input 8\n   dense 4\n}\n"
