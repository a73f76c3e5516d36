"""Effect sizes from 2x2 tables and the classical pooled estimators for them.

Table layout (metafor's): ``ai`` events / ``bi`` non-events in the treated
group, ``ci`` events / ``di`` non-events in the control group.

* :func:`escalc_2x2` -- log odds ratio, log risk ratio, risk difference with
  their large-sample variances (metafor ``escalc``), and a record of the
  zero-cell corrections and exclusions.
* :func:`mantel_haenszel` -- Mantel-Haenszel pooled OR (Robins, Breslow &
  Greenland 1986 variance), RR and RD (Greenland & Robins 1985; Sato,
  Greenland & Robins 1989 variance), with the Cochran-Mantel-Haenszel test
  and the Breslow-Day test (and Tarone's correction) for the OR.  The OR
  point estimate, its RBG standard error, the CMH statistic and the
  Breslow-Day statistic come from statsmodels' ``StratifiedTable``.
* :func:`peto` -- Peto's one-step odds ratio (Yusuf et al. 1985).

Zero cells, by default (``add=0.5, to="only0"``): 0.5 is added to every cell
of the studies that have a zero cell, for the study-level yi/vi only; the MH
and Peto estimators use the raw counts, as metafor's ``rma.mh``/``rma.peto``.
Double-zero studies (no events or no non-events in both groups) are dropped
for OR and RR by default (``drop00``; metafor's ``escalc`` default is not to
drop, ``rma.mh``/``rma.peto`` drop them for yi/vi) and kept for RD.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._inputs import alpha_from_level, as_float_vector, study_labels
from .errors import PoolingError, PoolingInputError
from .heterogeneity import q_based_i2
from .result import fmt, fmt_p, to_jsonable
from .. import distributions as dist


def _stratified_table(tables):
    # statsmodels costs about a second to import: only the MH/CMH/Breslow-Day paths pay it.
    from statsmodels.stats.contingency_tables import StratifiedTable

    return StratifiedTable(tables)

MEASURES = ("OR", "RR", "RD")
ZERO_CELL_RULES = ("only0", "all", "if0all", "none")


@dataclass
class EffectSizes:
    """Study-level effect sizes, aligned with the input rows.

    ``yi``/``vi`` are NaN for studies that were dropped or are not
    estimable; ``records`` says, per study touched, what was done and why.
    Unpacks as ``yi, vi = escalc_2x2(...)``.
    """

    measure: str
    yi: np.ndarray
    vi: np.ndarray
    study: list[str]
    corrected: np.ndarray
    dropped: np.ndarray
    records: list[dict[str, str]] = field(default_factory=list)

    def __iter__(self):
        return iter((self.yi, self.vi))

    @property
    def included(self) -> np.ndarray:
        return ~self.dropped

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(self)


def _counts(ai, bi, ci, di) -> tuple[np.ndarray, ...]:
    arrays = tuple(as_float_vector(x, name) for x, name in
                   zip((ai, bi, ci, di), ("ai", "bi", "ci", "di")))
    if len({a.size for a in arrays}) != 1:
        raise PoolingInputError("ai, bi, ci and di must have the same length")
    for a, name in zip(arrays, ("ai", "bi", "ci", "di")):
        if np.any(~np.isfinite(a)):
            raise PoolingInputError(f"{name} has missing or non-finite counts")
        if np.any(a < 0):
            raise PoolingInputError(f"{name} has negative counts")
    return arrays


def escalc_2x2(ai, bi, ci, di, measure: str = "OR", *, add: float = 0.5, to: str = "only0",
               drop00: bool | None = None, study=None) -> EffectSizes:
    """Log OR, log RR or RD per study with zero-cell handling.

    ``to``: "only0" (add ``add`` to every cell of studies with a zero cell;
    default), "all" (every study), "if0all" (every study if any has a zero
    cell), "none".  ``drop00`` (default True for OR/RR, False for RD) drops
    studies with no events, or no non-events, in both groups.
    """
    measure = measure.upper()
    if measure not in MEASURES:
        raise PoolingInputError(f"measure must be one of {MEASURES}, not {measure!r}")
    if to not in ZERO_CELL_RULES:
        raise PoolingInputError(f"to must be one of {ZERO_CELL_RULES}, not {to!r}")
    if drop00 is None:
        drop00 = measure in ("OR", "RR")
    a, b, c, d = _counts(ai, bi, ci, di)
    labels = study_labels(study, a.size)
    records: list[dict[str, str]] = []
    double_zero = ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))
    dropped = double_zero & drop00
    for i in np.flatnonzero(dropped):
        records.append({"study": labels[i], "action": "dropped",
                        "reason": "double zero: no events (or no non-events) in both groups"})

    has_zero = ((a == 0) | (b == 0) | (c == 0) | (d == 0)) & ~dropped
    if to == "all":
        corrected = ~dropped
    elif to == "only0":
        corrected = has_zero
    elif to == "if0all":
        corrected = ~dropped if has_zero.any() else np.zeros(a.size, bool)
    else:
        corrected = np.zeros(a.size, bool)
    for i in np.flatnonzero(corrected):
        why = "zero cell" if has_zero[i] else f"to='{to}'"
        records.append({"study": labels[i], "action": f"added {add:g} to each cell",
                        "reason": why})
    inc = np.where(corrected, add, 0.0)
    a, b, c, d = a + inc, b + inc, c + inc, d + inc
    yi, vi = _effect(measure, a, b, c, d)
    yi[dropped] = np.nan
    vi[dropped] = np.nan
    not_estimable = ~dropped & ~(np.isfinite(yi) & np.isfinite(vi))
    for i in np.flatnonzero(not_estimable):
        records.append({"study": labels[i], "action": "dropped",
                        "reason": f"{measure} not estimable (zero cell without correction)"})
    yi[not_estimable] = np.nan
    vi[not_estimable] = np.nan
    return EffectSizes(measure, yi, vi, list(labels), corrected, dropped | not_estimable, records)


def _effect(measure, a, b, c, d) -> tuple[np.ndarray, np.ndarray]:
    n1, n2 = a + b, c + d
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "OR":
            return np.log(a * d / (b * c)), 1 / a + 1 / b + 1 / c + 1 / d
        if measure == "RR":
            return np.log((a / n1) / (c / n2)), 1 / a - 1 / n1 + 1 / c - 1 / n2
        p1, p2 = a / n1, c / n2
        return p1 - p2, p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2


# ------------------------------------------------------------ MH and Peto ---

@dataclass
class BinaryPoolResult:
    """Pooled estimate from a 2x2-table estimator (MH or Peto).

    ``estimate`` is on the analysis scale (log OR, log RR, RD); the
    exponentiated values are in ``estimate_exp``/``ci_lb_exp``/``ci_ub_exp``
    for ratio measures.  Q, I2 and H2 use the study-level yi/vi of
    :func:`escalc_2x2` (Q-based I2, as metafor).
    """

    method: str
    measure: str
    estimate: float | None
    se: float | None
    zval: float | None
    pval: float | None
    ci_lb: float | None
    ci_ub: float | None
    estimate_exp: float | None
    ci_lb_exp: float | None
    ci_ub_exp: float | None
    Q: float | None
    Q_df: int
    Q_p: float | None
    I2: float | None
    H2: float | None
    k: int
    k_yi: int
    level: float
    CMH: float | None = None
    CMH_p: float | None = None
    BD: float | None = None
    BD_p: float | None = None
    TA: float | None = None
    TA_p: float | None = None
    k_pos: int | None = None
    study: list[str] = field(default_factory=list)
    effect_sizes: EffectSizes | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(self)

    def summary(self, digits: int = 4) -> str:
        dd = digits
        label = {"MH": "Mantel-Haenszel", "PETO": "Peto"}[self.method]
        lines = [f"Fixed-effect model, {label} method ({self.measure}; k = {self.k})", ""]
        if self.Q is not None:
            lines.append(f"Test for Heterogeneity: Q(df = {self.Q_df}) = {fmt(self.Q, dd)}, "
                         f"p-val = {fmt_p(self.Q_p)}; I^2 = {fmt(self.I2, 2)}%")
        lines.append(f"estimate = {fmt(self.estimate, dd)} (se = {fmt(self.se, dd)}), "
                     f"zval = {fmt(self.zval, dd)}, p = {fmt_p(self.pval)}, "
                     f"{fmt(self.level, 0)}% CI [{fmt(self.ci_lb, dd)}, {fmt(self.ci_ub, dd)}]")
        if self.estimate_exp is not None:
            lines.append(f"{self.measure} = {fmt(self.estimate_exp, dd)} "
                         f"[{fmt(self.ci_lb_exp, dd)}, {fmt(self.ci_ub_exp, dd)}]")
        if self.CMH is not None:
            lines.append(f"Cochran-Mantel-Haenszel test: CMH = {fmt(self.CMH, dd)}, df = 1, "
                         f"p-val = {fmt_p(self.CMH_p)}")
        if self.TA is not None:
            lines.append(f"Breslow-Day test: X^2 = {fmt(self.BD, dd)}, df = {self.k_pos - 1}, "
                         f"p-val = {fmt_p(self.BD_p)}; Tarone's: X^2 = {fmt(self.TA, dd)}, "
                         f"p-val = {fmt_p(self.TA_p)}")
        for note in self.notes:
            lines.append(f"Note: {note}")
        return "\n".join(lines)


def _study_heterogeneity(es: EffectSizes, estimate: float | None):
    keep = es.included
    k_yi = int(keep.sum())
    if estimate is None or k_yi <= 1:
        return (0.0 if k_yi <= 1 else None), max(k_yi - 1, 0), \
            (1.0 if k_yi <= 1 else None), 0.0 if k_yi <= 1 else None, \
            1.0 if k_yi <= 1 else None, k_yi
    w = 1.0 / es.vi[keep]
    q = max(0.0, float(np.sum(w * (es.yi[keep] - estimate) ** 2)))
    df = k_yi - 1
    return q, df, float(dist.chi2_sf(q, df)), q_based_i2(q, df), q / df, k_yi


def _wald(estimate, se, alpha):
    crit = dist.norm_isf(alpha / 2)
    z = estimate / se
    return z, float(2 * dist.norm_sf(abs(z))), estimate - crit * se, estimate + crit * se


def mantel_haenszel(ai, bi, ci, di, measure: str = "OR", *, study=None, level: float = 95.0,
                    correct: bool = True, add: float = 0.5, to: str = "only0",
                    drop00: bool | None = None) -> BinaryPoolResult:
    """Mantel-Haenszel pooled OR, RR or RD (metafor ``rma.mh``).

    ``correct`` applies the continuity correction to the CMH test (OR only).
    ``add``/``to``/``drop00`` only affect the study-level yi/vi used for the
    heterogeneity test.
    """
    measure = measure.upper()
    if measure not in MEASURES:
        raise PoolingInputError(f"measure must be one of {MEASURES}, not {measure!r}")
    a, b, c, d = _counts(ai, bi, ci, di)
    es = escalc_2x2(a, b, c, d, measure, add=add, to=to,
                    drop00=True if drop00 is None else drop00, study=study)
    alpha = alpha_from_level(level)
    notes: list[str] = []
    extra: dict[str, Any] = {}
    occupied = a + b + c + d > 0            # an empty table adds nothing (and 0/0 would be NaN)
    a, b, c, d = a[occupied], b[occupied], c[occupied], d[occupied]
    if measure == "OR":
        estimate, se, extra = _mh_odds_ratio(a, b, c, d, correct, notes)
    elif measure == "RR":
        estimate, se = _mh_risk_ratio(a, b, c, d, notes)
    else:
        estimate, se = _mh_risk_difference(a, b, c, d)
    return _binary_result("MH", measure, estimate, se, alpha, es, level, notes, occupied.size, **extra)


def _binary_result(method, measure, estimate, se, alpha, es, level, notes, k, **extra):
    if estimate is None:
        z = p = lb = ub = None
    else:
        z, p, lb, ub = _wald(estimate, se, alpha)
    q, df, q_p, i2, h2, k_yi = _study_heterogeneity(es, estimate)
    ratio = measure in ("OR", "RR")
    notes = notes + [f"{r['study']}: {r['action']} ({r['reason']})" for r in es.records]
    return BinaryPoolResult(
        method=method, measure=measure, estimate=estimate, se=se, zval=z, pval=p, ci_lb=lb,
        ci_ub=ub, estimate_exp=float(np.exp(estimate)) if ratio and estimate is not None else None,
        ci_lb_exp=float(np.exp(lb)) if ratio and lb is not None else None,
        ci_ub_exp=float(np.exp(ub)) if ratio and ub is not None else None,
        Q=q, Q_df=df, Q_p=q_p, I2=i2, H2=h2, k=k, k_yi=k_yi,
        level=float(level if level > 1 else 100 * level), study=list(es.study), effect_sizes=es,
        notes=notes, **extra)


def _mh_odds_ratio(a, b, c, d, correct, notes):
    """MH OR with the Robins-Breslow-Greenland SE, CMH and Breslow-Day tests."""
    n = a + b + c + d
    extra: dict[str, Any] = {}
    xt, yt = a + c, b + d
    if xt.sum() > 0 and yt.sum() > 0:
        table = _stratified_table(np.stack([np.stack([a, b]), np.stack([c, d])]))
        cmh = float(table.test_null_odds(correction=correct).statistic)
        extra.update(CMH=cmh, CMH_p=float(dist.chi2_sf(cmh, 1)))
    else:
        notes.append("CMH test undefined: no events (or no non-events) at all")
    r, s = np.sum(a * d / n), np.sum(b * c / n)
    if r == 0 or s == 0:
        notes.append("Mantel-Haenszel OR undefined: sum of a*d/n or b*c/n is zero")
        extra.update(k_pos=0)
        return None, None, extra
    strata = _stratified_table(np.stack([np.stack([a, b]), np.stack([c, d])]))
    odds_ratio = float(strata.oddsratio_pooled)
    estimate = float(np.log(odds_ratio))
    se = float(strata.logodds_pooled_se)
    extra.update(_breslow_day(a, b, c, d, odds_ratio))
    return estimate, se, extra


def _breslow_day(a, b, c, d, odds_ratio) -> dict[str, Any]:
    """Breslow-Day test (and Tarone's correction) over the informative strata.

    As metafor, strata whose expected count under the MH OR is not positive,
    or with no events or no non-events, are left out (df = k_pos - 1); so are
    strata with an empty control arm (the empty treated arm is caught by the
    expected count), which carry no information on the OR either.
    """
    n1, xt, yt = a + b, a + c, b + d
    n = a + b + c + d
    expected = _expected_a(n1, xt, c + d, n, odds_ratio)
    pos = (expected > 0) & (xt > 0) & (yt > 0) & (c + d > 0)
    k_pos = int(pos.sum())
    out: dict[str, Any] = {"k_pos": k_pos}
    if k_pos == 0:
        return out
    if odds_ratio != 1.0:
        sub = _stratified_table(np.stack([np.stack([a[pos], b[pos]]),
                                        np.stack([c[pos], d[pos]])]))
        bd = float(sub.test_equal_odds(adjust=False).statistic)
        ta = float(sub.test_equal_odds(adjust=True).statistic)
    else:
        e = expected[pos]
        v = 1.0 / (1 / e + 1 / (n1[pos] - e) + 1 / (xt[pos] - e) + 1 / (n[pos] - n1[pos] - xt[pos] + e))
        bd = float(np.sum((a[pos] - e) ** 2 / v))
        ta = bd - float(np.sum(a[pos] - e) ** 2 / np.sum(v))
    bd, ta = max(0.0, bd), max(0.0, ta)
    out.update(BD=bd, TA=ta)
    if k_pos > 1:
        out.update(BD_p=float(dist.chi2_sf(bd, k_pos - 1)), TA_p=float(dist.chi2_sf(ta, k_pos - 1)))
    return out


def _expected_a(n1, xt, n2, n, odds_ratio):
    """Expected count in cell a given the margins and a common odds ratio."""
    if odds_ratio == 1.0:
        return n1 * xt / n
    coef_a = odds_ratio * (n1 + xt) + (n2 - xt)
    disc = np.sqrt(coef_a ** 2 - 4 * n1 * xt * odds_ratio * (odds_ratio - 1))
    return (coef_a - disc) / (2 * (odds_ratio - 1))


def _mh_risk_ratio(a, b, c, d, notes):
    """MH RR with the Greenland-Robins (1985) variance."""
    n1, n2 = a + b, c + d
    n = n1 + n2
    if a.sum() == 0 or c.sum() == 0:
        notes.append("Mantel-Haenszel RR undefined: no events in one group across all studies")
        return None, None
    r, s = np.sum(a * n2 / n), np.sum(c * n1 / n)
    var = np.sum(n1 * n2 * (a + c) / n ** 2 - a * c / n) / (r * s)
    return float(np.log(r / s)), float(np.sqrt(var))


def _mh_risk_difference(a, b, c, d):
    """MH RD with the Sato-Greenland-Robins (1989) variance."""
    n1, n2 = a + b, c + d
    n = n1 + n2
    denom = np.sum(n1 * n2 / n)
    rd = float(np.sum(a * n2 / n - c * n1 / n) / denom)
    num = rd * np.sum(c * (n1 / n) ** 2 - a * (n2 / n) ** 2 + (n1 / n) * (n2 / n) * (n2 - n1) / 2) \
        + np.sum(a * (n2 - c) / n + c * (n1 - a) / n) / 2
    return rd, float(np.sqrt(num / denom ** 2))


def peto(ai, bi, ci, di, *, study=None, level: float = 95.0, add: float = 0.5,
         to: str = "only0", drop00: bool = True) -> BinaryPoolResult:
    """Peto's one-step pooled log odds ratio (Yusuf et al. 1985), metafor ``rma.peto``.

    log OR = sum(O - E) / sum(V), SE = 1/sqrt(sum V), with E and V the
    hypergeometric mean and variance of cell a.  Q = sum((O-E)^2/V) -
    (sum(O-E))^2 / sum(V) over the studies with V > 0.
    """
    a, b, c, d = _counts(ai, bi, ci, di)
    es = escalc_2x2(a, b, c, d, "OR", add=add, to=to, drop00=drop00, study=study)
    n1, n2 = a + b, c + d
    n = n1 + n2
    xt, yt = a + c, b + d
    with np.errstate(divide="ignore", invalid="ignore"):
        e = np.where(n > 0, xt * n1 / n, 0.0)       # an empty table: O = E = 0
        v = np.where(n > 1, xt * yt * (n1 / n) * (n2 / n) / (n - 1), 0.0)
    sum_v = float(v.sum())
    alpha = alpha_from_level(level)
    notes: list[str] = []
    if sum_v == 0:
        notes.append("Peto OR undefined: every study has zero hypergeometric variance")
        result = _binary_result("PETO", "OR", None, None, alpha, es, level, notes, a.size)
        return result
    estimate = float(np.sum(a - e) / sum_v)
    se = float(np.sqrt(1.0 / sum_v))
    result = _binary_result("PETO", "OR", estimate, se, alpha, es, level, notes, a.size)
    informative = v > 0
    k_pos = int(informative.sum())
    q = max(0.0, float(np.sum((a - e)[informative] ** 2 / v[informative])
                       - np.sum(a - e) ** 2 / sum_v))
    df = result.k_yi - 1
    result.Q = q
    result.Q_df = max(df, 0)
    if k_pos > 1 and df > 0:
        result.Q_p, result.I2, result.H2 = float(dist.chi2_sf(q, df)), q_based_i2(q, df), q / df
    else:
        result.Q_p, result.I2, result.H2 = 1.0, 0.0, 1.0
    return result


def cmh_test(ai, bi, ci, di, *, correct: bool = True) -> dict[str, float]:
    """Cochran-Mantel-Haenszel test of a common OR of 1 (statsmodels)."""
    a, b, c, d = _counts(ai, bi, ci, di)
    occupied = a + b + c + d > 0            # an empty table adds nothing (and 0/0 would be NaN)
    a, b, c, d = a[occupied], b[occupied], c[occupied], d[occupied]
    table = _stratified_table(np.stack([np.stack([a, b]), np.stack([c, d])]))
    stat = float(table.test_null_odds(correction=correct).statistic)
    return {"statistic": stat, "df": 1, "pval": float(dist.chi2_sf(stat, 1))}


def breslow_day_test(ai, bi, ci, di) -> dict[str, Any]:
    """Breslow-Day test of homogeneous ORs, with Tarone's correction."""
    a, b, c, d = _counts(ai, bi, ci, di)
    occupied = a + b + c + d > 0            # an empty table adds nothing (and 0/0 would be NaN)
    a, b, c, d = a[occupied], b[occupied], c[occupied], d[occupied]
    n = a + b + c + d
    r, s = np.sum(a * d / n), np.sum(b * c / n)
    if r == 0 or s == 0:
        raise PoolingError("Breslow-Day test undefined: the Mantel-Haenszel OR is 0 or infinite")
    out = _breslow_day(a, b, c, d, float(r / s))
    return out
