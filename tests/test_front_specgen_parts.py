"""Layer statements for ``specgen``: random spellings of every kind, with shape functions.

Part of the spec generator (``tests/specgen.py`` is its entry point); named
``test_front_*`` to live among the front end's test files. Its own tests
check that every statement it writes is one specc accepts.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from specc.check import check_source
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

    def layer(self, shape: Shape, kind: str) -> Op | None:
        """A statement of ``kind`` valid on ``shape``, or None when none fits."""
        if kind in ("conv2d", "depthwiseconv2d", "separableconv2d", "conv2dtranspose"):
            return self.conv(shape, kind)
        if kind.endswith("pooling2d"):
            return self.pool(shape, kind)
        return self.simple(shape, kind)

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
        elif mode < 0.45:
            d = (rng.randint(2, 3),) * 2  # Conv2DTranspose too: Keras takes it with strides 1
        elif mode < 0.55 and kind in ("depthwiseconv2d", "separableconv2d"):
            # Keras refuses strides with dilation in Conv2D only; these take both.
            s, d = (rng.randint(2, 3),) * 2, (rng.randint(2, 3),) * 2
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
            0.12,
        )

        def fn(x: Shape) -> Shape:
            _rank(x, 3)
            xh, xw, xc = x
            if kind == "conv2dtranspose":
                hw = []
                kernels = (d[0] * (kh - 1) + 1, d[1] * (kw - 1) + 1)
                for n, k, st, op in zip((xh, xw), kernels, s, outpad or (None, None), strict=True):
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
        from specgen_kinds import KINDS as NEW_KINDS  # the issue-12 kinds
        from specgen_kinds import statement

        return statement(self, shape, kind) if kind in NEW_KINDS else None

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


def invalid_statement(rng: random.Random, shape: Shape) -> tuple[list[str], str]:
    """Statements that bring ``shape`` where needed, and one statement Keras refuses."""
    lines: list[str] = []
    kinds = ["rank", "reshape"]
    if len(shape) == 3:
        kinds += ["empty", "pool_empty", "groups", "dilation", "concat", "outpad"]
        kinds += ["crop", "groupnorm", "permute"]
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
    elif kind == "crop":
        h, w = shape[:2]
        bad = rng.choice([f"cropping2d (({h}, 0), (0, 0))", f"crop (0, {(w + 1) // 2})"])
    elif kind == "groupnorm":
        c = shape[2]
        bad_g = rng.choice([c + 1, *[g_ for g_ in range(2, c) if c % g_]])
        bad = f"groupnormalization {bad_g}"
    elif kind == "permute":
        bad = rng.choice(["permute (2, 1)", "permute (1, 2, 4, 3)"])
    else:
        s = rng.randint(1, 3)
        bad = f"convtranspose 4 3 strides={s} output_padding={s + rng.randint(0, 1)}"
    return lines, bad


@pytest.mark.parametrize("kind", [k for k in KINDS if k not in (*ELEMWISE, "concatenate")])
def test_every_statement_written_for_a_kind_is_accepted(kind):
    """Each kind, on random inputs of every rank, writes statements specc accepts."""
    written = 0
    for seed in range(60):
        rng = random.Random(f"{kind}/{seed}")
        gen = Gen(rng, frozenset(KINDS), graphs=False)
        shape = [(rng.randint(1, 30), rng.randint(1, 30), rng.randint(1, 8)), (7,), (3, 4)][
            seed % 3
        ]
        op = gen.layer(shape, kind)
        if op is None:
            continue
        dims = "x".join(map(str, shape))
        text = f"model m {{\n  input {dims}\n  " + "\n  ".join(op.lines) + "\n}\n"
        result = check_source(text)
        assert result.errors == [], (text, result.errors)
        assert result.models[0].layers[-1].kind == kind
        written += 1
    assert written >= 10
