"""Regenerate the pictures of README.md and docs/pictures.md from the shipped examples.

    python scripts/make_pictures.py [--weights W.npz] [--out DIR]

Every picture is made by the specc command line, as a user would make it:
``specc diagram`` of tiny_resnet, and ``specc featuremaps`` and ``specc
filters`` of the CIFAR example on ``docs/images/sample.png`` (a 32x32 scene
drawn here, so nothing downloaded is needed). The weights are ``specc init
--seed 0`` unless ``--weights`` names trained ones. Same inputs, same bytes.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"
RESNET = "examples/tiny_resnet.cnn"
CIFAR = "examples/cifar10_cnn.cnn"


def sample_image(path: Path) -> None:
    """A 32x32 RGB scene (sky, sun, house, grass) with edges at several angles."""
    import numpy as np
    from PIL import Image, ImageDraw

    rows = np.linspace(0, 1, 32)[:, None, None]
    sky = (1 - rows) * np.array([90, 150, 235]) + rows * np.array([200, 225, 255])
    image = Image.fromarray(np.broadcast_to(sky, (32, 32, 3)).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 24, 31, 31], fill=(70, 150, 60))
    draw.ellipse([21, 3, 28, 10], fill=(250, 215, 60))
    draw.rectangle([5, 15, 17, 26], fill=(190, 80, 60))
    draw.polygon([(3, 15), (11, 7), (19, 15)], fill=(110, 60, 50))
    draw.rectangle([9, 20, 12, 26], fill=(60, 40, 30))
    image.save(path, format="PNG", optimize=False)


def specc(*argv: str) -> None:
    """Run one specc command line; stop on failure."""
    from specc.cli import main

    print("specc", " ".join(argv))
    status = main(list(argv))
    if status != 0:
        sys.exit(f"specc {' '.join(argv)} failed with exit status {status}")


def main() -> None:
    """Write every picture into docs/images/."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", help="trained weights of examples/cifar10_cnn.cnn")
    parser.add_argument("--out", type=Path, default=IMAGES, help="default: docs/images")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    out = os.path.relpath(args.out.resolve(), ROOT)
    specc("diagram", RESNET, "-o", f"{out}/tiny_resnet.svg")
    specc("diagram", RESNET, "-o", f"{out}/tiny_resnet_blocks.svg", "--expand-blocks")
    specc(
        "diagram",
        "examples/inception_mini.cnn",
        "-o",
        f"{out}/inception_mini.svg",
        "--rankdir",
        "LR",
    )
    sample_image(args.out / "sample.png")
    with tempfile.TemporaryDirectory() as tmp:
        weights = args.weights or f"{tmp}/w.npz"
        if not args.weights:
            specc("init", CIFAR, "-o", weights, "--seed", "0")
        specc(
            "featuremaps", CIFAR, "--input", f"{out}/sample.png", "-w", weights,
            "--max-channels", "16", "-o", f"{out}/cifar10_featuremaps.png",
        )  # fmt: skip
        specc(
            "filters", CIFAR, "-w", weights, "--layer", "conv2d", "-o", f"{out}/cifar10_filters.png"
        )


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    main()
