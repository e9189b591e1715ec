"""Keras layer classes that specc does not have, so that a spec naming one is told so.

"Did you mean" must never offer a different layer for a real Keras layer
(``layernormalization`` is not ``batchnormalization``). A statement whose head
is one of these class names, in any case, gets "not supported" instead.
``tests/test_keras_layer_names.py`` checks the lists against ``keras.layers``:
every class there is a specc layer, one of its Keras aliases, or listed here.
"""

from __future__ import annotations

import difflib

# keras.layers classes specc lacks (Keras's own aliases, such as AvgPool1D, included).
UNSUPPORTED_KERAS_LAYERS: frozenset[str] = frozenset(
    (
        "ActivityRegularization AdaptiveAveragePooling1D AdaptiveAveragePooling2D "
        "AdaptiveAveragePooling3D AdaptiveMaxPooling1D AdaptiveMaxPooling2D "
        "AdaptiveMaxPooling3D AdditiveAttention AlphaDropout Attention AugMix "
        "AutoContrast AveragePooling1D AveragePooling3D AvgPool1D AvgPool3D "
        "Bidirectional CategoryEncoding CenterCrop "
        "ContrastLimitedAdaptiveHistogramEqualization Conv1D Conv1DTranspose Conv3D "
        "Conv3DTranspose ConvLSTM1D ConvLSTM2D ConvLSTM3D Convolution1D "
        "Convolution1DTranspose Convolution3D Convolution3DTranspose Cropping1D "
        "Cropping3D CutMix DepthwiseConv1D Discretization Dot EinsumDense Embedding "
        "Equalization FlaxLayer GRU GRUCell GaussianDropout GaussianNoise "
        "GlobalAveragePooling1D GlobalAveragePooling3D GlobalAvgPool1D GlobalAvgPool3D "
        "GlobalMaxPool1D GlobalMaxPool3D GlobalMaxPooling1D GlobalMaxPooling3D "
        "GroupQueryAttention HashedCrossing Hashing InputLayer IntegerLookup JaxLayer "
        "LSTM LSTMCell Lambda Layer Masking MaxNumBoundingBoxes MaxPool1D MaxPool3D "
        "MaxPooling1D MaxPooling3D MelSpectrogram MixUp MultiHeadAttention Pipeline "
        "RMSNormalization RNN RandAugment RandomBrightness RandomColorDegeneration "
        "RandomColorJitter RandomContrast RandomCrop RandomElasticTransform "
        "RandomErasing RandomFlip RandomGaussianBlur RandomGrayscale RandomHue "
        "RandomInvert RandomPerspective RandomPosterization RandomRotation "
        "RandomSaturation RandomSharpness RandomShear RandomTranslation RandomZoom "
        "RepeatVector ReversibleEmbedding STFTSpectrogram SeparableConv1D "
        "SeparableConvolution1D SimpleRNN SimpleRNNCell Solarization SpatialDropout1D "
        "SpatialDropout3D SpectralNormalization StackedRNNCells StringLookup TFSMLayer "
        "TextVectorization TimeDistributed TorchModuleWrapper UpSampling1D "
        "UpSampling3D Wrapper ZeroPadding1D ZeroPadding3D "
    ).split()
)

# Keras's alias class names of layers specc has, lowercased, with specc's kind.
KERAS_ALIASES: dict[str, str] = {
    "avgpool2d": "averagepooling2d",
    "convolution2d": "conv2d",
    "convolution2dtranspose": "conv2dtranspose",
    "globalavgpool2d": "globalaveragepooling2d",
    "globalmaxpool2d": "globalmaxpooling2d",
    "maxpool2d": "maxpooling2d",
    "separableconvolution2d": "separableconv2d",
}
# The same names lowercased (as a statement may write them), each with its class name.
KERAS_LOWER: dict[str, str] = {name.lower(): name for name in UNSUPPORTED_KERAS_LAYERS}


def unsupported_layer(word: str) -> str | None:
    """The Keras class name ``word`` spells (case-insensitively), when specc lacks that layer."""
    return KERAS_LOWER.get(word.lower())


def lacking_lookalike(word: str, choices: list[str]) -> str | None:
    """The Keras layer specc lacks that ``word`` is closer to than to every one of ``choices``.

    A word as close to a specc layer as to a lacking one (``convd``: ``conv2d``
    and ``conv3d``) gets the specc layer; difflib alone would pick either.
    """

    def best(names) -> float:
        matcher = difflib.SequenceMatcher(b=word.lower())
        scores = [0.0]
        for name in names:
            matcher.set_seq1(name)
            scores.append(matcher.ratio())
        return max(scores)

    close = difflib.get_close_matches(word.lower(), sorted(KERAS_LOWER), n=1, cutoff=0.6)
    if close and best(close) > best(name.lower() for name in choices):
        return KERAS_LOWER[close[0]]
    return None
