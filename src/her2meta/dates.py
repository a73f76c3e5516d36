"""Dates as sponsors deliver them, read into calendar days or durations.

- ISO 8601 text, complete or partial as SDTM allows it (`2014-02-15`, `2014-02`, `2014`,
  `2014---15` with the month unknown, `--02-15` with the year unknown, a time part after `T`),
  and the `UN` / `UNK` placeholders some sponsors put in place of an unknown component
  (`2014-02-UN`, `2014-UNK-UN`);
- text in a strptime format the mapping names (`date_format`), always complete;
- SAS / Stata date values (already dates when read);
- CDISC study days (ADaM ADY, SDTM --DY): integers, day 1 = the reference day, no day 0.

A partial date is completed only by the rule the mapping states (`partial_dates`): `first`,
`middle` or `last` possible day, or `exclude` (set to missing). With no rule a partial date stops
the study. Every completed or excluded date is counted per field, column and rule; the records
this module returns go to the study's QC record and from there to the report.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .conditions import is_blank
from .errors import StudyDataError

DAYS_PER_MONTH = 365.25 / 12

_UNKNOWN = r"-|UNK|UN|UK"
_ISO_DATE = re.compile(
    rf"^(?P<year>\d{{4}}|-)(?:-(?P<month>\d{{1,2}}|{_UNKNOWN})(?:-(?P<day>\d{{1,2}}|{_UNKNOWN}))?)?"
    r"(?:[T ](?P<time>[0-9:.\-]*)(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$",
    re.IGNORECASE,
)
_BASIC_DATE = re.compile(r"^(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})(?:T[0-9:.]*)?$")

# Which components are unknown -> how the QC record names it.
_MISSING_LABEL = {(False, False, True): "day", (False, True, True): "month and day", (False, True, False): "month"}


@dataclass(frozen=True)
class PartialDate:
    """A date whose year, month or day may be unknown (None)."""

    year: int | None
    month: int | None
    day: int | None

    @property
    def complete(self) -> bool:
        return None not in (self.year, self.month, self.day)

    @property
    def missing(self) -> str | None:
        """Which part is unknown ("day", "month and day", "month", "year"), None when complete."""
        if self.complete:
            return None
        if self.year is None:
            return "year"
        return _MISSING_LABEL[(False, self.month is None, self.day is None)]

    def bounds(self) -> tuple[dt.date, dt.date]:
        """The earliest and latest calendar day the date can be (the year must be known)."""
        if self.year is None:
            raise ValueError("a date with an unknown year has no bounds")
        if self.month is None:
            day_first, day_last = (self.day, self.day) if self.day is not None else (1, 31)
            return dt.date(self.year, 1, day_first), dt.date(self.year, 12, day_last)
        last_day = calendar.monthrange(self.year, self.month)[1]
        if self.day is None:
            return dt.date(self.year, self.month, 1), dt.date(self.year, self.month, last_day)
        day = dt.date(self.year, self.month, self.day)
        return day, day

    def impute(self, rule: str) -> dt.date:
        """The calendar day a rule gives: first or last possible day, or the middle one
        (day 15 of a known month; 1 July, or the known day of July, when the month is unknown)."""
        earliest, latest = self.bounds()
        if rule == "first" or self.complete:
            return earliest
        if rule == "last":
            return latest
        if rule == "middle":
            if self.month is None:
                return dt.date(self.year, 7, self.day or 1)
            return dt.date(self.year, self.month, 15)
        raise ValueError(f"no date for rule {rule!r}")


def parse_date_text(text: str) -> PartialDate:
    """An ISO 8601 date (complete or partial, SDTM style) as a PartialDate; ValueError otherwise."""
    text = text.strip()
    match = _ISO_DATE.match(text) or _BASIC_DATE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not an ISO 8601 date")
    parts = match.groupdict()

    def number(value: str | None) -> int | None:
        return int(value) if value is not None and value.isdigit() else None

    year, month, day = number(parts["year"]), number(parts.get("month")), number(parts.get("day"))
    if year is None and month is None and day is None:
        raise ValueError(f"{text!r} has no known component")
    if month is not None and not 1 <= month <= 12:
        raise ValueError(f"{text!r}: month {month} does not exist")
    if day is not None:
        longest = calendar.monthrange(year or 2000, month)[1] if month is not None else 31
        if not 1 <= day <= longest:
            raise ValueError(f"{text!r}: day {day} does not exist")
    return PartialDate(year, month, day)


# ----------------------------------------------------------------------------------------------
# A column of dates


@dataclass
class DateColumn:
    """A column of dates after the mapping's rule: calendar day (or NaT) and, for each partial
    date, the earliest and latest day it could be, so impossible orderings can be told apart from
    ones the imputation made."""

    values: pd.Series
    earliest: pd.Series
    latest: pd.Series
    partial: pd.Series  # bool
    text: pd.Series  # the source text, for examples
    column: str = ""
    records: list[dict[str, Any]] = field(default_factory=list)


def date_anonymization(spec: dict[str, Any]) -> str:
    """How the mapping says the package's dates were anonymized (default: not at all)."""
    return spec.get("date_anonymization", "none")


