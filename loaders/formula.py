"""The formula language of whytrend, in one place: ``100 * within_4h / attendances``.

Formulas come from manifests that users write, so they are parsed with :mod:`ast` into a
small private tree that admits only numbers, metric codes, ``+ - * / **`` (with numeric
exponents), unary signs and parentheses; nothing is ever passed to ``eval``. The tree is
then used everywhere a formula matters:

* the manifest check (:func:`parse_formula`, :func:`check_formulas`: syntax, self-reference, cycles),
* the loaders' roll-ups (:meth:`Formula.evaluate`, vectorised over numpy arrays, so one call
  prices every area at once) in dependency order (:func:`evaluation_order`),
* which metrics a change affects (:func:`names`, :func:`affected`; ``loaders.freshness``),
* the engine's exact accounting (structural questions: is the formula linear? a ratio of linear
  parts? a product of powers?) and printing parts back as text.

:data:`IDENTIFIER` is the one definition of what a metric code in a formula looks like.

Division by zero gives ``nan`` rather than an error or ``inf``: a rate over an empty
denominator is undefined, and ``nan`` travels through numpy without stopping a bulk run.
"""
from __future__ import annotations

import ast
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Union

import numpy as np

from .errors import FormulaError

__all__ = ["IDENTIFIER", "Formula", "affected", "check_formulas", "evaluation_order", "names", "parse_formula"]

#: a metric code as formulas (and so manifests) may name it
IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
_NAME_RE = re.compile(IDENTIFIER + r"\Z")
_MAX_TEXT = 10_000
_ALLOWED = "only numbers, metric codes, + - * / ** (with a numeric exponent) and parentheses are allowed"


# --------------------------------------------------------------------------- private tree
@dataclass(frozen=True)
class _Const:
    value: float


@dataclass(frozen=True)
class _Var:
    name: str


@dataclass(frozen=True)
class _Neg:
    operand: "_Node"


@dataclass(frozen=True)
class _Bin:
    op: str  # one of + - * / **
    left: "_Node"
    right: "_Node"


_Node = Union[_Const, _Var, _Neg, _Bin]

_BINOPS: dict[type, str] = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_FORBIDDEN_OPS: dict[type, str] = {
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.BitAnd: "&",
    ast.Not: "not",
    ast.Invert: "~",
}
_NODE_WORDS: dict[type, str] = {
    ast.Call: "a function call",
    ast.Attribute: "an attribute",
    ast.Subscript: "an index",
    ast.Lambda: "a lambda",
    ast.Compare: "a comparison",
    ast.BoolOp: "a logical operator",
    ast.IfExp: "a conditional expression",
    ast.List: "a list",
    ast.Tuple: "a tuple",
    ast.Set: "a set",
    ast.Dict: "a dictionary",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a generator",
    ast.JoinedStr: "a string",
    ast.NamedExpr: "an assignment",
    ast.Starred: "a starred expression",
    ast.Await: "an await",
    ast.Yield: "a yield",
    ast.YieldFrom: "a yield",
    ast.Slice: "a slice",
}


def _has_vars(node: _Node) -> bool:
    if isinstance(node, _Var):
        return True
    if isinstance(node, _Const):
        return False
    if isinstance(node, _Neg):
        return _has_vars(node.operand)
    return _has_vars(node.left) or _has_vars(node.right)


