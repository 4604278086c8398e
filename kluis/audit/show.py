"""`kluis audit show`: the records of the log, filtered by deliberation, actor, action and time."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass

from kluis.errors import BadInput


@dataclass(frozen=True)
class Filter:
    deliberation: str | None = None
    actor: str | None = None
    action: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def parse_time(text: str, *, end_of_day: bool = False, option: str = "--since") -> dt.datetime:
    """An ISO date or date-time (UTC unless it says otherwise); a date alone means its start,
    or with `end_of_day` its end."""
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            moment = dt.datetime.combine(day, dt.time.max if end_of_day else dt.time.min)
        else:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"{option} {text!r}: not a date or date-time (YYYY-MM-DD[THH:MM])") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _number(text: str) -> str:
    return text.strip().replace("-", "/")


def _time(rec: dict) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(rec["time"]).replace("Z", "+00:00"))
    except ValueError:
        return None


def select(records: Iterable[dict], f: Filter) -> list[dict]:
    """The records that match every given filter. A command's start record carries the
    deliberation its end record names, so filtering by deliberation keeps both."""
    records = list(records)
    by_start = {
        r["details"].get("started"): r.get("deliberation")
        for r in records
        if r.get("event") == "end" and r.get("deliberation")
    }
    out = []
    for r in records:
        deliberation = r.get("deliberation") or by_start.get(r["seq"])
        if f.deliberation and (
            not deliberation or _number(deliberation) != _number(f.deliberation)
        ):
            continue
        if f.actor and f.actor not in (r.get("actor"), r.get("account")):
            continue
        if f.action:
            action = str(r.get("action"))
            if action != f.action and not action.startswith(f.action + " "):
                continue
        when = _time(r)
        if f.since and (when is None or when < f.since):
            continue
        if f.until and (when is None or when > f.until):
            continue
        out.append(
            r if r.get("deliberation") == deliberation else {**r, "deliberation": deliberation}
        )
    return out


def outcome(rec: dict) -> str:
    d = rec["details"]
    event = rec.get("event")
    if event == "end":
        code = d.get("exit_code")
        return "ok" if code == 0 else f"exit {code} {d.get('error') or ''}".strip()
    if event == "checkpoint":
        signer = d.get("signer")
        return f"certifies #{d.get('seq')}" + (f", signed {signer}" if signer else ", unsigned")
    if event == "start":
        return " ".join(str(a) for a in d.get("argv", []))[:60]
    if event == "publish":
        return str(d.get("label", ""))
    return ""


def table_lines(records: list[dict]) -> list[str]:
    header = f"{'#':>6}  {'time (UTC)':<23}  {'actor':<14} {'role':<10} {'event':<10} "
    header += f"{'action':<18} {'deliberation':<12} outcome"
    lines = [header]
    for r in records:
        lines.append(
            f"{r['seq']:>6}  {str(r['time']):<23}  {str(r.get('actor') or '-'):<14} "
            f"{str(r.get('role') or '-'):<10} {str(r.get('event')):<10} "
            f"{str(r.get('action')):<18} {str(r.get('deliberation') or '-'):<12} {outcome(r)}"
        )
    return lines


def json_lines(records: list[dict]) -> list[str]:
    return [json.dumps(r, sort_keys=True, ensure_ascii=False) for r in records]
