"""E8xx: training and evaluation data, settings and checkpoints (``specc train``, ``evaluate``)."""

from __future__ import annotations

from specc.codes.base import EXIT_SPEC, EXIT_USAGE, error

_MODEL = (
    "model m {\n  input 8x8x1\n  flatten\n  dense 10 softmax\n"
    "  compile optimizer=adam loss=sparse_categorical_crossentropy\n}\n"
)
_TRAIN = "specc train example.cnn --data data.npz -o weights.npz"

E801 = error(
    "E801",
    "training data cannot be read",
    exit_class=EXIT_USAGE,
    doc="`--data` or `--validation` is missing, is not a `.npz` archive or a folder of "
    "class folders, or an array in it cannot be read. Nothing is trained or written.",
    example=_MODEL,
    command=_TRAIN,
    setup="data.npz is a text file",
    fix="Save the arrays with `numpy.savez('data.npz', x=x, y=y)`, or pass a folder of "
    "class folders of images.",
)
E802 = error(
    "E802",
    "training data lacks an array",
    exit_class=EXIT_USAGE,
    doc="A `.npz` data file holds `x` and `y`, or Keras's `x_train`/`y_train` (and "
    "`x_test`/`y_test`) names.",
    example=_MODEL,
    command=_TRAIN,
    setup="data.npz holds only an array named images",
    fix="Name the arrays `x` and `y` (or `x_train` and `y_train`).",
)
E803 = error(
    "E803",
    "labels do not fit the model or its loss",
    exit_class=EXIT_USAGE,
    doc="Labels are checked against the model's output and the loss before the first epoch: "
    "class ids in range for sparse losses, one-hot rows for categorical ones, 0..1 for "
    "binary ones, finite values, and one label per sample.",
    example=_MODEL,
    command=_TRAIN,
    setup="data.npz holds a label 10 for a model with 10 output units",
    fix="Use class ids 0..units-1, or the loss that fits the labels you have.",
)
E804 = error(
    "E804",
    "no training samples",
    exit_class=EXIT_USAGE,
    doc="The data holds no samples: empty arrays, an empty folder, a class folder without "
    "images, or a validation split that leaves nothing to train on.",
    example=_MODEL,
    command=_TRAIN,
    setup="data.npz holds x and y with no samples",
    fix="Pass data with samples in every class.",
)
E805 = error(
    "E805",
    "the spec has no compile settings to train with",
    exit_class=EXIT_SPEC,
    doc="`specc train` and `specc evaluate` compile the model with the spec's `compile` "
    "statement; without one, or without a loss, there is nothing to minimise.",
    example="model m {\n  input 8x8x1\n  flatten\n  dense 10 softmax\n}\n",
    command=_TRAIN,
    setup="data.npz holds 8x8x1 images and class ids",
    fix="Add `compile optimizer=adam loss=sparse_categorical_crossentropy metrics=[accuracy]`.",
)
E806 = error(
    "E806",
    "training cannot run on this backend or distribution",
    exit_class=EXIT_USAGE,
    doc="The Keras backend or the distribution asked for cannot run here: `--distribute` "
    "on the torch backend, TensorFlow's MultiWorkerMirroredStrategy (which Keras 3 cannot "
    "fit under), a backend that is not installed, or `fit initial_epoch` (use `--resume`).",
    example=_MODEL,
    command=_TRAIN + " --backend torch --distribute",
    setup="data.npz holds 8x8x1 images and class ids",
    fix="Use `--backend jax` or `--backend tensorflow` with `--distribute`.",
)
E807 = error(
    "E807",
    "checkpoint cannot be resumed",
    exit_class=EXIT_USAGE,
    doc="`--resume` continues from the checkpoint of the last complete epoch; the checkpoint "
    "folder holds none, or one that is damaged or belongs to another model.",
    example=_MODEL,
    command=_TRAIN + " --resume",
    setup="data.npz holds 8x8x1 images and class ids, and no checkpoint was written",
    fix="Train without `--resume` first, or pass the `--checkpoint-dir` of that run.",
)
