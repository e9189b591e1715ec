"""E2xx what Keras would refuse, E3xx expectations and budgets, W4xx lint warnings."""

from __future__ import annotations

from specc.codes.base import error, warning

E201 = error(
    "E201",
    "empty output: kernel or pool does not fit its input",
    doc="A convolution or pooling window is larger than the (padded) feature map it "
    "slides over, so the output would have no pixels; Keras refuses the model.",
    example="model m {\n  input 3x3x1\n  conv2d 8 5x5\n}\n",
    fix="Use `padding=same`, a smaller kernel, or fewer pooling layers before it.",
)
E202 = error(
    "E202",
    "groups do not divide the channels",
    doc="A grouped convolution splits its input channels and its filters into `groups` "
    "equal parts; both counts must be multiples of `groups`.",
    example="model m {\n  input 32x32x3\n  conv2d 32 3x3 groups=2\n}\n",
    fix="Choose `groups` among the common divisors of the input channels and the filters.",
)
E203 = error(
    "E203",
    "strides > 1 with dilation_rate > 1",
    doc="Keras's Conv2D and Conv2DTranspose refuse strides and dilation together.",
    example="model m {\n  input 32x32x3\n  conv2d 32 3x3 strides=2 dilation_rate=2\n}\n",
    fix="Use `strides=1` with the dilation, or `dilation_rate=1` with the strides.",
)
E204 = error(
    "E204",
    "incompatible merge inputs",
    doc="The inputs of a merge layer cannot be merged: `add`, `multiply`, `average`, "
    "`maximum`, `minimum` and `subtract` need one shape (after broadcasting), "
    "`concatenate` needs equal shapes except on its axis; a merge needs at least two "
    "inputs (`subtract` exactly two).",
    example="model m {\n  input 32x32x3\n  conv2d 16 3x3 same\n  add {\n    path { }\n"
    "    path {\n      conv2d 32 3x3 same\n    }\n  }\n}\n",
    fix="Give the paths the same shape, for example a 1x1 convolution on the shortcut.",
)
E205 = error(
    "E205",
    "input of the wrong rank",
    doc="A layer gets a tensor of a rank it cannot take: a convolution or pooling layer "
    "needs a height x width x channels feature map, so it cannot follow `flatten` or "
    "`dense` on a vector.",
    example="model m {\n  input 32x32x3\n  flatten\n  conv2d 8 3x3\n}\n",
    fix="Move `flatten` after the convolutions, or `reshape` the vector into a feature map.",
)
E206 = error(
    "E206",
    "reshape does not preserve the number of elements",
    doc="`reshape` must keep the number of elements of its input (one axis may be -1).",
    example="model m {\n  input 4x4x1\n  reshape (5, 5)\n}\n",
    fix="Choose a target shape with the same product, or -1 for one axis.",
)
E207 = error(
    "E207",
    "tensor or weight too large",
    doc="A tensor or weight array would hold more elements than any runtime can allocate.",
    example="model m {\n  input 784\n  dense 100000000000\n}\n",
    fix="Use fewer units or filters, or a smaller input.",
)
E301 = error(
    "E301",
    "expectation failed",
    doc="An `expect` line does not hold for the model: the message gives the actual value.",
    example="model m {\n  input 784\n  dense 10\n  expect params == 7840\n}\n",
    fix="Fix the model, or the expectation when the model is right (dense has a bias).",
)
E302 = error(
    "E302",
    "parameter budget exceeded",
    doc="The model has more parameters than `specc check --max-params N` (or "
    "`specc lsp --max-params N`) allows.",
    example="model m {\n  input 784\n  dense 128 relu\n  dense 10\n}\n",
    command="specc check example.cnn --max-params 50k",
    fix="Make the model smaller, or raise the budget.",
)
E303 = error(
    "E303",
    "MAC budget exceeded",
    doc="One sample costs more multiply-accumulates than `--max-macs N` allows.",
    example="model m {\n  input 32x32x3\n  conv2d 64 3x3 same\n}\n",
    command="specc check example.cnn --max-macs 1M",
    fix="Use fewer filters, smaller inputs, or strides; or raise the budget.",
)
W401 = warning(
    "W401",
    "dense applied to a feature map",
    doc="`dense` on a tensor of rank > 1 is applied to every position separately (Keras "
    "allows it), which is rarely what a classifier head means.",
    example="model m {\n  input 8x8x3\n  dense 10\n}\n",
    fix="Put `flatten` or `globalavgpool` before it; add `# noqa: W401` if per-position "
    "dense is intended.",
)
W402 = warning(
    "W402",
    "probabilities fed to a from_logits loss",
    doc="The output already goes through softmax or sigmoid while the loss says "
    "`from_logits=true`, so the loss applies it a second time and training suffers.",
    example="model m {\n  input 784\n  dense 10 softmax\n\n  compile optimizer=adam "
    "loss=sparse_categorical_crossentropy(from_logits=true)\n}\n",
    fix="Drop the output activation or the `from_logits=true`.",
)
W403 = warning(
    "W403",
    "stride larger than the kernel",
    doc="A convolution or pooling window moves by more than its own size, so some pixels "
    "are never seen by any path of the model.",
    example="model m {\n  input 32x32x3\n  conv2d 8 2x2 strides=3\n}\n",
    fix="Use strides no larger than the kernel or pool window.",
)
W404 = warning(
    "W404",
    "unused block",
    doc="A block is defined but no model calls it, directly or through other blocks "
    "(perhaps a misspelled call). A call counts wherever it is written, even in an `if` "
    "branch that this file's arguments never take.",
    example="block unused(n) {\n  dense n\n}\n\nmodel m {\n  input 784\n  dense 10\n}\n",
    fix="Call it or delete it.",
)
W405 = warning(
    "W405",
    "softmax over a single unit",
    doc="softmax normalizes over the units of its axis: over one unit it always gives 1.",
    example="model m {\n  input 784\n  dense 1 softmax\n}\n",
    fix="Use sigmoid for a binary output, or one unit per class.",
)
W406 = warning(
    "W406",
    "unused function",
    doc="A `def` function is defined but no model calls it, directly or through the blocks "
    "and functions it calls (perhaps a misspelled call, or a helper left over from an "
    "edit). A call counts wherever it is written, even in an `if` branch that this file's "
    "arguments never take.",
    example="def make_divisible(v, divisor) {\n  return max(divisor, int(v / divisor) * divisor)"
    "\n}\n\nmodel m {\n  input 784\n  dense 10\n}\n",
    fix="Call it, for example `dense make_divisible(100 * 0.75, 8)`, or delete it.",
)