class _Builder:
    """Turns a Python ``ast`` expression into the private tree, rejecting everything else."""

    def __init__(self, text: str) -> None:
        self.text = text

    def _piece(self, node: ast.AST) -> str:
        segment = ast.get_source_segment(self.text, node)
        return segment if segment else type(node).__name__

    def _reject(self, what: str, node: ast.AST) -> FormulaError:
        return FormulaError(
            f"The formula '{self.text}' contains {what} '{self._piece(node)}'; {_ALLOWED}."
        )

    def build(self, node: ast.AST) -> _Node:
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                kind = "a string" if isinstance(value, (str, bytes)) else "a value"
                raise self._reject(kind, node)
            try:
                number = float(value)
            except OverflowError:
                number = math.inf
            if not math.isfinite(number):
                raise FormulaError(
                    f"The formula '{self.text}' contains the number '{self._piece(node)}', which is too large to use."
                )
            return _Const(number)
        if isinstance(node, ast.Name):
            if not _NAME_RE.match(node.id):
                raise FormulaError(
                    f"The formula '{self.text}' names '{node.id}'; metric codes use only the "
                    "letters A-Z, digits and underscores, and do not start with a digit."
                )
            return _Var(node.id)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return _Neg(self.build(node.operand))
            if isinstance(node.op, ast.UAdd):
                return self.build(node.operand)
            raise self._reject(f"the operator '{_FORBIDDEN_OPS.get(type(node.op), '?')}' in", node)
        if isinstance(node, ast.BinOp):
            op = _BINOPS.get(type(node.op))
            if op is None:
                symbol = _FORBIDDEN_OPS.get(type(node.op), type(node.op).__name__)
                raise self._reject(f"the operator '{symbol}' in", node)
            left = self.build(node.left)
            right = self.build(node.right)
            if op == "**" and _has_vars(right):
                raise FormulaError(
                    f"The formula '{self.text}' raises to the power '{self._piece(node.right)}'; "
                    "an exponent must be a number, not a metric code."
                )
            return _Bin(op, left, right)
        word = _NODE_WORDS.get(type(node), "something not allowed")
        raise self._reject(word, node)


# --------------------------------------------------------------------------- evaluation
def _safe_divide(num: np.ndarray | np.float64, den: np.ndarray | np.float64) -> np.ndarray:
    """num / den with nan wherever den is 0 (undefined, not infinite)."""
    with np.errstate(all="ignore"):
        quotient = np.divide(num, den)
    return np.where(np.asarray(den) == 0, np.nan, quotient)


def _eval(node: _Node, env: Mapping[str, np.ndarray]) -> np.ndarray | np.float64:
    if isinstance(node, _Const):
        return np.float64(node.value)
    if isinstance(node, _Var):
        return env[node.name]
    if isinstance(node, _Neg):
        return np.negative(_eval(node.operand, env))
    left = _eval(node.left, env)
    right = _eval(node.right, env)
    if node.op == "+":
        return np.add(left, right)
    if node.op == "-":
        return np.subtract(left, right)
    if node.op == "*":
        return np.multiply(left, right)
    if node.op == "/":
        return _safe_divide(left, right)
    return np.power(left, right)


def _const_value(node: _Node) -> float | None:
    """The value of a subtree without metric codes, else None."""
    if _has_vars(node):
        return None
    with np.errstate(all="ignore"):
        return float(_eval(node, {}))


# --------------------------------------------------------------------------- structure
_LinearForm = tuple[dict[str, float], float]


def _linear_form(node: _Node) -> _LinearForm | None:
    """(coefficients, constant) when the subtree is affine in its metric codes, else None."""
    if isinstance(node, _Const):
        return {}, node.value
    if isinstance(node, _Var):
        return {node.name: 1.0}, 0.0
    if isinstance(node, _Neg):
        inner = _linear_form(node.operand)
        return None if inner is None else _scale(inner, -1.0)
    if node.op in ("+", "-"):
        left, right = _linear_form(node.left), _linear_form(node.right)
        if left is None or right is None:
            return None
        sign = 1.0 if node.op == "+" else -1.0
        coefs = dict(left[0])
        for name, coef in right[0].items():
            coefs[name] = coefs.get(name, 0.0) + sign * coef
        return coefs, left[1] + sign * right[1]
    if node.op == "*":
        left, right = _linear_form(node.left), _linear_form(node.right)
        if left is None or right is None:
            return None
        if not left[0]:
            return _scale(right, left[1])
        if not right[0]:
            return _scale(left, right[1])
        return None
    if node.op == "/":
        left, right = _linear_form(node.left), _linear_form(node.right)
        if left is None or right is None or right[0] or right[1] == 0:
            return None
        return _scale(left, 1.0 / right[1])
    # power: exponents are constant by construction
    exponent = _const_value(node.right)
    base_value = _const_value(node.left)
    if base_value is not None:
        return {}, float(_eval(node, {}))
    if exponent == 1.0:
        return _linear_form(node.left)
    return None


