"""Plausibility checks of values that would pass silently: valid numbers that are wrong.

Called by the harmonization (her2meta.harmonize) before and after the derivations; each stops
the study with its evidence (StudyDataError) unless the mapping declares what the data are.
Rules, thresholds and their reasons: docs/methods/derivations.md.

- ER/PR percentages delivered as fractions (0.3 for 30%): `scale: fraction` (multiplied by 100,
  counted) or `scale: percent` (confirmed) on the field;
- follow-up implausibly short for a trial (months read as days): `short_follow_up: <why>` on the
  time field accepts it, recorded and reported.

`where` is the harmonization's field -> source-file lookup (callable, with `.mapping`, the
mapping file's path, or None).
"""

from __future__ import annotations

from typing import Any, Callable

import pandas as pd

from .errors import StudyDataError
from .mapping import TIME_EVENT_PAIRS, UNIT_TO_MONTHS

# With at least this many patients with a time, a longest follow-up below this many months stops
# the study (months read as days give 1/30 of the real times) unless the mapping states why.
FOLLOW_UP_MIN_PATIENTS = 10
FOLLOW_UP_MIN_LONGEST_MONTHS = 6.0
RECEPTOR_PERCENT_FIELDS = ("er_percent", "pr_percent")

Sources = Callable[[str | None], str]


def apply_receptor_scale(data: pd.DataFrame, rules: dict, sid: str, where: Sources, qc: dict) -> None:
    """`scale: fraction` (0.3 = 30%): multiply by 100, counted; a value above 1 in a field
    declared a fraction means the field mixes scales, which stops the study."""
    for name, rule in rules.items():
        scale = (rule or {}).get("scale")
        if scale is None:
            continue
        if name not in RECEPTOR_PERCENT_FIELDS:
            raise StudyDataError(sid, f"`scale:` applies to er_percent and pr_percent only, not to {name}",
                                 file=getattr(where, "mapping", None) or where(name), field=name,
                                 hint=f"remove `scale:` from fields.{name}")
        qc["derivations"].setdefault("receptor_scale", {})[name] = {"scale": scale}
        if scale != "fraction" or name not in data:
            continue
        values = pd.to_numeric(data[name], errors="coerce").astype(float)
        above = values > 1
        if above.any():
            idx = above[above].index[0]
            raise StudyDataError(sid, f"{name} is declared `scale: fraction`, but {int(above.sum())} of "
                                 f"{int(values.notna().sum())} values are above 1: the field mixes fractions and percentages",
                                 file=where(name), field=name, example=f"patient {data.loc[idx, 'patient_id']}: {name} = {values[idx]:g}",
                                 hint="ask the sponsor which scale each value is on, or correct the source; "
                                      "the study cannot be read with one scale")
        data[name] = (values * 100).round(9)  # 0.1 * 100 is 10.000000000000002: ER 10% must stay ER-low
        qc["derivations"]["receptor_scale"][name]["multiplied_by_100"] = int(values.notna().sum())


def check_receptor_scale(data: pd.DataFrame, rules: dict, sid: str, where: Sources) -> None:
    """Stop on ER/PR values that look like fractions (0.3) in a percentage field: a field whose
    values all lie in 0-1 with some strictly between (not whole numbers), or values strictly
    between 0 and 1 beside values above 1. A declared `scale:` settles it (docs/methods/derivations.md)."""
    numeric = {name: pd.to_numeric(data[name], errors="coerce").astype(float)
               for name in RECEPTOR_PERCENT_FIELDS if name in data}
    for name, values in numeric.items():
        if (rules.get(name) or {}).get("scale"):
            continue
        present = values.dropna()
        between = (present > 0) & (present < 1)
        above = present > 1
        if not between.any():
            continue
        n_unit, n_between, n_above = int((present <= 1).sum()), int(between.sum()), int(above.sum())
        if n_above:
            what = (f"{n_between} of its {len(present)} values lie strictly between 0 and 1 while {n_above} are above 1: "
                    "some look like fractions (0.3 = 30%) among percentages")
        else:
            others = [f"{other} has {int((v > 1).sum())} values above 1" for other, v in numeric.items()
                      if other != name and (v > 1).any()]
            what = (f"all {len(present)} values lie between 0 and 1 ({n_between} not whole numbers, none above 1)"
                    + (f", while {others[0]}" if others else "") + ": it looks like a fraction (0.3 = 30%), not a percentage")
        idx = between[between].index[0]
        raise StudyDataError(
            sid, f"{name} {what}; read as percentages, those patients would count as receptor-negative",
            file=where(name), field=name,
            example=f"patient {data.loc[idx, 'patient_id']}: {name} = {values[idx]:g}; values in 0-1: {n_unit}, above 1: {n_above}",
            hint=f"declare the scale in the mapping: `scale: fraction` under fields.{name} (values are multiplied by 100), "
                 "or `scale: percent` if these really are percentages; a field mixing both must be corrected at the source",
        )


