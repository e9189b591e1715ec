"""Keras's training vocabulary: optimizers, losses, metrics and callbacks by name.

Each name maps to its Keras class and the keyword arguments that class takes
(besides those every optimizer takes, and ``name``/``dtype``). The front end
checks ``compile`` calls against these tables without importing Keras; the
Keras emitter writes the classes; ``tests/test_training_vocabulary.py`` checks
the tables against the installed Keras.
"""

from __future__ import annotations

OPTIMIZER_COMMON_ARGS: tuple[str, ...] = (
    "learning_rate",
    "weight_decay",
    "clipnorm",
    "clipvalue",
    "global_clipnorm",
    "use_ema",
    "ema_momentum",
    "ema_overwrite_frequency",
    "loss_scale_factor",
    "gradient_accumulation_steps",
    "name",
)

OPTIMIZERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "sgd": ("SGD", ("momentum", "nesterov")),
    "rmsprop": ("RMSprop", ("rho", "momentum", "epsilon", "centered")),
    "adam": ("Adam", ("beta_1", "beta_2", "epsilon", "amsgrad")),
    "adamw": ("AdamW", ("beta_1", "beta_2", "epsilon", "amsgrad")),
    "adadelta": ("Adadelta", ("rho", "epsilon")),
    "adagrad": ("Adagrad", ("initial_accumulator_value", "epsilon")),
    "adamax": ("Adamax", ("beta_1", "beta_2", "epsilon")),
    "adafactor": (
        "Adafactor",
        ("beta_2_decay", "epsilon_1", "epsilon_2", "clip_threshold", "relative_step"),
    ),
    "nadam": ("Nadam", ("beta_1", "beta_2", "epsilon")),
    "ftrl": (
        "Ftrl",
        (
            "learning_rate_power",
            "initial_accumulator_value",
            "l1_regularization_strength",
            "l2_regularization_strength",
            "l2_shrinkage_regularization_strength",
            "beta",
        ),
    ),
    "lion": ("Lion", ("beta_1", "beta_2")),
    "lamb": ("Lamb", ("beta_1", "beta_2", "epsilon")),
    "muon": (
        "Muon",
        (
            "adam_beta_1",
            "adam_beta_2",
            "adam_weight_decay",
            "epsilon",
            "exclude_layers",
            "exclude_embeddings",
            "muon_a",
            "muon_b",
            "muon_c",
            "adam_lr_ratio",
            "momentum",
            "ns_steps",
            "nesterov",
            "rms_rate",
        ),
    ),
}
LOSSES: dict[str, tuple[str, tuple[str, ...]]] = {
    "binary_crossentropy": (
        "BinaryCrossentropy",
        ("from_logits", "label_smoothing", "axis", "reduction"),
    ),
    "binary_focal_crossentropy": (
        "BinaryFocalCrossentropy",
        (
            "apply_class_balancing",
            "alpha",
            "gamma",
            "from_logits",
            "label_smoothing",
            "axis",
            "reduction",
        ),
    ),
    "categorical_crossentropy": (
        "CategoricalCrossentropy",
        ("from_logits", "label_smoothing", "axis", "reduction"),
    ),
    "categorical_focal_crossentropy": (
        "CategoricalFocalCrossentropy",
        ("alpha", "gamma", "from_logits", "label_smoothing", "axis", "reduction"),
    ),
    "sparse_categorical_crossentropy": (
        "SparseCategoricalCrossentropy",
        ("from_logits", "ignore_class", "reduction", "axis"),
    ),
    "mean_squared_error": ("MeanSquaredError", ("reduction",)),
    "mse": ("MeanSquaredError", ("reduction",)),
    "mean_absolute_error": ("MeanAbsoluteError", ("reduction",)),
    "mae": ("MeanAbsoluteError", ("reduction",)),
    "mean_absolute_percentage_error": ("MeanAbsolutePercentageError", ("reduction",)),
    "mape": ("MeanAbsolutePercentageError", ("reduction",)),
    "mean_squared_logarithmic_error": ("MeanSquaredLogarithmicError", ("reduction",)),
    "msle": ("MeanSquaredLogarithmicError", ("reduction",)),
    "huber": ("Huber", ("delta", "reduction")),
    "log_cosh": ("LogCosh", ("reduction",)),
    "kl_divergence": ("KLDivergence", ("reduction",)),
    "kld": ("KLDivergence", ("reduction",)),
    "poisson": ("Poisson", ("reduction",)),
    "hinge": ("Hinge", ("reduction",)),
    "squared_hinge": ("SquaredHinge", ("reduction",)),
    "categorical_hinge": ("CategoricalHinge", ("reduction",)),
    "cosine_similarity": ("CosineSimilarity", ("axis", "reduction")),
    "dice": ("Dice", ("reduction", "axis")),
    "tversky": ("Tversky", ("alpha", "beta", "reduction", "axis")),
}
METRICS: dict[str, tuple[str, tuple[str, ...]]] = {
    "accuracy": ("Accuracy", ()),
    "acc": ("Accuracy", ()),
    "binary_accuracy": ("BinaryAccuracy", ("threshold",)),
    "categorical_accuracy": ("CategoricalAccuracy", ()),
    "sparse_categorical_accuracy": ("SparseCategoricalAccuracy", ()),
    "top_k_categorical_accuracy": ("TopKCategoricalAccuracy", ("k",)),
    "sparse_top_k_categorical_accuracy": (
        "SparseTopKCategoricalAccuracy",
        ("k", "from_sorted_ids"),
    ),
    "auc": (
        "AUC",
        (
            "num_thresholds",
            "curve",
            "summation_method",
            "thresholds",
            "multi_label",
            "num_labels",
            "label_weights",
            "from_logits",
        ),
    ),
    "precision": ("Precision", ("thresholds", "top_k", "class_id")),
    "recall": ("Recall", ("thresholds", "top_k", "class_id")),
    "mae": ("MeanAbsoluteError", ()),
    "mse": ("MeanSquaredError", ()),
    "rmse": ("RootMeanSquaredError", ()),
    "mape": ("MeanAbsolutePercentageError", ()),
    "msle": ("MeanSquaredLogarithmicError", ()),
    "mean_absolute_error": ("MeanAbsoluteError", ()),
    "mean_squared_error": ("MeanSquaredError", ()),
    "root_mean_squared_error": ("RootMeanSquaredError", ()),
    "binary_crossentropy": ("BinaryCrossentropy", ("from_logits", "label_smoothing")),
    "categorical_crossentropy": (
        "CategoricalCrossentropy",
        ("from_logits", "label_smoothing", "axis"),
    ),
    "sparse_categorical_crossentropy": (
        "SparseCategoricalCrossentropy",
        ("from_logits", "ignore_class", "axis"),
    ),
    "kl_divergence": ("KLDivergence", ()),
    "poisson": ("Poisson", ()),
    "cosine_similarity": ("CosineSimilarity", ("axis",)),
    "f1_score": ("F1Score", ("average", "threshold")),
    "fbeta_score": ("FBetaScore", ("average", "beta", "threshold")),
    "r2_score": ("R2Score", ("class_aggregation", "num_regressors")),
    "iou": (
        "IoU",
        (
            "num_classes",
            "target_class_ids",
            "ignore_class",
            "sparse_y_true",
            "sparse_y_pred",
            "axis",
        ),
    ),
    "mean_iou": (
        "MeanIoU",
        ("num_classes", "ignore_class", "sparse_y_true", "sparse_y_pred", "axis"),
    ),
    "hinge": ("Hinge", ()),
    "log_cosh": ("LogCoshError", ()),
}


