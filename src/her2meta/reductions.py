"""Several records per subject reduced to one (a dataset's `reduce:`), each counted.

- `first` / `last`: the record with the earliest / latest value of a column (or columns, in
  order); ties go to the record earlier (first) or later (last) in the file, and are counted.
- `earliest` / `latest`: the earliest / latest value over all records and several columns (last
  known alive date = the latest of several dates), in a new column EARLIEST / LATEST.
- `any`: whether any record meets a condition ("any AE flagged serious"), a new column ANY = Y / N.
- `best_response`: RECIST 1.1 best overall response from time-point responses (her2meta.recist),
  a new column BOR.

Every reduction returns its QC: how many subjects had how many records, and what it decided.
Dates are compared as ISO 8601 text (so 2014 < 2014-02 < 2014-02-10: a partial date sorts at the
start of its period) after SAS dates are written as ISO dates; numbers as numbers.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any

import numpy as np
import pandas as pd

from . import conditions, recist
from .conditions import canonical_code

SUBJECT = "__subject__"
_ISO = re.compile(r"^\d{4}(-\d{2}(-\d{2}([T ][\d:.]+)?)?)?$")
_FULL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ][\d:.]+)?$")


class ReductionError(ValueError):
    """Bad values for a reduction: `column`, the offending `values` (value -> rows) and a `hint`."""

    def __init__(self, message: str, *, column: str, values: pd.Series | None = None, hint: str = ""):
        self.column, self.values, self.hint = column, values, hint
        super().__init__(message)


def method(spec: dict[str, Any]) -> str:
    return next(iter(k for k in spec if k in ("first", "last", "earliest", "latest", "any", "best_response")))


def columns_needed(spec: dict[str, Any]) -> list[str]:
    kind = method(spec)
    value = spec[kind]
    if kind in ("first", "last", "earliest", "latest"):
        return [value] if isinstance(value, str) else list(value)
    if kind == "any":
        return [value["column"]]
    start = value.get("start")
    return [value["response"], value["date"]] + ([start] if start and "." not in start else [])


def records_per_subject(frame: pd.DataFrame) -> dict[str, int]:
    counts = frame.groupby(SUBJECT, sort=False).size().value_counts().sort_index()
    return {str(int(n)): int(subjects) for n, subjects in counts.items()}


def reduce_records(frame: pd.DataFrame, spec: dict[str, Any], *, decimal: str = ".",
                   start: pd.Series | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """One row per subject (index: the SUBJECT column), and the reduction's QC."""
    kind = method(spec)
    qc: dict[str, Any] = {"method": kind, "records_per_subject": records_per_subject(frame)}
    fmt = spec.get("date_format")
    if kind in ("first", "last"):
        out = _first_last(frame, spec[kind], kind, fmt, qc)
    elif kind in ("earliest", "latest"):
        out = _extreme_value(frame, spec[kind], kind, fmt, qc)
    elif kind == "any":
        hit = conditions.keep_mask(frame[spec["any"]["column"]], spec["any"], decimal)
        flag = hit.groupby(frame[SUBJECT], sort=False).any()
        out = pd.DataFrame({"ANY": flag.map({True: "Y", False: "N"})})
        qc["subjects_Y"] = int(flag.sum())
        qc["subjects_N"] = int((~flag).sum())
    else:
        out = _best_response(frame, spec["best_response"], fmt, start, qc)
    out.index.name = None
    return out, qc


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def sortable(values: pd.Series, fmt: str | None, column: str) -> pd.Series:
    """Values as numbers (float) or ISO 8601 text, comparable within the column; None when missing."""
    def one(value):
        if isinstance(value, (pd.Timestamp, _dt.datetime)):
            return ("d", value.date().isoformat() if value == pd.Timestamp(value).normalize() else value.isoformat())
        if isinstance(value, _dt.date):
            return ("d", value.isoformat())
        code = canonical_code(value)
        if code is None or code == "":
            return None
        if isinstance(value, (int, float, np.integer, np.floating)) or conditions.NUMBER.match(code):
            return ("n", float(code))
        if fmt:
            try:
                return ("d", _dt.datetime.strptime(code, fmt).date().isoformat())
            except ValueError:
                return ("bad", code)
        return ("d", code) if _ISO.match(code) else ("bad", code)

    tagged = values.map(one)
    bad = tagged.map(lambda t: t is not None and t[0] == "bad")
    if bad.any():
        raise ReductionError(f"column {column} holds values that are neither numbers nor ISO 8601 dates", column=column,
                             values=tagged[bad].map(lambda t: t[1]).value_counts(),
                             hint="set `date_format:` under `reduce:` (e.g. %d.%m.%Y), or order by another column")
    kinds = {t[0] for t in tagged.dropna()}
    if len(kinds) > 1:
        raise ReductionError(f"column {column} mixes numbers and dates", column=column,
                             values=tagged.dropna().map(lambda t: t[1]).astype(str).value_counts(),
                             hint="order by a column of one kind")
    return tagged.map(lambda t: None if t is None else t[1])


