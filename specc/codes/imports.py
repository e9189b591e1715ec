"""E7xx: model files brought in by ``specc import`` and ``specc weights import``."""

from __future__ import annotations

from specc.codes.base import EXIT_SPEC, EXIT_USAGE, error

_IMPORT = "specc import model.keras -o imported.cnn"

E701 = error(
    "E701",
    "file is not a model specc can import",
    exit_class=EXIT_USAGE,
    doc="The file is missing, truncated, not a `.keras` archive, legacy `.h5` or ONNX model, "
    "or holds a member larger than specc reads. Nothing in it is run, and nothing is written.",
    example="",
    command="specc import notes.txt -o imported.cnn",
    setup="notes.txt is a text file",
    fix="Save the model with `model.save('m.keras')`, or export it with `torch.onnx.export`.",
)
E702 = error(
    "E702",
    "layer or operator specc cannot express",
    exit_class=EXIT_SPEC,
    doc="The model uses a layer class or ONNX operator that specc's layer table does not "
    "have, a nested model, or a `keras.ops` function used as a layer. The message names the "
    "first such layer (or node and op type) and counts the others.",
    example="",
    command=_IMPORT,
    setup="model.keras holds an Embedding layer",
    fix="Rebuild that part of the model from the layers listed in the help line.",
)
E703 = error(
    "E703",
    "custom or Lambda layer: code that specc never runs",
    exit_class=EXIT_SPEC,
    doc="A Lambda layer or a custom layer class carries Python code that is not in the file. "
    "specc never runs code from an imported model (no `safe_mode=False`, no pickles).",
    example="",
    command=_IMPORT,
    setup="model.keras holds a Lambda layer",
    fix="Replace the layer with built-in Keras layers before saving the model.",
)
E704 = error(
    "E704",
    "parameter or attribute value specc cannot express",
    exit_class=EXIT_SPEC,
    doc="A layer's parameter (or an ONNX node's attribute) has a value the spec language "
    "cannot hold: an unknown initializer, a dtype other than float32, a padding that no "
    "`zeropadding2d` plus window reproduces exactly.",
    example="",
    command=_IMPORT,
    setup="model.keras holds a Dense layer of dtype float16",
    fix="Change the value in the source model, or save the model in float32.",
)
E705 = error(
    "E705",
    "graph structure specc cannot express",
    exit_class=EXIT_SPEC,
    doc="The model's graph has a shape the language cannot write: several inputs or "
    "outputs, or a layer shared between calls.",
    example="",
    command=_IMPORT,
    setup="model.keras has two inputs",
    fix="Import a single-input, single-output model, or split the model.",
)
E706 = error(
    "E706",
    "model file's weights do not fit its layers",
    exit_class=EXIT_SPEC,
    doc="An array of the model file is missing, misshapen or not numeric, so the imported "
    "weights would not be the model's.",
    example="",
    command=_IMPORT,
    setup="model.keras has no model.weights.h5",
    fix="Save the whole model again (`model.save`), weights included.",
)
E707 = error(
    "E707",
    "imported spec disagrees with the source model",
    exit_class=EXIT_SPEC,
    doc="specc checks every spec it writes: each layer's output shape must equal the one "
    "the model file records. A disagreement is a bug in specc import, or a file that "
    "contradicts itself (a config edited by hand); nothing is written.",
    example="",
    command=_IMPORT,
    setup="model.keras records an output shape its layers do not give",
    fix="Save the model again from Keras; if it still disagrees, report it with the model file.",
)
