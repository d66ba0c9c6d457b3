"""Formula parsing: what is allowed, what is refused (and named), evaluation, structure."""
from __future__ import annotations

import builtins
import math

import numpy as np
import pytest

from loaders.errors import FormulaError, WhytrendError
from loaders.formula import Formula, parse_formula


# ----------------------------------------------------------------------------- allowed syntax
@pytest.mark.parametrize(
    ("text", "components"),
    [
        ("within_4h / attendances", ("within_4h", "attendances")),
        ("100 * within_4h / attendances", ("within_4h", "attendances")),
        ("100 * (capacity - pupils) / capacity", ("capacity", "pupils")),
        ("caseload * avg_award / 1000000", ("caseload", "avg_award")),
        ("-a + +b", ("a", "b")),
        ("a ** 2 + a ** -1 + a ** (1 / 2)", ("a",)),
        ("1.5e3 * _x1 - X_2", ("_x1", "X_2")),
        ("  (a)  ", ("a",)),
        ("42", ()),
        ("b * a + a * c", ("b", "a", "c")),
    ],
)
def test_allowed_syntax_and_components_in_order_of_first_appearance(text: str, components: tuple[str, ...]) -> None:
    formula = parse_formula(text)
    assert formula.components == components
    assert formula.text == text.strip()
    assert str(formula) == text.strip()


# ----------------------------------------------------------------------------- forbidden syntax
@pytest.mark.parametrize(
    ("text", "piece"),
    [
        ("__import__('os')", "__import__('os')"),
        ("a.b", "a.b"),
        ("f(x)", "f(x)"),
        ("a[0]", "a[0]"),
        ("lambda: 1", "lambda: 1"),
        ("a < b", "a < b"),
        ("a and b", "a and b"),
        ("a // b", "a // b"),
        ("a % b", "a % b"),
        ("a @ b", "a @ b"),
        ("a | b", "a | b"),
        ("~a", "~a"),
        ("not a", "not a"),
        ("'text'", "'text'"),
        ("a if b else c", "a if b else c"),
        ("[a, b]", "[a, b]"),
        ("{a}", "{a}"),
        ("(a := 1)", "a := 1"),
        ("True + a", "True"),
        ("None", "None"),
        ("1j * a", "1j"),
        ("(1).real", "(1).real"),
        ("a ** b", "b"),
        ("2 ** a", "a"),
        ("a.__class__.__mro__", "a.__class__.__mro__"),
    ],
)
def test_forbidden_syntax_is_a_user_error_naming_the_piece(text: str, piece: str) -> None:
    with pytest.raises(FormulaError) as caught:
        parse_formula(text)
    assert isinstance(caught.value, WhytrendError)
    assert piece in str(caught.value)


@pytest.mark.parametrize("text", ["", "   ", "a +", "a; b", "a = 1", "import os", "a b", "1e999 * a", "é + 1"])
def test_malformed_or_unsafe_text_is_a_user_error(text: str) -> None:
    with pytest.raises(FormulaError):
        parse_formula(text)


def test_deep_nesting_and_huge_text_are_user_errors() -> None:
    with pytest.raises(FormulaError):
        parse_formula("(" * 500 + "a" + ")" * 500)
    with pytest.raises(FormulaError):
        parse_formula("a + " * 5000 + "a")


def test_no_eval_or_exec_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    # (compile is left alone: ast.parse itself uses it, only to build a syntax tree)
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("eval/exec must not be used on formulas")

    monkeypatch.setattr(builtins, "eval", refuse)
    monkeypatch.setattr(builtins, "exec", refuse)
    formula = parse_formula("100 * (capacity - pupils) / capacity")
    assert formula.evaluate({"capacity": 200.0, "pupils": 150.0}) == pytest.approx(25.0)


def test_formula_built_by_hand_is_parsed_and_checked() -> None:
    assert Formula("x * y", ("x", "y")).evaluate({"x": 2, "y": 3}) == 6.0
    with pytest.raises(FormulaError):
        Formula("x * y", ("y", "x"))
    with pytest.raises(FormulaError):
        Formula("f(x)", ("x",))


