"""Validation and normalisation of the inputs shared by all pooling functions."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import PoolingInputError


@dataclass(frozen=True)
class StudyData:
    """Validated outcomes ``yi`` with sampling variances ``vi`` and labels.

    ``omitted`` lists the labels of studies dropped because ``yi`` or ``vi``
    (or a moderator) was missing; ``notes`` says so in words.
    """

    yi: np.ndarray
    vi: np.ndarray
    study: tuple[str, ...]
    mods: np.ndarray | None = None
    omitted: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def k(self) -> int:
        return int(self.yi.shape[0])


def as_float_vector(values, name: str) -> np.ndarray:
    """Convert an array-like to a 1-D float array (``None`` becomes NaN)."""
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise PoolingInputError(f"{name} must be numeric: {exc}") from None
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise PoolingInputError(f"{name} must be one-dimensional, got shape {arr.shape}")
    return arr


def study_labels(study, k: int) -> tuple[str, ...]:
    """Labels for ``k`` studies: the given ones as strings, or "1".."k"."""
    if study is None:
        return tuple(str(i + 1) for i in range(k))
    labels = tuple(str(s) for s in study)
    if len(labels) != k:
        raise PoolingInputError(f"study has {len(labels)} labels for {k} outcomes")
    return labels


def as_moderator_matrix(mods, k: int) -> np.ndarray | None:
    """Moderators as a (k, q) float matrix (no intercept column), or None."""
    if mods is None:
        return None
    arr = np.asarray(mods, dtype=float)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2 or arr.shape[0] != k:
        raise PoolingInputError(f"mods must have {k} rows (one per study), got shape {arr.shape}")
    return arr


def validate_study_data(yi, vi=None, *, sei=None, study=None, mods=None,
                        na_action: str = "omit") -> StudyData:
    """Check ``yi``/``vi`` and drop studies with missing values.

    Missing values (NaN/None) in ``yi``, ``vi`` or a moderator drop that study
    when ``na_action="omit"`` (as metafor's default ``na.omit`` does), and the
    dropped labels are recorded; ``na_action="fail"`` raises instead.
    Infinite values and negative variances always raise
    :class:`PoolingInputError` naming the offending studies.
    """
    y = as_float_vector(yi, "yi")
    if vi is None:
        if sei is None:
            raise PoolingInputError("give the sampling variances vi (or standard errors sei)")
        v = as_float_vector(sei, "sei") ** 2
    else:
        v = as_float_vector(vi, "vi")
    if y.shape != v.shape:
        raise PoolingInputError(f"yi has {y.size} values but vi has {v.size}")
    labels = study_labels(study, y.size)
    X = as_moderator_matrix(mods, y.size)

    infinite = np.isinf(y) | np.isinf(v)
    if X is not None:
        infinite |= np.isinf(X).any(axis=1)
    if infinite.any():
        bad = [labels[i] for i in np.flatnonzero(infinite)]
        raise PoolingInputError(f"non-finite (infinite) yi/vi/moderator for studies {bad}")

    missing = np.isnan(y) | np.isnan(v)
    if X is not None:
        missing |= np.isnan(X).any(axis=1)
    notes: list[str] = []
    omitted: tuple[str, ...] = ()
    if missing.any():
        omitted = tuple(labels[i] for i in np.flatnonzero(missing))
        if na_action == "fail":
            raise PoolingInputError(f"missing yi/vi/moderator for studies {list(omitted)}")
        if na_action != "omit":
            raise PoolingInputError(f"na_action must be 'omit' or 'fail', not {na_action!r}")
        keep = ~missing
        y, v = y[keep], v[keep]
        labels = tuple(lab for lab, kp in zip(labels, keep) if kp)
        if X is not None:
            X = X[keep]
        notes.append(f"{len(omitted)} studies with missing values omitted: {list(omitted)}")

    if (v < 0).any():
        bad = [labels[i] for i in np.flatnonzero(v < 0)]
        raise PoolingInputError(f"negative sampling variance for studies {bad}")
    # Inverse-variance weights, their squares and squared deviations must stay finite in double
    # precision: outside 1e-100..1e100 they overflow (a variance of 1e-300 gave ZeroDivisionError).
    out_of_range = (np.abs(y) > 1e100) | (v > 1e100) | ((v > 0) & (v < 1e-100))
    if out_of_range.any():
        bad = [labels[i] for i in np.flatnonzero(out_of_range)]
        raise PoolingInputError(
            f"estimate or sampling variance outside 1e-100..1e100 (in absolute value) for studies {bad}: the "
            "inverse-variance weights would overflow; check the study's standard error and the scale of its estimate "
            "(ratios are pooled on the log scale)")
    if y.size == 0:
        raise PoolingInputError("no studies left to pool (k = 0)")
    return StudyData(yi=y, vi=v, study=labels, mods=X, omitted=omitted, notes=tuple(notes))


def alpha_from_level(level: float) -> float:
    """Two-sided error rate from a confidence level given as 95 or 0.95."""
    level = float(level)
    if not np.isfinite(level) or level <= 0 or level >= 100:
        raise PoolingInputError(f"level must be in (0, 100) (percent) or (0, 1), got {level}")
    return (100.0 - level) / 100.0 if level > 1 else 1.0 - level
