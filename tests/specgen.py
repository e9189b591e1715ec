"""Seeded random ``.cnn`` specs for differential tests (Keras, ONNX, NumPy).

``generate_spec(seed)`` writes one valid model named ``m``; the same seed
always gives the same text. The generator tracks shapes only to stay valid;
the ground truth of every shape and count is computed by Keras in the tests.
``generate_invalid_spec(seed)`` writes a model with exactly one error that
Keras refuses, and the 1-based line of the offending layer.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from specc.ir.layers import KINDS
from specc.ir.values import ACTIVATIONS

Shape = tuple[int, ...]
MAX_HW, MAX_C, MAX_ELEMS = 48, 16, 48 * 48 * 16
ELEMWISE = ("add", "subtract", "multiply", "average", "maximum", "minimum")
ALIASES = {
    "conv2d": ["conv2d", "conv", "Conv2D"],
    "depthwiseconv2d": ["depthwiseconv2d", "dwconv"],
    "separableconv2d": ["separableconv2d", "sepconv"],
    "conv2dtranspose": ["conv2dtranspose", "convtranspose"],
    "maxpooling2d": ["maxpooling2d", "maxpool", "MaxPooling2D"],
    "averagepooling2d": ["averagepooling2d", "avgpool"],
    "globalaveragepooling2d": ["globalaveragepooling2d", "globalavgpool"],
    "globalmaxpooling2d": ["globalmaxpooling2d", "globalmaxpool"],
    "batchnormalization": ["batchnormalization", "batchnorm", "bn", "BatchNormalization"],
    "zeropadding2d": ["zeropadding2d", "zeropad"],
    "upsampling2d": ["upsampling2d", "upsample"],
}


class InvalidError(Exception):
    """The generator's own shape tracking says this op cannot apply here."""


@dataclass
class Op:
    """Statement lines and the shape function they stand for (re-applied by ``repeat``)."""

    lines: list[str]
    fn: Callable[[Shape], Shape]
    nodes: int = 1


def _length(n: int, k: int, s: int, pad: str, d: int = 1) -> int:
    out = (n - 1) // s + 1 if pad == "same" else (n - d * (k - 1) - 1) // s + 1
    if out <= 0:
        raise InvalidError
    return out


def _spatial(x: Shape, k: int, s: int, pad: str, channels: int) -> Shape:
    _rank(x, 3)
    return (_length(x[0], k, s, pad), _length(x[1], k, s, pad), channels)


def _bounded(shape: Shape) -> Shape:
    size = 1
    for d in shape:
        size *= d
    if size > MAX_ELEMS or (len(shape) == 3 and max(shape[:2]) > MAX_HW):
        raise InvalidError
    return shape


def _rank(shape: Shape, rank: int) -> None:
    if len(shape) != rank:
        raise InvalidError


