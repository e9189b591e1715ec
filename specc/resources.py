"""Files shipped beside the package: the grammar and the Jinja2 templates.

In a wheel they live inside ``specc/`` (hatchling force-include); in a source
checkout or an editable install they are the top-level folders of the repo.
(Plain paths, not importlib.resources: this runs on every ``specc check``.)
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(folder: str) -> Path:
    """The folder ``grammar`` or ``templates``, wherever the install put it."""
    packaged = _PACKAGE / folder
    if packaged.is_dir():
        return packaged
    return _PACKAGE.parent / folder


def read_resource(folder: str, name: str) -> str:
    """The text of a shipped file."""
    return (resource_dir(folder) / name).read_text(encoding="utf-8")