def check_follow_up(data: pd.DataFrame, rules: dict, sid: str, where: Sources, qc: dict) -> None:
    """Stop on a time field whose follow-up is implausibly short for a trial: the longest time
    below FOLLOW_UP_MIN_LONGEST_MONTHS with at least FOLLOW_UP_MIN_PATIENTS patients with a time
    (months read as days make every time 30 times too short). The evidence gives the median and
    the longest time in months under the declared unit and under each other unit. A mapping's
    `short_follow_up: <why>` on the field accepts it (recorded and reported)."""
    for time, event in TIME_EVENT_PAIRS:
        if time not in data or event not in data:
            continue
        rule = rules.get(time) or {}
        unit = "dates" if "dates" in rule or "study_days" in rule else rule.get("unit", "months")
        times = pd.to_numeric(data[time], errors="coerce").astype(float)
        present = times.dropna()
        censored = times[(pd.to_numeric(data[event], errors="coerce") == 0) & times.notna()]
        record: dict[str, Any] = {"unit": unit, "patients": int(len(present))}
        qc["derivations"].setdefault("follow_up", {})[time] = record
        if len(present) < FOLLOW_UP_MIN_PATIENTS:
            record["checked"] = False
            continue
        record.update(checked=True, median_months=round(float(present.median()), 2),
                      median_censored_months=round(float(censored.median()), 2) if len(censored) else None)
        longest = float(present.max())
        if longest >= FOLLOW_UP_MIN_LONGEST_MONTHS:
            continue
        summary = (f"{time}: the longest follow-up is under {FOLLOW_UP_MIN_LONGEST_MONTHS:g} months (median "
                   f"{present.median():.2f} months over {len(present)} patients, {unit})")
        if rule.get("short_follow_up"):
            record["accepted_short_follow_up"] = rule["short_follow_up"]
            qc["warnings"].append(f"{summary}: accepted by the mapping ({rule['short_follow_up']})")
            continue
        readings = _unit_readings(present, unit)
        raise StudyDataError(
            sid, f"{summary}, far below any trial's: the unit looks wrong (months read as days make times 30 times too short)",
            file=where(time), field=time,
            example="; ".join(f"read as {u}: median {med:.1f}, longest {top:.1f} months" for u, med, top in readings),
            hint=(f"check `unit:` of fields.{time} in the mapping against the source (ADaM AVAL units are in PARAM/AVALU)"
                  if unit != "dates" else f"check the start and end date columns of fields.{time} and their format")
                 + f"; if the follow-up really is this short, say why under fields.{time}.short_follow_up",
        )


def _unit_readings(months: pd.Series, unit: str) -> list[tuple[str, float, float]]:
    """(unit, median, longest) in months of the same source values read under each unit, the
    declared one first."""
    if unit not in UNIT_TO_MONTHS:
        return [(unit, float(months.median()), float(months.max()))]
    source = months / UNIT_TO_MONTHS[unit]
    order = [unit] + [u for u in UNIT_TO_MONTHS if u != unit]
    return [(f"{u}{' (declared)' if u == unit else ''}", float(source.median() * UNIT_TO_MONTHS[u]),
             float(source.max() * UNIT_TO_MONTHS[u])) for u in order]
