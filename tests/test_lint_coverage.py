"""W403 warns only where no path sees the pixels a stride skips.

ResNet's and Xception's 1x1 stride-2 projection shortcuts skip pixels that
the main path's windows read, so ``specc check --strict`` passes on them; a
stride that leaves pixels unread by every path is still reported.
"""

from __future__ import annotations

import pytest

from specc.check import check_source

XCEPTION_ENTRY_BLOCK = """
model xception_block {
  input 37x37x16
  conv2d 16 3 same name=stem
  add {
    path {
      conv2d 32 1x1 strides=2 padding=same use_bias=false
      batchnorm
    }
    path {
      sepconv 32 3 same use_bias=false
      batchnorm
      relu
      sepconv 32 3 same use_bias=false
      batchnorm
      maxpool 3 strides=2 padding=same
    }
  }
  globalavgpool
  dense 10
}
"""

RESNET_V2_LAST_BLOCK = """
model resnet_v2_block {
  input 28x28x16
  add {
    path {
      maxpool 1 strides=2
    }
    path {
      batchnorm
      relu
      conv2d 8 1 use_bias=false
      zeropad 1
      conv2d 8 3 strides=2 use_bias=false
      conv2d 16 1
    }
  }
  flatten
  dense 2
}
"""

# The shortcut reads a batchnorm of the block input; the main path reads the input itself.
SHORTCUT_AFTER_BATCHNORM = """
model shortcut_after_batchnorm {
  input 16x16x8
  add {
    path {
      batchnorm
      relu
      conv2d 16 1 strides=2
    }
    path {
      conv2d 16 3 strides=2 padding=same
    }
  }
  globalmaxpool
}
"""


@pytest.mark.parametrize(
    "source", [XCEPTION_ENTRY_BLOCK, RESNET_V2_LAST_BLOCK, SHORTCUT_AFTER_BATCHNORM]
)
def test_projection_shortcuts_are_not_warned(source):
    result = check_source(source, "m.cnn")
    assert result.models and result.diagnostics == []


UNSEEN = [
    # A plain stack: nothing else reads the skipped pixels.
    ("model m {\n  input 16x16x3\n  conv2d 8 1 strides=2\n  flatten\n  dense 2\n}\n", [3]),
    # Both paths skip the same pixels (ResNet v1's first block of a stage does this).
    (
        "model m {\n  input 16x16x3\n  add {\n    path {\n      conv2d 8 1 strides=2\n    }\n"
        "    path {\n      conv2d 8 1 strides=2\n      conv2d 8 3 same\n    }\n  }\n"
        "  flatten\n  dense 2\n}\n",
        [5, 8],
    ),
    # The other path skips the same rows: only columns are covered.
    (
        "model m {\n  input 16x16x3\n  add {\n    path {\n      avgpool 1 strides=2\n    }\n"
        "    path {\n      avgpool (1, 2) strides=2\n    }\n  }\n  flatten\n  dense 2\n}\n",
        [5, 8],
    ),
]


@pytest.mark.parametrize(("source", "lines"), UNSEEN)
def test_pixels_no_path_reads_are_warned(source, lines):
    diagnostics = check_source(source, "m.cnn").diagnostics
    assert [(d.code, d.span.line) for d in diagnostics] == [("W403", line) for line in lines]
    assert "never seen" in diagnostics[0].message


def test_strict_passes_on_a_projection_shortcut(tmp_path, capsys):
    from specc.cli import main

    path = tmp_path / "xception_block.cnn"
    path.write_text(XCEPTION_ENTRY_BLOCK, encoding="utf-8")
    assert main(["check", "--strict", str(path)]) == 0
    path.write_text(UNSEEN[0][0], encoding="utf-8")
    assert main(["check", "--strict", str(path)]) == 1
