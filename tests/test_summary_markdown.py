"""``specc summary --format markdown``: a GitHub-flavoured table and a Mermaid block.

The output is parsed by markdown-it-py (CommonMark with GFM tables, the
parser rich ships with): its table must hold one row per layer of the
summary JSON, in order, and its ```` ```mermaid ```` fence the model's
diagram (rendered by real Mermaid in test_mermaid_browser.py).
"""

from __future__ import annotations

import pytest
from conftest import EXAMPLES, ROOT

import specc
from specc.cli import main
from specc.emit.diagram import build, to_mermaid
from specc.report import model_json


def _parse(text: str):
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table").parse(text)


def _tables(tokens) -> list[list[list[str]]]:
    tables, rows, row = [], [], None
    for i, token in enumerate(tokens):
        if token.type == "table_open":
            rows = []
        elif token.type == "tr_open":
            row = []
        elif token.type in ("th_open", "td_open"):
            row.append(tokens[i + 1].content)
        elif token.type == "tr_close":
            rows.append(row)
        elif token.type == "table_close":
            tables.append(rows)
    return tables


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_markdown_has_the_table_and_the_diagram_of_each_model(path, capsys):
    assert main(["summary", "--format", "markdown", str(path)]) == 0
    text = capsys.readouterr().out
    tokens = _parse(text)
    models = specc.load(path).models
    tables = _tables(tokens)
    fences = [t for t in tokens if t.type == "fence"]
    assert len(tables) == len(fences) == len(models)
    for model, table, fence in zip(models, tables, fences, strict=True):
        summary = model_json(model)
        assert table[0] == ["Layer", "Kind", "Output shape", "Param #", "MACs", "Line"]
        assert [row[0] for row in table[1:]] == [
            "input_layer",
            *(x["name"] for x in summary["layers"]),
        ]
        for row, layer in zip(table[2:], summary["layers"], strict=True):
            assert row[2] == "(None, " + ", ".join(map(str, layer["output_shape"])) + ")"
            assert int(row[3].replace(",", "")) == layer["params"]
            assert int(row[4].replace(",", "")) == layer["macs"]
            assert row[5].split()[0] == str(layer["line"])
        assert f"**{summary['params']:,}**" in text
        assert fence.info == "mermaid"
        assert fence.content == to_mermaid(build(model))


def test_markdown_kinds_are_keras_class_names(capsys):
    assert (
        main(["summary", "--format", "markdown", str(ROOT / "examples" / "tiny_resnet.cnn")]) == 0
    )
    table = _tables(_parse(capsys.readouterr().out))[0]
    kinds = {row[0]: row[1] for row in table[1:]}
    assert (
        kinds["stem"] == "Conv2D" and kinds["global_average_pooling2d"] == "GlobalAveragePooling2D"
    )
    assert kinds["input_layer"] == "InputLayer" and kinds["add"] == "Add"