def rule_for(part: str, partial_dates: dict[str, Any] | None) -> str | None:
    """The partial-date rule of one date (part "start", "end" or "value") under a
    `partial_dates` spec: `start:` / `end:` before `rule:`; None when no rule applies."""
    if not partial_dates:
        return None
    return partial_dates.get(part, partial_dates.get("rule"))


def read_dates(raw: pd.Series, *, study: str, field_name: str, column: str, file: str | None,
               date_format: str | None = None, rule: str | None = None, part: str = "value",
               missing_tokens: set[str] | frozenset = frozenset()) -> DateColumn:
    """Read one date column (indexed by subject) into calendar days under the partial-date rule.

    Stops the study on a value that is not a date, on a partial date with no rule, and on a date
    with an unknown year under a rule that would have to invent it."""
    index = raw.index
    if pd.api.types.is_datetime64_any_dtype(raw):  # SAS / Stata dates: complete by construction
        days = pd.to_datetime(raw)
        if days.dt.tz is not None:
            days = days.dt.tz_localize(None)
        days = days.dt.normalize()
        return DateColumn(days, days.copy(), days.copy(), pd.Series(False, index=index),
                          days.dt.strftime("%Y-%m-%d"), column)

    day_of: dict[Any, pd.Timestamp] = {}
    low_of: dict[Any, pd.Timestamp] = {}
    high_of: dict[Any, pd.Timestamp] = {}
    text_of: dict[Any, str] = {}
    bad: list[tuple[Any, Any]] = []
    incomplete: dict[Any, PartialDate] = {}
    if not date_format:  # fast path for the common case, complete YYYY-MM-DD text; the rest value by value
        text_values = raw.map(lambda v: v.strip() if isinstance(v, str) else "").astype(str)
        full = text_values.str.fullmatch(r"\d{4}-\d{2}-\d{2}") & ~text_values.isin(missing_tokens)
        days = pd.to_datetime(text_values[full], format="%Y-%m-%d", errors="coerce")
        for key, day in days[days.notna()].items():
            day_of[key] = day
            text_of[key] = text_values[key]
    for key, value in raw.items():
        if key in day_of or is_blank(value):
            continue
        if isinstance(value, (pd.Timestamp, dt.date)):
            day_of[key] = pd.Timestamp(value).normalize()
            text_of[key] = day_of[key].strftime("%Y-%m-%d")
            continue
        shown = (value if isinstance(value, str) else _number_text(value)).strip()
        if shown in missing_tokens:
            continue
        text_of[key] = shown
        try:
            if date_format:
                day_of[key] = pd.Timestamp(dt.datetime.strptime(shown, date_format)).normalize()
                continue
            date = parse_date_text(shown)
        except ValueError:
            bad.append((key, shown))
            continue
        if date.complete:
            day_of[key] = pd.Timestamp(date.bounds()[0])
        else:
            incomplete[key] = date
    if bad:
        raise StudyDataError(study, f"{len(bad)} value(s) of {column} are not dates in format {date_format or 'ISO 8601'}",
                             file=file, field=field_name, example=f"subject {bad[0][0]!r} has {bad[0][1]!r}",
                             hint="set date_format in the mapping (e.g. %d.%m.%Y), or list values that mean 'not recorded' "
                                  f"under fields.{field_name}.missing")

    records: list[dict[str, Any]] = []
    if incomplete:
        first_key = next(iter(incomplete))
        if rule is None:
            kinds = _count_by_missing(incomplete)
            raise StudyDataError(
                study, f"{len(incomplete)} partial date(s) in {column} ({kinds}) and no rule to complete them",
                file=file, field=field_name, example=f"subject {first_key!r} has {text_of[first_key]!r}",
                hint=f"state how to complete them: add `partial_dates: {{rule: first}}` (or middle, last, exclude) to "
                     f"fields.{field_name}, or at the top of the mapping for every date; see config/README.md, 'Partial dates'")
        no_year = [key for key, date in incomplete.items() if date.year is None]
        if no_year and rule != "exclude":
            raise StudyDataError(
                study, f"{len(no_year)} date(s) in {column} have no year: no rule can complete them", file=file,
                field=field_name, example=f"subject {no_year[0]!r} has {text_of[no_year[0]]!r}",
                hint=f"use `partial_dates: {{{'rule' if part == 'value' else part}: exclude}}` on fields.{field_name} "
                     "to leave them out (counted), or correct the source")
        groups: dict[str, list[Any]] = {}
        for key, date in incomplete.items():
            groups.setdefault(date.missing, []).append(key)
            if rule != "exclude":
                low, high = date.bounds()
                day_of[key], low_of[key], high_of[key] = pd.Timestamp(date.impute(rule)), pd.Timestamp(low), pd.Timestamp(high)
        for missing, keys in groups.items():
            example = keys[0]
            result = "missing" if rule == "exclude" else day_of[example].strftime("%Y-%m-%d")
            records.append({"field": field_name, "column": column, "part": part, "missing": missing, "rule": rule,
                            "count": len(keys), "example": f"subject {example!r}: {text_of[example]!r} -> {result}"})

    def series(mapping: dict[Any, Any], fallback: dict[Any, Any] | None = None) -> pd.Series:
        merged = {**(fallback or {}), **mapping}
        return pd.Series([merged.get(key, pd.NaT) for key in index], index=index, dtype="datetime64[ns]")

    values = series(day_of)
    earliest, latest = series(low_of, day_of), series(high_of, day_of)
    partial = pd.Series([key in incomplete for key in index], index=index, dtype=bool)
    text = pd.Series([text_of.get(key) for key in index], index=index, dtype=object)
    return DateColumn(values, earliest, latest, partial, text, column, records)


