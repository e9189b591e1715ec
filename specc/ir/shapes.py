"""Shape rules as pure functions, following Keras 3's ``operation_utils.py``.

Shapes never include the batch axis. A rule that cannot produce a shape
raises :class:`ShapeError` with Keras's wording ("Expected ..., received ...")
and the code specc reports it under; the caller attaches the span.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from specc.codes import E107, E201, E204, E205, E206, E207

Shape = tuple[int, ...]

# Keras and every backend index tensors with 32-bit sizes somewhere; a spec
# asking for more is a mistake (or an attack), never a model.
MAX_DIM = 2**31 - 1


class ShapeError(Exception):
    """A shape rule's refusal: a diagnostic code, a message and a help line."""

    def __init__(self, code: str, message: str, help: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.help = help


def fmt_shape(shape: Sequence[int]) -> str:
    """``(32, 32, 3)`` written as ``32x32x3``, as a spec would write it."""
    return "x".join(str(d) for d in shape) if shape else "()"


def require_rank(shape: Shape, rank: int, what: str) -> None:
    """Refuse an input whose rank is not ``rank`` (height, width, channels for 3)."""
    if len(shape) != rank:
        layout = {3: "(height, width, channels)", 1: "(features,)"}.get(rank, f"rank {rank}")
        hint = "flatten or reshape before it, or move it before the flatten" if rank == 3 else None
        if rank == 3 and len(shape) == 2:  # a grayscale image written without its channel axis
            with_channel = fmt_shape((*shape, 1))
            hint = (
                f"add the channel axis: a one-channel image is {with_channel} "
                f"(`input {with_channel}`, or `reshape ({shape[0]}, {shape[1]}, 1)` before it)"
            )
        raise ShapeError(
            E205,
            f"{what} expects an input of rank {rank} {layout}, received shape {fmt_shape(shape)}",
            hint,
        )


def check_size(shape: Shape) -> Shape:
    """Refuse shapes with more elements than any backend can index."""
    if any(d > MAX_DIM for d in shape) or math.prod(shape) > MAX_DIM * 8:
        raise ShapeError(E207, f"output shape {fmt_shape(shape)} is too large to allocate")
    return shape


def conv_output_length(
    length: int, kernel: int, stride: int, padding: str, dilation: int = 1
) -> int:
    """One spatial length of a convolution's output (Keras ``compute_conv_output_shape``)."""
    if padding == "same":
        return (length - 1) // stride + 1
    return (length - dilation * (kernel - 1) - 1) // stride + 1


def conv_output_shape(
    hw: tuple[int, int],
    kernel: tuple[int, int],
    strides: tuple[int, int],
    padding: str,
    dilation: tuple[int, int],
    what: str,
) -> tuple[int, int]:
    """Output height and width of a 2-D convolution ``what``; refuses an empty output (E201)."""
    out = tuple(
        conv_output_length(n, k, s, padding, d)
        for n, k, s, d in zip(hw, kernel, strides, dilation, strict=True)
    )
    if min(out) <= 0:
        effective = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True))
        dil = f" (dilated to {fmt_shape(effective)})" if effective != kernel else ""
        raise ShapeError(
            E201,
            f"{what} kernel {fmt_shape(kernel)}{dil} does not fit the {fmt_shape(hw)} input "
            f"with padding={padding}",
            "use padding=same, a smaller kernel, or fewer pooling layers before it",
        )
    return out  # type: ignore[return-value]


