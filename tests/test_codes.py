"""The code registry (specc.codes): one object per code, the only table of them."""

from __future__ import annotations

import json
import re

import pytest
from conftest import ROOT

from specc.codes import E201, EXIT_SPEC, EXIT_USAGE, REGISTRY, Code, exit_class, lookup
from specc.diagnostics import CODES, Diagnostic, Span, sarif_log

_LITERAL = re.compile(r"""["']([EW]\d{3})["']""")


def _sources() -> dict[str, str]:
    package = ROOT / "specc"
    return {
        str(p.relative_to(ROOT)): p.read_text(encoding="utf-8")
        for p in package.rglob("*.py")
        if "codes" not in p.relative_to(package).parts
    }


def test_every_code_written_in_specc_is_registered():
    unregistered = {
        f"{path}: {code}"
        for path, text in _sources().items()
        for code in _LITERAL.findall(text)
        if code not in REGISTRY
    }
    assert not unregistered


def test_every_registered_code_is_reported_somewhere():
    """No dead entries: each code is written (a literal or its constant) outside the registry."""
    written = {c for text in _sources().values() for c in re.findall(r"\b([EW]\d{3})\b", text)}
    assert set(REGISTRY) <= written, set(REGISTRY) - written


def test_registry_order_groups_and_classes():
    codes = list(REGISTRY)
    assert codes == sorted(codes, key=lambda c: c[1:])
    for code, entry in REGISTRY.items():
        assert re.fullmatch(r"E[1-35-8]\d\d|W4\d\d", code), code
        assert entry.code == code and entry.severity == ("warning" if code[0] == "W" else "error")
        # The language and what Keras refuses are the spec's fault; what the user
        # passed besides the spec (a file, weights, an input, a machine) is not.
        if code[1] in "1234" and code != "E100":
            assert entry.exit_class == EXIT_SPEC, code
    assert CODES == {code: entry.title for code, entry in REGISTRY.items()}
    assert {REGISTRY[c].exit_class for c in ("E100", "E501", "E504", "E601", "E605")} == {2}
    assert {REGISTRY[c].exit_class for c in ("E606", "E607")} == {EXIT_SPEC}
    # A file that is no model is like an unreadable file; a model specc cannot
    # write as a spec is refused as a spec would be.
    assert REGISTRY["E701"].exit_class == 2
    assert {REGISTRY[c].exit_class for c in REGISTRY if "E702" <= c <= "E799"} == {EXIT_SPEC}


def test_exit_class_of_diagnostics():
    assert exit_class([]) == 0
    assert exit_class("E201") == exit_class(E201) == EXIT_SPEC
    assert exit_class(["W401", "E201"]) == EXIT_SPEC
    assert exit_class(["E201", "E504"]) == EXIT_USAGE
    with pytest.raises(KeyError):
        exit_class("E999")


def test_a_code_is_its_string_and_immutable():
    assert E201 == "E201" and lookup("E201") is E201 and isinstance(E201, Code)
    assert json.dumps({E201: [E201]}) == '{"E201": ["E201"]}'
    diagnostic = Diagnostic(E201, "m", Span("f.cnn", 1, 1, 1, 2))
    assert type(diagnostic.code) is str and diagnostic == Diagnostic("E201", "m", diagnostic.span)
    with pytest.raises(AttributeError):
        E201.title = "changed"  # type: ignore[misc]
    assert E201.replace(command="specc check --strict example.cnn").title == E201.title
    with pytest.raises(ValueError, match="unregistered"):
        Diagnostic("E999", "m", diagnostic.span)
    with pytest.raises(ValueError):
        Code("W999", "t", "error", 1, doc="d", example="", fix="f")


def test_sarif_rules_carry_title_doc_and_fix():
    span = Span("f.cnn", 3, 3, 3, 9)
    log = sarif_log([Diagnostic("E201", "m", span), Diagnostic("W401", "w", span)], "0")
    rules = {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}
    for code, rule in rules.items():
        entry = REGISTRY[code]
        assert rule["shortDescription"]["text"] == entry.title
        assert rule["fullDescription"]["text"] == entry.doc
        assert rule["help"]["text"] == entry.fix
        assert rule["defaultConfiguration"]["level"] == entry.severity
