"""Training and evaluation on Keras: the stage after ``emit/keras``.

``specc train`` and ``specc evaluate`` build the spec's model by executing the
module ``specc keras`` writes (:mod:`specc.train.keras_model`), on the Keras
backend asked for (:mod:`specc.train.backend`), with data checked against the
model and its loss before the first epoch (:mod:`specc.train.data`,
:mod:`specc.train.labels`). :mod:`specc.train.session` runs the epochs
(:mod:`specc.train.loop`), with a checkpoint after each
(:mod:`specc.train.checkpoint`). Keras is imported only once a run starts.
"""