def _first_last(frame, by, kind, fmt, qc) -> pd.DataFrame:
    by = _as_list(by)
    keys = {f"__by{i}__": sortable(frame[col], fmt, col) for i, col in enumerate(by)}
    work = frame.assign(__row__=np.arange(len(frame)), **keys)
    usable = work["__by0__"].notna()
    qc["records_without_order_value"] = int((~usable).sum())
    lost = set(work[SUBJECT]) - set(work.loc[usable, SUBJECT])
    qc["subjects_without_order_value"] = len(lost)
    work = work[usable]
    order = [SUBJECT] + list(keys) + ["__row__"]
    work = work.sort_values(order, kind="mergesort", na_position="last")
    chosen = work.groupby(SUBJECT, sort=False).head(1) if kind == "first" else work.groupby(SUBJECT, sort=False).tail(1)
    extreme = chosen.set_index(SUBJECT)[list(keys)]
    joined = work.join(extreme, on=SUBJECT, rsuffix="__x")
    same = np.logical_and.reduce([(joined[k] == joined[f"{k}__x"]) | (joined[k].isna() & joined[f"{k}__x"].isna())
                                  for k in keys])
    qc["subjects_with_tied_records"] = int((joined[same].groupby(SUBJECT).size() > 1).sum())
    return chosen.drop(columns=list(keys) + ["__row__"]).set_index(SUBJECT, drop=False)


def _extreme_value(frame, columns, kind, fmt, qc) -> pd.DataFrame:
    columns = _as_list(columns)
    name = kind.upper()
    parts = []
    for col in columns:
        parts.append(pd.DataFrame({SUBJECT: frame[SUBJECT].to_numpy(), "value": sortable(frame[col], fmt, col).to_numpy(),
                                   "source": col}))
    long = pd.concat(parts, ignore_index=True)
    long = long[long["value"].notna()]
    kinds = {type(v) for v in long["value"]}
    if len(kinds) > 1:
        raise ReductionError(f"the columns {', '.join(columns)} mix numbers and dates", column=columns[0],
                             hint="list columns of one kind")
    long = long.sort_values([SUBJECT, "value"], kind="mergesort")
    pick = long.groupby(SUBJECT, sort=False).head(1) if kind == "earliest" else long.groupby(SUBJECT, sort=False).tail(1)
    pick = pick.set_index(SUBJECT)
    subjects = pd.Index(frame[SUBJECT].unique())
    out = pd.DataFrame({name: pick["value"].reindex(subjects), f"{name}_SOURCE": pick["source"].reindex(subjects)})
    qc["from_column"] = {col: int((out[f"{name}_SOURCE"] == col).sum()) for col in columns}
    qc["subjects_without_value"] = int(out[name].isna().sum())
    return out


def _to_date(value: Any, fmt: str | None):
    """A complete calendar date, None when missing, or the text that is not one."""
    if isinstance(value, (pd.Timestamp, _dt.datetime)):
        return value.date() if not pd.isna(value) else None
    if isinstance(value, _dt.date):
        return value
    code = canonical_code(value)
    if code is None or code == "":
        return None
    try:
        if fmt:
            return _dt.datetime.strptime(code, fmt).date()
        if _FULL_DATE.match(code):
            return _dt.date.fromisoformat(code[:10])
    except ValueError:
        pass
    return code


