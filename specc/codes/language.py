"""E1xx: the language itself (the file, syntax, names, arguments, blocks, limits)."""

from __future__ import annotations

from specc.codes.base import EXIT_USAGE, error

E100 = error(
    "E100",
    "file cannot be read or is too large",
    exit_class=EXIT_USAGE,
    doc="specc reads a spec as UTF-8 text of at most 2 MiB. The file does not exist, is a "
    "directory, is not UTF-8, cannot be read, or is larger than that.",
    example="",
    command="specc check missing.cnn",
    fix="Check the path. Save the file as UTF-8. A spec over 2 MiB is generated, not "
    "written: generate less, or use blocks and `repeat`.",
)
E101 = error(
    "E101",
    "syntax error",
    doc="The text does not follow the grammar: a bracket or brace is not closed, a character "
    "has no meaning in the language, a string is not closed on its line. The help line "
    "says what the parser expected there.",
    example="model m {\n  input 784\n  dense 10 softmax\n",
    fix="Close what was opened; a statement continues on the next line only inside ( ) or [ ].",
)
E102 = error(
    "E102",
    "unknown statement, layer or block",
    doc="The first word of a statement is not a keyword, a layer kind or alias, an "
    "activation, or a block defined in the file. A close spelling is suggested.",
    example="model m {\n  input 28x28x1\n  convd 32 3x3 relu\n  flatten\n  dense 10\n}\n",
    fix="Correct the spelling, or define the block with `block NAME(...) { ... }`.",
)
E103 = error(
    "E103",
    "unknown parameter",
    doc="A `key=value` names no parameter of the layer (Keras's parameter names), of the "
    "block, of `compile`/`fit`, or of an optimizer, loss or metric. `compile` and `fit` "
    "take no data arguments (x, y, validation_data, ...). The help line lists what is "
    "accepted.",
    example="model m {\n  input 32x32x3\n  conv2d 32 3x3 paddin=same\n}\n",
    fix="Use the Keras parameter name the help line lists.",
)
E104 = error(
    "E104",
    "missing argument",
    doc="A layer parameter without a default (conv2d's filters and kernel_size, dense's "
    "units, ...) or a block parameter without a default is not given.",
    example="model m {\n  input 32x32x3\n  conv2d 32\n}\n",
    fix="Give it, positionally (`conv2d 32 3x3`) or by name (`kernel_size=3`).",
)
E105 = error(
    "E105",
    "too many positional arguments",
    doc="A layer, block or function call gets more positional arguments than it has "
    "positional parameters (dense has one: units).",
    example="model m {\n  input 784\n  dense 10 20\n}\n",
    fix="Name the other arguments as `key=value`.",
)
E106 = error(
    "E106",
    "argument given twice",
    doc="One parameter gets two values, for example a bare `same` and `padding=valid`, or "
    "a positional argument and the same parameter by name.",
    example="model m {\n  input 32x32x3\n  conv2d 32 3x3 same padding=valid\n}\n",
    fix="Keep one of them.",
)
E107 = error(
    "E107",
    "invalid value",
    doc="A value has the wrong type or is out of range for its parameter: an unknown "
    "activation, initializer, optimizer or loss name, a negative size, a dropout rate "
    "of 1 or more, a bad input shape or dtype, a bare word that is neither padding nor "
    "an activation, an @reference outside a merge layer.",
    example="model m {\n  input 32x32x3\n  conv2d 32 3x3 activation=rleu\n}\n",
    fix="Use a value of the kind the message names; a close spelling is suggested.",
)
E108 = error(
    "E108",
    "invalid model structure",
    doc="The statements are not arranged as the language requires: a model must start "
    "with `input SHAPE` and hold at least one layer; `path` only appears inside a merge "
    "layer; `compile` and `fit` stand at the top level of a model, once; a block name "
    "may not be a layer name or keyword.",
    example="model m {\n  dense 10\n}\n",
    fix="Start the model with `input SHAPE`, such as `input 32x32x3`.",
)
E109 = error(
    "E109",
    "recursive block",
    doc="A block calls itself, directly or through other blocks; it would expand forever.",
    example="block a(n) {\n  b n\n}\n\nblock b(n) {\n  a n\n}\n\nmodel m {\n  input 8\n  a 1\n}\n",
    fix="Repeat layers with `repeat N { ... }` instead.",
)
E110 = error(
    "E110",
    "unknown @reference",
    doc="`@NAME` names no layer before it in the same model (names are given with `name=`).",
    example="model m {\n  input 32x32x3\n  conv2d 16 3x3 same name=stem\n"
    "  conv2d 16 3x3 same\n  concatenate @stme\n}\n",
    fix="Use the `name=` of an earlier layer; a close name is suggested.",
)
E111 = error(
    "E111",
    "duplicate name",
    doc="Two layers of one model have the same `name=`, or two models or blocks of one "
    "file have the same name. Keras refuses duplicate layer names.",
    example="model m {\n  input 32x32x3\n  conv2d 16 3x3 name=stem\n  conv2d 16 3x3 name=stem\n}\n",
    fix="Rename one of them.",
)
E112 = error(
    "E112",
    "resource limit exceeded",
    doc="The spec would expand beyond what any model needs: more than 100,000 layers or "
    "1,000,000 statements, blocks nested over 64 deep, brackets over 100 deep, more "
    "than 256 operators in one statement. specc stops there instead of running out of "
    "memory or time.",
    example="model m {\n  input 8\n  repeat 1000000000 {\n    dense 8\n  }\n}\n",
    fix="Lower the repeat counts or the nesting.",
)
E113 = error(
    "E113",
    "invalid arithmetic",
    doc="An expression has no value: a division by zero, a result beyond 2**63, or an "
    "operator applied to words or tuples (`relu*2`).",
    example="model m {\n  input 784\n  dense 64//0\n}\n",
    fix="Divide by a number other than zero, and apply operators to numbers and the "
    "parameters holding them.",
)
E114 = error(
    "E114",
    "the file defines no model",
    doc="The file checks, but holds no `model` statement: it is empty, holds only comments, "
    "or only defines blocks. Every command needs a model to summarize, emit or run, so "
    "an empty spec is an error rather than a silent success.",
    example="# layers to come\n",
    fix="Add a `model NAME { input HxWxC ... }`, which may use the file's blocks.",
)