def _number_text(value: Any) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _count_by_missing(incomplete: dict[Any, PartialDate]) -> str:
    counts: dict[str, int] = {}
    for date in incomplete.values():
        counts[date.missing] = counts.get(date.missing, 0) + 1
    return ", ".join(f"{n} with the {what} unknown" for what, n in counts.items())


def duration_days(start: DateColumn, end: DateColumn, *, study: str, field_name: str,
                  file: str | None) -> tuple[pd.Series, pd.Series, pd.Series, list[dict[str, Any]]]:
    """Days from start to end, after one documented rule for orderings the imputation made.

    When an imputed end falls before the start but the end could be on or after it (same month
    or year), the end is set to the start; likewise an imputed start after the end is set to the
    end. Both are counted. When even the latest possible end is before the earliest possible
    start, the dates contradict each other: the study stops. Two complete dates in the wrong
    order are left to harmonization, which stops on the negative time naming the patient."""
    start_day, end_day = start.values.copy(), end.values.copy()
    records: list[dict[str, Any]] = []
    reversed_ = start_day.notna() & end_day.notna() & (end_day < start_day)
    involved = reversed_ & (start.partial | end.partial)
    impossible = involved & (end.latest < start.earliest)
    if impossible.any():
        key = impossible[impossible].index[0]
        raise StudyDataError(
            study, f"{int(impossible.sum())} patient(s) whose end date is before the start date whatever the partial "
                   f"date's missing part is ({field_name})", file=file, field=field_name,
            example=f"subject {key!r}: start {start.text[key]!r}, end {end.text[key]!r}",
            hint="check the two date columns in the source; a date that cannot be trusted can be left out with "
                 f"`partial_dates: {{rule: exclude}}` on fields.{field_name}")
    end_moved = involved & end.partial & (end.latest >= start_day)
    start_moved = involved & ~end_moved & start.partial & (start.earliest <= end_day)
    for mask, part, moved, to in ((end_moved, "end", end_day, start_day), (start_moved, "start", start_day, end_day)):
        if not mask.any():
            continue
        key = mask[mask].index[0]
        dates = end if part == "end" else start
        other = "start" if part == "end" else "end"
        before = moved[key].strftime("%Y-%m-%d")
        moved[mask] = to[mask]
        records.append({"field": field_name, "column": dates.column, "part": part, "missing": "ordering",
                        "rule": "end no earlier than start" if part == "end" else "start no later than end",
                        "count": int(mask.sum()),
                        "example": f"subject {key!r}: {dates.text[key]!r} imputed {before}, {'before' if part == 'end' else 'after'} "
                                   f"the {other} {to[key].strftime('%Y-%m-%d')}: set to it"})
    days = (end_day - start_day).dt.days.astype(float)
    return days, start_day, end_day, records


# ----------------------------------------------------------------------------------------------
# Study days