@dataclass
class Gen:
    """Random choices plus the spec under construction."""

    rng: random.Random
    kinds: frozenset[str]
    graphs: bool
    blocks: dict[str, str] = field(default_factory=dict)
    named: dict[str, Shape] = field(default_factory=dict)

    # -- spelling ------------------------------------------------------------------

    def word(self, kind: str) -> str:
        return self.rng.choice(ALIASES.get(kind, [kind]))

    def pair(self, a: int, b: int, key: str | None = None) -> str:
        r = self.rng.random()
        text = f"({a}, {b})" if r < 0.25 else f"{a}x{b}" if r < 0.6 or a != b else str(a)
        return f"{key}={text}" if key else text

    def act(self) -> str:
        return self.rng.choice(ACTIVATIONS)

    def extras(self, options: list[str], p: float = 0.15) -> list[str]:
        return [o for o in options if self.rng.random() < p]

    def ok(self, *kinds: str) -> bool:
        return all(k in self.kinds for k in kinds)

    # -- convolutions ----------------------------------------------------------------

    def conv(self, shape: Shape, kind: str) -> Op | None:
        if len(shape) != 3:
            return None
        rng = self.rng
        c = shape[2]
        kh, kw = (
            (rng.randint(1, 5),) * 2
            if rng.random() < 0.8
            else (rng.randint(1, 4), rng.randint(1, 4))
        )
        pad = rng.choice(["valid", "same"])
        s = d = (1, 1)
        mode = rng.random()
        if mode < 0.3:
            s = (
                (rng.randint(1, 3),) * 2
                if rng.random() < 0.8
                else (rng.randint(1, 2), rng.randint(1, 3))
            )
        elif mode < 0.45 and kind != "conv2dtranspose":
            d = (rng.randint(2, 3),) * 2
        f = rng.randint(1, 8)
        groups = 1
        if kind == "conv2d" and rng.random() < 0.2:
            divisors = [g for g in range(2, c + 1) if c % g == 0]
            if divisors:
                groups = rng.choice(divisors)
                f = groups * rng.randint(1, 3)
        mult = (
            rng.randint(1, 3)
            if kind in ("depthwiseconv2d", "separableconv2d") and rng.random() < 0.4
            else 1
        )
        outpad = None
        if kind == "conv2dtranspose" and max(s) > 1 and rng.random() < 0.5:
            outpad = tuple(rng.randint(0, x - 1) for x in s)
        parts = [self.word(kind)]
        if kind != "depthwiseconv2d":
            parts.append(str(f))
        parts.append(self.pair(kh, kw) if rng.random() < 0.85 else self.pair(kh, kw, "kernel_size"))
        if s != (1, 1) or rng.random() < 0.05:
            parts.append(self.pair(*s, "strides"))
        if d != (1, 1):
            parts.append(self.pair(*d, "dilation_rate"))
        if pad == "same" or rng.random() < 0.2:
            parts.append(rng.choice([pad, f"padding={pad}", f'padding="{pad}"']))
        if rng.random() < 0.5:
            a = self.act()
            parts.append(rng.choice([a, f"activation={a}"]))
        if groups > 1:
            parts.append(f"groups={groups}")
        if mult > 1:
            parts.append(f"depth_multiplier={mult}")
        if outpad is not None:
            parts.append(self.pair(*outpad, "output_padding"))
        kernel_key = {
            "depthwiseconv2d": "depthwise_initializer",
            "separableconv2d": "pointwise_initializer",
        }.get(kind, "kernel_initializer")
        parts += self.extras(
            [
                "use_bias=false",
                f"{kernel_key}=he_normal",
                "bias_initializer=ones",
                "kernel_regularizer=l2(0.01)"
                if kind in ("conv2d", "conv2dtranspose")
                else "bias_regularizer=l1(0.001)",
                "bias_constraint=max_norm(2)",
                "trainable=false",
            ],
            0.08,
        )

        def fn(x: Shape) -> Shape:
            _rank(x, 3)
            xh, xw, xc = x
            if kind == "conv2dtranspose":
                hw = []
                for n, k, st, op in zip((xh, xw), (kh, kw), s, outpad or (None, None), strict=True):
                    if op is None:
                        hw.append(n * st + max(k - st, 0) if pad == "valid" else n * st)
                    else:
                        hw.append((n - 1) * st + k - 2 * (k // 2 if pad == "same" else 0) + op)
                if min(hw) <= 0:
                    raise InvalidError
                return _bounded((*hw, f))
            if xc % groups:
                raise InvalidError
            oh = _length(xh, kh, s[0], pad, d[0])
            ow = _length(xw, kw, s[1], pad, d[1])
            return _bounded((oh, ow, xc * mult if kind == "depthwiseconv2d" else f))

        try:
            fn(shape)
        except InvalidError:
            return None
        return Op([" ".join(parts)], fn)

    def pool(self, shape: Shape, kind: str) -> Op | None:
        rng = self.rng
        if len(shape) != 3:
            return None
        if kind.startswith("global"):
            keep = rng.random() < 0.3
            text = self.word(kind) + (" keepdims=true" if keep else "")
            return Op([text], lambda x: (_rank(x, 3), (1, 1, x[2]) if keep else (x[2],))[1])
        p = (
            (rng.randint(1, 4),) * 2
            if rng.random() < 0.85
            else (rng.randint(1, 3), rng.randint(1, 3))
        )
        s = None if rng.random() < 0.6 else (rng.randint(1, 3),) * 2
        pad = rng.choice(["valid", "same"])
        parts = [self.word(kind)]
        if p != (2, 2) or rng.random() < 0.5:
            parts.append(self.pair(*p) if rng.random() < 0.8 else self.pair(*p, "pool_size"))
        if s is not None:
            parts.append(self.pair(*s, "strides"))
        if pad == "same" or rng.random() < 0.2:
            parts.append(rng.choice([pad, f"padding={pad}"]))
        st = s or p

        def fn(x: Shape) -> Shape:
            _rank(x, 3)
            return (_length(x[0], p[0], st[0], pad), _length(x[1], p[1], st[1], pad), x[2])

        try:
            fn(shape)
        except InvalidError:
            return None
        return Op([" ".join(parts)], fn)

    # -- everything else --------------------------------------------------------------

    def simple(self, shape: Shape, kind: str) -> Op | None:
        rng = self.rng
        rank = len(shape)
        if kind == "dense":
            u = rng.randint(1, 16)
            parts = ["dense", str(u) if rng.random() < 0.9 else f"units={u}"]
            if rng.random() < 0.5:
                a = self.act()
                parts.append(rng.choice([a, f"activation={a}", f'activation="{a}"']))
            parts += self.extras(
                [
                    "use_bias=false",
                    "kernel_initializer=random_normal(stddev=0.02)",
                    "kernel_regularizer=l1_l2(l1=0.01, l2=0.01)",
                    "trainable=false",
                ],
                0.08,
            )
            if rank > 1 and shape[-1] * u > 4096:
                return None
            return Op(
                [" ".join(parts) + ("  # noqa: W401" if rank > 1 and rng.random() < 0.3 else "")],
                lambda x: (*x[:-1], u),
            )
        if kind == "flatten":
            return Op(["flatten"], lambda x: (_prod(x),))
        if kind == "dropout":
            r = rng.choice([0.0, 0.1, 0.25, 0.5, 0.9])
            text = rng.choice([f"dropout {r}", f"dropout rate={r}"]) + (
                " seed=7" if rng.random() < 0.1 else ""
            )
            return Op([text], lambda x: x)
        if kind == "batchnormalization":
            axis = -1 if rank == 1 or rng.random() < 0.85 else rng.choice([1, 2, rank])
            parts = [self.word(kind)]
            if axis != -1:
                parts.append(f"axis={axis}")
            parts += self.extras(
                [
                    "center=false",
                    "scale=false",
                    "momentum=0.9",
                    "epsilon=0.001",
                    "gamma_initializer=random_uniform(minval=0.5, maxval=1.5)",
                ],
                0.2,
            )

            def bn(x: Shape) -> Shape:
                if axis > len(x):
                    raise InvalidError
                return x

            return Op([" ".join(parts)], bn)
        if kind == "activation":
            a = self.act()
            text = rng.choice(
                [a, f"activation {a}", f'Activation "{a}"', f"activation activation={a}"]
            )
            return Op([text], lambda x: x)
        if kind == "zeropadding2d" and rank == 3:
            form = rng.random()
            if form < 0.3:
                v = rng.randint(0, 2)
                arg, pads = str(v), ((v, v), (v, v))
            elif form < 0.6:
                a, b = rng.randint(0, 2), rng.randint(0, 2)
                arg, pads = f"({a}, {b})", ((a, a), (b, b))
            else:
                pads = tuple((rng.randint(0, 2), rng.randint(0, 2)) for _ in range(2))
                arg = f"(({pads[0][0]}, {pads[0][1]}), ({pads[1][0]}, {pads[1][1]}))"
            (t, b), (le, ri) = pads
            text = self.word(kind) + ("" if arg == "1" and rng.random() < 0.5 else f" {arg}")
            return Op(
                [text], lambda x: (_rank(x, 3), _bounded((x[0] + t + b, x[1] + le + ri, x[2])))[1]
            )
        if kind == "upsampling2d" and rank == 3:
            sz = (
                (rng.randint(1, 3),) * 2
                if rng.random() < 0.8
                else (rng.randint(1, 2), rng.randint(1, 3))
            )
            parts = [self.word(kind)]
            if sz != (2, 2) or rng.random() < 0.5:
                parts.append(self.pair(*sz))
            if rng.random() < 0.4:
                parts.append(rng.choice(["interpolation=bilinear", 'interpolation="nearest"']))
            op = Op(
                [" ".join(parts)],
                lambda x: (_rank(x, 3), _bounded((x[0] * sz[0], x[1] * sz[1], x[2])))[1],
            )
            return _checked(op, shape)
        if kind == "reshape":
            return self.reshape(shape)
        return None

    def reshape(self, shape: Shape) -> Op | None:
        rng = self.rng
        total = _prod(shape)
        divisors = [d for d in range(1, total + 1) if total % d == 0]
        r = rng.random()
        if r < 0.35:
            target: Shape = (total,)
        elif r < 0.6:
            a = rng.choice(divisors)
            target = (a, total // a)
        else:
            a = rng.choice(divisors)
            rest = total // a
            b = rng.choice([d for d in divisors if rest % d == 0])
            target = (a, b, rest // b)
            if max(a, b) > MAX_HW:
                return None
        shown = list(target)
        if rng.random() < 0.4:
            shown[rng.randrange(len(shown))] = -1
        text = "(" + ", ".join(map(str, shown)) + ("," if len(shown) == 1 else "") + ")"
        if len(shown) > 1 and rng.random() < 0.3 and -1 not in shown:
            text = "x".join(map(str, shown))

        def fn(x: Shape) -> Shape:
            if _prod(x) != total:
                raise InvalidError
            return target

        return Op([rng.choice([f"reshape {text}", f"reshape target_shape={text}"])], fn)


def _prod(shape: Shape) -> int:
    out = 1
    for d in shape:
        out *= d
    return out


def _checked(op: Op | None, shape: Shape) -> Op | None:
    if op is None:
        return None
    try:
        op.fn(shape)
    except InvalidError:
        return None
    return op


RANK3 = {
    k
    for k in KINDS
    if k
    not in (
        "dense",
        "flatten",
        "dropout",
        "batchnormalization",
        "activation",
        "reshape",
        *ELEMWISE,
        "concatenate",
    )
}
ANY_RANK = ("dense", "flatten", "dropout", "batchnormalization", "activation", "reshape")
CONV = ("conv2d", "depthwiseconv2d", "separableconv2d", "conv2dtranspose")
POOL = ("maxpooling2d", "averagepooling2d", "globalaveragepooling2d", "globalmaxpooling2d")


def _indent(lines: list[str], n: int = 2) -> list[str]:
    return [" " * n + line for line in lines]


def _merge_fn(kind: str, shapes: list[Shape], axis: int = -1) -> Shape:
    rank = len(shapes[0])
    if any(len(s) != rank for s in shapes):
        raise InvalidError
    if kind == "concatenate":
        i = axis - 1 if axis > 0 else rank + axis
        if any(s[:i] + s[i + 1 :] != shapes[0][:i] + shapes[0][i + 1 :] for s in shapes):
            raise InvalidError
        return _bounded((*shapes[0][:i], sum(s[i] for s in shapes), *shapes[0][i + 1 :]))
    out = []
    for dims in zip(*shapes, strict=True):
        big = {d for d in dims if d != 1}
        if len(big) > 1:
            raise InvalidError
        out.append(big.pop() if big else 1)
    return tuple(out)


class Builder:
    """Writes one model (and the blocks it calls) from a :class:`Gen`."""

    def __init__(self, g: Gen, max_layers: int) -> None:
        self.g = g
        self.rng = g.rng
        self.budget = self.rng.randint(1, max(1, max_layers))
        self.nodes = 0
        self.block_names: dict[str, str] = {}
        self.names = 0

    # -- the model ----------------------------------------------------------------------

    def input_shape(self) -> Shape:
        r = self.rng.random()
        needs_map = bool(self.g.kinds & RANK3) and not self.g.kinds & set(ANY_RANK)
        if r < 0.75 or needs_map:
            return (self.rng.randint(4, 40), self.rng.randint(4, 40), self.rng.randint(1, 8))
        if r < 0.92:
            return (self.rng.randint(1, 64),)
        return (self.rng.randint(1, 12), self.rng.randint(1, 12))

    def body(self, shape: Shape, budget: int, top: bool) -> tuple[list[str], Shape]:
        lines: list[str] = []
        failures = 0
        while self.nodes < budget and failures < 30:
            op = self.step(shape, top)
            if op is None:
                failures += 1
                continue
            lines += op.lines
            shape = op.fn(shape)
            self.nodes += op.nodes
        return lines, shape

    def build(self) -> str | None:
        shape = self.input_shape()
        dims = "x".join(map(str, shape))
        head = self.rng.choice([f"input {dims}", f"input ({', '.join(map(str, shape))},)"])
        if len(shape) > 1 and self.rng.random() < 0.5:
            head = f"input {dims}" + (" name=image" if self.rng.random() < 0.3 else "")
        lines, _ = self.body(shape, self.budget, top=True)
        if self.nodes == 0:
            return None
        model = ["# generated by tests/specgen.py", "model m {", *_indent([head, *lines]), "}"]
        blocks = [line for text in self.g.blocks.values() for line in [*text.splitlines(), ""]]
        out = [*blocks, *model] if self.rng.random() < 0.7 else [*model, "", *blocks]
        return "\n".join(out).rstrip("\n") + "\n"

    # -- one statement ------------------------------------------------------------------

    def step(self, shape: Shape, top: bool) -> Op | None:
        r = self.rng.random()
        if self.g.graphs and r < 0.12:
            return self.merge(shape, self.rng.choice([*ELEMWISE, "concatenate", "add"]))
        if self.g.graphs and top and r < 0.2 and self.g.named:
            return self.ref_merge(shape)
        if r < 0.3:
            return self.block_call(shape)
        if r < 0.36 and top:
            return self.repeat(shape)
        op = self.layer(shape)
        if op is not None and top and self.rng.random() < 0.2:
            op = self.named(op, shape)
        return op

    def layer(self, shape: Shape, kind: str | None = None) -> Op | None:
        allowed = [
            k for k in (RANK3 | set(ANY_RANK)) & self.g.kinds if len(shape) == 3 or k in ANY_RANK
        ]
        if not allowed and kind is None:
            return None
        kind = kind or self.rng.choice(sorted(allowed))
        if kind in CONV:
            return self.g.conv(shape, kind)
        if kind in POOL:
            return self.g.pool(shape, kind)
        return self.g.simple(shape, kind)

    def named(self, op: Op, shape: Shape) -> Op:
        name = f"t{self.names}"
        self.names += 1
        self.g.named[name] = op.fn(shape)
        first, *rest = op.lines
        if "  # noqa" in first:
            text, _, noqa = first.partition("  # noqa")
            first = f"{text} name={name}  # noqa{noqa}"
        elif first.endswith("{"):
            first = first[:-1] + f"name={name} {{"
        else:
            first = f"{first} name={name}"
        return Op([first, *rest], op.fn, op.nodes)

    def repeat(self, shape: Shape) -> Op | None:
        saved = self.nodes
        ops = [
            op
            for _ in range(self.rng.randint(1, 2))
            if (op := self.layer(shape) or self.block_call(shape))
        ]
        self.nodes = saved
        if not ops:
            return None
        n = self.rng.randint(0, 3)

        def once(x: Shape) -> Shape:
            for op in ops:
                x = op.fn(x)
            return x

        def fn(x: Shape) -> Shape:
            for _ in range(n):
                x = once(x)
            return x

        while n > 0:
            try:
                fn(shape)
                break
            except InvalidError:
                n -= 1
        count = self.rng.choice([str(n), f"{n} + 0", f"({n + 1} - 1)"]) if n else "0"
        body = [line for op in ops for line in op.lines]
        return Op([f"repeat {count} {{", *_indent(body), "}"], fn, n * sum(o.nodes for o in ops))

    # -- merges ---------------------------------------------------------------------------

    def merge(self, shape: Shape, kind: str) -> Op | None:
        if kind not in self.g.kinds:
            return None
        rng = self.rng
        rank = len(shape)
        n = 2 if kind == "subtract" else rng.randint(2, 3)
        s = rng.choice([1, 1, 2]) if rank == 3 and min(shape[:2]) >= 2 else 1
        target = None if kind == "concatenate" else rng.choice([shape[-1], rng.randint(1, 8)])
        paths = [
            self.path(shape, s, target, broadcast=kind != "concatenate" and i > 0) for i in range(n)
        ]
        if any(p is None for p in paths):
            return None
        axis = -1
        try:
            outs = [p.fn(shape) for p in paths]  # type: ignore[union-attr]
            if kind == "concatenate" and all(o == outs[0] for o in outs) and rng.random() < 0.4:
                axis = rng.choice([1, 2, 3, -2, -3][: 2 * rank - 1] if rank == 3 else [1, -1])
            _merge_fn(kind, outs, axis)
        except InvalidError:
            return None
        head = rng.choice([kind, kind.capitalize()]) + (
            f" axis={axis}" if axis != -1 or (kind == "concatenate" and rng.random() < 0.1) else ""
        )
        lines = [f"{head} {{"]
        for p in paths:
            inner = p.lines  # type: ignore[union-attr]
            lines += _indent(["path { }"] if not inner else ["path {", *_indent(inner), "}"])
        lines.append("}")

        def fn(x: Shape) -> Shape:
            return _merge_fn(kind, [p.fn(x) for p in paths], axis)  # type: ignore[union-attr]

        return Op(lines, fn, 1 + sum(p.nodes for p in paths))  # type: ignore[union-attr]

    def path(self, shape: Shape, s: int, target: int | None, broadcast: bool) -> Op | None:
        rng = self.rng
        ok = self.g.ok
        lines: list[str] = []
        if len(shape) != 3:
            if (target is not None and target != shape[-1]) or rng.random() < 0.7:
                units = target if target is not None else rng.randint(1, 8)
                if not ok("dense"):
                    return None
                lines.append(f"dense {units}" + (f" {self.g.act()}" if rng.random() < 0.5 else ""))
            lines += self.preserving(shape, "dropout", "batchnormalization", "activation")
            return self.compile_path(lines, shape)
        c = shape[2]
        if broadcast and rng.random() < 0.25 and ok("globalaveragepooling2d", "conv2d"):
            lines = ["globalavgpool keepdims=true", f"conv2d {target} 1x1 {self.g.act()}"]
            return self.compile_path(lines, shape)
        if s == 1 and target in (None, c) and rng.random() < 0.4:
            return Op([], lambda x: x, 0)
        f = target if target is not None else rng.randint(1, 8)
        k = rng.randint(1, 4)
        choices = []
        if ok("conv2d"):
            choices.append(f"conv2d {f} {k}x{k} same strides={s}")
        if ok("separableconv2d"):
            choices.append(f"sepconv {f} {k} padding=same strides={s}")
        if f == c and ok("maxpooling2d"):
            choices.append(f"maxpool {k} strides={s} padding=same")
        if f == c and ok("depthwiseconv2d"):
            choices.append(f"dwconv {k} strides={s} padding=same")
        if not choices:
            return None
        lines.append(rng.choice(choices))
        lines += self.preserving(shape, "batchnormalization", "activation", "dropout")
        return self.compile_path(lines, shape)

    def preserving(self, shape: Shape, *kinds: str) -> list[str]:
        return [
            op.lines[0]
            for _ in range(self.rng.randint(0, 2))
            if (k := self.rng.choice(kinds)) in self.g.kinds and (op := self.g.simple(shape, k))
        ]

    def compile_path(self, lines: list[str], shape: Shape) -> Op:
        """A path's op: the generator re-derives its shape function from fresh ops."""
        ops = [self.parse_line(line) for line in lines]

        def fn(x: Shape) -> Shape:
            for op in ops:
                x = op(x)
            return x

        return Op(lines, fn, len(lines))

    @staticmethod
    def parse_line(line: str) -> Callable[[Shape], Shape]:
        """Shape functions of the few statements paths are made of."""
        words = line.split()
        head = words[0].lower()
        if head == "globalavgpool":
            return lambda x: (_rank(x, 3), (1, 1, x[2]))[1]
        if head == "dense":
            return lambda x: (*x[:-1], int(words[1]))
        if head in ("conv2d", "sepconv", "maxpool", "dwconv"):
            k = int(words[2 if head in ("conv2d", "sepconv") else 1].split("x")[0])
            s = int(next((w.split("=")[1] for w in words if w.startswith("strides=")), "1"))
            pad = "same" if "same" in line else "valid"

            def conv(x: Shape) -> Shape:
                _rank(x, 3)
                c = int(words[1]) if head in ("conv2d", "sepconv") else x[2]
                return (_length(x[0], k, s, pad), _length(x[1], k, s, pad), c)

            return conv
        if head in ("bn", "batchnorm", "batchnormalization") and "axis=" in line:
            axis = int(line.split("axis=")[1].split()[0])
            return lambda x: x if axis <= len(x) else (_ for _ in ()).throw(InvalidError())
        return lambda x: x

    def ref_merge(self, shape: Shape) -> Op | None:
        rng = self.rng
        kind = rng.choice(["concatenate", "concatenate", "add", "multiply", "subtract", "maximum"])
        if kind not in self.g.kinds:
            return None
        if kind == "concatenate":
            fits = [
                n for n, s in self.g.named.items() if len(s) == len(shape) and s[:-1] == shape[:-1]
            ]
        else:
            fits = [n for n, s in self.g.named.items() if s == shape]
        if not fits:
            return None
        refs = (
            [rng.choice(fits)]
            if kind == "subtract"
            else rng.sample(fits, rng.randint(1, min(2, len(fits))))
        )
        ref_shapes = [self.g.named[r] for r in refs]
        try:
            _merge_fn(kind, [shape, *ref_shapes])
        except InvalidError:
            return None
        text = f"{kind} " + " ".join(f"@{r}" for r in refs)

        def fn(x: Shape) -> Shape:
            return _merge_fn(kind, [x, *ref_shapes])

        return Op([text], fn)

    # -- blocks ------------------------------------------------------------------------------

    def define(self, template: str, text: str) -> str:
        if template not in self.block_names:
            name = f"blk{len(self.block_names)}"
            self.block_names[template] = name
            self.g.blocks[name] = text.replace("NAME", name)
        return self.block_names[template]

    def number(self, value: int) -> str:
        """``value`` written as itself or as arithmetic."""
        r = self.rng.random()
        if r < 0.15 and value % 2 == 0:
            return f"{value // 2} * 2"
        if r < 0.25 and value > 1:
            return f"{value - 1} + 1"
        return str(value)

    def block_call(self, shape: Shape) -> Op | None:
        rng = self.rng
        ok = self.g.ok
        options = []
        if len(shape) == 3 and ok("conv2d", "batchnormalization", "activation"):
            options += ["convbn", "stack"]
        if len(shape) == 3 and ok("conv2d", "depthwiseconv2d"):
            options.append("bottleneck")
        if len(shape) == 3 and ok("conv2d"):
            options.append("pad")
        if (
            len(shape) == 3
            and self.g.graphs
            and ok("add", "conv2d", "batchnormalization", "activation")
        ):
            options.append("residual")
        if ok("dense", "dropout"):
            options.append("head")
        if not options:
            return None
        return getattr(self, f"_block_{rng.choice(options)}")(shape)

    def _block_convbn(self, shape: Shape) -> Op | None:
        act = self.g.act()
        name = self.define(
            "convbn",
            "block NAME(f, k=3, s=1) {\n"
            "  conv2d f k strides=s padding=same use_bias=false\n"
            f"  batchnorm\n  {act}\n}}",
        )
        f = self.rng.randint(1, 8)
        s = self.rng.choice([1, 1, 2])
        k = self.rng.choice([3, 3, 1, 2])
        args = [self.number(f)] + ([f"k={k}"] if k != 3 else []) + ([f"s={s}"] if s != 1 else [])
        return Op([" ".join([name, *args])], lambda x: _spatial(x, k, s, "same", f), 3)

    def _block_stack(self, shape: Shape) -> Op | None:
        inner = self._block_convbn(shape)
        inner_name = self.block_names["convbn"]
        name = self.define(
            "stack",
            f"block NAME(f, n=2) {{\n  repeat n - 1 {{\n    {inner_name} f\n  }}\n"
            "  conv2d f 1x1\n}",
        )
        f, n = self.rng.randint(1, 8), self.rng.randint(1, 3)
        text = f"{name} {self.number(f)}" + (f" n={n}" if n != 2 else "")
        assert inner is not None
        return Op([text], lambda x: (_rank(x, 3), (x[0], x[1], f))[1], 3 * (n - 1) + 1)

    def _block_bottleneck(self, shape: Shape) -> Op | None:
        name = self.define(
            "bottleneck",
            "block NAME(f, e=2) {\n  conv2d f * e 1x1 relu\n"
            "  dwconv 3 padding=same\n  conv2d (f + 1) // 2 1x1\n}",
        )
        f, e = self.rng.randint(1, 8), self.rng.choice([1, 2, 3])
        text = f"{name} {f}" + (f" e={e}" if e != 2 else "")
        return Op([text], lambda x: (_rank(x, 3), (x[0], x[1], (f + 1) // 2))[1], 3)

    def _block_pad(self, shape: Shape) -> Op | None:
        name = self.define("pad", "block NAME(f, pad=same) {\n  conv2d f 3 padding=pad\n}")
        f = self.rng.randint(1, 8)
        pad = self.rng.choice(["same", "valid"])
        arg = {"same": "", "valid": self.rng.choice([" pad=valid", ' pad="valid"'])}[pad]
        return _checked(Op([f"{name} {f}{arg}"], lambda x: _spatial(x, 3, 1, pad, f)), shape)

    def _block_residual(self, shape: Shape) -> Op | None:
        name = self.define(
            "residual",
            "block NAME(f) {\n  add {\n    path { }\n    path {\n"
            "      conv2d f 3x3 same\n      batchnorm\n      relu\n"
            "      conv2d f 3x3 same\n      batchnorm\n    }\n  }\n  relu\n}",
        )
        c = shape[2]

        def fn(x: Shape) -> Shape:
            if len(x) != 3 or x[2] != c:
                raise InvalidError
            return x

        return Op([f"{name} {self.number(c)}"], fn, 7)

    def _block_head(self, shape: Shape) -> Op | None:
        name = self.define(
            "head", "block NAME(u, rate=0.25) {\n  dense u * 2 relu\n  dropout rate\n  dense u\n}"
        )
        u = self.rng.randint(1, 8)
        rate = self.rng.choice([0.25, 0.5, 0.0])
        text = f"{name} {u}" + (f" rate={rate}" if rate != 0.25 else "")
        if len(shape) > 1:
            text += "  # noqa: W401"
            if shape[-1] * u * 2 > 4096:
                return None
        return Op([text], lambda x: (*x[:-1], u), 3)


def invalid_spec(g: Gen, rng: random.Random) -> tuple[str, int]:
    """A valid prefix, one statement Keras refuses, and maybe a few statements after it."""
    builder = Builder(g, 6)
    first: Shape = (rng.randint(4, 24), rng.randint(4, 24), rng.randint(1, 8))
    lines, shape = builder.body(first, rng.randint(0, 5), top=True)
    kinds = ["rank", "reshape"]
    if len(shape) == 3:
        kinds += ["empty", "pool_empty", "groups", "dilation", "concat", "outpad"]
        if shape[2] > 1 or min(shape[:2]) > 1:
            kinds.append("merge")
    kind = rng.choice(kinds)
    if kind == "rank":
        if len(shape) == 3:
            lines.append(rng.choice(["flatten", "globalavgpool", "globalmaxpool"]))
        bad = rng.choice(
            [
                "conv2d 4 3",
                "maxpool 2",
                "globalavgpool",
                "zeropad 1",
                "upsample 2",
                "dwconv 3",
                "sepconv 4 1",
                "convtranspose 2 2",
                "avgpool",
            ]
        )
    elif kind == "reshape":
        total = _prod(shape)
        bad = rng.choice(
            [
                f"reshape ({total + 1},)",
                f"reshape ({total + 1}, -1)",
                f"reshape (2, {total}, 1)",
                f"reshape (-1, {total + 1})",
            ]
        )
    elif kind == "empty":
        k = min(shape[:2]) + rng.randint(1, 3)
        bad = rng.choice([f"conv2d 4 {k}x{k}", f"sepconv 2 {k}", f"dwconv {k} padding=valid"])
        if rng.random() < 0.3:
            d = rng.randint(2, 4)
            k = (min(shape[:2]) + d) // d + 1
            bad = f"conv2d 3 {k} dilation_rate={d}"
    elif kind == "pool_empty":
        p = min(shape[:2]) + rng.randint(1, 3)
        bad = rng.choice(
            [f"maxpool {p}", f"avgpool {p}x{p} padding=valid", f"maxpool {p} strides=1"]
        )
    elif kind == "groups":
        c = shape[2]
        bad_g = (
            rng.choice([g_ for g_ in range(2, 9) if c % g_]) if rng.random() < 0.6 or c == 1 else c
        )
        f = bad_g * rng.randint(1, 2) if c % bad_g else bad_g * rng.randint(1, 2) + 1
        bad = f"conv2d {f} 3 padding=same groups={bad_g}"
    elif kind == "dilation":
        layer = rng.choice(["conv2d 4 3", "conv 2 1", "convtranspose 4 3"])
        bad = f"{layer} padding=same strides={rng.randint(2, 3)} dilation_rate={rng.randint(2, 3)}"
    elif kind == "merge":
        c = shape[2]
        merge = rng.choice(ELEMWISE)
        others = ([f"conv2d {c + 1} 1"] if c > 1 else []) + (
            ["zeropad 1"] if min(shape[:2]) > 1 else []
        )
        other = rng.choice(others)
        bad = f"{merge} {{\n  path {{ }}\n  path {{\n    {other}\n  }}\n}}"
    elif kind == "concat":
        if max(shape[:2]) < 2:
            bad = "concatenate {\n  path { }\n  path {\n    upsample 2\n  }\n}"
        else:
            bad = "concatenate {\n  path { }\n  path {\n    maxpool 2 padding=same\n  }\n}"
    else:
        s = rng.randint(1, 3)
        bad = f"convtranspose 4 3 strides={s} output_padding={s + rng.randint(0, 1)}"
    line_index = len(lines)
    lines += bad.split("\n")
    if rng.random() < 0.3:
        lines += rng.sample(["dropout 0.5", "relu", "flatten", "dense 3"], rng.randint(1, 2))
    blocks = [line for text in g.blocks.values() for line in [*text.splitlines(), ""]]
    model = ["model m {", f"  input {'x'.join(map(str, first))}", *_indent(lines), "}"]
    return "\n".join([*blocks, *model]) + "\n", len(blocks) + 3 + line_index


def generate_spec(
    seed: int, *, graphs: bool = True, kinds: frozenset[str] | None = None, max_layers: int = 12
) -> str:
    """The source of one valid model ``m``: deterministic for ``seed``.

    ``graphs`` allows merges, paths, @references and residual blocks; ``kinds``
    restricts the layer kinds used (canonical names of ``specc.ir.layers.KINDS``);
    ``max_layers`` bounds the number of layer statements the model expands to.
    """
    chosen = frozenset(KINDS) if kinds is None else frozenset(kinds)
    unknown = chosen - set(KINDS)
    if unknown:
        raise ValueError(f"unknown kinds {sorted(unknown)}; choose from {KINDS}")
    for attempt in range(50):
        rng = random.Random(f"{seed}/{attempt}")
        text = Builder(Gen(rng, chosen, graphs), max_layers).build()
        if text is not None:
            return text
    raise ValueError(f"cannot build a model from kinds {sorted(chosen)}")


def generate_invalid_spec(seed: int) -> tuple[str, int]:
    """A spec with exactly one error that Keras refuses, and the 1-based line of that layer."""
    rng = random.Random(f"invalid/{seed}")
    return invalid_spec(Gen(rng, frozenset(KINDS), True), rng)
