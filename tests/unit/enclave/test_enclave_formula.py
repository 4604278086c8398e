"""Model formulas the trusted side evaluates: column names, C(), ':' and '*' only."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kluis.enclave.formula import FormulaError, parse_formula


@pytest.mark.parametrize(
    ("text", "rebuilt", "columns", "categorical"),
    [
        ("y ~ C(sex) + age", "y ~ C(sex) + age", ["y", "sex", "age"], ["sex"]),
        ("y~a:b+0", "y ~ a:b - 1", ["y", "a", "b"], []),
        ("y ~ a*b - 1", "y ~ a + b + a:b - 1", ["y", "a", "b"], []),
        (
            "y ~ C( sex )*C(age)",
            "y ~ C(sex) + C(age) + C(sex):C(age)",
            ["y", "sex", "age"],
            ["sex", "age"],
        ),
    ],
)
def test_accepted(text, rebuilt, columns, categorical):
    f = parse_formula(text)
    assert f.text() == rebuilt
    assert f.columns == columns
    assert f.categorical == categorical


@pytest.mark.parametrize(
    "text",
    [
        "y ~ np.log(x)",
        "y ~ I(x ** 2)",
        "y ~ __import__('os').system('id')",
        "y ~ x + exec('1')",
        "y ~ C(a, Treatment('x'))",
        "y ~ a:b*c",
        "y ~ a +",
        "y ~ y",
        "~ a",
        "y ~ a - b",
    ],
)
def test_refused(text):
    with pytest.raises(FormulaError):
        parse_formula(text)


@given(st.text(max_size=60))
def test_whatever_is_accepted_is_plain_names(text):
    """Any formula that passes rebuilds to names, C(name), ':', '+', '~' and '- 1' only: nothing
    statsmodels could evaluate as Python."""
    try:
        f = parse_formula(text)
    except FormulaError:
        return
    assert re.fullmatch(r"[A-Za-z_]\w* ~ [\w():+ ]*( - 1)?", f.text())
    without_categoricals = re.sub(r"C\(\w+\)", "", f.text())
    assert "(" not in without_categoricals and ")" not in without_categoricals