# ----------------------------------------------------------------------------- evaluation
CASES = [
    ("a + b * c", lambda a, b, c: a + b * c),
    ("(a + b) * c", lambda a, b, c: (a + b) * c),
    ("a - b - c", lambda a, b, c: a - b - c),
    ("a / b / c", lambda a, b, c: a / b / c),
    ("-a ** 2 + b", lambda a, b, c: -(a**2) + b),
    ("a ** -1 * c", lambda a, b, c: a**-1 * c),
    ("2 ** 3 ** 2 * a", lambda a, b, c: 2 ** 3**2 * a),
    ("100 * (a - b) / c", lambda a, b, c: 100 * (a - b) / c),
    ("-(a - -b) / +c", lambda a, b, c: -(a - -b) / +c),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_evaluation_matches_python_arithmetic(text: str, expected) -> None:
    rng = np.random.default_rng(7)
    formula = parse_formula(text)
    for _ in range(20):
        a, b, c = rng.uniform(0.5, 9.0, size=3)
        values = {"a": a, "b": b, "c": c}
        assert formula.evaluate({k: values[k] for k in formula.components}) == pytest.approx(
            expected(a, b, c), rel=1e-12
        )


def test_evaluation_is_vectorised_and_broadcasts() -> None:
    formula = parse_formula("100 * within_4h / attendances")
    within = np.array([90.0, 45.0, 10.0])
    result = formula.evaluate({"within_4h": within, "attendances": 100.0})
    assert isinstance(result, np.ndarray)
    np.testing.assert_allclose(result, [90.0, 45.0, 10.0])
    scalar = formula.evaluate({"within_4h": 3, "attendances": 4})
    assert isinstance(scalar, float) and scalar == 75.0


def test_division_by_zero_is_nan_not_an_error() -> None:
    formula = parse_formula("a / b")
    assert math.isnan(formula.evaluate({"a": 1.0, "b": 0.0}))
    assert math.isnan(formula.evaluate({"a": 0.0, "b": 0.0}))
    result = formula.evaluate({"a": np.array([1.0, 0.0, 2.0, -3.0]), "b": np.array([0.0, 0.0, 4.0, 0.0])})
    assert np.isnan(result[[0, 1, 3]]).all() and result[2] == 0.5


def test_missing_or_non_numeric_component_is_a_user_error() -> None:
    formula = parse_formula("a * b")
    with pytest.raises(FormulaError, match="'b'"):
        formula.evaluate({"a": 1.0})
    with pytest.raises(FormulaError, match="'b'"):
        formula.evaluate({"a": 1.0, "b": "lots"})


# ----------------------------------------------------------------------------- structure
@pytest.mark.parametrize(
    ("text", "linear"),
    [
        ("a + 2 * b - c / 4 + 3", True),
        ("100 * x / 1000", True),
        ("(a + b) * 2", True),
        ("-(a - b)", True),
        ("2 ** 3 * a", True),
        ("a ** 1", True),
        ("a - a", True),
        ("a * b", False),
        ("a / b", False),
        ("a ** 2", False),
        ("a / 0", False),
        ("1 - b / a", False),
    ],
)
def test_is_linear(text: str, linear: bool) -> None:
    assert parse_formula(text).is_linear() is linear


def test_linear_coefficients() -> None:
    coefs, const = parse_formula("3 + 2 * (a - b) / 4 - c").linear_coefficients()
    assert coefs == {"a": 0.5, "b": -0.5, "c": -1.0}
    assert const == 3.0
    assert parse_formula("a * b").linear_coefficients() is None


@pytest.mark.parametrize(
    ("text", "num", "den", "coef"),
    [
        ("within_4h / attendances", "within_4h", "attendances", 1.0),
        ("100 * within_4h / attendances", "within_4h", "attendances", 100.0),
        ("100 * (capacity - pupils) / capacity", "capacity - pupils", "capacity", 100.0),
        ("within_4h / attendances * 100", "within_4h", "attendances", 100.0),
        ("100 * (within_4h / attendances)", "within_4h", "attendances", 100.0),
        ("a / b / 1000", "a", "b", 0.001),
        ("a / (2 * b)", "a", "b", 0.5),
        ("-a / b", "a", "b", -1.0),
        ("(a + b) / (c + d)", "a + b", "c + d", 1.0),
        ("(a - 1) / (2 * b + 3)", "a - 1", "2 * b + 3", 1.0),
    ],
)
def test_ratio_parts_detects_c_times_linear_over_linear(text: str, num: str, den: str, coef: float) -> None:
    formula = parse_formula(text)
    parts = formula.ratio_parts()
    assert parts is not None
    n, d, c = parts
    assert (n.text, d.text) == (num, den)
    assert c == pytest.approx(coef, rel=1e-15)
    assert n.is_linear() and d.is_linear()
    # c * N / D reproduces the formula, and the parts' text parses back to the same parts
    rng = np.random.default_rng(3)
    values = {name: rng.uniform(1.0, 5.0, size=50) for name in formula.components}
    np.testing.assert_allclose(
        c * n.evaluate(values) / d.evaluate(values), formula.evaluate(values), rtol=1e-12
    )
    assert parse_formula(n.text).components == n.components


@pytest.mark.parametrize(
    "text", ["a * b / c", "a + b", "a / b + 1", "1 - b / a", "a / (b * c)", "a", "100 / a", "a ** 2 / b"]
)
def test_ratio_parts_is_none_otherwise(text: str) -> None:
    assert parse_formula(text).ratio_parts() is None


def test_product_powers() -> None:
    coef, powers = parse_formula("2.5 * a ** 2 * b / c / 10").product_powers()
    assert coef == pytest.approx(0.25)
    assert powers == {"a": 2.0, "b": 1.0, "c": -1.0}
    assert parse_formula("a * a * b").product_powers() == (1.0, {"a": 2.0, "b": 1.0})
    assert parse_formula("a * b + c").product_powers() is None


def test_formula_is_frozen_and_hashable() -> None:
    formula = parse_formula("a * b")
    with pytest.raises(AttributeError):
        formula.text = "c"  # type: ignore[misc]
    assert formula == parse_formula("a * b")
    assert len({formula, parse_formula("a * b")}) == 1


# --- the one formula language: names, dependencies, order, the manifest check -------------------------
def test_names_are_the_components_in_order_of_first_use():
    from loaders.formula import names

    assert names("ae_within_4h / ae_attendances * 100 + ae_within_4h") == ["ae_within_4h", "ae_attendances"]
    with pytest.raises(FormulaError):
        names("a +")


def test_affected_follows_formulas_at_any_depth_and_evaluation_order_puts_parts_first():
    from loaders.formula import affected, evaluation_order

    formulas = {"c": "a * b", "d": "c + e", "f": "e * 2", "g": "d / f"}
    assert affected(formulas, {"a"}) == {"c", "d", "g"}
    assert affected(formulas, {"e"}) == {"d", "f", "g"}
    assert affected(formulas, {"x"}) == set()
    order = evaluation_order(formulas)
    assert sorted(order) == sorted(formulas)
    assert all(order.index(part) < order.index(user) for user, part in
               (("d", "c"), ("g", "d"), ("g", "f")))


def test_check_formulas_reports_every_problem_at_once():
    from loaders.formula import check_formulas, evaluation_order

    problems = check_formulas({"a": "a + 1", "b": "c * 2", "c": "b / 2", "d": "x +", "e": "", "f": "b + 1"})
    assert set(problems) == {"a", "b", "c", "d"}
    assert "uses a itself" in problems["a"] and "circle" in problems["b"] and "circle" in problems["c"]
    assert "not valid arithmetic" in problems["d"]
    with pytest.raises(FormulaError, match="circle"):
        evaluation_order({"b": "c * 2", "c": "b / 2"})


MANIFEST = """
[[department]]
code = "D"
name = "Dept"

[[metric]]
code = "a"
name = "A"
department = "D"

[[metric]]
code = "ratio"
name = "Ratio"
department = "D"
aggregation = "formula"
formula = "a +"
"""


def test_a_broken_formula_is_one_paragraph_at_manifest_check_naming_metric_and_line(tmp_path):
    from click.testing import CliRunner

    from dashapp.cli import main
    from loaders import ManifestError, load_manifest

    path = tmp_path / "m.toml"
    path.write_text(MANIFEST)
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    message = str(caught.value)
    assert "metric 'ratio' formula (line 16)" in message and "not valid arithmetic" in message
    result = CliRunner().invoke(main, ["load", str(path), "--db", str(tmp_path / "s.db")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.startswith("Error: ") and result.output.strip().count("\n") == 0
    assert "metric 'ratio' formula (line 16)" in result.output


def test_a_formula_metric_published_beside_its_components_keeps_the_published_value(tmp_path):
    """The same source publishes a, b and ratio = a / b: the published ratio is kept, the whole's ratio
    is the formula of the rolled-up components, and the explanation shows the difference."""
    import json

    from click.testing import CliRunner

    from dashapp.cli import main

    (tmp_path / "m.toml").write_text(MANIFEST.replace('formula = "a +"', 'formula = "a / b"').replace(
        '[[metric]]\ncode = "ratio"', '[[metric]]\ncode = "b"\nname = "B"\ndepartment = "D"\n\n[[metric]]\ncode = "ratio"')
        + '\n[[source]]\nid = "s"\ndepartment = "D"\npath = "d.csv"\nperiod_column = "year"\narea_column = "area"\n'
          'value_columns = { "A" = "a", "B" = "b", "Ratio" = "ratio" }\n')
    (tmp_path / "d.csv").write_text("year,area,A,B,Ratio\n2023,X,10,5,2.1\n2024,X,12,4,3\n2023,Y,6,3,2\n2024,Y,6,2,3\n")
    db = str(tmp_path / "s.db")
    load = CliRunner().invoke(main, ["load", str(tmp_path / "m.toml"), "--db", db, "--no-precompute"])
    assert load.exit_code == 0, load.output
    x = json.loads(CliRunner().invoke(main, ["explain", "ratio", "--from", "2023", "--to", "2024", "--area", "X",
                                             "--json", "--db", db]).output)
    assert (x["value_from"], x["value_to"]) == (2.1, 3.0)  # as published, not the formula's 2.0
    parts = {c["component"]: c["contribution"] for c in x["components"]}
    assert parts["Difference from the formula"] == pytest.approx(-0.1)
    assert math.fsum(parts.values()) == pytest.approx(x["change"])
    whole = json.loads(CliRunner().invoke(main, ["explain", "ratio", "--from", "2023", "--to", "2024", "--json",
                                                 "--db", db]).output)
    assert (whole["value_from"], whole["value_to"]) == (16 / 8, 18 / 6)  # the formula of the summed components


# --- the exact cases of issue 9: the chain, every kind of broken formula at manifest check, roll-up values ----
def test_affected_on_a_chain_is_the_formulas_above_the_change():
    from loaders.formula import affected

    chain = {"c": "a * b", "d": "c + e"}
    assert affected(chain, {"a"}) == {"c", "d"}
    assert affected(chain, {"c"}) == {"d"}
    assert affected(chain, {"d"}) == set()


@pytest.mark.parametrize(
    ("formula", "words"),
    [
        ("a +", "not valid arithmetic"),
        ("sqrt(a)", "a function call"),
        ("a $ 2", "not valid arithmetic"),
        ("ratio * a", "uses ratio itself"),
    ],
)
def test_every_kind_of_broken_formula_is_a_manifest_error_naming_metric_and_line(tmp_path, formula, words):
    from loaders import ManifestError, load_manifest

    path = tmp_path / "m.toml"
    path.write_text(MANIFEST.replace('formula = "a +"', f'formula = "{formula}"'))
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    message = str(caught.value)
    assert "metric 'ratio' formula (line 16)" in message and words in message
    assert "\n" not in message and "e.g. 'spend / caseload'" in message


def test_a_cycle_between_formula_metrics_is_a_manifest_error_for_each_metric(tmp_path):
    from loaders import ManifestError, load_manifest

    path = tmp_path / "m.toml"
    path.write_text(MANIFEST.replace('formula = "a +"', 'formula = "other * 2"')
                    + '\n[[metric]]\ncode = "other"\nname = "Other"\ndepartment = "D"\naggregation = "formula"\n'
                      'formula = "ratio / 2"\n')
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    message = str(caught.value)
    assert "metric 'ratio' formula (line 16)" in message and "metric 'other' formula (line 23)" in message
    assert "circle" in message


def test_roll_up_evaluation_matches_closed_form_values():
    """rollup.formula_values (the loaders' only evaluator) on a small frame: each key's value is the
    formula worked out by hand, a key missing a component is left out, and a zero denominator is NaN."""
    import pandas as pd

    from loaders import rollup

    codes = {"num": 1, "den": 2}
    rows = [  # metric_id, area_id, breakdown_id, pk, value
        (1, 10, 0, 2023, 45.0), (2, 10, 0, 2023, 60.0),
        (1, 11, 0, 2023, 3.0), (2, 11, 0, 2023, 0.0),
        (1, 12, 0, 2023, 7.0),
    ]
    frame = pd.DataFrame(rows, columns=["metric_id", "area_id", "breakdown_id", "pk", "value"]).assign(status="")
    out = rollup.formula_values(frame, "100 * num / den - 5", codes, metric_id=3)
    got = {int(area): value for area, value in zip(out["area_id"], out["value"])}
    assert set(got) == {10, 11}
    assert got[10] == pytest.approx(100 * 45 / 60 - 5)
    assert math.isnan(got[11])
    assert (out["metric_id"] == 3).all()