def _dates(values: pd.Series, fmt: str | None, column: str) -> pd.Series:
    parsed = values.map(lambda v: _to_date(v, fmt))
    bad = parsed.map(lambda v: isinstance(v, str))
    if bad.any():
        raise ReductionError(f"column {column} holds values that are not complete dates", column=column,
                             values=parsed[bad].value_counts(),
                             hint="RECIST timing needs full dates (YYYY-MM-DD): set `date_format:` under `best_response:` "
                                  "if they are in another format, or ask the sponsor for the complete dates")
    return parsed


def _best_response(frame, spec, fmt, start: pd.Series | None, qc) -> pd.DataFrame:
    rule = recist.Rule(confirm=spec["confirmation"] == "confirmed", confirm_days=int(spec.get("confirm_days", recist.DEFAULT_CONFIRM_DAYS)),
                       sd_min_days=int(spec["sd_min_days"]))
    codes = {canonical_code(k): v for k, v in (spec.get("codes") or {}).items()}
    raw = frame[spec["response"]].map(canonical_code)
    mapped = raw.map(lambda r: codes[r] if r in codes else (None if r in (None, "") else r))
    unknown = mapped.notna() & ~mapped.isin(recist.RESPONSES)
    if unknown.any():
        raise ReductionError(f"column {spec['response']} holds values that are not RECIST time-point responses",
                             column=spec["response"], values=raw[unknown].value_counts(),
                             hint="map them under best_response.codes to CR, PR, SD, NON-CR/NON-PD, PD or NE "
                                  "(or null for a record that is not a response assessment)")
    dates = _dates(frame[spec["date"]], fmt, spec["date"])
    if start is None and spec.get("start"):
        first = _dates(frame[spec["start"]], fmt, spec["start"])
        start = first.groupby(frame[SUBJECT].to_numpy()).first()
    elif start is not None:
        start = _dates(start, fmt, spec["start"])
    usable = mapped.notna() & dates.notna()
    qc["records_without_response"] = int(mapped.isna().sum())
    qc["records_without_date"] = int((mapped.notna() & dates.isna()).sum())
    if codes:
        qc["records_recoded"] = int(raw.isin(list(codes)).sum())
    rows = pd.DataFrame({SUBJECT: frame[SUBJECT].to_numpy(), "date": dates.to_numpy(), "response": mapped.to_numpy()})[usable.to_numpy()]
    results, counts = {}, {}
    downgraded = no_start = used = 0
    groups = {subject: own for subject, own in rows.groupby(SUBJECT, sort=False)}
    empty = rows.iloc[0:0]
    for subject in pd.unique(frame[SUBJECT]):
        own = groups.get(subject, empty)
        begin = None if start is None else start.get(subject)
        if begin is not None and not isinstance(begin, _dt.date) and pd.isna(begin):
            begin = None
        if rule.sd_min_days and begin is None:
            no_start += 1
            results[subject] = None
            continue
        result = recist.best_overall_response(zip(own["date"], own["response"]), rule, begin)
        results[subject] = result.response
        used += result.used
        if result.best_single in ("CR", "PR") and result.response != result.best_single:
            downgraded += 1
    out = pd.DataFrame({"BOR": pd.Series(results, dtype=object)})
    for value in ("CR", "PR", "SD", "PD", "NE"):
        counts[value] = int((out["BOR"] == value).sum())
    counts["none"] = int(out["BOR"].isna().sum())
    qc.update({"rule": {"confirmation": spec["confirmation"], "confirm_days": rule.confirm_days, "sd_min_days": rule.sd_min_days},
               "best_response": counts, "assessments_used": used, "records_outside_window": int(usable.sum()) - used,
               "best_single_not_confirmed": downgraded, "subjects_without_start_date": no_start})
    return out