def _scale(form: _LinearForm, factor: float) -> _LinearForm:
    return {name: coef * factor for name, coef in form[0].items()}, form[1] * factor


def _flatten_product(node: _Node, invert: bool, acc: list) -> bool:
    """Collect multiplicative factors of ``node`` into acc = [coef, num, den]; False if a 0 divisor."""
    value = _const_value(node)
    if value is not None:
        if invert:
            if value == 0:
                return False
            acc[0] /= value
        else:
            acc[0] *= value
        return True
    if isinstance(node, _Neg):
        acc[0] = -acc[0]
        return _flatten_product(node.operand, invert, acc)
    if isinstance(node, _Bin) and node.op == "*":
        return _flatten_product(node.left, invert, acc) and _flatten_product(node.right, invert, acc)
    if isinstance(node, _Bin) and node.op == "/":
        return _flatten_product(node.left, invert, acc) and _flatten_product(node.right, not invert, acc)
    (acc[2] if invert else acc[1]).append(node)
    return True


def _product_form(node: _Node) -> tuple[float, dict[str, float]] | None:
    """(coef, powers) when the subtree is coef * prod(x_i ** p_i), else None.

    A power of a product is distributed only for integer exponents over integer powers,
    where (ab)^n = a^n b^n holds for every real a, b.
    """
    value = _const_value(node)
    if value is not None:
        return value, {}
    if isinstance(node, _Var):
        return 1.0, {node.name: 1.0}
    if isinstance(node, _Neg):
        inner = _product_form(node.operand)
        return None if inner is None else (-inner[0], inner[1])
    assert isinstance(node, _Bin)  # a constant subtree was handled above
    if node.op in ("+", "-"):
        return None
    if node.op == "**":
        exponent = _const_value(node.right)
        assert exponent is not None  # guaranteed by the parser
        if isinstance(node.left, _Var):
            return 1.0, {node.left.name: exponent}
        inner = _product_form(node.left)
        if inner is None or not float(exponent).is_integer():
            return None
        if not all(float(p).is_integer() for p in inner[1].values()):
            return None
        with np.errstate(all="ignore"):
            coef = float(np.power(np.float64(inner[0]), exponent))
        return coef, {name: p * exponent for name, p in inner[1].items()}
    left, right = _product_form(node.left), _product_form(node.right)
    if left is None or right is None:
        return None
    powers = dict(left[1])
    sign = 1.0 if node.op == "*" else -1.0
    for name, p in right[1].items():
        powers[name] = powers.get(name, 0.0) + sign * p
    if node.op == "*":
        return left[0] * right[0], powers
    if right[0] == 0:
        return None
    return left[0] / right[0], powers


# --------------------------------------------------------------------------- printing
_PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "neg": 3, "**": 4}


def _prec(node: _Node) -> int:
    if isinstance(node, _Bin):
        return _PREC[node.op]
    if isinstance(node, _Neg):
        return _PREC["neg"]
    if isinstance(node, _Const) and node.value < 0:
        return _PREC["neg"]
    return 5


def _number_text(value: float) -> str:
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _to_text(node: _Node) -> str:
    if isinstance(node, _Const):
        return _number_text(node.value)
    if isinstance(node, _Var):
        return node.name
    if isinstance(node, _Neg):
        inner = _to_text(node.operand)
        return f"-({inner})" if _prec(node.operand) <= _PREC["neg"] else f"-{inner}"
    own = _PREC[node.op]
    left, right = _to_text(node.left), _to_text(node.right)
    if node.op == "**":
        if _prec(node.left) <= own:
            left = f"({left})"
        if _prec(node.right) < own:
            right = f"({right})"
    else:
        if _prec(node.left) < own:
            left = f"({left})"
        if _prec(node.right) <= own:
            right = f"({right})"
    return f"{left} {node.op} {right}"


