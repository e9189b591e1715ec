"""Write docs/layers.md from specc's own tables: every layer, parameter, default and name.

Usage: python docs/gen_layers.py [--check]

The layer classes (``specc.ir.layers``) give each kind, alias, positional
parameter and default; ``specc.ir.values`` the activations, initializers,
regularizers and constraints; ``specc.ir.training`` and ``specc.syntax.settings``
the vocabulary of ``compile`` and ``fit``. ``--check`` writes nothing and exits 1
when the committed page differs (tests/test_docs.py).
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path
from typing import Any

from specc.ir.layers import LAYER_CLASSES, Layer
from specc.ir.training import LOSSES, METRICS, OPTIMIZER_COMMON_ARGS, OPTIMIZERS
from specc.ir.values import ACTIVATIONS, CONSTRAINTS, INITIALIZERS, REGULARIZERS, FnValue
from specc.syntax.settings import COMPILE_ARGS, DATA_ARGS, FIT_ARGS

PAGE = Path(__file__).resolve().parent / "layers.md"

HEADER = """\
# Layers and values

Every layer kind specc accepts, with its parameters and their defaults (Keras's),
and every name a value may take. The [language reference](language.md) says how a
layer statement binds its arguments; this page is the vocabulary. It is generated
from specc's own tables by `python docs/gen_layers.py`, so it lists exactly what
the compiler accepts.

| kind | aliases | positional | Keras class |
|---|---|---|---|
"""


def spec_value(value: Any) -> str:
    """A default as a spec would write it: ``(1, 1)``, ``none``, ``glorot_uniform``."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, FnValue):
        args = ", ".join(f"{k}={spec_value(v)}" for k, v in value.kwargs)
        return f"{value.name}({args})" if value.kwargs else value.name
    if isinstance(value, tuple):
        inner = ", ".join(spec_value(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, str):
        return value
    return repr(value)


def _input(cls: type[Layer]) -> str:
    if cls.merge:
        high = getattr(cls, "max_inputs", None)
        low = getattr(cls, "min_inputs", 2)
        count = f"exactly {high}" if high == low else f"{low} or more"
        return f"{count} tensors (paths and `@references`), merged"
    if cls.input_rank == 3:
        return "a feature map, height x width x channels"
    return "a tensor of any rank"


def _layer(cls: type[Layer]) -> list[str]:
    lines = [f"## {cls.kind} {{#{cls.kind}}}", ""]
    doc = inspect.getdoc(cls)
    if doc and cls.__doc__ and "__doc__" in vars(cls):
        lines += [doc.split("\n\n")[0].replace("\n", " "), ""]
    facts = [f"Keras class: `keras.layers.{cls.keras_class}`"]
    if cls.aliases:
        facts.append("aliases: " + ", ".join(f"`{a}`" for a in cls.aliases))
    usage = " ".join([cls.kind, *cls.positional])
    facts.append(f"usage: `{usage} key=value...`")
    facts.append(f"input: {_input(cls)}")
    facts.append(f"automatic names: `{cls.auto_name}`, `{cls.auto_name}_1`, ...")
    if cls.bare_words:
        bare = [w for w in ("padding", "activation") if w in cls.model_fields]
        facts.append("bare words set " + " and ".join(f"`{w}`" for w in bare))
    lines += [f"- {fact}" for fact in facts] + ["", "| parameter | default |", "|---|---|"]
    fields = list(cls.model_fields.items())
    order = {name: i for i, name in enumerate(cls.positional)}
    fields.sort(key=lambda item: (order.get(item[0], len(order)), item[0] == "trainable"))
    for name, info in fields:
        default = "required" if info.is_required() else f"`{spec_value(info.default)}`"
        lines.append(f"| `{name}` | {default} |")
    return [*lines, ""]


def _names(words: list[str] | tuple[str, ...]) -> str:
    return ", ".join(f"`{w}`" for w in words)


def _call_table(title: str, table: dict[str, tuple[str, ...]]) -> list[str]:
    lines = [f"### {title}", "", "| name | arguments, in positional order |", "|---|---|"]
    for name, args in table.items():
        lines.append(f"| `{name}` | {_names(args) or 'none'} |")
    return [*lines, ""]


def _keras_table(title: str, table: dict[str, tuple[str, tuple[str, ...]]], note: str) -> list[str]:
    lines = [f"### {title}", "", note, "", "| name | Keras class | arguments |", "|---|---|---|"]
    for name, (keras_class, args) in table.items():
        lines.append(f"| `{name}` | `{keras_class}` | {_names(args) or 'none'} |")
    return [*lines, ""]


def render_page() -> str:
    """The whole page: the table of kinds, one section per layer, then the value names."""
    lines = [HEADER.rstrip("\n")]
    for cls in LAYER_CLASSES:
        aliases = ", ".join(f"`{a}`" for a in cls.aliases) or "—"
        positional = ", ".join(cls.positional) or "—"
        lines.append(
            f"| [`{cls.kind}`](#{cls.kind}) | {aliases} | {positional} | `{cls.keras_class}` |"
        )
    lines.append("")
    for cls in LAYER_CLASSES:
        lines += _layer(cls)
    lines += ["## Values by name", "", "### Activations", "", _names(ACTIVATIONS), ""]
    lines += _call_table("Initializers", INITIALIZERS)
    lines += _call_table("Regularizers", REGULARIZERS)
    lines += _call_table("Constraints", CONSTRAINTS)
    lines += ["## Training settings", ""]
    lines += [f"`compile` takes {_names(COMPILE_ARGS)}.", ""]
    lines += [f"`fit` takes {_names(FIT_ARGS)}; never data: {_names(DATA_ARGS)}.", ""]
    common = f"Besides these, every optimizer takes {_names(OPTIMIZER_COMMON_ARGS)}."
    lines += _keras_table("Optimizers", OPTIMIZERS, common)
    lines += _keras_table("Losses", LOSSES, "Each also takes `name` and `dtype`.")
    lines += _keras_table("Metrics", METRICS, "Each also takes `name` and `dtype`.")
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str]) -> int:
    """Write the page, or with ``--check`` report whether it is current."""
    page = render_page()
    if "--check" in argv:
        if not PAGE.exists() or PAGE.read_text(encoding="utf-8") != page:
            print(f"{PAGE} is out of date: run python docs/gen_layers.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(page, encoding="utf-8")
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
