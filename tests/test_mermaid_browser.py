"""Mermaid text is rendered by the real ``mermaid`` package in headless Chromium.

The package comes from npm (pinned, installed into a cache outside the
checkout: ``$SPECC_NODE_CACHE``, default ``~/.cache/specc/node``; .ci/run
installs it, and this test does when it is missing). Chromium is Debian's
``chromium``. A page loads ``mermaid.min.js`` from that cache, parses and
renders each diagram; the test reads the rendered DOM (every layer named, the
``@name`` edge labelled, no syntax error) and a screenshot (not blank).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, require

import specc
from specc.emit.diagram import build, to_mermaid
from specc.emit.markdown import summary_markdown

MERMAID_VERSION = "11.17.2"  # GitHub renders ```mermaid blocks with Mermaid 11
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--virtual-time-budget=30000",
]


def _missing(what: str) -> None:
    if os.environ.get("SPECC_REQUIRE_ALL"):
        pytest.fail(f"{what} is required in CI")
    pytest.skip(f"{what} is not available")


def _mermaid_js() -> Path:
    prefix = Path(os.environ.get("SPECC_NODE_CACHE") or Path.home() / ".cache" / "specc" / "node")
    package = prefix / "node_modules" / "mermaid"
    try:
        installed = json.loads((package / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        installed = None
    if installed != MERMAID_VERSION:
        npm = shutil.which("npm")
        if npm is None:
            _missing("npm (to install the mermaid package)")
        prefix.mkdir(parents=True, exist_ok=True)
        command = [npm, "install", "--prefix", str(prefix), "--no-save", "--no-audit"]
        command += ["--no-fund", "--ignore-scripts", f"mermaid@{MERMAID_VERSION}"]
        subprocess.run(
            command,
            check=True,
            capture_output=True,
            timeout=600,
        )
    return package / "dist" / "mermaid.min.js"


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        _missing("Debian's chromium (apt-get install chromium)")
    return found


def _page(diagrams: list[str], script: Path) -> str:
    """HTML that renders each diagram into #out<i> and writes the outcome into #status<i>."""
    return f"""<!doctype html><html><head><meta charset="utf-8">
<script src="{script.as_uri()}"></script></head><body style="margin:0;background:#fff">
{"".join(f'<div id="out{i}"></div><pre id="status{i}">pending</pre>' for i in range(len(diagrams)))}
<script>
mermaid.initialize({{startOnLoad: false, securityLevel: "strict"}});
const diagrams = {json.dumps(diagrams)};
(async () => {{
  for (let i = 0; i < diagrams.length; i++) {{
    const status = document.getElementById("status" + i);
    try {{
      await mermaid.parse(diagrams[i]);
      const {{svg}} = await mermaid.render("d" + i, diagrams[i]);
      document.getElementById("out" + i).innerHTML = svg;
      status.textContent = "rendered";
    }} catch (e) {{
      status.textContent = "error: " + e;
    }}
  }}
}})();
</script></body></html>"""


def _render(diagrams: list[str], tmp: Path) -> tuple[str, Path]:
    chromium = _chromium()
    page = tmp / "page.html"
    page.write_text(_page(diagrams, _mermaid_js()), encoding="utf-8")
    shot = tmp / "shot.png"
    results = []
    for extra in (["--dump-dom"], ["--window-size=1400,3000", f"--screenshot={shot}"]):
        with tempfile.TemporaryDirectory() as profile:
            proc = subprocess.run(
                [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
                capture_output=True,
                text=True,
                timeout=180,
            )
        assert proc.returncode == 0, proc.stderr[-2000:]
        results.append(proc.stdout)
    return results[0], shot


def test_mermaid_renders_every_layer_in_chromium(tmp_path):
    pil = require("PIL.Image")
    resnet = specc.load(ROOT / "examples" / "tiny_resnet.cnn").model()
    inception = specc.load(ROOT / "examples" / "inception_mini.cnn").model()
    markdown = summary_markdown([resnet], "examples/tiny_resnet.cnn")
    from_markdown = markdown.split("```mermaid\n", 1)[1].split("```", 1)[0]
    diagrams = [
        to_mermaid(build(resnet, expand_blocks=True)),
        to_mermaid(build(inception, expand_blocks=True), "LR"),
        from_markdown,  # what GitHub shows in a step summary
    ]
    dom, shot = _render(diagrams, tmp_path)
    for i in range(len(diagrams)):
        assert f'id="status{i}">rendered<' in dom, dom[dom.find(f'id="status{i}"') :][:400]
    assert "Syntax error" not in dom
    for model in (resnet, inception):
        for node in [model.input, *model.layers]:
            assert f"<b>{node.name}</b>" in dom, node.name
    assert dom.count(">@stem<") == 2  # both tiny_resnet diagrams label the @stem edge
    assert "residual (line 19)" in dom and "inception (line 28)" in dom
    with pil.open(shot) as image:
        pixels = np.asarray(image.convert("L"))
    assert pixels.shape == (3000, 1400)
    assert (pixels < 128).mean() > 0.003 and pixels.std() > 10  # drawn, not blank