def _names_in_order(node: _Node, out: list[str]) -> None:
    if isinstance(node, _Var):
        if node.name not in out:
            out.append(node.name)
    elif isinstance(node, _Neg):
        _names_in_order(node.operand, out)
    elif isinstance(node, _Bin):
        _names_in_order(node.left, out)
        _names_in_order(node.right, out)


def _from_tree(tree: _Node, text: str | None = None) -> "Formula":
    names: list[str] = []
    _names_in_order(tree, names)
    return Formula(text if text is not None else _to_text(tree), tuple(names), _tree=tree)


# --------------------------------------------------------------------------- public API
@dataclass(frozen=True)
class Formula:
    """A parsed formula; ``components`` are its metric codes in order of first appearance.

    Build it with :func:`parse_formula`; the private tree is what evaluation and the
    structural questions use, so the user's text is never executed.
    """

    text: str
    components: tuple[str, ...]
    _tree: _Node | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Formula(text, components) built by hand is parsed, so it can never disagree with its text.
        if self._tree is None:
            parsed = parse_formula(self.text)
            if tuple(self.components) != parsed.components:
                raise FormulaError(
                    f"The formula '{self.text}' has the components {', '.join(parsed.components)}, "
                    f"not {', '.join(self.components)}."
                )
            object.__setattr__(self, "_tree", parsed._tree)

    def __str__(self) -> str:
        return self.text

    def evaluate(self, values: Mapping[str, float | np.ndarray]) -> float | np.ndarray:
        """The formula's value; arrays broadcast, so one call prices every row.

        Returns a float when every input is a scalar, else an array. Division by zero
        gives nan. A missing component is an FormulaError naming it.
        """
        env: dict[str, np.ndarray] = {}
        for name in self.components:
            if name not in values:
                raise FormulaError(f"The formula '{self.text}' needs a value for '{name}', and there is none.")
            try:
                env[name] = np.asarray(values[name], dtype=np.float64)
            except (TypeError, ValueError):
                raise FormulaError(
                    f"The formula '{self.text}' needs a number for '{name}', not {values[name]!r}."
                ) from None
        with np.errstate(all="ignore"):
            result = np.asarray(_eval(self._tree, env), dtype=np.float64)
        return float(result) if result.ndim == 0 else result

    def is_linear(self) -> bool:
        """True when the formula is a constant plus a weighted sum of its components."""
        return _linear_form(self._tree) is not None

    def linear_coefficients(self) -> tuple[dict[str, float], float] | None:
        """(coefficient per component, constant) for a linear formula, else None."""
        form = _linear_form(self._tree)
        if form is None:
            return None
        coefs, const = form
        return {name: coefs.get(name, 0.0) for name in self.components}, const

    def product_powers(self) -> tuple[float, dict[str, float]] | None:
        """(c, p) when the formula is c * prod(x ** p[x]) over its components, else None."""
        form = _product_form(self._tree)
        if form is None:
            return None
        coef, powers = form
        return coef, {name: powers.get(name, 0.0) for name in self.components}

    def ratio_parts(self) -> tuple["Formula", "Formula", float] | None:
        """(N, D, c) when the formula is c * N / D with N and D linear and not constant.

        Constants anywhere in the top-level product (``100 *``, ``/ 1000``, signs) are
        collected into c; exactly one non-constant factor must be left above the line and
        one below it. Used to aggregate a ratio metric over segments (sum N, sum D).
        """
        acc: list = [1.0, [], []]
        if not _flatten_product(self._tree, False, acc):
            return None
        coef, num, den = acc
        if len(num) != 1 or len(den) != 1:
            return None
        if _linear_form(num[0]) is None or _linear_form(den[0]) is None:
            return None
        return _from_tree(num[0]), _from_tree(den[0]), float(coef)


