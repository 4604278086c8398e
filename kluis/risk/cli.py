"""`kluis risk TABLE ...`: the re-identification risk of development data, measured and lowered
before they leave."""

from __future__ import annotations

from pathlib import Path

import typer

from kluis.errors import BadInput


def _names(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise BadInput("--keys is empty")
    return names


def _importance(text: str | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, eq, value = part.partition("=")
        try:
            weight = float(value)
        except ValueError:
            weight = float("nan")
        if not eq or not name.strip() or not weight > 0:
            raise BadInput(f"--importance {part.strip()!r}: expected KEY=WEIGHT with WEIGHT > 0")
        out[name.strip()] = weight
    return out


def risk(
    table: Path = typer.Argument(
        ..., help="Extract table directory (year=*/...parquet), CSV or Parquet file."
    ),
    out: Path = typer.Option(..., "--out", help="Report directory (published atomically)."),
    keys: str | None = typer.Option(
        None, "--keys", help="Key variables, comma-separated (default: the deliberation's)."
    ),
    deliberation: Path | None = typer.Option(
        None, "--deliberation", help="Deliberation file: risk settings and coarsening classes."
    ),
    k: int | None = typer.Option(None, "--k", help="k of k-anonymity (default 3)."),
    weight: str | None = typer.Option(None, "--weight", help="Sampling weight column (Fk)."),
    population: Path | None = typer.Option(
        None, "--population", help="The full population table the sample was drawn from (Fk)."
    ),
    household: str | None = typer.Option(None, "--household", help="Household id column."),
    sensitive: str | None = typer.Option(None, "--sensitive", help="Column for l-diversity."),
    person: str | None = typer.Option(None, "--person", help="Person (sequence number) column."),
    year: str | None = typer.Option(None, "--year", help="Year column of a panel."),
    recode: str | None = typer.Option(
        None, "--recode", help="Coarser classes, e.g. age=age_10y,province=province_region."
    ),
    suppress: bool = typer.Option(False, "--suppress", help="Suppress values to reach k."),
    importance: str | None = typer.Option(
        None, "--importance", help="Cost of suppressing a key's value, e.g. age=3 (default 1)."
    ),
    optimise: str = typer.Option(
        "auto",
        "--optimise",
        help="auto (MIP when small) | mip (MIP per year when it fits) | greedy.",
    ),
    memory_limit: str = typer.Option("4GB", "--memory-limit", help="DuckDB memory limit."),
    threads: int = typer.Option(2, "--threads", min=1, help="DuckDB threads."),
) -> None:
    """Measure the re-identification risk of a table (and lower it) before it leaves."""
    from kluis.risk import recode as recoding
    from kluis.risk.run import Options, run_risk

    # who may run it is checked centrally (kluis.access.commands: `risk` -> action "risk")
    from kluis.warehouse.resources import memory_limit as checked_memory

    if optimise not in ("auto", "mip", "greedy"):
        raise BadInput(f"--optimise {optimise!r}: choose auto, mip or greedy")
    try:  # before DuckDB sees it (it answered with a traceback)
        memory_limit = checked_memory(memory_limit)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--memory-limit") from None
    opts = Options(
        table=table,
        out=out,
        keys=_names(keys),
        deliberation=deliberation,
        k=k,
        weight=weight,
        population=population,
        household=household,
        sensitive=sensitive,
        person=person,
        year=year,
        recode=recoding.parse(recode),
        importance=_importance(importance),
        suppress=suppress,
        optimise=optimise,
        memory_limit=memory_limit,
        threads=threads,
    )
    done = run_risk(opts)
    for line in summary_lines(done.body):
        typer.echo(line)
    typer.echo(f"report: {done.out / 'risk.html'}")


def summary_lines(body: dict) -> list[str]:
    """A few readable lines: the headline measures (and what suppression did)."""
    s = body["settings"]
    k = str(s["k"])
    lines = [
        f"{body['records']:,} records, {body['key_patterns']:,} key combinations of "
        f"{', '.join(s['keys'])}",
        f"sample uniques {body['sample_uniques']:,}; violating {k}-anonymity "
        f"{body['k_violations'][k]:,}; expected re-identifications "
        f"{body['expected_reidentifications']:.1f} (global risk {body['global_risk_pct']:.2f}%)",
    ]
    for year, m in (body.get("per_year") or {}).items():
        lines.append(
            f"  {year}: {m['records']:,} records, {m['sample_uniques']:,} uniques, "
            f"{m['k_violations'][k]:,} below k, {m['expected_reidentifications']:.1f} expected"
        )
    lon = body.get("longitudinal")
    if lon:
        lines.append(
            f"panel: {lon['persons']:,} persons; unique over their years "
            f"{lon['unique_over_years']:,}; unique in some year {lon['unique_in_some_year']:,}"
        )
    sup = body.get("suppressions")
    if sup:
        after = body["after_suppression"]
        lines.append(
            f"suppressed {sup['total']:,} values in {sup['records_with_suppressions']:,} records "
            f"(lower bound {sup['lower_bound']:g}); after: violating {k}-anonymity "
            f"{after['k_violations'][k]:,}, expected re-identifications "
            f"{after['expected_reidentifications']:.1f}"
        )
    return lines
