"""The zoo's models, what keras.applications calls them, and their published figures.

Each entry names a model of a spec in zoo/, the keras.applications function
that builds the same network, and the parameter and multiply-accumulate counts
its paper publishes, with the paper. Papers round (``3.8G``, ``5.3M``) and
count slightly different things (some leave out the classifier or the
squeeze-and-excite layers), so a count is compared within a relative
tolerance: :data:`MACS_TOLERANCE` unless an entry states its own, with the
reason. Keras's own counts are exact and are compared exactly
(tests/test_zoo.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ZOO = Path(__file__).resolve().parent.parent / "zoo"

MACS_TOLERANCE = 0.05
PARAMS_TOLERANCE = 0.05

HE_2015 = "He et al., Deep Residual Learning for Image Recognition (2015), Table 1 and §4.1"
VGG = "Simonyan and Zisserman (2014), Table 2 (params); " + HE_2015 + " (MACs)"
MOBILENET = "Howard et al., MobileNets (2017), Table 8"
MOBILENET_V2 = (
    "Sandler et al., MobileNetV2: Inverted Residuals and Linear Bottlenecks (2018), Table 4"
)
DENSENET = (
    "Huang et al. (2017) plot FLOPs without a table; the figures are torchvision's "
    "model table (pytorch.org/vision/stable/models.html, GFLOPS counting multiply-adds)"
)
MOBILENET_V3 = "Howard et al., Searching for MobileNetV3 (2019), Table 3"
EFFICIENTNET = "Tan and Le, EfficientNet (2019), Table 2"
EFFICIENTNET_V2 = (
    "Tan and Le, EfficientNetV2 (2021), Table 7 (S, M, L); the B0-B3 figures are the "
    "paper's repository's (github.com/google/automl/tree/master/efficientnetv2)"
)
V2_PROFILER = (
    "; its counts, from TensorFlow's profiler on the official implementation, differ "
    "from a convolution and dense count by up to 6% either way"
)
CONVNEXT = "Liu et al., A ConvNet for the 2020s (2022), Table 1 (ImageNet-1K at 224)"
REGNET = (
    "Radosavovic et al., Designing Network Design Spaces (2020), the model zoo of its "
    "repository (github.com/facebookresearch/pycls, flops counting multiply-adds)"
)
NASNET = "Zoph et al., Learning Transferable Architectures for Scalable Image Recognition (2018), Tables 2 and 3"


@dataclass(frozen=True)
class ZooModel:
    """One zoo model and its references."""

    file: str  # zoo/<file>.cnn
    model: str  # the model's name in that file
    application: str | None  # keras.applications.<application>(weights=None), if Keras 3 has it
    paper_macs: float | None  # published multiply-accumulates (the papers' "FLOPs", mult-adds)
    paper_params: float | None  # published parameter count
    source: str  # where the figures are published (or why there are none)
    reduced: int = 32  # input side for the targets test (tests/test_zoo_targets.py)
    macs_tolerance: float = MACS_TOLERANCE
    heavy: bool = False  # the targets test marks it slow
    torchvision: str | None = None  # torchvision.models.<torchvision>(), the same network

    @property
    def path(self) -> Path:
        """The spec file."""
        return ZOO / f"{self.file}.cnn"

    @property
    def id(self) -> str:
        """The pytest id."""
        return self.model


M, G = 1e6, 1e9

MODELS: tuple[ZooModel, ...] = (
    ZooModel("vgg", "vgg16", "VGG16", 15.3 * G, 138 * M, VGG, heavy=True),
    ZooModel("vgg", "vgg19", "VGG19", 19.6 * G, 144 * M, VGG, heavy=True),
    ZooModel("resnet", "resnet50", "ResNet50", 3.8 * G, None, HE_2015),
    ZooModel("resnet", "resnet101", "ResNet101", 7.6 * G, None, HE_2015),
    ZooModel("resnet", "resnet152", "ResNet152", 11.3 * G, None, HE_2015, heavy=True),
    ZooModel(
        "resnet_v2",
        "resnet50v2",
        "ResNet50V2",
        None,
        None,
        "He et al., Identity Mappings in Deep Residual Networks (2016) publishes no counts; "
        "Keras strides in a stage's last block, so ResNet50's figures do not apply",
    ),
    ZooModel("resnet_v2", "resnet101v2", "ResNet101V2", None, None, "as resnet50v2"),
    ZooModel("resnet_v2", "resnet152v2", "ResNet152V2", None, None, "as resnet50v2", heavy=True),
    ZooModel("inception_v3", "inception_v3", "InceptionV3", 5.72 * G, 23.8 * M, NASNET, 75),
    ZooModel(
        "inception_resnet_v2",
        "inception_resnet_v2",
        "InceptionResNetV2",
        13.2 * G,
        55.8 * M,
        NASNET,
        75,
        heavy=True,
    ),
    ZooModel("xception", "xception", "Xception", 8.38 * G, 22.8 * M, NASNET, 71),
    ZooModel("mobilenet", "mobilenet", "MobileNet", 569 * M, 4.2 * M, MOBILENET),
    ZooModel("mobilenet_v2", "mobilenetv2", "MobileNetV2", 300 * M, 3.4 * M, MOBILENET_V2),
    ZooModel("mobilenet_v3", "mobilenetv3small", "MobileNetV3Small", 56 * M, 2.5 * M, MOBILENET_V3),
    ZooModel(
        "mobilenet_v3", "mobilenetv3large", "MobileNetV3Large", 219 * M, 5.4 * M, MOBILENET_V3
    ),
    ZooModel("densenet", "densenet121", "DenseNet121", 2.83 * G, None, DENSENET),
    ZooModel("densenet", "densenet169", "DenseNet169", 3.36 * G, None, DENSENET),
    ZooModel("densenet", "densenet201", "DenseNet201", 4.29 * G, None, DENSENET, heavy=True),
    ZooModel("efficientnet", "efficientnetb0", "EfficientNetB0", 0.39 * G, 5.3 * M, EFFICIENTNET),
    ZooModel("efficientnet", "efficientnetb1", "EfficientNetB1", 0.7 * G, 7.8 * M, EFFICIENTNET),
    ZooModel("efficientnet", "efficientnetb2", "EfficientNetB2", 1.0 * G, 9.2 * M, EFFICIENTNET),
    ZooModel("efficientnet", "efficientnetb3", "EfficientNetB3", 1.8 * G, 12 * M, EFFICIENTNET),
    ZooModel(
        "efficientnet",
        "efficientnetb4",
        "EfficientNetB4",
        4.2 * G,
        19 * M,
        EFFICIENTNET,
        heavy=True,
    ),
    ZooModel(
        "efficientnet",
        "efficientnetb5",
        "EfficientNetB5",
        9.9 * G,
        30 * M,
        EFFICIENTNET,
        heavy=True,
    ),
    ZooModel(
        "efficientnet", "efficientnetb6", "EfficientNetB6", 19 * G, 43 * M, EFFICIENTNET, heavy=True
    ),
    ZooModel(
        "efficientnet", "efficientnetb7", "EfficientNetB7", 37 * G, 66 * M, EFFICIENTNET, heavy=True
    ),
    ZooModel(
        "efficientnet_v2",
        "efficientnetv2b0",
        "EfficientNetV2B0",
        0.72 * G,
        7.1 * M,
        EFFICIENTNET_V2,
    ),
    ZooModel(
        "efficientnet_v2",
        "efficientnetv2b1",
        "EfficientNetV2B1",
        1.2 * G,
        8.1 * M,
        EFFICIENTNET_V2,
    ),
    ZooModel(
        "efficientnet_v2",
        "efficientnetv2b2",
        "EfficientNetV2B2",
        1.7 * G,
        10.1 * M,
        EFFICIENTNET_V2,
    ),
    ZooModel(
        "efficientnet_v2",
        "efficientnetv2b3",
        "EfficientNetV2B3",
        3.0 * G,
        14.4 * M,
        EFFICIENTNET_V2,
    ),
    ZooModel(
        "efficientnet_v2",
        "efficientnetv2s",
        "EfficientNetV2S",
        8.8 * G,
        22 * M,
        EFFICIENTNET_V2 + V2_PROFILER,
        macs_tolerance=0.07,
        heavy=True,
    ),
    ZooModel(
        "efficientnet_v2",
        "efficientnetv2m",
        "EfficientNetV2M",
        24 * G,
        54 * M,
        EFFICIENTNET_V2,
        heavy=True,
    ),
    ZooModel(
        "efficientnet_v2",
        "efficientnetv2l",
        "EfficientNetV2L",
        53 * G,
        120 * M,
        EFFICIENTNET_V2 + V2_PROFILER,
        macs_tolerance=0.07,
        heavy=True,
    ),
    ZooModel("convnext", "convnext_tiny", "ConvNeXtTiny", 4.5 * G, 28 * M, CONVNEXT),
    ZooModel("convnext", "convnext_small", "ConvNeXtSmall", 8.7 * G, 50 * M, CONVNEXT),
    ZooModel("convnext", "convnext_base", "ConvNeXtBase", 15.4 * G, 89 * M, CONVNEXT, heavy=True),
    ZooModel(
        "convnext", "convnext_large", "ConvNeXtLarge", 34.4 * G, 198 * M, CONVNEXT, heavy=True
    ),
    ZooModel(
        "convnext", "convnext_xlarge", "ConvNeXtXLarge", 60.9 * G, 350 * M, CONVNEXT, heavy=True
    ),
    ZooModel("nasnet", "nasnet_mobile", "NASNetMobile", 564 * M, 5.3 * M, NASNET),
    ZooModel("nasnet", "nasnet_large", "NASNetLarge", 23.8 * G, 88.9 * M, NASNET, heavy=True),
    ZooModel("regnet", "regnetx008", None, 0.8 * G, 7.3 * M, REGNET, torchvision="regnet_x_800mf"),
    ZooModel("regnet", "regnety004", None, 0.4 * G, 4.3 * M, REGNET, torchvision="regnet_y_400mf"),
)

APPLICATIONS = tuple(entry for entry in MODELS if entry.application)


def by_file() -> dict[str, list[ZooModel]]:
    """The entries grouped by spec file, in table order."""
    out: dict[str, list[ZooModel]] = {}
    for entry in MODELS:
        out.setdefault(entry.file, []).append(entry)
    return out
