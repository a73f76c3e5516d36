"""The data cut-off of a study package, checked against how the package's dates were anonymized.

Two forms (mapping key `data_cutoff`):

- a calendar date, `{date: 2016-03-31, start: adsl.RANDDT}`: follow-up after the date is shortened
  to it and an event after it becomes a censoring at it. A time mapped from two dates is placed on
  the calendar by its end date; one given as a duration, by `start` plus the duration. A patient
  who starts after the cut-off stops the study. Valid only on real dates (`date_anonymization:
  none`) or, with `date_is_shifted: true`, on dates shifted by one offset for the whole study.
- a study day, `{study_day: 1826}`: follow-up beyond study day N counted from each time's start
  (the randomization, study day 1; no day 0), i.e. beyond N - 1 days, is censored there. It needs
  no calendar, so it works on packages whose dates are shifted per patient or given as study days.

Both count every change in qc["exclusions"] (the report's data flow lists them).
"""

from __future__ import annotations

import datetime as _dt
import logging
from pathlib import Path
from typing import Any

import pandas as pd

from .dates import DAYS_PER_MONTH, date_anonymization, study_day_offset
from .errors import StudyDataError

log = logging.getLogger("her2meta.mapping")

_STUDY_DAY_HINT = ("state the cut-off as a study day instead, `data_cutoff: {study_day: 1826}` (follow-up beyond study day "
                   "1826 after randomization is censored there), or remove data_cutoff")


def check_cutoff(spec: dict[str, Any], path: Path | str) -> None:
    """Load-time checks of `data_cutoff` against the declared datasets and `date_anonymization`."""
    cutoff = spec.get("data_cutoff")
    if not cutoff:
        return
    study, datasets, path = spec["study_id"], spec["datasets"], str(path)
    anonymization = date_anonymization(spec)
    if "study_day" in cutoff:
        extra = [key for key in ("start", "date_format", "date_is_shifted") if key in cutoff]
        if extra:
            raise StudyDataError(study, f"data_cutoff.{extra[0]} applies to a calendar cut-off (`date:`), not to `study_day:`",
                                 file=path, field="data_cutoff",
                                 hint="a study-day cut-off is counted from each time's own start; remove "
                                      f"data_cutoff.{extra[0]}")
        return
    if anonymization == "shifted_per_patient":
        raise StudyDataError(study, f"data_cutoff.date {cutoff['date']} is a calendar date, but the package's dates are "
                                    "shifted by a different offset for each patient (date_anonymization: shifted_per_patient): "
                                    "a calendar date cannot be compared across patients",
                             file=path, field="data_cutoff", hint=_STUDY_DAY_HINT)
    if anonymization == "study_days":
        raise StudyDataError(study, f"data_cutoff.date {cutoff['date']} is a calendar date, but the package gives study days, "
                                    "not dates (date_anonymization: study_days)", file=path, field="data_cutoff",
                             hint=_STUDY_DAY_HINT)
    if anonymization == "shifted_per_study" and not cutoff.get("date_is_shifted"):
        raise StudyDataError(study, f"data_cutoff.date {cutoff['date']} is a calendar date, but the package's dates are "
                                    "shifted (date_anonymization: shifted_per_study): is the cut-off date shifted with them?",
                             file=path, field="data_cutoff",
                             hint="if the sponsor gives the cut-off on the package's shifted calendar, add "
                                  "`date_is_shifted: true` to data_cutoff; otherwise " + _STUDY_DAY_HINT)
    if cutoff.get("date_is_shifted") and anonymization != "shifted_per_study":
        raise StudyDataError(study, f"data_cutoff.date_is_shifted is true, but date_anonymization is {anonymization}",
                             file=path, field="data_cutoff",
                             hint="set `date_anonymization: shifted_per_study` if the sponsor shifted every date of the "
                                  "study by one offset, or remove date_is_shifted")
    try:
        _dt.date.fromisoformat(str(cutoff["date"]))
    except ValueError:
        raise StudyDataError(study, f"data_cutoff date {cutoff['date']!r} is not a date", file=path,
                             field="data_cutoff", hint="write it as YYYY-MM-DD, e.g. 2016-03-31") from None
    start = cutoff.get("start")
    if start is not None and start.split(".", 1)[0] not in datasets:
        raise StudyDataError(study, f"data_cutoff start reads from dataset {start.split('.', 1)[0]!r}, which is not declared",
                             file=path, field="data_cutoff", hint=f"declared datasets: {', '.join(datasets)}")