def same_padding(length: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """Keras/TensorFlow 'same' padding of one axis as (before, after): the odd pixel after."""
    effective = dilation * (kernel - 1) + 1
    out = (length - 1) // stride + 1
    total = max((out - 1) * stride + effective - length, 0)
    return total // 2, total - total // 2


def window_padding(
    hw: tuple[int, int],
    kernel: tuple[int, int],
    strides: tuple[int, int],
    padding: str,
    dilation: tuple[int, int] = (1, 1),
) -> tuple[tuple[int, int], tuple[int, int]]:
    """((top, bottom), (left, right)) that a window op with Keras's ``padding`` adds."""
    if padding != "same":
        return (0, 0), (0, 0)
    return (
        same_padding(hw[0], kernel[0], strides[0], dilation[0]),
        same_padding(hw[1], kernel[1], strides[1], dilation[1]),
    )


def pool_output_shape(
    hw: tuple[int, int],
    pool: tuple[int, int],
    strides: tuple[int, int],
    padding: str,
    what: str,
) -> tuple[int, int]:
    """Output height and width of 2-D pooling (Keras ``compute_pooling_output_shape``)."""
    out = tuple(
        conv_output_length(n, k, s, padding) for n, k, s in zip(hw, pool, strides, strict=True)
    )
    if min(out) <= 0:
        raise ShapeError(
            E201,
            f"{what} pool {fmt_shape(pool)} does not fit the {fmt_shape(hw)} input "
            f"with padding={padding}",
            "use padding=same, a smaller pool_size, or fewer pooling layers before it",
        )
    return out  # type: ignore[return-value]


def conv_transpose_output_length(
    length: int,
    kernel: int,
    stride: int,
    padding: str,
    output_padding: int | None,
    dilation: int = 1,
) -> int:
    """One spatial length of a transposed convolution (Keras ``deconv_output_length``)."""
    kernel = kernel + (kernel - 1) * (dilation - 1)
    if output_padding is None:
        if padding == "valid":
            return length * stride + max(kernel - stride, 0)
        return length * stride
    pad = kernel // 2 if padding == "same" else 0
    return (length - 1) * stride + kernel - 2 * pad + output_padding


def conv_transpose_padding(
    length: int, output: int, kernel: int, stride: int, padding: str, dilation: int = 1
) -> tuple[int, int, int]:
    """How a transposed convolution's full output becomes Keras's: (crop before, crop after, extra).

    The full output (every input pixel's kernel window scattered, ``(length - 1) * stride
    + dilated kernel`` long) is cropped where the forward 'same' convolution would have
    padded, the odd pixel at the end (TensorFlow's ``conv2d_transpose`` is that
    convolution's gradient); output padding may ask for ``extra`` zeros past its end.
    These are ONNX ``ConvTranspose``'s ``pads`` and ``output_padding``.
    """
    full = (length - 1) * stride + dilation * (kernel - 1) + 1
    before = max(full - output, 0) // 2 if padding == "same" else 0
    after = full - before - output
    return before, max(after, 0), max(-after, 0)


def broadcast_shapes(shapes: Sequence[Shape], what: str) -> Shape:
    """Element-wise merge output (Keras ``Merge._compute_elemwise_op_output_shape``)."""
    out = shapes[0]
    for shape in shapes[1:]:
        a, b = (out, shape) if len(out) >= len(shape) else (shape, out)
        tail = []
        for i, j in zip(a[len(a) - len(b) :], b, strict=True):
            if i == 1:
                tail.append(j)
            elif j == 1 or i == j:
                tail.append(i)
            else:
                raise ShapeError(
                    E204,
                    f"{what} expects inputs of the same shape, received "
                    + ", ".join(fmt_shape(s) for s in shapes),
                    "make the paths end with the same shape (a 1x1 conv2d or matching strides)",
                )
        out = a[: len(a) - len(b)] + tuple(tail)
    return out


def concat_shape(shapes: Sequence[Shape], axis: int) -> Shape:
    """Concatenate's output: shapes equal except on ``axis`` (batch axis counted as 0)."""
    rank = len(shapes[0])
    if any(len(s) != rank for s in shapes):
        raise ShapeError(
            E204,
            "concatenate expects inputs of the same rank, received "
            + ", ".join(fmt_shape(s) for s in shapes),
        )
    if axis == 0 or not -rank - 1 <= axis <= rank:
        raise ShapeError(
            E204,
            f"concatenate axis={axis} is out of range for inputs of rank {rank} "
            f"(expected -{rank}..-1 or 1..{rank})",
        )
    index = axis - 1 if axis > 0 else rank + axis
    for s in shapes[1:]:
        if s[:index] + s[index + 1 :] != shapes[0][:index] + shapes[0][index + 1 :]:
            raise ShapeError(
                E204,
                "concatenate expects inputs whose shapes match except on the concatenation "
                f"axis {axis}, received " + ", ".join(fmt_shape(s) for s in shapes),
                "pool or resize one input so their heights and widths agree",
            )
    joined = sum(s[index] for s in shapes)
    return (*shapes[0][:index], joined, *shapes[0][index + 1 :])


def reshape_shape(shape: Shape, target: Shape) -> Shape:
    """Reshape's output, resolving one -1; refuses a change in element count (E206)."""
    total = math.prod(shape)
    known = math.prod(d for d in target if d != -1)
    if -1 in target:
        if known == 0 or total % known:
            raise ShapeError(
                E206,
                f"cannot reshape {fmt_shape(shape)} ({total} elements) to {target}",
            )
        return tuple(total // known if d == -1 else d for d in target)
    if known != total:
        raise ShapeError(
            E206,
            f"reshape expects target_shape with {total} elements (the input is "
            f"{fmt_shape(shape)}), received {target} with {known}",
        )
    return target


def normalized_axes(shape: Shape, axes: int | Sequence[int], what: str) -> tuple[int, ...]:
    """``axes`` counted from the batch axis (1..rank), in the order given; E107 when out of range.

    Keras counts the batch axis as 0, accepts negative axes from the end, and
    refuses the batch axis for any statistic or weight (its size is unknown).
    """
    rank = len(shape) + 1
    given = (axes,) if isinstance(axes, int) else tuple(axes)
    out = []
    for axis in given:
        if not -rank <= axis < rank or axis % rank == 0:
            raise ShapeError(
                E107,
                f"{what} axis={axis} is out of range for an input of shape {fmt_shape(shape)} "
                f"(expected -{rank - 1}..-1 or 1..{rank - 1}; axis 0 is the batch)",
            )
        out.append(axis % rank)
    if len(set(out)) != len(out):
        raise ShapeError(E107, f"{what} axis={axes} names the same axis twice")
    return tuple(out)


def cropped_shape(shape: Shape, cropping: tuple[tuple[int, int], tuple[int, int]]) -> Shape:
    """Cropping2D's output; refuses a crop that leaves nothing (E201), as Keras does."""
    (top, bottom), (left, right) = cropping
    h, w, c = shape
    if top + bottom >= h or left + right >= w:
        raise ShapeError(
            E201,
            f"cropping2d cropping={cropping} leaves nothing of the {fmt_shape((h, w))} input "
            "(Keras needs each crop smaller than its side)",
            "crop less, or crop before the poolings",
        )
    return (h - top - bottom, w - left - right, c)


def permuted_shape(shape: Shape, dims: tuple[int, ...]) -> Shape:
    """Permute's output: the input's axes in the order ``dims`` (1-based; batch stays)."""
    if len(dims) != len(shape):
        raise ShapeError(
            E205,
            f"permute dims={dims} orders {len(dims)} axes, but the input {fmt_shape(shape)} "
            f"has {len(shape)}",
            f"give a permutation of 1..{len(shape)}",
        )
    return tuple(shape[d - 1] for d in dims)


def check_channel_values(shape: Shape, values: float | tuple[float, ...], what: str) -> None:
    """Refuse per-channel ``values`` that do not match the input's last axis (E107).

    Keras multiplies with NumPy broadcasting: a tuple of n values must meet a
    last axis of n (one value is one for every channel).
    """
    if isinstance(values, float) or len(values) == 1:
        return
    if not shape or shape[-1] != len(values):
        last = shape[-1] if shape else "no"
        raise ShapeError(
            E107,
            f"{what} holds {len(values)} values, but the input {fmt_shape(shape)} has {last} "
            "channels on its last axis",
            "give one value, or one per channel",
        )


def resized_crop(hw: tuple[int, int], size: tuple[int, int], pad: bool) -> tuple[int, int]:
    """The (height, width) Resizing crops to (``pad``: pads to) before it resizes.

    Keras (``backend/tensorflow/image.py``) takes the largest centred window
    with the target's aspect ratio (``crop_to_aspect_ratio``), or the smallest
    frame around the image with it (``pad_to_aspect_ratio``), in float32
    truncated to integers.
    """
    import numpy as np

    (h, w), (th, tw) = hw, size
    height = int(np.float32(w * th) / np.float32(tw))
    width = int(np.float32(h * tw) / np.float32(th))
    if pad:
        return max(h, height), max(w, width)
    return max(min(h, height), 1), max(min(w, width), 1)


def aspect_window(
    hw: tuple[int, int], size: tuple[int, int], pad: bool
) -> tuple[tuple[int, int], tuple[int, int]]:
    """What Resizing does before it resizes: ((top, left), (height, width)).

    Cropping (``pad`` false): the window of :func:`resized_crop` starting at
    (top, left). Padding: ``top`` rows above and below, ``left`` columns on
    each side, giving (height, width); Keras pads by the start offset on both
    sides, so an odd difference loses a row or column to the target's ratio.
    """
    (h, w), (ch, cw) = hw, resized_crop(hw, size, pad)
    if pad:
        top, left = (ch - h) // 2, (cw - w) // 2
        return (top, left), (h + 2 * top, w + 2 * left)
    return ((h - ch) // 2, (w - cw) // 2), (ch, cw)


def statistics_shape(shape: Shape, axes: int | Sequence[int]) -> list[int]:
    """Keras's ``broadcast_shape`` of statistics over ``axes``: their sizes there, 1 elsewhere.

    Batch axis included (as 1). Keras reshapes a normalization's weights to
    it, whatever order ``axes`` lists them in.
    """
    rank = len(shape) + 1
    out = [1] * rank
    for axis in (axes,) if isinstance(axes, int) else axes:
        out[axis] = (1, *shape)[axis % rank]
    return out


def values_shape(values: float | Sequence[float], rank: int, axis: int) -> list[int]:
    """The shape (rank ``rank``) that broadcasts a number, or one value per position of ``axis``."""
    out = [1] * rank
    if not isinstance(values, (int, float)):
        out[axis] = len(values)
    return out
