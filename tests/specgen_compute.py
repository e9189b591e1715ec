"""Random statements of the computing language, for ``specgen``: blocks that compute.

:class:`ComputeSteps` is a part of :class:`specgen.Builder`. It writes blocks
with parameters and ``if``/``else`` (on parameters and on the tensor's shape),
``let`` with float arithmetic and ``int``/``round``/``min``/``max``/``ceil``/
``floor``, ``channels()``/``height()``/``width()``, ``def`` functions (Keras's
``_make_divisible`` and random ones), composed layer names, ``for`` loops,
paths from named tensors (``path @t {}``, also from a block's string parameter)
and merges that list their named inputs (``add [@a, @b]``).

The generator's own value of every expression comes from Python: the text it
writes is Python's syntax too, and :func:`value` evaluates it with Python's
``int``, ``round``, ``min``, ``max``, ``math.ceil`` and ``math.floor``. So the
widths and names it expects are an oracle independent of specc's evaluator:
``specgen`` puts the expected output shape in an ``expect`` line and returns
the expected layer names beside the text.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from test_front_specgen_parts import MAX_C, Gen, InvalidError, Op, Shape, _bounded, _rank, _spatial

_FUNCTIONS: dict[str, object] = {
    "int": int,
    "round": round,
    "min": min,
    "max": max,
    "ceil": math.ceil,
    "floor": math.floor,
    "str": str,
}
FLOATS = ("0.25", "0.5", "0.75", "1.5", "0.3", "0.1", "2.5", "1.0")


@dataclass
class NamedOp(Op):
    """An op whose layers get names the generator worked out (composed or written)."""

    names: list[str] = field(default_factory=list)


def value(text: str, env: dict[str, object]) -> object:
    """Python's value of an expression the generator wrote (its own trusted text)."""
    # eval, not a tree walk: the text is unparenthesized where precedence decides, and
    # Python reading it is the oracle for how specc must read it.
    return eval(text, {"__builtins__": {}, **_FUNCTIONS}, env)


def width(text: str, env: dict[str, object], top: int = MAX_C) -> int:
    """The whole number 1..top that ``text`` is, else InvalidError (E107 for specc)."""
    v = value(text, env)
    if type(v) is not int or not 1 <= v <= top:
        raise InvalidError
    return v


def expression(rng: random.Random, names: list[str], depth: int = 2) -> str:
    """A random arithmetic expression over ``names``: + - * / // and the built-ins."""
    r = rng.random()
    if depth == 0 or r < 0.25:
        leaf = rng.random()
        if leaf < 0.5 and names:
            return rng.choice(names)
        return rng.choice(FLOATS) if leaf < 0.75 else str(rng.randint(1, 8))
    if r < 0.65:
        op = rng.choice(["+", "-", "*", "*", "/", "//"])
        left = expression(rng, names, depth - 1)
        right = (
            rng.choice([*FLOATS, "2", "3"])
            if op in ("/", "//")
            else expression(rng, names, depth - 1)
        )
        text = f"{left} {op} {right}"
        return f"({text})" if rng.random() < 0.5 else text
    fn = rng.choice(["int", "round", "ceil", "floor", "min", "max"])
    if fn in ("min", "max"):
        args = [expression(rng, names, depth - 1) for _ in range(rng.randint(2, 3))]
        return f"{fn}({', '.join(args)})"
    return f"{fn}({expression(rng, names, depth - 1)})"


def whole(rng: random.Random, names: list[str]) -> str:
    """An expression whose value is a whole number (when it is in range at all)."""
    inner = expression(rng, names)
    text = f"{rng.choice(['int', 'round', 'ceil', 'floor'])}({inner})"
    r = rng.random()
    if r < 0.3:
        return f"max(1, {text})"
    if r < 0.45:
        return f"min({MAX_C}, max(1, {text}))"
    return text


