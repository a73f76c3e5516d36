"""Best overall response from visit-level overall responses, RECIST 1.1.

Eisenhauer EA et al. New response evaluation criteria in solid tumours: revised RECIST guideline
(version 1.1). Eur J Cancer 2009;45:228-247, section 4.4 (evaluation of best overall response)
and Table 3 (best overall response when confirmation of CR and PR is required).

What is implemented, for one patient's time-point responses (CR, PR, SD, NON-CR/NON-PD, PD, NE):

- Only assessments from the start date (when given) up to and including the first PD count:
  best response is recorded from the start of treatment until progression (section 4.4.1).
- Confirmed rule (`confirm=True`, Table 3): a CR is confirmed by a later CR at least
  `confirm_days` (RECIST: 4 weeks, 28 days) after it, with only CR or NE assessments between; a PR
  by a later CR or PR at least `confirm_days` after a CR or PR, with no SD between (NE between is
  allowed). An unconfirmed CR or PR can still count as SD.
- Unconfirmed rule (`confirm=False`): the best single time-point response.
- SD (and NON-CR/NON-PD, disease that is not measurable) counts only at least `sd_min_days`
  after the start date (the protocol's minimum, e.g. 42 days = 6 weeks; section 4.4.1); this also
  applies to an unconfirmed CR or PR under the confirmed rule. NON-CR/NON-PD is reported as SD (the
  harmonized model has no separate value for it).
- Otherwise PD if a PD was seen; otherwise NE (assessed, but nothing qualifies).

The order of preference is CR > PR > SD > PD > NE. The function is pure: the mapping step
collects each patient's assessments, calls it and counts the results.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Iterable, Sequence

RESPONSES = ("CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE")
DEFAULT_CONFIRM_DAYS = 28


@dataclass(frozen=True)
class Rule:
    """The confirmation rule a mapping states."""

    confirm: bool
    confirm_days: int = DEFAULT_CONFIRM_DAYS
    sd_min_days: int = 0


@dataclass(frozen=True)
class BestResponse:
    response: str | None  # CR, PR, SD, PD, NE; None when there was no assessment to use
    best_single: str | None  # the best time-point response, before confirmation and SD duration
    used: int  # assessments in the window (from the start, up to the first PD)


def _days(later: _dt.date, earlier: _dt.date) -> int:
    return (later - earlier).days


def best_overall_response(assessments: Iterable[tuple[_dt.date, str]], rule: Rule,
                          start: _dt.date | None = None) -> BestResponse:
    """Best overall response of one patient from (date, time-point response) pairs."""
    ordered = sorted(((d, r) for d, r in assessments), key=lambda a: a[0])
    for _, response in ordered:
        if response not in RESPONSES:
            raise ValueError(f"not a RECIST time-point response: {response!r}")
    if rule.sd_min_days and start is None:
        raise ValueError("a minimum SD duration needs a start date")
    window = _window(ordered, start)
    if not window:
        return BestResponse(None, None, 0)
    best_single = min((r for _, r in window), key=_rank)
    best_single = "SD" if best_single == "NON-CR/NON-PD" else best_single
    if rule.confirm:
        if _confirmed(window, "CR", rule.confirm_days):
            return BestResponse("CR", best_single, len(window))
        if _confirmed(window, "PR", rule.confirm_days):
            return BestResponse("PR", best_single, len(window))
        stable = {"CR", "PR", "SD", "NON-CR/NON-PD"}
    else:
        for response in ("CR", "PR"):
            if any(r == response for _, r in window):
                return BestResponse(response, best_single, len(window))
        stable = {"SD", "NON-CR/NON-PD"}
    if any(r in stable and _long_enough(d, start, rule.sd_min_days) for d, r in window):
        return BestResponse("SD", best_single, len(window))
    if any(r == "PD" for _, r in window):
        return BestResponse("PD", best_single, len(window))
    return BestResponse("NE", best_single, len(window))


def _rank(response: str) -> int:
    return RESPONSES.index(response)  # RESPONSES is in the order of preference


def _window(ordered: Sequence[tuple[_dt.date, str]], start: _dt.date | None) -> list[tuple[_dt.date, str]]:
    """Assessments from the start up to and including the (first) day of the first PD."""
    kept = [(d, r) for d, r in ordered if start is None or d >= start]
    first_pd = next((d for d, r in kept if r == "PD"), None)
    return kept if first_pd is None else [(d, r) for d, r in kept if d <= first_pd]


def _long_enough(day: _dt.date, start: _dt.date | None, minimum: int) -> bool:
    return minimum <= 0 or (start is not None and _days(day, start) >= minimum)


def _confirmed(window: Sequence[tuple[_dt.date, str]], response: str, confirm_days: int) -> bool:
    """A CR (or a CR/PR for PR) confirmed by a later one at least confirm_days later, with only
    assessments between that do not break it: CR or NE for CR; anything but SD (or PD, which
    ends the window) for PR."""
    qualifying = {"CR"} if response == "CR" else {"CR", "PR"}
    allowed_between = {"CR", "NE"} if response == "CR" else {"CR", "PR", "NE"}
    for i, (first_day, first) in enumerate(window):
        if first not in qualifying:
            continue
        for later_day, later in window[i + 1:]:
            if later not in allowed_between:
                break
            if later in qualifying and _days(later_day, first_day) >= confirm_days:
                return True
    return False
