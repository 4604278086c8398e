"""Charts of a warehouse profile (PNG, matplotlib's Agg backend) and publishing the output folder.

Everything is drawn from `Profile.distributions` (already aggregated by DuckDB), so charts never
touch the warehouse. The folder is written to a temporary directory beside the target and moved
into place file by file, so a reader never sees half a profile.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from kluis.atomic import locked, publish_dir, staging_dir  # noqa: E402
from kluis.warehouse.profile import Profile, ProfileError  # noqa: E402

CHARTS = (
    "age_pyramid.png",
    "employment_by_region.png",
    "wage_distribution.png",
    "employers_by_size.png",
)
_SEX = {"1": "men", "2": "women"}
_PNG_META = {"Software": None}  # no version string: same profile, same bytes


def _age_pyramid(p: Profile, path: Path) -> None:
    rows = p.distributions["age_pyramid"]
    ages = sorted({r["age"] for r in rows})
    count = {(r["age"], r["sex"]): r["count"] for r in rows}
    fig, ax = plt.subplots(figsize=(7, 7))
    ax.barh(ages, [-count.get((a, "1"), 0) for a in ages], color="#4477aa", label="men")
    ax.barh(ages, [count.get((a, "2"), 0) for a in ages], color="#ee6677", label="women")
    for bound in (15, 64):
        ax.axhline(bound - 0.5 if bound == 15 else bound + 0.5, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("residents on 31 December (men left, women right)")
    ax.set_ylabel("age")
    ax.set_title(f"Residents by age and sex, {p.year} (dotted: ages 15-64)")
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda x, _: f"{abs(x):,.0f}"))
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata=_PNG_META)
    plt.close(fig)


def _employment(p: Profile, path: Path) -> None:
    rows = p.distributions["employment_by_region_sex"]
    regions = ["Flanders", "Wallonia", "Brussels"]
    fig, ax = plt.subplots(figsize=(8, 5))
    width = 0.27
    for i, (sex, colour) in enumerate((("1", "#4477aa"), ("2", "#ee6677"))):
        got = {r["region"]: r for r in rows if r["sex"] == sex}
        xs = [k + (i - 0.5) * width for k in range(len(regions))]
        ax.bar(
            xs,
            [got[g]["rate"] if g in got else 0 for g in regions],
            width,
            color=colour,
            label=f"{_SEX[sex]}, generated",
        )
        targets = [got[g]["target"] if g in got else None for g in regions]
        ax.scatter(
            [x for x, t in zip(xs, targets, strict=True) if t is not None],
            [t for t in targets if t is not None],
            marker="_",
            s=600,
            color="black",
            zorder=3,
            label="target" if i == 0 else None,
        )
    xs = [k + 1.5 * width for k in range(len(regions))]
    overall = [p.figure(f"employment_rate_{g.lower()}") for g in regions]
    ax.bar(xs, [f.value or 0 for f in overall], width, color="#228833", label="all, generated")
    ax.errorbar(
        xs,
        [f.target for f in overall],
        yerr=[[f.target - f.low for f in overall], [f.high - f.target for f in overall]],
        fmt="_",
        color="black",
        ms=20,
        capsize=4,
    )
    ax.set_xticks(range(len(regions)), regions)
    ax.set_ylim(0, 1)
    ax.set_ylabel("employment rate, residents 15-64")
    ax.set_title(f"Employment rate by region and sex, {p.year} (black: target ± tolerance)")
    ax.legend(loc="upper right", fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata=_PNG_META)
    plt.close(fig)


def _wages(p: Profile, path: Path) -> None:
    h = p.distributions["ft_wage_histogram"]
    fig, ax = plt.subplots(figsize=(8, 5))
    bins = h["bins"]
    ax.bar(
        [b["from"] for b in bins],
        [b["count"] for b in bins],
        width=h["bin_width"],
        align="edge",
        color="#bbbbbb",
        label="full-time employees",
    )
    for name, colour in (("wage_mean_ft", "#4477aa"), ("wage_median_ft", "#ee6677")):
        f = p.figure(name)
        label = name.split("_")[1]
        if f.value is not None:
            ax.axvline(f.value, color=colour, lw=2, label=f"{label} {f.value:,.0f}")
        ax.axvline(f.target, color=colour, lw=1.5, ls="--", label=f"{label} target {f.target:,.0f}")
    ax.set_xlabel(f"gross monthly wage, EUR (daily wage × 21.67; last bin: {h['top']:,}+)")
    ax.set_ylabel("persons")
    ax.set_title(f"Full-time gross monthly wage, residents 15-64, {p.year}")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata=_PNG_META)
    plt.close(fig)


def _employers(p: Profile, path: Path) -> None:
    rows = p.distributions["employers_by_size_class"]
    fig, ax = plt.subplots(figsize=(9, 5))
    xs = range(len(rows))
    ax.bar(
        [x - 0.2 for x in xs],
        [r["employers_31_dec"] for r in rows],
        0.4,
        color="#4477aa",
        label="by jobs held on 31 December",
    )
    ax.bar(
        [x + 0.2 for x in xs],
        [r["declared"] for r in rows],
        0.4,
        color="#bbbbbb",
        label="by declared size class",
    )
    ax.set_xticks(
        list(xs), [r["label"].replace(" employees", "") for r in rows], rotation=30, ha="right"
    )
    ax.set_ylabel("employers with an employment in the year")
    ax.set_title(f"Employers by size class, {p.year}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata=_PNG_META)
    plt.close(fig)


def write_profile(p: Profile, out: str | Path) -> list[Path]:
    """Write profile.json and the PNG charts into `out`, published as one directory
    (kluis.atomic); a folder holding anything else is refused, never replaced."""
    out = Path(out).absolute()
    names = ("profile.json", *CHARTS)
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise ProfileError(f"--out {out} exists and is not a directory")
    if out.is_dir():
        other = sorted(c.name for c in out.iterdir() if c.name not in names)
        if other:
            raise ProfileError(
                f"--out {out} holds other files than a profile ({', '.join(other[:5])}); "
                "refusing to replace it: choose another --out"
            )
    with locked(out, wait=False, remove=True):
        tmp = staging_dir(out)
        try:
            (tmp / "profile.json").write_text(p.to_json(), encoding="utf-8")
            for name, draw in zip(
                CHARTS, (_age_pyramid, _employment, _wages, _employers), strict=True
            ):
                draw(p, tmp / name)
            os.chmod(tmp, 0o755)
            publish_dir(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return [out / name for name in names]
