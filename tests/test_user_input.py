"""Input a user will write: a BOM, a grayscale image without its channel axis, a wrong keyword."""

from __future__ import annotations

from specc.check import check_source
from specc.fmt import format_source
from specc.ir.layers import Conv2D

SPEC = "model m {\n  input 8x8x1\n  conv2d 4 3\n  flatten\n  dense 2\n}\n"


def test_a_utf8_bom_is_accepted_and_kept_by_fmt(tmp_path):
    from specc.cli import main

    path = tmp_path / "bom.cnn"
    path.write_bytes(b"\xef\xbb\xbf" + SPEC.replace("dense 2", "dense 2 rleu").encode())
    result = check_source(path.read_text(encoding="utf-8"), "bom.cnn")
    [d] = result.diagnostics  # the BOM is no syntax error; columns count from the text
    assert (d.code, d.span.line, d.span.column) == ("E107", 5, 11)
    path.write_bytes(b"\xef\xbb\xbf" + SPEC.replace("  conv2d", "conv2d").encode())
    assert main(["check", str(path)]) == 0
    assert main(["fmt", str(path)]) == 0
    assert path.read_bytes() == b"\xef\xbb\xbf" + SPEC.encode()
    assert format_source(path.read_text(encoding="utf-8")) == path.read_text(encoding="utf-8")


def test_a_grayscale_input_without_channel_axis_is_told_to_add_it():
    [d] = check_source(SPEC.replace("8x8x1", "28x28"), "m.cnn").diagnostics
    assert (d.code, d.span.line) == ("E205", 3)
    assert "add the channel axis" in d.help and "`input 28x28x1`" in d.help


def test_the_list_of_accepted_parameters_is_whole():
    [d] = check_source(SPEC.replace("conv2d 4 3", "conv2d 4 3 kernal_size=3"), "m.cnn").diagnostics
    assert d.code == "E103" and "did you mean 'kernel_size'?" in d.message
    listed = d.help.removeprefix("conv2d takes ").split(", ")
    assert set(listed) == {*Conv2D.model_fields, "name"}
    assert listed[:2] == ["filters", "kernel_size"]
