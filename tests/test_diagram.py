"""``specc diagram``: DOT and Mermaid text, and what Graphviz makes of them.

Graphviz itself (``dot -Tjson``, ``-Tsvg``, ``-Tpng``) parses and lays out the
DOT text: its view of the nodes and edges must be the model's; the SVG must
parse as XML and name every layer of ``specc summary``; the PNG must decode
with Pillow and not be blank. (Mermaid is rendered in a browser in
test_mermaid_browser.py.)
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from conftest import EXAMPLES, ROOT, require

import specc
from specc.cli import main
from specc.emit.diagram import build, to_dot, to_mermaid
from specc.report import model_json

RESNET = str(ROOT / "examples" / "tiny_resnet.cnn")


def _graphviz():
    require("graphviz")
    if shutil.which("dot") is None:
        import os

        if os.environ.get("SPECC_REQUIRE_ALL"):
            pytest.fail("Graphviz's dot is required in CI (apt-get install graphviz)")
        pytest.skip("Graphviz's dot is not installed")
    import graphviz

    return graphviz


def _layout(dot: str) -> dict:
    return json.loads(_graphviz().Source(dot).pipe(format="json"))


def _cli(capsys, *argv: str) -> tuple[int, str]:
    code = main(["diagram", *argv])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
@pytest.mark.parametrize("expand", [False, True], ids=["collapsed", "expanded"])
def test_graphviz_sees_the_models_graph(path, expand):
    for model in specc.load(path).models:
        layout = _layout(to_dot(build(model, expand)))
        kept = {n.index for n in [model.input, *model.layers]}
        boxes = {
            n.index: (
                f"b{n.block_call}" if n.block_call is not None and not expand else f"n{n.index}"
            )
            for n in model.nodes
            if n.index in kept
        }
        drawn = {o["name"] for o in layout["objects"] if not o["name"].startswith("cluster_")}
        assert drawn == set(boxes.values())
        names = {o["_gvid"]: o["name"] for o in layout["objects"]}
        edges = {
            (names[e["tail"]], names[e["head"]], e.get("label") or None)
            for e in layout.get("edges", [])
        }
        want = set()
        for node in model.nodes:
            if node.index not in kept:
                continue
            for position, source in enumerate(node.inputs):
                ref = f"@{model.nodes[source].name}" if position in node.ref_inputs else None
                if boxes[source] != boxes[node.index]:
                    want.add((boxes[source], boxes[node.index], ref))
        assert edges == want
        clusters = [o for o in layout["objects"] if o["name"].startswith("cluster_")]
        calls = {n.block_call for n in model.nodes if n.block_call is not None}
        assert len(clusters) == (len(calls) if expand else 0)


def test_merges_and_named_edges_are_drawn_as_such():
    model = specc.load(RESNET).model()
    dot = to_dot(build(model, expand_blocks=True))
    layout = _layout(dot)
    names = {o["_gvid"]: o["name"] for o in layout["objects"]}
    dashed = [
        (names[e["tail"]], names[e["head"]], e["label"])
        for e in layout["edges"]
        if e.get("style") == "dashed"
    ]
    stem, concat = model.node("stem").index, model.node("concatenate").index
    assert dashed == [(f"n{stem}", f"n{concat}", "@stem")]
    merges = {o["name"] for o in layout["objects"] if "#fdf0d5" in o.get("label", "")}
    assert merges == {f"n{n.index}" for n in model.nodes if n.kind in ("add", "concatenate")}
    mermaid = to_mermaid(build(model, expand_blocks=True))
    assert f'n{stem} -.->|"@stem"| n{concat}' in mermaid
    assert mermaid.count("{{") == 3 and mermaid.count("subgraph") == 2


def test_repeated_calls_of_one_block_are_separate_clusters(tmp_path):
    spec = tmp_path / "r.cnn"
    spec.write_text(
        "block unit(f) {\n  conv2d f 3x3 same relu\n  batchnorm\n}\n"
        "model r {\n  input 16x16x3\n  repeat 3 {\n    unit 8\n  }\n  flatten\n  dense 2\n}\n"
    )
    model = specc.load(spec).model()
    collapsed = build(model)
    assert [b.name for b in collapsed.boxes if b.role == "block"] == ["unit (line 8)"] * 3
    assert [len(b.layers) for b in collapsed.boxes if b.role == "block"] == [2, 2, 2]
    assert len(_layout(to_dot(build(model, True)))["objects"]) == 1 + 6 + 2 + 3


@pytest.mark.parametrize("expand", [[], ["--expand-blocks"]], ids=["collapsed", "expanded"])
def test_svg_parses_and_names_every_layer_of_the_summary(tmp_path, capsys, expand):
    _graphviz()
    out = tmp_path / "m.svg"
    assert _cli(capsys, RESNET, "-o", str(out), *expand)[0] == 0
    root = ET.parse(out).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    links = " ".join(
        a.get("{http://www.w3.org/1999/xlink}title", "")
        for a in root.iter("{http://www.w3.org/2000/svg}a")
    )
    words = set(texts.split())
    if not expand:  # a collapsed block call lists its layers in its tooltip
        words |= set(links.replace(",", " ").split())
    summary = model_json(specc.load(RESNET).model())
    for layer in summary["layers"]:
        assert layer["name"] in words, layer["name"]
    assert "input_layer" in texts.split()
    assert ("residual (line 19)" in texts) and ("@stem" in texts)


def test_png_and_pdf_render(tmp_path, capsys):
    _graphviz()
    pil = require("PIL.Image")
    png, pdf = tmp_path / "m.png", tmp_path / "m.pdf"
    assert _cli(capsys, RESNET, "-o", str(png), "--rankdir", "LR")[0] == 0
    assert _cli(capsys, RESNET, "-o", str(pdf))[0] == 0
    with pil.open(png) as image:
        pixels = np.asarray(image.convert("L"))
    assert image.width > image.height  # left to right
    assert pixels.min() < 64 and pixels.max() > 192 and (pixels < 128).mean() > 0.01
    assert pdf.read_bytes().startswith(b"%PDF-")


def test_text_outputs_are_deterministic_and_need_no_graphviz(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot on PATH
    for suffix in ("dot", "mmd"):
        first, second = tmp_path / f"a.{suffix}", tmp_path / f"b.{suffix}"
        assert _cli(capsys, RESNET, "-o", str(first))[0] == 0
        assert _cli(capsys, RESNET, "-o", str(second))[0] == 0
        assert first.read_bytes() == second.read_bytes()
    model = specc.load(RESNET).model()
    assert (tmp_path / "a.mmd").read_text() == to_mermaid(build(model))
    assert (tmp_path / "a.dot").read_text() == to_dot(build(model))


def test_without_graphviz_rendering_is_a_coded_error_with_the_install_hint(
    tmp_path, capsys, monkeypatch
):
    require("graphviz")
    monkeypatch.setenv("PATH", str(tmp_path))
    out = tmp_path / "m.svg"
    code, err = _cli(capsys, RESNET, "-o", str(out))
    assert code == 2
    assert "error[E613]" in err and "apt-get install graphviz" in err and ".mmd" in err
    assert "Traceback" not in err and not out.exists()


def test_a_spec_with_errors_writes_no_diagram(tmp_path, capsys):
    spec = tmp_path / "bad.cnn"
    spec.write_text("model m {\n  input 8x8x1\n  conv2d 4 9x9\n}\n")
    out = tmp_path / "m.mmd"
    code, err = _cli(capsys, str(spec), "-o", str(out))
    assert code == 1 and "E201" in err and not out.exists()


def test_the_pictures_of_the_docs_are_made_by_the_script(tmp_path):
    """Every picture README.md and docs/pictures.md show is committed and made by the script."""
    import re
    import subprocess
    import sys

    _graphviz()
    pil = require("PIL.Image")
    shown = set()
    for doc, prefix in (
        (ROOT / "README.md", "docs/images/"),
        (ROOT / "docs/pictures.md", "images/"),
    ):
        shown |= set(re.findall(rf"\]\({re.escape(prefix)}([\w.]+)\)", doc.read_text()))
    assert {"tiny_resnet.svg", "cifar10_featuremaps.png", "cifar10_filters.png"} <= shown
    script = ROOT / "scripts" / "make_pictures.py"
    proc = subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    for name in shown:
        assert (ROOT / "docs" / "images" / name).is_file(), name
        made = tmp_path / name
        if name.endswith(".svg"):  # the committed one is current: the same text drawn

            def texts(path):
                return [t.text for t in ET.parse(path).iter("{http://www.w3.org/2000/svg}text")]

            assert texts(made) == texts(ROOT / "docs" / "images" / name), name
        else:
            with pil.open(made) as image:
                assert np.asarray(image.convert("L")).std() > 10
