"""Landmark analysis helper."""

from __future__ import annotations

import math

import numpy as np

from ._common import SurvivalError, as_binary, as_time, check_lengths


def landmark(time, event, landmark_time: float) -> tuple[np.ndarray, np.ndarray]:
    """Patients in a landmark analysis at ``landmark_time`` and their time since the landmark.

    A patient is kept (``mask`` True) when ``time > landmark_time``: still under follow-up and
    event-free just after the landmark. Patients with an event or censoring at or before the
    landmark are excluded (an event exactly at the landmark is not "after" it). Events after
    the landmark keep their event indicator, so analyse ``event[mask]`` with
    ``time_from_landmark[mask]``.

    Returns ``(mask, time_from_landmark)``: a boolean array and a float array, both one entry per
    input patient (``time - landmark_time`` where kept, NaN elsewhere). Inputs are not modified.
    """
    func = "landmark"
    try:
        lm = float(landmark_time)
    except (TypeError, ValueError):
        raise SurvivalError(f"{func}: landmark_time must be a number of months; got {landmark_time!r}") from None
    if not (math.isfinite(lm) and lm >= 0):
        raise SurvivalError(f"{func}: landmark_time must be finite and >= 0; got {landmark_time!r}")
    t = as_time(time, func)
    d = as_binary(event, func, "event")
    check_lengths(func, time=t, event=d)
    mask = t > lm
    return mask, np.where(mask, t - lm, np.nan)
