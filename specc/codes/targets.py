"""E5xx weights files, E6xx inputs, backends, targets and outputs (after the spec checks)."""

from __future__ import annotations

from specc.codes.base import EXIT_SPEC, EXIT_USAGE, error

_DENSE = "model m {\n  input 784\n  dense 10 softmax\n}\n"
_RUN = "specc run example.cnn --input x.npy"
_RUN_WEIGHTS = _RUN + " --weights weights.npz"

E501 = error(
    "E501",
    "weights file cannot be read",
    exit_class=EXIT_USAGE,
    doc="The weights file does not exist or is not a NumPy `.npz` archive.",
    example=_DENSE,
    command=_RUN_WEIGHTS,
    setup="weights.npz is a text file",
    fix="Pass a `.npz` written by `specc init` or by the generated module's weights export.",
)
E502 = error(
    "E502",
    "weights file lacks an array the model needs",
    exit_class=EXIT_USAGE,
    doc="Every weight of the model must be in the file, keyed `LAYER/WEIGHT` "
    "(`dense/kernel`); layer names are the spec's (`name=` or Keras's automatic names).",
    example=_DENSE,
    command=_RUN_WEIGHTS,
    setup="weights.npz holds dense/kernel but not dense/bias",
    fix="Write the weights for this model (`specc init`), or name the layers as the file does.",
)
E503 = error(
    "E503",
    "weights file holds an array the model does not have",
    exit_class=EXIT_USAGE,
    doc="The file has an array no weight of the model takes, usually weights of another "
    "model or of a renamed layer. Nothing is loaded rather than some of it.",
    example=_DENSE,
    command=_RUN_WEIGHTS,
    setup="weights.npz holds dense/kernel, dense/bias and dense_1/kernel",
    fix="Use the weights of this model, or rename the layer back.",
)
E504 = error(
    "E504",
    "weight array of the wrong shape",
    exit_class=EXIT_USAGE,
    doc="An array has another shape than the weight of the model (both are named): the "
    "file was written for a model with other units, filters or input size.",
    example=_DENSE,
    command=_RUN_WEIGHTS,
    setup="weights.npz holds dense/kernel of shape (784, 20)",
    fix="Write the weights for this model (`specc init`).",
)
E505 = error(
    "E505",
    "weight array of the wrong dtype or with non-finite values",
    exit_class=EXIT_USAGE,
    doc="Weights must be floating-point arrays without NaN or infinity.",
    example=_DENSE,
    command=_RUN_WEIGHTS,
    setup="weights.npz holds a dense/kernel full of NaN",
    fix="Write finite float32 weights; a NaN usually comes from a diverged training run.",
)
E601 = error(
    "E601",
    "input cannot be read",
    exit_class=EXIT_USAGE,
    doc="`--input` is not a readable `.npy`, `.npz` or image file (images need Pillow: "
    "`pip install 'specc[images]'`).",
    example=_DENSE,
    command="specc run example.cnn --input missing.npy",
    fix="Check the path and the file's format.",
)
E602 = error(
    "E602",
    "input of the wrong shape",
    exit_class=EXIT_USAGE,
    doc="The input is neither one sample of the model's input shape nor a batch of them.",
    example=_DENSE,
    command=_RUN,
    setup="x.npy holds an array of shape (28, 28)",
    fix="Reshape the array to the model's input shape (here 784) or a batch of it.",
)
E603 = error(
    "E603",
    "input of the wrong dtype",
    exit_class=EXIT_USAGE,
    doc="The input array is not numeric (strings, objects); integers and floats are "
    "converted to float32.",
    example=_DENSE,
    command=_RUN,
    setup="x.npy holds 784 strings",
    fix="Save a numeric array.",
)
E604 = error(
    "E604",
    "input holds NaN or infinity",
    exit_class=EXIT_USAGE,
    doc="NaN and infinity are refused by default: backends may propagate them differently.",
    example=_DENSE,
    command=_RUN,
    setup="x.npy holds 784 values, one of them NaN",
    fix="Clean the input, or pass `--allow-nan` to run it through with IEEE results.",
)
E605 = error(
    "E605",
    "backend or device not available",
    exit_class=EXIT_USAGE,
    doc="The backend or device asked for is not installed on this machine: CuPy and a "
    "CUDA GPU for `--device gpu` on the numpy backend, TensorFlow for `--backend "
    "tensorflow`, onnxruntime (with its CUDA provider on a GPU) for `--backend "
    "onnxruntime`.",
    example=_DENSE,
    command=_RUN + " --device gpu",
    setup="this machine has no CuPy",
    fix="Install what the help line names, or use `--device cpu` / another backend.",
)
E606 = error(
    "E606",
    "model has errors and cannot run",
    exit_class=EXIT_SPEC,
    doc="The Python API was given a model whose check found errors (its shapes are not "
    "all known). The commands refuse such a spec before they get here.",
    example="model m {\n  input 3x3x1\n  conv2d 8 5x5\n}\n",
    command="",
    python="import numpy as np\n\nimport specc\nfrom specc.diagnostics import SpeccError, "
    "render_text\nfrom specc.runtime import run\n\n"
    'result = specc.load("example.cnn")  # its diagnostics: E201\n'
    "try:\n    run(result.model(), np.zeros((3, 3, 1), np.float32))\n"
    "except SpeccError as exc:\n"
    '    print(render_text(exc.diagnostics, {"example.cnn": result.source}))\n',
    fix="Fix the errors that `specc check` reports first.",
)
E607 = error(
    "E607",
    "the target cannot express this",
    exit_class=EXIT_SPEC,
    doc="The spec is valid, but the chosen target has no way to write one of its values: "
    "ONNX's Resize has no `lanczos3`, `lanczos5` or `area` interpolation; Keras code "
    "cannot take an infinite number or a Python keyword as an argument name.",
    example="model m {\n  input 8x8x3\n  upsampling2d 2 interpolation=lanczos3\n}\n",
    command="specc onnx example.cnn -o model.onnx",
    fix="Use a value the target has (`interpolation=bilinear`), or another target.",
)
E611 = error(
    "E611",
    "no layer of that name in the model",
    exit_class=EXIT_USAGE,
    doc="A command-line option names a layer the model does not have: `specc run --taps`, "
    "`specc featuremaps --layers`, `specc filters --layer`. The help line lists the "
    "model's layers.",
    example=_DENSE,
    command=_RUN + " --taps dense_1 -o taps.npz",
    setup="x.npy holds one sample",
    fix="Use a name `specc summary` lists (Keras's automatic names, or the `name=` given).",
)
E612 = error(
    "E612",
    "layer of the wrong kind for the command",
    exit_class=EXIT_USAGE,
    doc="The layer exists but cannot be shown this way: `specc filters` draws the kernels of "
    "a convolution, `specc featuremaps` the outputs of layers that produce feature maps.",
    example=_DENSE,
    command="specc filters example.cnn --weights weights.npz --layer dense -o filters.png",
    setup="weights.npz holds the model's weights",
    fix="Name a convolution (`conv2d`, `depthwiseconv2d`, ...) or a layer with a "
    "height x width x channels output.",
)
E613 = error(
    "E613",
    "a program or package the output needs is missing",
    exit_class=EXIT_USAGE,
    doc="Writing this output needs software this machine lacks: Graphviz (its `dot` program "
    "and the `graphviz` package) for `.svg`, `.png` and `.pdf` diagrams, matplotlib for "
    "a colormap other than gray.",
    example=_DENSE,
    command="specc diagram example.cnn -o model.svg",
    setup="this machine has no graphviz package",
    fix="Install what the help line names, or write an output that needs none "
    "(`-o model.dot`, `-o model.mmd`, `--colormap gray`).",
)
E614 = error(
    "E614",
    "unsupported output format or option",
    exit_class=EXIT_USAGE,
    doc="An output file's suffix names no format the command writes, or an option does not "
    "fit the others (`--taps` needs `-o TAPS.npz` and the numpy backend; a colormap "
    "matplotlib does not have).",
    example=_DENSE,
    command="specc diagram example.cnn -o model.xyz",
    fix="Use a suffix the help line lists, or the options it names.",
)
E615 = error(
    "E615",
    "output file cannot be written",
    exit_class=EXIT_USAGE,
    doc="The `-o` path cannot take a file: a folder on the way is a file, the folder is "
    "read-only, or the path names a block device or socket. A symlink's target is written "
    "and the link kept; a character device or FIFO (`/dev/null`, `/dev/stdout`) is written "
    "straight through. Nothing is left half-written.",
    example=_DENSE,
    command="specc init example.cnn -o example.cnn/weights.npz",
    fix="Choose a path in a folder you can write to.",
)