# fit's callbacks. Left out: LambdaCallback and LearningRateScheduler (they take
# Python functions, which a spec cannot hold), RemoteMonitor (posts to a server),
# OrbaxCheckpoint (needs orbax), and fit's own machinery (Callback,
# CallbackList, History, ProgbarLogger): CALLBACKS_LEFT_OUT, checked by the test.
CALLBACKS: dict[str, tuple[str, tuple[str, ...]]] = {
    "backup_and_restore": (
        "BackupAndRestore",
        ("backup_dir", "save_freq", "double_checkpoint", "delete_checkpoint"),
    ),
    "csv_logger": ("CSVLogger", ("filename", "separator", "append")),
    "early_stopping": (
        "EarlyStopping",
        (
            "monitor",
            "min_delta",
            "patience",
            "verbose",
            "mode",
            "baseline",
            "restore_best_weights",
            "start_from_epoch",
        ),
    ),
    "model_checkpoint": (
        "ModelCheckpoint",
        (
            "filepath",
            "monitor",
            "verbose",
            "save_best_only",
            "save_weights_only",
            "mode",
            "save_freq",
            "initial_value_threshold",
        ),
    ),
    "reduce_lr_on_plateau": (
        "ReduceLROnPlateau",
        ("monitor", "factor", "patience", "verbose", "mode", "min_delta", "cooldown", "min_lr"),
    ),
    "swap_ema_weights": ("SwapEMAWeights", ("swap_on_epoch",)),
    "tensorboard": (
        "TensorBoard",
        (
            "log_dir",
            "histogram_freq",
            "write_graph",
            "write_images",
            "write_steps_per_second",
            "update_freq",
            "profile_batch",
            "embeddings_freq",
            "embeddings_metadata",
        ),
    ),
    "terminate_on_nan": ("TerminateOnNaN", ("raise_error",)),
}
CALLBACKS_LEFT_OUT = frozenset(
    {"LambdaCallback", "LearningRateScheduler", "RemoteMonitor", "OrbaxCheckpoint"}
    | {"Callback", "CallbackList", "History", "ProgbarLogger"}
)
# Callback arguments without a default in Keras.
CALLBACK_REQUIRED: dict[str, tuple[str, ...]] = {
    "backup_and_restore": ("backup_dir",),
    "csv_logger": ("filename",),
    "model_checkpoint": ("filepath",),
}
# A callback's first argument may be written without its name: csv_logger("log.csv").
CALLBACK_POSITIONAL: dict[str, tuple[str, ...]] = {
    name: args[:1] for name, (_, args) in CALLBACKS.items() if name in CALLBACK_REQUIRED
}


def accepted_args(table: dict[str, tuple[str, tuple[str, ...]]], name: str) -> tuple[str, ...]:
    """Every keyword the Keras class behind ``name`` accepts."""
    extra = table[name][1]
    if table is OPTIMIZERS:
        return OPTIMIZER_COMMON_ARGS + extra
    if table is CALLBACKS:
        return extra
    return ("name", "dtype", *extra)
