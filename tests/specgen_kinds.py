"""Random statements of the activation, normalization and reshaping kinds, for ``specgen``.

``statement(gen, shape, kind)`` writes one statement of ``kind`` valid on
``shape`` with random options and spellings, and its shape function; it is
the part of :meth:`test_front_specgen_parts.Gen.layer` for the kinds of
``specc/ir/layers_activation.py``, ``layers_norm.py`` and ``layers_reshape.py``.
Keras, not this file, computes what is right for every statement written.
"""

from __future__ import annotations

from test_front_specgen_parts import MAX_HW, Gen, InvalidError, Op, Shape, _bounded, _rank

# Kinds that take an input of any rank; the others need (height, width, channels).
ANY_RANK_KINDS = (
    "relu_layer",
    "leakyrelu",
    "prelu",
    "elu_layer",
    "softmax_layer",
    "rescaling",
    "normalization",
    "layernormalization",
    "groupnormalization",
    "unitnormalization",
    "permute",
    "identity",
)
MAP_KINDS = ("cropping2d", "spatialdropout2d", "resizing")
KINDS = (*ANY_RANK_KINDS, *MAP_KINDS)
SPELLINGS = {
    "relu_layer": ["relu_layer", "ReLU_layer"],
    "leakyrelu": ["leakyrelu", "LeakyReLU"],
    "prelu": ["prelu", "PReLU"],
    "elu_layer": ["elu_layer", "ELU_layer"],
    "softmax_layer": ["softmax_layer", "Softmax_layer"],
    "layernormalization": ["layernormalization", "layernorm", "LayerNormalization"],
    "groupnormalization": ["groupnormalization", "groupnorm"],
    "unitnormalization": ["unitnormalization", "unitnorm"],
    "cropping2d": ["cropping2d", "crop", "Cropping2D"],
    "resizing": ["resizing", "resize", "Resizing"],
    "spatialdropout2d": ["spatialdropout2d", "SpatialDropout2D"],
}
INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5")


def _same(x: Shape) -> Shape:
    return x


def _axes_text(axes: tuple[int, ...]) -> str:
    return str(axes[0]) if len(axes) == 1 else "(" + ", ".join(map(str, axes)) + ")"


def _some_axes(g: Gen, rank: int) -> tuple[int, ...]:
    """One axis or a few (1-based, sometimes negative), distinct once normalized."""
    n = g.rng.choice([1, 1, 1, 2, rank]) if rank > 1 else 1
    chosen = sorted(g.rng.sample(range(1, rank + 1), min(n, rank)))
    return tuple(a - rank - 1 if g.rng.random() < 0.3 else a for a in chosen)


def _fits_rank(rank: int, axes: tuple[int, ...]):
    """The shape function of a shape-preserving layer over ``axes`` of a rank-``rank`` input."""

    def fn(x: Shape) -> Shape:
        if len(x) != rank:
            raise InvalidError
        return x

    return fn if any(a != -1 for a in axes) else _same


def _values(g: Gen, n: int, low: float, high: float, per_channel: bool | None = None) -> str:
    """One number, or ``n`` of them as a tuple (``per_channel``, or at random when None)."""
    if per_channel is None:
        per_channel = 1 < n <= 8 and g.rng.random() < 0.5
    if per_channel:
        items = [f"{g.rng.uniform(low, high):.3g}" for _ in range(n)]
        return "(" + ", ".join(items) + ")"
    return f"{g.rng.uniform(low, high):.3g}"