def read_study_days(raw: pd.Series, *, study: str, field_name: str, column: str, file: str | None,
                    missing_tokens: set[str] | frozenset = frozenset()) -> pd.Series:
    """A study-day column (ADY, --DY, RANDDY) as float days; blank -> NaN. A value that is not a
    whole number, or a day 0 (CDISC study days have none), stops the study."""
    days = pd.Series(np.nan, index=raw.index, dtype=float)
    bad: list[tuple[Any, Any, str]] = []
    for key, value in raw.items():
        if is_blank(value) or (isinstance(value, str) and value.strip() in missing_tokens):
            continue
        try:
            number = float(str(value).strip())
        except ValueError:
            bad.append((key, value, "not a whole number"))
            continue
        if not np.isfinite(number) or not number.is_integer():
            bad.append((key, value, "not a whole number"))
        elif number == 0:
            bad.append((key, value, "day 0, which CDISC study days do not have"))
        else:
            days[key] = number
    if bad:
        key, value, why = bad[0]
        raise StudyDataError(study, f"{len(bad)} value(s) of {column} are not study days ({why})", file=file,
                             field=field_name, example=f"subject {key!r} has {value!r}",
                             hint="study days are whole numbers, day 1 = the reference day and day -1 the day before; "
                                  f"list values that mean 'not recorded' under fields.{field_name}.missing")
    return days


def study_day_offset(days: pd.Series | float) -> pd.Series | float:
    """Days after the reference day of a CDISC study day: day 1 -> 0, day -1 -> -1 (no day 0)."""
    if isinstance(days, pd.Series):
        return days.where(days < 0, days - 1)
    return days - 1 if days > 0 else days


def duration_from_study_days(start: pd.Series | float, end: pd.Series) -> pd.Series:
    """Days from the start study day to the end study day (no day 0 between them)."""
    return study_day_offset(end) - study_day_offset(start)


# What each rule does, in words: the report shows these, never a patient's date.
_RULE_WORDS = {
    "first": {"day": "day 1 of the month", "month and day": "1 January", "month": "January, the day as given"},
    "middle": {"day": "day 15 of the month", "month and day": "1 July", "month": "July, the day as given"},
    "last": {"day": "the last day of the month", "month and day": "31 December", "month": "December, the day as given"},
}


def qc_exclusion(record: dict[str, Any]) -> dict[str, Any]:
    """A partial-date record in the shape of qc["exclusions"], which the report's data flow lists
    under 'Endpoint data left out or changed (patients kept)'. No subject identifier and no date
    goes into these texts: they reach the report (release zone); the examples stay in qc["dates"]."""
    if record["missing"] == "ordering":
        other = "start" if record["part"] == "end" else "end"
        reason = (f"imputed {record['part']} dates in {record['column']} {'before' if other == 'start' else 'after'} "
                  f"the {other} date")
        action = f"set to the {other} date: a completed partial date never reverses the two"
    else:
        reason = f"partial dates in {record['column']} ({record['missing']} unknown)"
        if record["rule"] == "exclude":
            action = "set to missing: partial_dates rule exclude"
        else:
            action = f"completed by partial_dates rule {record['rule']}: {_RULE_WORDS[record['rule']][record['missing']]}"
    return {"stage": "extract", "field": record["field"], "reason": reason, "action": action, "count": record["count"]}


# ----------------------------------------------------------------------------------------------
# Load-time checks of the mapping's date keys


def check_date_keys(spec: dict[str, Any], path: str) -> None:
    """`partial_dates:` and `date_anonymization` where they can apply. (`study_days:` on a field
    that is not a duration, and its dataset references, are checked with every field's rule.)"""
    study, path = spec["study_id"], str(path)
    anonymization = date_anonymization(spec)
    for name, rule in spec["fields"].items():
        if "partial_dates" in rule and "dates" not in rule and rule.get("parse") != "date":
            raise StudyDataError(study, f"field {name} has `partial_dates:` but reads no date", file=path, field=name,
                                 hint="partial_dates applies to `dates:` durations and `parse: date` fields; remove it")
        if "dates" in rule and anonymization == "study_days":
            raise StudyDataError(study, f"field {name} is mapped from dates (`dates:`), but the mapping says the package "
                                        "gives study days (date_anonymization: study_days)", file=path, field=name,
                                 example=f"dates: {{start: {rule['dates']['start']}, end: {rule['dates']['end']}}}",
                                 hint="map the duration from the study-day columns, e.g. "
                                      "`study_days: {start: adsl.RANDDY, end: adtte.ADY}`, or correct date_anonymization")
