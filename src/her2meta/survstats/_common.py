"""Input checks shared by the survival and one-stage functions.

Every public function copies its inputs into fresh numpy arrays (never writing into what the
caller passed) and raises :class:`SurvivalError` with a message that says what is wrong and
what to do.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import Her2MetaError
from .. import distributions as dist


class SurvivalError(Her2MetaError, ValueError):
    """Invalid input to a survival / one-stage function (a ValueError, and one of the project's own errors)."""


def _name(what: str, func: str) -> str:
    return f"{func}: {what}" if func else what


def _float_array(x: Any) -> np.ndarray:
    """A fresh 1-D float copy (pandas missing values -> NaN); never a view of the caller's data."""
    if isinstance(x, (pd.Series, pd.Index)):
        return np.array(x.to_numpy(dtype=float, na_value=np.nan), dtype=float).ravel()
    return np.array(x, dtype=float).ravel()


def as_time(time: Any, func: str, name: str = "time") -> np.ndarray:
    try:
        t = _float_array(time)
    except (TypeError, ValueError) as exc:
        raise SurvivalError(_name(f"{name} must be numeric (months); got values that are not numbers ({exc})", func)
                            + "; convert the column to numbers first") from None
    if np.isnan(t).any():
        i = int(np.flatnonzero(np.isnan(t))[0])
        raise SurvivalError(_name(f"{name} has {int(np.isnan(t).sum())} missing value(s) (first at position {i})", func)
                            + "; drop or impute patients without follow-up time before calling")
    if np.isinf(t).any():
        raise SurvivalError(_name(f"{name} has infinite values", func) + "; times must be finite months")
    if (t < 0).any():
        i = int(np.flatnonzero(t < 0)[0])
        raise SurvivalError(_name(f"{name} has {int((t < 0).sum())} negative value(s) (first: {t[i]:g} at position {i})",
                                  func) + "; times are months since the time origin and must be >= 0")
    return t


def as_binary(x: Any, func: str, name: str) -> np.ndarray:
    try:
        v = _float_array(x)
    except (TypeError, ValueError):
        raise SurvivalError(_name(f"{name} must be coded 0/1 (or True/False); got non-numeric values", func)
                            + f"; recode {name} as 0/1 first") from None
    if np.isnan(v).any():
        raise SurvivalError(_name(f"{name} has {int(np.isnan(v).sum())} missing value(s)", func)
                            + f"; drop patients with unknown {name} first")
    bad = ~np.isin(v, (0.0, 1.0))
    if bad.any():
        vals = ", ".join(f"{b:g}" for b in np.unique(v[bad])[:5])
        raise SurvivalError(_name(f"{name} must be 0 or 1; found {vals}", func)
                            + f"; recode {name} as 0/1 (1 = {'event' if name == 'event' else 'exposed'})")
    return v.astype(np.int64)


def check_lengths(func: str, **arrays: np.ndarray) -> int:
    sizes = {k: len(v) for k, v in arrays.items() if v is not None}
    if len(set(sizes.values())) > 1:
        desc = ", ".join(f"{k} has {n}" for k, n in sizes.items())
        raise SurvivalError(_name(f"inputs differ in length ({desc})", func)
                            + "; pass one value per patient for every argument")
    return next(iter(sizes.values())) if sizes else 0


def as_labels(x: Any, func: str, name: str) -> np.ndarray:
    """Stratum / cluster labels -> integer codes 0..k-1 (order of first appearance irrelevant)."""
    s = pd.Series(np.asarray(x, dtype=object).ravel() if not isinstance(x, pd.Series) else x.to_numpy())
    if s.isna().any():
        raise SurvivalError(_name(f"{name} has {int(s.isna().sum())} missing label(s)", func)
                            + f"; give every patient a {name} label")
    codes, _ = pd.factorize(s, sort=True)
    return codes.astype(np.int64)


def as_matrix(X: Any, func: str, n: int | None = None) -> tuple[np.ndarray, list[str]]:
    if isinstance(X, pd.Series):
        X = X.to_frame(name=X.name if X.name is not None else "x")
    if not isinstance(X, pd.DataFrame):
        arr = np.asarray(X)
        if arr.ndim == 1:
            arr = arr[:, None]
        X = pd.DataFrame(arr, columns=[f"x{i + 1}" for i in range(arr.shape[1])])
    names = [str(c) for c in X.columns]
    if len(set(names)) != len(names):
        raise SurvivalError(_name(f"covariate names are not unique: {names}", func) + "; rename the columns")
    if X.shape[1] == 0:
        raise SurvivalError(_name("no covariates given", func) + "; pass at least one column in X")
    try:
        m = X.to_numpy(dtype=float, copy=True)
    except (TypeError, ValueError):
        bad = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c]) and not pd.api.types.is_bool_dtype(X[c])]
        raise SurvivalError(_name(f"covariates must be numeric; not numeric: {bad}", func)
                            + "; code categorical covariates as 0/1 indicator columns") from None
    if np.isnan(m).any():
        cols = [names[j] for j in range(m.shape[1]) if np.isnan(m[:, j]).any()]
        raise SurvivalError(_name(f"missing covariate values in {cols}", func)
                            + "; drop or impute patients with missing covariates first (complete-case analysis)")
    if np.isinf(m).any():
        raise SurvivalError(_name("infinite covariate values", func) + "; covariates must be finite")
    return m, names


def wald(est: float, se: float, conf_level: float = 0.95) -> tuple[float, float, float]:
    """Normal-theory (lower, upper, two-sided p)."""
    if not (np.isfinite(est) and np.isfinite(se) and se > 0):
        return float("nan"), float("nan"), float("nan")
    z = dist.norm_ppf(0.5 + conf_level / 2)
    return est - z * se, est + z * se, float(2 * dist.norm_sf(abs(est) / se))


def check_level(conf_level: float, func: str) -> float:
    if not (0 < float(conf_level) < 1):
        raise SurvivalError(_name(f"conf_level must lie strictly between 0 and 1; got {conf_level}", func)
                            + "; e.g. 0.95 for 95% intervals")
    return float(conf_level)
