"""Text output a hostile spec cannot abuse: control characters escaped, floods summarised.

A spec or a file name can carry terminal escapes (OSC 52 writes the
clipboard, ``ESC[2K`` erases a line, ``\\r`` returns to the line's start) or
a newline that fakes a diagnostic; a weights file can carry 10,000 arrays the
model lacks. The CLI runs in a subprocess; its raw output bytes are checked.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from test_resource_bombs import chain_of_blocks, model

from specc.check import check_source
from specc.diagnostics import MAX_REPEATS

OSC52 = "\x1b]52;c;aGVsbG8=\x07"
ERASE = "\x1b[2K"  # (a lone \r is read as a line break, as open() does)


def specc(*args: str, cwd: Path) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "specc.cli", *args], cwd=cwd, capture_output=True, timeout=120
    )
    return done.returncode, (done.stdout + done.stderr).decode("utf-8")


def assert_inert(output: str) -> None:
    """No character a terminal would act on, but the line ends."""
    acting = [c for c in output if (ord(c) < 32 and c != "\n") or 0x7F <= ord(c) < 0xA0]
    assert not acting, (acting, output)


def test_escapes_in_values_are_shown_not_sent(tmp_path):
    spec = tmp_path / "m.cnn"
    spec.write_text(
        "model m {\n  input 8\n"
        f'  dense 4 activation="{ERASE}fake.cnn:1:1: error[E000]: hi"\n'
        f'  compile optimizer=adam loss="{OSC52}"\n}}\n'
    )
    status, out = specc("check", "m.cnn", cwd=tmp_path)
    assert status == 1
    assert_inert(out)
    assert "\\x1b]52;c;aGVsbG8=\\x07" in out and "\\x1b[2Kfake.cnn" in out
    # the fake diagnostic stays inside the real one's line
    assert not any(line.startswith("fake.cnn") for line in out.splitlines())


def test_carets_stay_under_an_escaped_value(tmp_path):
    (tmp_path / "m.cnn").write_text('model m {\n  input 8\n  dense 4 activation="\x1b[31mred"\n}\n')
    _, out = specc("check", "m.cnn", cwd=tmp_path)
    lines = out.splitlines()
    shown = next(line for line in lines if line.startswith("    3 | "))
    carets = lines[lines.index(shown) + 1]
    token = 'activation="\\x1b[31mred"'
    assert shown.index(token) == carets.index("^")
    assert carets.count("^") == len(token)


def test_a_file_name_cannot_fake_a_diagnostic(tmp_path):
    name = "x\nfake.cnn:1:1: error[E999]: forged"
    (tmp_path / name).write_text("model m {\n  input 8\n  dense 4 rleu\n}\n")
    status, out = specc("check", name, cwd=tmp_path)
    assert status == 1
    assert_inert(out)
    assert not any(line.startswith("fake.cnn") for line in out.splitlines())
    assert "x\\nfake.cnn:1:1: error[E999]: forged:3:11: error[E107]" in out


def test_ten_thousand_extra_arrays_print_a_count(tmp_path):
    (tmp_path / "m.cnn").write_text("model m {\n  input 8\n  dense 4\n}\n")
    np.save(tmp_path / "x.npy", np.ones((1, 8), np.float32))
    arrays = {"dense/kernel": np.zeros((8, 4), np.float32), "dense/bias": np.zeros(4, np.float32)}
    arrays.update({f"ghost{i}/w": np.zeros(1, np.float32) for i in range(10_000)})
    np.savez(tmp_path / "w.npz", **arrays)
    status, out = specc("run", "m.cnn", "-w", "w.npz", "-i", "x.npy", cwd=tmp_path)
    assert status == 2
    assert out.count("error[E503]") == MAX_REPEATS + 1
    assert f"... and {10_000 - MAX_REPEATS:,} more E503 errors like these, not shown" in out
    assert len(out.splitlines()) < 4 * MAX_REPEATS


def test_text_is_summarised_and_json_is_whole(tmp_path):
    body = "".join("  dense 4 rleu\n" for _ in range(50))
    (tmp_path / "m.cnn").write_text(f"model m {{\n  input 8\n{body}}}\n")
    _, text = specc("check", "m.cnn", cwd=tmp_path)
    assert text.count("error[E107]") == MAX_REPEATS + 1 and "40 more E107 errors" in text
    _, out = specc("check", "m.cnn", "--format", "json", cwd=tmp_path)
    document = json.loads(out[: out.rindex("}") + 1])
    assert sum(d["code"] == "E107" for d in document["diagnostics"]) == 50


def test_blocks_below_the_depth_limit_are_not_called_unused():
    result = check_source(model("  b0") + chain_of_blocks(5_000), "deep.cnn")
    assert [d.code for d in result.diagnostics] == ["E112"]
    shallow = check_source(model("  b0") + chain_of_blocks(3) + "block spare() {\n  relu\n}\n")
    assert [d.code for d in shallow.diagnostics] == ["W404"]