class ComputeSteps:
    """The computing statements of :class:`specgen.Builder`."""

    g: Gen
    rng: random.Random
    names: int
    define: Callable[[str, str], str]
    layer: Callable[..., Op | None]
    named: Callable[[Op, Shape], Op]

    def fresh_name(self) -> str:
        """A layer name no other statement of the model uses (``t`` and a number)."""
        name = f"t{self.names}"
        self.names += 1
        return name

    def compute(self, shape: Shape, top: bool) -> Op | None:
        """One statement of the computing language valid on ``shape``, or None."""
        options = ["width", "def", "for", "branch"]
        if top:
            options += ["names", "names", "let"]
        if len(shape) == 3:
            options += ["shape_if"]
            if self.g.graphs:
                options += ["squeeze"]
        if top and self.g.graphs and self.g.named and self.rng.random() < 0.6:
            options = ["from_named", "from_param", "listed", "listed"]
        return getattr(self, f"_compute_{self.rng.choice(options)}")(shape)

    # -- widths ---------------------------------------------------------------------------

    def _width_layer(
        self, shape: Shape, w: str
    ) -> tuple[str, Callable[[Shape, int], Shape]] | None:
        """A layer of ``w`` filters or units on ``shape``, and its shape function."""
        if len(shape) == 3 and self.g.ok("conv2d"):
            k = self.rng.choice([1, 1, 3])
            pad = " padding=same" if k > 1 else ""
            return f"conv2d {w} {k}{pad}", lambda x, n: _spatial(x, k, 1, "same", n)
        if len(shape) == 1 and self.g.ok("dense"):
            return f"dense {w}", lambda x, n: (_rank(x, 1), (n,))[1]
        return None

    def _compute_width(self, shape: Shape) -> Op | None:
        """``let c = channels()``, a computed width, a layer of it: a block with float params."""
        rng = self.rng
        w = whole(rng, ["c", "ratio", "d"])
        ratio, d = rng.choice(FLOATS), rng.randint(1, 4)
        made = self._width_layer(shape, "w")
        if made is None:
            return None
        line, layer_fn = made
        c_line = rng.choice(["let c = channels()", "let c = channels() + 0"])
        name = self.define(
            f"width:{w}:{ratio}:{d}:{line}",
            f"block NAME(ratio={ratio}, d={d}) {{\n  {c_line}\n  let w = {w}\n  {line}\n}}",
        )
        r, given = rng.random(), ratio
        args = ""
        if r < 0.4:
            given = rng.choice(FLOATS)
            args = rng.choice([f" {given}", f" ratio={given}"])
        if rng.random() < 0.3:
            d = rng.randint(1, 4)
            args += f" d={d}"

        def fn(x: Shape) -> Shape:
            n = width(w, {"c": x[-1], "ratio": float(given), "d": d})
            return layer_fn(x, n)

        return Op([name + args], fn)

    def _compute_def(self, shape: Shape) -> Op | None:
        """A ``def`` (Keras's ``_make_divisible``, or a random one) sizing a layer."""
        rng = self.rng
        if rng.random() < 0.5:
            name = self.define("def:make_divisible", MAKE_DIVISIBLE)
            v = rng.choice(
                ["channels()", f"channels() * {rng.choice(FLOATS)}", str(rng.randint(1, 16))]
            )
            divisor = rng.choice([1, 2, 4, 8])
            call = (
                f"{name}({v}, {divisor})"
                if rng.random() < 0.6
                else f"{name}({v}, divisor={divisor})"
            )

            def size(x: Shape) -> int:
                return make_divisible(value(v, {"channels": lambda: x[-1]}), divisor)

        else:
            body = whole(rng, ["a", "b"])
            b = rng.choice(FLOATS)
            text = (
                f"def NAME(a, b={b}) {{\n  let y = {body}\n  if y < 1 {{\n    return 1\n"
                f"  }} else if y > {MAX_C} {{\n    return {MAX_C}\n  }}\n  return y\n}}"
            )
            name = self.define(f"def:{body}:{b}", text)
            a = rng.choice(["channels()", str(rng.randint(1, 16)), "channels() // 2"])
            call = f"{name}({a})"

            def size(x: Shape) -> int:
                y = value(body, {"a": value(a, {"channels": lambda: x[-1]}), "b": float(b)})
                return 1 if y < 1 else MAX_C if y > MAX_C else y  # type: ignore[operator,return-value]

        made = self._width_layer(shape, call)
        if made is None:
            return None
        line, layer_fn = made

        def fn(x: Shape) -> Shape:
            n = size(x)
            if type(n) is not int or not 1 <= n <= 64:
                raise InvalidError
            return layer_fn(x, n)

        return Op([line], fn)

    def _compute_let(self, shape: Shape) -> Op | None:
        """``let`` in the model: a width from the input's channels, used by a layer."""
        rng = self.rng
        w = whole(rng, ["channels()", "k"])
        k = rng.choice(FLOATS)
        var = f"w{self.names}"
        made = self._width_layer(shape, var)
        if made is None:
            return None
        line, layer_fn = made

        def fn(x: Shape) -> Shape:
            return layer_fn(x, width(w, {"channels": lambda: x[-1], "k": float(k)}))

        lines = [f"let k = {k}", f"let {var} = {w}", line]
        return Op(lines, fn)

    # -- branches -------------------------------------------------------------------------

    def _compute_branch(self, shape: Shape) -> Op | None:
        """A block whose ``if``/``else if``/``else`` on its parameters picks its layers."""
        rng = self.rng
        if len(shape) == 3 and self.g.ok("conv2d", "zeropadding2d", "batchnormalization"):
            name = self.define("branch:map", BRANCH_MAP)
            f, s = rng.randint(1, 8), rng.choice([1, 2, 3])
            pre = rng.random() < 0.5
            args = f" {f}" + (f" s={s}" if s != 1 or rng.random() < 0.3 else "")
            args += " pre=true" if pre else ""

            def fn(x: Shape) -> Shape:
                _rank(x, 3)
                if s == 2 and f > 1:
                    return _bounded(_spatial((x[0] + 2, x[1] + 2, x[2]), 3, 2, "valid", f))
                if s == 2:
                    return (x[0], x[1], f)
                return _spatial(x, 3, s, "same", f)

            return Op([name + args], fn, 2 + pre)
        if len(shape) == 1 and self.g.ok("dense", "dropout"):
            name = self.define("branch:vector", BRANCH_VECTOR)
            u, wide = rng.randint(1, 8), rng.random() < 0.5
            rate = rng.choice([0, 0.0, 0.25])
            args = f" {u}" + (" wide=true" if wide else "") + (f" rate={rate}" if rate else "")
            return Op([name + args], lambda x: (_rank(x, 1), (u * 2 if wide else u,))[1], 2)
        return None

    def _compute_shape_if(self, shape: Shape) -> Op | None:
        """A block branching on ``height()``/``width()``: pool when it fits, else a 1x1."""
        if not self.g.ok("maxpooling2d", "conv2d"):
            return None
        name = self.define("shape_if", SHAPE_IF)
        k = self.rng.choice([2, 3])
        args = f" {k}" if k != 2 or self.rng.random() < 0.3 else ""

        def fn(x: Shape) -> Shape:
            _rank(x, 3)
            if x[0] >= 2 * k and x[1] >= 2 * k:
                return _spatial(x, k, k, "valid", x[2])
            return x

        return Op([name + args], fn)

    def _compute_squeeze(self, shape: Shape) -> Op | None:
        """Squeeze-and-excite sized by ``channels()``: a merge inside a block."""
        if not self.g.ok("multiply", "globalaveragepooling2d", "conv2d"):
            return None
        ratio = self.rng.choice(FLOATS)
        name = self.define(f"squeeze:{ratio}", SQUEEZE.replace("RATIO", ratio))
        return Op([name], lambda x: (_rank(x, 3), x)[1], 4)

    # -- loops and names ------------------------------------------------------------------

    def _compute_for(self, shape: Shape) -> Op | None:
        """``for`` over a list of widths, or of (width, stride) pairs."""
        rng = self.rng
        n = rng.randint(1, 3)
        if len(shape) == 3 and self.g.ok("conv2d"):
            pairs = [(rng.randint(1, 8), rng.choice([1, 1, 2])) for _ in range(n)]
            items = ", ".join(f"({f}, {s})" for f, s in pairs)
            var = rng.choice(["(f, s)", "(width, step)"])
            f_name, s_name = var[1:-1].split(", ")
            lines = [
                f"for {var} in [{items}] {{",
                f"  conv2d {f_name} 3 strides={s_name} padding=same",
                "}",
            ]

            def fn(x: Shape) -> Shape:
                for f, s in pairs:
                    x = _spatial(x, 3, s, "same", f)
                return x

            return Op(lines, fn, n)
        if self.g.ok("dense") and len(shape) == 1:
            units = [rng.randint(1, 16) for _ in range(n)]
            if rng.random() < 0.5:
                lines = [f"for u in {units} {{", f"  dense u {self.g.act()}", "}"]
            else:
                lo = rng.randint(1, 4)
                lines = [f"for i in range({lo}, {lo + n}) {{", "  dense i * 2", "}"]
                units = [i * 2 for i in range(lo, lo + n)]
            return Op(lines, lambda x: (_rank(x, 1), (units[-1],))[1], n)
        return None

    def _compute_names(self, shape: Shape) -> Op | None:
        """A block of composed names called once, or in a ``for`` with ``str(i)``."""
        rng = self.rng
        if len(shape) == 3 and self.g.ok("conv2d", "batchnormalization", "activation"):
            block = self.define("names:map", NAMED_MAP)
            suffixes = ["_conv", "_bn", "_relu"]
            f, s = rng.randint(1, 8), rng.choice([1, 1, 2])

            def one(x: Shape) -> Shape:
                return _spatial(x, 3, s, "same", f)

            after = f" stride={s}" if s != 1 else ""
            args = f" {f}"
        elif len(shape) == 1 and self.g.ok("dense", "dropout"):
            block = self.define("names:vector", NAMED_VECTOR)
            suffixes = ["_dense", "_drop"]
            f = rng.randint(1, 16)

            def one(x: Shape) -> Shape:
                return (_rank(x, 1), (f,))[1]

            args, after = f" {f}", ""
        else:
            return None
        prefix = self.fresh_name()
        n = rng.randint(1, 3) if rng.random() < 0.5 else 0
        if n == 0:
            quoted = rng.choice([f' name="{prefix}"', f' "{prefix}"'])
            lines = [f"{block}{args}{quoted}{after}"]
            prefixes = [prefix]
        else:
            lines = [
                f"for i in range({n}) {{",
                f'  {block}{args} name="{prefix}_" + str(i){after}',
                "}",
            ]
            prefixes = [f"{prefix}_{i}" for i in range(n)]

        def fn(x: Shape) -> Shape:
            for _ in prefixes:
                x = one(x)
            return x

        try:  # each call's last layer is a named tensor later statements may use
            x = shape
            outputs = [(p + suffixes[-1], x := one(x)) for p in prefixes]
        except InvalidError:
            return None
        self.g.named.update(outputs)
        names = [p + s for p in prefixes for s in suffixes]
        return NamedOp(lines, fn, len(names), names)

    # -- paths from named tensors -------------------------------------------------------------

    def _to_shape(self, source: Shape, target: Shape) -> list[str] | None:
        """Layers taking a tensor of ``source`` to one of ``target``, or None."""
        if source == target:
            return [] if self.rng.random() < 0.5 or not self.g.ok("dropout") else ["dropout 0.1"]
        if len(source) == len(target) == 1 and self.g.ok("dense"):
            return [f"dense {target[0]}"]
        if len(source) != 3 or len(target) != 3 or not self.g.ok("conv2d"):
            return None
        for s in (1, 2, 3, 4):
            if tuple(-(-n // s) for n in source[:2]) == target[:2]:
                strides = f" strides={s} padding=same" if s > 1 else ""
                return [f"conv2d {target[2]} 1{strides}"]
        return None

    def _merge_kind(self) -> str | None:
        kinds = [k for k in ("add", "multiply", "maximum", "average", "subtract") if self.g.ok(k)]
        return self.rng.choice(kinds) if kinds else None

    def _compute_from_named(self, shape: Shape) -> Op | None:
        """A merge whose second path starts from a named tensor: ``path @t { ... }``."""
        kind = self._merge_kind()
        fits = [(n, s) for n, s in self.g.named.items() if self._to_shape(s, shape) is not None]
        if kind is None or not fits:
            return None
        ref, ref_shape = self.rng.choice(fits)
        inner = self._to_shape(ref_shape, shape) or []
        lines = [f"{kind} {{", "  path { }"]
        lines += [f"  path @{ref} {{", *(f"    {line}" for line in inner), "  }"]
        if not inner:
            lines[-2:] = [f"  path @{ref} {{ }}"]
        lines.append("}")
        return Op(lines, lambda x: x if x == shape else _raise(), 1 + len(inner))

    def _compute_from_param(self, shape: Shape) -> Op | None:
        """A block told by a string parameter which tensor to branch from: ``path @prev``."""
        if len(shape) != 3 or not self.g.ok("add", "conv2d"):
            return None
        fits = [
            (n, s)
            for n, s in self.g.named.items()
            if len(s) == 3 and any(tuple(-(-d // k) for d in s[:2]) == shape[:2] for k in (1, 2))
        ]
        if not fits:
            return None
        ref, ref_shape = self.rng.choice(fits)
        s = 1 if ref_shape[:2] == shape[:2] else 2
        name = self.define("from_param", FROM_PARAM)
        args = f' "{ref}"' + (f" s={s}" if s != 1 else "")
        return Op([name + args], lambda x: x if x == shape else _raise(), 2)

    def _compute_listed(self, shape: Shape) -> Op | None:
        """A side path from a named tensor, then a merge listing its inputs: ``add [@a, @b]``."""
        rng = self.rng
        here = self.layer(shape)
        if here is None:
            return None
        current = here.fn(shape)
        concat = self.g.ok("concatenate") and len(current) == 3 and rng.random() < 0.5
        kind = "concatenate" if concat else self._merge_kind()
        if kind is None:
            return None
        target = (*current[:2], rng.randint(1, 8)) if concat else current
        fits = [(n, s) for n, s in self.g.named.items() if self._to_shape(s, target) is not None]
        if not fits:
            return None
        here = self.named(here, shape)
        current_name = list(self.g.named)[-1]
        lines = list(here.lines)
        listed = [current_name]
        names = [current_name]
        most = 1 if kind == "subtract" else 2
        for ref, ref_shape in rng.sample(fits, min(len(fits), rng.randint(1, most))):
            inner = self._to_shape(ref_shape, target)
            if inner:
                side = self.fresh_name()
                first, *rest = inner
                lines += [
                    f"path @{ref} {{",
                    f"  {first} name={side}",
                    *(f"  {r}" for r in rest),
                    "}",
                ]
                self.g.named[side] = target
                listed.append(side)
                names.append(side)
            else:
                listed.append(ref)
        rng.shuffle(listed)
        out = (*target[:2], sum(self.g.named[n][2] for n in listed)) if concat else target
        lines.append(f"{kind} [{', '.join('@' + n for n in listed)}]")
        nodes = len(lines) - 1
        return NamedOp(lines, lambda x: out, nodes, names)


def _raise() -> Shape:
    raise InvalidError


def make_divisible(v: float, divisor: int, min_value: int | None = None) -> int:
    """``keras.applications.mobilenet_v2._make_divisible``, as MAKE_DIVISIBLE spells it."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


MAKE_DIVISIBLE = """\
def NAME(v, divisor=8, min_value=none) {
  if min_value == none {
    let min_value = divisor
  }
  let new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
  if new_v < 0.9 * v {
    let new_v = new_v + divisor
  }
  return new_v
}"""
BRANCH_MAP = """\
block NAME(f, s=1, pre=false) {
  if pre {
    batchnormalization
  }
  if s == 2 and f > 1 {
    zeropadding2d 1
    conv2d f 3 strides=2
  } else if s == 2 {
    conv2d f 1
  } else {
    conv2d f 3 strides=s padding=same
  }
}"""
BRANCH_VECTOR = """\
block NAME(u, wide=false, rate=0.0) {
  if wide {
    dense u * 2
  } else {
    dense u
  }
  if rate > 0 {
    dropout rate
  } else if not wide {
    dropout 0.0
  }
}"""
SHAPE_IF = """\
block NAME(k=2) {
  if height() >= 2 * k and width() >= 2 * k {
    maxpooling2d k
  } else {
    conv2d channels() 1
  }
}"""
SQUEEZE = """\
block NAME(ratio=RATIO) {
  let c = channels()
  multiply {
    path { }
    path {
      globalaveragepooling2d keepdims=true
      conv2d max(1, int(c * ratio)) 1 relu
      conv2d c 1 sigmoid
    }
  }
}"""
NAMED_MAP = """\
block NAME(f, name, stride=1) {
  if stride > 1 {
    conv2d f 3 strides=stride padding=same use_bias=false name=name+"_conv"
  } else {
    conv2d f 3 padding=same use_bias=false name=name+"_conv"
  }
  batchnormalization name=name+"_bn"
  relu name=name+"_relu"
}"""
NAMED_VECTOR = """\
block NAME(u, name=none) {
  dense u name=name+"_dense"
  dropout 0.1 name=name+"_drop"
}"""
FROM_PARAM = """\
block NAME(prev, s=1) {
  let c = channels()
  add {
    path { }
    path @prev {
      conv2d c 1 strides=s padding=same
    }
  }
}"""