def parse_formula(text: str) -> Formula:
    """Parse a user's formula safely; anything beyond plain arithmetic is a FormulaError."""
    if not isinstance(text, str):
        raise FormulaError(f"A formula must be text, not {type(text).__name__}.")
    stripped = text.strip()
    if not stripped:
        raise FormulaError("The formula is empty; write it with metric codes, e.g. 'within_4h / attendances'.")
    if len(stripped) > _MAX_TEXT:
        raise FormulaError(f"The formula is {len(stripped):,} characters long; the limit is {_MAX_TEXT:,}.")
    try:
        module = ast.parse(stripped, mode="eval")
    except SyntaxError as exc:
        raise FormulaError(f"The formula '{stripped}' is not valid arithmetic ({exc.msg}).") from None
    except (ValueError, RecursionError, MemoryError):
        raise FormulaError(f"The formula '{stripped}' cannot be read (too deeply nested or not plain text).") from None
    try:
        tree = _Builder(stripped).build(module.body)
    except RecursionError:
        raise FormulaError(f"The formula '{stripped}' is too deeply nested.") from None
    return _from_tree(tree, stripped)


def names(text: str) -> list[str]:
    """The metric codes a formula uses, in order of first appearance (the formula is parsed, so a
    name inside anything but plain arithmetic is refused rather than guessed at)."""
    return list(parse_formula(text).components)


def check_formulas(formulas: Mapping[str, str]) -> dict[str, str]:
    """Every problem of a set of formulas (metric code -> formula; empty formulas are skipped), as
    metric code -> message: unreadable arithmetic, a formula naming its own metric, and cycles
    (a metric that depends on itself through others). Errors as data: all are reported at once."""
    problems: dict[str, str] = {}
    inputs: dict[str, list[str]] = {}
    for code, text in formulas.items():
        if not text:
            continue
        try:
            inputs[code] = names(text)
        except FormulaError as exc:
            problems[code] = str(exc)
            continue
        if code in inputs[code]:
            problems[code] = f"The formula '{text.strip()}' of {code} uses {code} itself."
    for cycle in _cycles({c: [n for n in used if n in inputs] for c, used in inputs.items() if c not in problems}):
        for code in cycle:
            problems.setdefault(code, "The formulas of " + " → ".join([*cycle, cycle[0]])
                                + " depend on each other in a circle, so none of them can be worked out.")
    return problems


def _cycles(graph: Mapping[str, list[str]]) -> list[list[str]]:
    """The cycles of a dependency graph (each once), found by depth-first search."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                found.append(path[path.index(nxt):])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def affected(formulas: Mapping[str, str], changed: set[str] | frozenset[str]) -> set[str]:
    """The formula metrics whose value depends, at any depth, on any of ``changed`` (the changed
    codes themselves are not included unless a formula depends on them through others)."""
    users: dict[str, set[str]] = {}
    for code, text in formulas.items():
        for name in (names(text) if text else ()):
            users.setdefault(name, set()).add(code)
    out: set[str] = set()
    stack = list(changed)
    while stack:
        for user in users.get(stack.pop(), ()):
            if user not in out:
                out.add(user)
                stack.append(user)
    return out


def evaluation_order(formulas: Mapping[str, str]) -> list[str]:
    """Formula metrics ordered so each comes after every formula metric it uses (components that are
    not formula metrics are inputs). The manifest check refuses cycles; one here is a FormulaError."""
    problems = check_formulas(formulas)
    if problems:
        raise FormulaError(next(iter(problems.values())))
    inputs = {code: [n for n in names(text) if n in formulas and formulas[n]] for code, text in formulas.items() if text}
    order: list[str] = []
    done: set[str] = set()

    def place(code: str) -> None:
        if code in done:
            return
        done.add(code)
        for name in inputs[code]:
            place(name)
        order.append(code)

    for code in sorted(inputs):
        place(code)
    return order