def apply_cutoff(study: str, spec: dict[str, Any], out: pd.DataFrame, calendar: dict[str, tuple[pd.Series, pd.Series]],
                 qc: dict[str, Any], *, start_dates: pd.Series | None = None, files: dict[str, str] | None = None) -> None:
    """Censor follow-up at the package's data cut-off (counted, never silent).

    `calendar` holds the start and end dates of each time mapped from two dates; `start_dates`,
    the dates of `data_cutoff.start` when given; `files`, dataset name -> file, for messages."""
    from .mapping import TIME_EVENT_PAIRS  # here, not at the top: mapping imports this module

    cutoff_spec = spec["data_cutoff"]
    if "study_day" in cutoff_spec:
        _apply_study_day_cutoff(study, int(cutoff_spec["study_day"]), out, qc, TIME_EVENT_PAIRS)
        return
    cutoff = pd.Timestamp(str(cutoff_spec["date"]))
    info: dict[str, Any] = {"date": cutoff.date().isoformat(), "checked": [], "not_checked": []}
    for time, event in TIME_EVENT_PAIRS:
        if time not in out:
            continue
        if time in calendar:
            start, end = calendar[time]
        elif start_dates is not None:
            start = start_dates
            days = (out[time].astype(float) * DAYS_PER_MONTH).round()
            # an absurd duration (harmonization stops the study on it) must not overflow the calendar here
            end = start + pd.to_timedelta(days.where(days.abs() < 1e6), unit="D")
        else:
            info["not_checked"].append(time)
            continue
        info["checked"].append(time)
        late_start = start.notna() & (start > cutoff)
        if late_start.any():
            source = (spec["fields"][time].get("dates") or {}).get("start") or cutoff_spec.get("start")
            if isinstance(source, list):  # a coalesced start (`start: [a.X, b.Y]`): name the first column
                source = source[0]
            raise StudyDataError(study, f"{int(late_start.sum())} patients start ({source}) after the data cut-off "
                                 f"{info['date']}", file=(files or {}).get(source.split(".", 1)[0]), field=time,
                                 example=f"subject {start.index[late_start][0]!r}: start {start[late_start].iloc[0].date()}",
                                 hint="check data_cutoff.date in the mapping, and the date columns")
        after = end.notna() & start.notna() & (end > cutoff) & out[time].notna()
        if not after.any():
            continue
        truncated = (cutoff - start[after]).dt.days.astype(float) / DAYS_PER_MONTH
        _censor(study, out, time, event, after, truncated, qc, f"the data cut-off {info['date']}",
                example_end=lambda key: end[key].date())
    qc["data_cutoff"] = info


def _apply_study_day_cutoff(study: str, study_day: int, out: pd.DataFrame, qc: dict[str, Any], pairs) -> None:
    limit_days = float(study_day_offset(study_day))
    info: dict[str, Any] = {"study_day": study_day, "censored_beyond_days": limit_days, "checked": [], "not_checked": []}
    for time, event in pairs:
        if time not in out:
            continue
        info["checked"].append(time)
        days = out[time].astype(float) * DAYS_PER_MONTH
        after = out[time].notna() & (days > limit_days + 1e-6)  # times from dates are whole days up to rounding
        if not after.any():
            continue
        truncated = pd.Series(limit_days / DAYS_PER_MONTH, index=out.index[after])
        _censor(study, out, time, event, after, truncated, qc, f"study day {study_day}",
                example_end=lambda key: f"day {int(round(days[key])) + 1}")
    qc["data_cutoff"] = info


def _censor(study, out, time, event, after, truncated, qc, where, *, example_end) -> None:
    """An event after the cut-off becomes a censoring at it; censored follow-up past it is
    shortened to it. Both counted in qc["exclusions"] and logged with an example."""
    has_event = out[event].astype("Float64").fillna(0).eq(1) & after if event in out else pd.Series(False, index=out.index)
    censored = after & ~has_event
    out.loc[after, time] = truncated
    if event in out:
        out.loc[after & out[event].notna(), event] = 0
    for mask, reason, action in (
        (has_event, f"event after {where}", "censored at the cut-off: the event is not counted"),
        (censored, f"follow-up after {where}", "follow-up shortened to the cut-off"),
    ):
        if mask.any():
            qc["exclusions"].append({"stage": "extract", "field": time, "reason": reason, "action": action,
                                     "count": int(mask.sum())})
            example = mask[mask].index[0]
            log.warning("study %s: %d patients: %s (%s); field %s; example: subject %r ends %s",
                        study, int(mask.sum()), reason, action, time, example, example_end(example))
