"""Model formulas the enclave will evaluate: a small, checked subset of the statsmodels syntax.

A statsmodels (patsy / formulaic) formula is Python: `np.log(x)` or `__import__(...)` would run
in the trusted process. So the trusted side parses the researcher's formula itself, accepts only
column names, `C(name)` for a categorical, interactions `a:b` and `a*b`, and `+ 0` / `- 1` for no
intercept, and hands statsmodels the formula it rebuilt from that parse. Transform a variable in
the query instead (`table.mutate(log_wage=table.wage.log())`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kluis.errors import BadInput

_TOKEN = re.compile(
    r"\s*(?:(C\(\s*[A-Za-z_][A-Za-z0-9_]*\s*\))|([A-Za-z_][A-Za-z0-9_]*)|(\d+)|(.))"
)
_RESERVED = frozenset({"C", "I", "Q", "np", "numpy", "center", "scale", "standardize"})


class FormulaError(BadInput, ValueError):
    """A formula outside the subset the enclave evaluates."""


@dataclass(frozen=True)
class Formula:
    response: str
    terms: tuple[tuple[str, ...], ...]  # each term: its factors, e.g. ("C(sex)", "age")
    intercept: bool

    @property
    def columns(self) -> list[str]:
        """Every column the model reads, response first."""
        out = [self.response]
        for term in self.terms:
            for f in term:
                name = _bare(f)
                if name not in out:
                    out.append(name)
        return out

    @property
    def categorical(self) -> list[str]:
        """Columns given as C(name)."""
        return list(dict.fromkeys(_bare(f) for t in self.terms for f in t if f.startswith("C(")))

    def text(self) -> str:
        rhs = " + ".join(":".join(t) for t in self.terms) or "1"
        return f"{self.response} ~ {rhs}" + ("" if self.intercept else " - 1")


def _bare(factor: str) -> str:
    return factor[2:-1].strip() if factor.startswith("C(") else factor


def _tokens(text: str) -> list[str]:
    out = []
    for m in _TOKEN.finditer(text):
        cat, name, num, other = m.groups()
        if cat:
            out.append("C(" + cat[2:-1].strip() + ")")
        elif name:
            if name in _RESERVED:
                raise FormulaError(f"formula {text!r}: {name!r} is not allowed as a column name")
            out.append(name)
        elif num:
            out.append(num)
        elif other and not other.isspace():
            out.append(other)
    return out


def parse_formula(text: str) -> Formula:
    """Parse `response ~ terms`; FormulaError naming the part that is not allowed."""
    toks = _tokens(text)
    if len(toks) < 3 or toks[1] != "~" or not re.fullmatch(r"[A-Za-z_]\w*", toks[0]):
        raise FormulaError(f"formula {text!r}: expected 'response ~ term + term ...'")
    response, rest = toks[0], toks[2:]
    terms: list[tuple[str, ...]] = []
    intercept = True
    sign = "+"
    i = 0
    while i < len(rest):
        tok = rest[i]
        if tok in ("0", "1"):
            if (sign, tok) in (("+", "0"), ("-", "1")):
                intercept = False
            elif (sign, tok) != ("+", "1"):
                raise FormulaError(f"formula {text!r}: '{sign} {tok}' is not understood")
            i += 1
        else:
            if sign != "+":
                raise FormulaError(f"formula {text!r}: only '- 1' may be subtracted")
            factors, i = _term(rest, i, text)
            for t in factors:
                if t not in terms:
                    terms.append(t)
        if i < len(rest):
            if rest[i] not in ("+", "-"):
                raise FormulaError(f"formula {text!r}: unexpected {rest[i]!r}")
            sign = rest[i]
            i += 1
            if i == len(rest):
                raise FormulaError(f"formula {text!r}: ends with {sign!r}")
    if not terms and intercept is False:
        raise FormulaError(f"formula {text!r}: no regressor")
    if any(response == _bare(f) for t in terms for f in t):
        raise FormulaError(f"formula {text!r}: the response is also a regressor")
    return Formula(response=response, terms=tuple(terms), intercept=intercept)


def _factor(tok: str, text: str) -> str:
    if tok.startswith("C(") or re.fullmatch(r"[A-Za-z_]\w*", tok):
        return tok
    raise FormulaError(
        f"formula {text!r}: {tok!r} is not allowed (column names, C(name), ':' and '*' only; "
        "transform variables in the query)"
    )


def _term(toks: list[str], i: int, text: str) -> tuple[list[tuple[str, ...]], int]:
    """One additive term: factors joined by ':' (interaction) or '*' (main effects and the
    interaction); returns the terms it stands for."""
    groups: list[list[str]] = [[_factor(toks[i], text)]]
    ops: list[str] = []
    i += 1
    while i < len(toks) and toks[i] in (":", "*"):
        if i + 1 >= len(toks):
            raise FormulaError(f"formula {text!r}: ends with {toks[i]!r}")
        ops.append(toks[i])
        groups.append([_factor(toks[i + 1], text)])
        i += 2
    # a*b*c = every product of subsets; a:b = that product only
    if "*" in ops and ":" in ops:
        raise FormulaError(f"formula {text!r}: write a term with both ':' and '*' out in full")
    if "*" not in ops:
        return [tuple(f[0] for f in groups)], i
    factors = [g[0] for g in groups]
    out: list[tuple[str, ...]] = []
    n = len(factors)
    for size in range(1, n + 1):
        for mask in range(1, 1 << n):
            if bin(mask).count("1") == size:
                out.append(tuple(factors[k] for k in range(n) if mask >> k & 1))
    return out, i