def statement(g: Gen, shape: Shape, kind: str) -> Op | None:
    """A statement of ``kind`` valid on ``shape``, or None when none fits."""
    rng, rank = g.rng, len(shape)
    head = rng.choice(SPELLINGS.get(kind, [kind]))
    if kind in MAP_KINDS and rank != 3:
        return None
    if kind == "relu_layer":
        parts = [head] + ([rng.choice(["6", "1.5", "max_value=0.5"])] if rng.random() < 0.4 else [])
        parts += g.extras(["negative_slope=0.1", "threshold=0.5"], 0.35)
        return Op([" ".join(parts)], _same)
    if kind == "leakyrelu":
        return Op([head + rng.choice(["", " 0.1", " negative_slope=0.01"])], _same)
    if kind == "elu_layer":
        return Op([head + rng.choice(["", " 0.5", " alpha=2"])], _same)
    if kind == "identity":
        return Op([head], _same)
    if kind == "prelu":
        parts = [head]
        shared: tuple[int, ...] = ()
        if rng.random() < 0.5:
            shared = tuple(sorted(rng.sample(range(1, rank + 1), rng.randint(1, rank))))
            parts.append(f"shared_axes={_axes_text(shared)}")
        parts += g.extras(["alpha_initializer=random_normal(stddev=0.3)"], 0.3)
        return Op([" ".join(parts)], _fits_rank(rank, shared or (-1,)))
    if kind in ("softmax_layer", "unitnormalization"):
        axes = _some_axes(g, rank) if rng.random() < 0.5 else (-1,)
        text = (
            ""
            if axes == (-1,)
            else rng.choice([f" {_axes_text(axes)}", f" axis={_axes_text(axes)}"])
        )
        return Op([head + text], _fits_rank(rank, axes))
    if kind == "rescaling":
        c = shape[-1]
        scale = _values(g, c, 0.1, 3.0)
        positional = _values(g, c, -1, 1)
        if positional.startswith("-"):
            positional = f"({positional})"  # `2 -0.5` would read as `2 - 0.5`
        offset = rng.choice(["", f" offset={_values(g, c, -1.0, 1.0)}", f" {positional}"])
        fixed = c if "(" in scale + offset else None

        def fn(x: Shape) -> Shape:
            if fixed is not None and x[-1] != fixed:
                raise InvalidError
            return x

        return Op([f"{head} {scale}{offset}"], fn)
    if kind == "normalization":
        return _normalization(g, shape, head)
    if kind == "layernormalization":
        axes = _some_axes(g, rank) if rng.random() < 0.4 else (-1,)
        parts = [head] + ([f"axis={_axes_text(axes)}"] if axes != (-1,) else [])
        parts += g.extras(["center=false", "scale=false", "epsilon=0.01"], 0.2)
        dims = tuple(shape[a - 1] if a > 0 else shape[a] for a in axes)
        return Op([" ".join(parts)], _statistics_on(rank, axes, dims))
    if kind == "groupnormalization":
        axis = -1 if rng.random() < 0.8 else rng.randint(1, rank)
        size = shape[axis - 1] if axis > 0 else shape[-1]
        groups = rng.choice([-1, *[d for d in range(1, size + 1) if size % d == 0]])
        parts = [head, str(groups)] + ([f"axis={axis}"] if axis != -1 else [])
        parts += g.extras(["center=false", "scale=false", "epsilon=0.1"], 0.2)
        return Op([" ".join(parts)], _statistics_on(rank, (axis,), (size,)))
    if kind == "permute":
        dims = tuple(rng.sample(range(1, rank + 1), rank))
        text = rng.choice([f"permute {_axes_text(dims)}", f"permute dims={_axes_text(dims)}"])
        if rank == 1:
            text = rng.choice(["permute (1,)", "permute 1"])

        def permuted(x: Shape) -> Shape:
            if len(x) != rank:
                raise InvalidError
            return _bounded(tuple(x[d - 1] for d in dims))

        return Op([text], permuted)
    if kind == "spatialdropout2d":
        rate = rng.choice([0.0, 0.1, 0.5])
        return Op([f"{head} {rate}" + (" seed=5" if rng.random() < 0.2 else "")], _map)
    if kind == "cropping2d":
        return _cropping(g, shape, head)
    return _resizing(g, head)


def _map(x: Shape) -> Shape:
    _rank(x, 3)
    return x


def _statistics_on(rank: int, axes: tuple[int, ...], dims: tuple[int, ...]):
    """Shape function of a layer whose weights span ``axes``: those sizes must stay."""

    def fn(x: Shape) -> Shape:
        if len(x) != rank or tuple(x[a - 1] if a > 0 else x[a] for a in axes) != dims:
            raise InvalidError
        return x

    return fn


def _normalization(g: Gen, shape: Shape, head: str) -> Op:
    rng, rank = g.rng, len(shape)
    r = rng.random()
    axes: tuple[int, ...] | None = (-1,)
    if r < 0.2:
        axes = None
    elif r < 0.45:
        axes = _some_axes(g, rank)
    parts = [head]
    if axes is None:
        parts.append("axis=none")
    elif axes != (-1,):
        parts.append(rng.choice([_axes_text(axes), f"axis={_axes_text(axes)}"]))
    kept = () if axes is None else tuple(sorted(a % (rank + 1) for a in axes))
    last = shape[kept[-1] - 1] if kept else 1
    if rng.random() < 0.4:
        each = 1 < last <= 8 and rng.random() < 0.5
        mean, variance = _values(g, last, -1, 1, each), _values(g, last, 0.2, 3, each)
        parts.append(f"mean={mean} variance={variance}")
    parts += g.extras(["invert=true"], 0.2)
    dims = tuple(shape[a - 1] for a in kept)
    return Op([" ".join(parts)], _statistics_on(rank, kept, dims))


def _cropping(g: Gen, shape: Shape, head: str) -> Op | None:
    rng = g.rng
    h, w, _ = shape
    if h < 2 or w < 2:
        return None
    crops = [[rng.randint(0, (n - 1) // 2), rng.randint(0, (n - 1) // 2)] for n in (h, w)]
    (t, b), (le, ri) = crops
    form = rng.random()
    if form < 0.3 and t == b == le == ri:
        text = f"{head} {t}"
    elif form < 0.6 and t == b and le == ri:
        text = f"{head} ({t}, {le})"
    else:
        text = f"{head} (({t}, {b}), ({le}, {ri}))"

    def fn(x: Shape) -> Shape:
        _rank(x, 3)
        if t + b >= x[0] or le + ri >= x[1]:
            raise InvalidError
        return (x[0] - t - b, x[1] - le - ri, x[2])

    return Op([text], fn)


def _resizing(g: Gen, head: str) -> Op:
    rng = g.rng
    height, width = rng.randint(1, MAX_HW // 2), rng.randint(1, MAX_HW // 2)
    parts = [head, str(height), str(width)]
    method = rng.choice(INTERPOLATIONS)
    if method != "bilinear" or rng.random() < 0.2:
        parts.append(f"interpolation={method}")
    parts += g.extras(["antialias=true"], 0.25)
    aspect = rng.random()
    if aspect < 0.15:
        parts.append("crop_to_aspect_ratio=true")
    elif aspect < 0.3:
        parts.append("pad_to_aspect_ratio=true" + (" fill_value=0.5" if rng.random() < 0.5 else ""))

    def fn(x: Shape) -> Shape:
        _rank(x, 3)
        return _bounded((height, width, x[2]))

    return Op([" ".join(parts)], fn)
