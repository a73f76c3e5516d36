"""HER2 status per the ASCO/CAP 2018 focused update (affirmed 2023), with HER2-low/ultralow/null.

IHC: 3+ positive; 2+ equivocal (reflex ISH); 1+ and 0 negative. Dual-probe ISH groups from
the HER2/CEP17 ratio and the mean HER2 signals per cell:
group 1 ratio >= 2.0 and copies >= 4.0; group 2 ratio >= 2.0 and copies < 4.0;
group 3 ratio < 2.0 and copies >= 6.0; group 4 ratio < 2.0 and 4.0 <= copies < 6.0;
group 5 ratio < 2.0 and copies < 4.0.
HER2-low (IHC 1+, or 2+ with negative ISH), -ultralow (IHC 0 with faint incomplete staining in
<= 10% of cells) and -null (IHC 0, no staining) are not formal ASCO/CAP result categories but
are derived for the HER2-negative rows.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from . import _numeric, _same_index, _series, _translate

IHC_SCORES = ("0", "1+", "2+", "3+")
STAINING = ("null", "ultralow", "unknown")
HER2_STATUSES = ("positive", "low", "ultralow", "null", "ihc0_unspecified", "unknown")

# small tolerance so that ratios computed by division (e.g. 1.9999999999) land on 2.0
_EPS = 1e-9
_IHC_RE = re.compile(r"^(?:ihc)?[\s:]*([0-3])\s*(\+?)$")


def _ihc(v) -> str:
    if isinstance(v, (bool, np.bool_)):
        raise TypeError(v)
    if isinstance(v, (int, float, np.integer, np.floating)):
        if float(v) not in (0.0, 1.0, 2.0, 3.0):
            raise ValueError(v)
        return IHC_SCORES[int(v)]
    if not isinstance(v, str):
        raise TypeError(v)
    m = _IHC_RE.match(v.strip().lower())
    if not m or (m.group(1) == "0" and m.group(2)):  # "0+" is not a score
        raise ValueError(v)
    d = m.group(1)
    return "0" if d == "0" else d + "+"


def normalize_ihc(series) -> pd.Series:
    """Canonical IHC scores "0", "1+", "2+", "3+" (<NA> when missing).

    Accepts 0/1/2/3 (numeric or text), "2+", "2 +", "IHC 2+". Words such as "neg" or
    "positive" are rejected: they do not say which score was read.
    """
    s = _series(series)
    return _translate(s, _ihc, field=str(s.name or "her2_ihc"),
                      hint="Allowed: 0, 1+, 2+, 3+ (also 0-3, 'IHC 2+'); map other source codes to a score in the study mapping, or to missing.")


def normalize_ihc0_staining(series) -> pd.Series:
    """Staining detail of IHC 0 tumours: "null", "ultralow" or "unknown" (missing -> unknown)."""
    s = _series(series)

    def fn(v):
        key = v.strip().lower() if isinstance(v, str) else None
        if key not in STAINING:
            raise KeyError(v)
        return key

    return _translate(s, fn, field=str(s.name or "her2_ihc0_staining"), missing="unknown",
                      hint="Allowed: null (no staining), ultralow (faint incomplete staining in <= 10% of cells), unknown.")


def _ish_inputs(ratio, copy_number):
    """The ratio and copy number as series (same index) and as validated float arrays."""
    r0, c0 = _series(ratio), _series(copy_number)
    _same_index(r0, c0)
    r = _numeric(r0, field=str(r0.name or "her2_ish_ratio"), lo=0.0, hi=None,
                 hint="HER2/CEP17 ratios must be non-negative numbers.").to_numpy()
    c = _numeric(c0, field=str(c0.name or "her2_ish_copy_number"), lo=0.0, hi=None,
                 hint="Mean HER2 signals per cell must be non-negative numbers.").to_numpy()
    return r0, c0, r, c


def ish_group(ratio, copy_number) -> pd.Series:
    """ASCO/CAP 2018 dual-probe ISH group 1-5 (Int64); <NA> when either input is missing.

    A ratio without a copy number (or the reverse) cannot be grouped; see
    ``her2_status(..., allow_ratio_only=True)`` for the optional legacy ratio-only reading.
    """
    r0, c0, r, c = _ish_inputs(ratio, copy_number)
    hi_ratio = r >= 2.0 - _EPS
    grp = np.select(
        [hi_ratio & (c >= 4.0 - _EPS), hi_ratio, c >= 6.0 - _EPS, c >= 4.0 - _EPS],
        [1, 2, 3, 4], default=5,
    )
    out = pd.array(grp, dtype="Int64")
    out[np.isnan(r) | np.isnan(c)] = pd.NA
    return pd.Series(out, index=r0.index, name="her2_ish_group")


def _groups(s: pd.Series) -> np.ndarray:
    def fn(v):
        x = float(v.strip()) if isinstance(v, str) else float(v)
        if isinstance(v, (bool, np.bool_)) or x not in (1.0, 2.0, 3.0, 4.0, 5.0):
            raise ValueError(v)
        return int(x)

    g = _translate(s, fn, field=str(s.name or "her2_ish_group"), missing=0, dtype=None,
                   hint="ISH groups are integers 1-5 (ASCO/CAP 2018); derive them with ish_group().")
    return g.to_numpy(dtype=int)  # 0 = missing


# Incomplete dual-probe ISH: the ASCO/CAP 2018 groups a tumour can still be in when only the
# ratio or only the mean copy number is known.
_CANDIDATES = {
    "ratio >= 2.0": (1, 2), "ratio < 2.0": (3, 4, 5),
    "copy number >= 6.0": (1, 3), "copy number 4.0-5.9": (1, 4), "copy number < 4.0": (2, 5),
}


def ish_candidates(ratio, copy_number) -> pd.Series:
    """For a tumour with only one of ratio / copy number: which of the known values it has
    (a key of the table above, e.g. "ratio >= 2.0"); <NA> when both or neither are known."""
    r0, c0, r, c = _ish_inputs(ratio, copy_number)
    only_r, only_c = ~np.isnan(r) & np.isnan(c), np.isnan(r) & ~np.isnan(c)
    key = np.select(
        [only_r & (r >= 2.0 - _EPS), only_r, only_c & (c >= 6.0 - _EPS), only_c & (c >= 4.0 - _EPS), only_c],
        ["ratio >= 2.0", "ratio < 2.0", "copy number >= 6.0", "copy number 4.0-5.9", "copy number < 4.0"],
        default="",
    )
    return pd.Series(pd.array(np.where(key == "", None, key), dtype="string"), index=r0.index, name="ish_candidates")


def _call(ihc_s: np.ndarray, grp: np.ndarray, ihc0_call: np.ndarray) -> np.ndarray:
    """The IHC x ISH-group table (grp 0 = no ISH group)."""
    conds = [
        ihc_s == "3+",
        grp == 1,
        (ihc_s == "2+") & (grp == 3),
        (ihc_s == "2+") & np.isin(grp, (2, 4, 5)),
        ihc_s == "1+",
        ihc_s == "0",
    ]
    choices = ["positive", "positive", "positive", "low", "low", ihc0_call]
    return np.select(conds, choices, default="unknown")


def her2_status(ihc, ish_group=None, ihc0_staining=None, *, ish_ratio=None, ish_copy_number=None,
                allow_ratio_only: bool = False) -> pd.Series:
    """HER2 status: positive, low, ultralow, null, ihc0_unspecified or unknown.

    ASCO/CAP 2018/2023 (IHC x ISH group):
    IHC 3+ -> positive (whatever the ISH group);
    IHC 2+ -> group 1 or 3 positive; group 2, 4 or 5 negative ("low"); no ISH -> unknown;
    IHC 1+ -> group 1 positive; otherwise "low";
    IHC 0  -> group 1 positive; otherwise by staining: "ultralow", "null" or
              "ihc0_unspecified" (staining not recorded);
    IHC missing -> group 1 positive; otherwise unknown (groups 2-4 need the IHC work-up,
              and a group 5 tumour cannot be placed in low/ultralow/null).

    Incomplete ISH (``ish_ratio`` and ``ish_copy_number`` both given; a tumour with one of them
    and no group): the status is the one every group the known value allows gives with this
    IHC score, and unknown when they differ (see ish_candidates and docs/methods/derivations.md).
    E.g. IHC 2+ with copy number >= 6.0 (group 1 or 3) is positive; IHC 1+ with ratio >= 2.0
    (group 1 positive, group 2 negative) is unknown; IHC 1+ with ratio < 2.0 is low.

    ``allow_ratio_only``: when the group is missing but ``ish_ratio`` is known, read ISH by
    the legacy single criterion (ratio >= 2.0 ISH-positive, as group 1; else ISH-negative,
    as group 5). Off by default: under the 2018 rules a ratio >= 2.0 with < 4.0 copies
    (group 2) is negative, so the fallback can over-call positivity.
    """
    i0 = _series(ihc)
    ihc_s = normalize_ihc(i0).to_numpy(dtype=object, na_value=None)
    n = len(i0)
    grp = np.zeros(n, dtype=int) if ish_group is None else _groups(_series(ish_group))
    if ish_group is not None:
        _same_index(i0, _series(ish_group))
    if allow_ratio_only:
        if ish_ratio is None:
            raise ValueError("allow_ratio_only=True needs ish_ratio")
        r_s = _series(ish_ratio)
        _same_index(i0, r_s)
        r = _numeric(r_s, field=str(r_s.name or "her2_ish_ratio"), lo=0.0, hi=None,
                     hint="HER2/CEP17 ratios must be non-negative numbers.").to_numpy()
        fill = (grp == 0) & ~np.isnan(r)
        grp = np.where(fill, np.where(r >= 2.0 - _EPS, 1, 5), grp)
    if ihc0_staining is None:
        stain = np.full(n, "unknown", dtype=object)
    else:
        st_s = _series(ihc0_staining)
        _same_index(i0, st_s)
        stain = normalize_ihc0_staining(st_s).to_numpy(dtype=object)
        conflict = (stain != "unknown") & (ihc_s != "0")
        if conflict.any():
            from . import DerivationError
            labels = [f"{a} with IHC {b or 'missing'}" for a, b in zip(stain[conflict], ihc_s[conflict])]
            vc = pd.Series(labels).value_counts(sort=False)
            raise DerivationError("her2_ihc0_staining", list(vc.index), [int(x) for x in vc],
                                  "Staining detail (null/ultralow) describes IHC 0 tumours only; "
                                  "check the IHC and staining columns in the study mapping.")

    ihc0_call = np.where(stain == "ultralow", "ultralow",
                         np.where(stain == "null", "null", "ihc0_unspecified"))
    out = _call(ihc_s, grp, ihc0_call)
    if ish_ratio is not None and ish_copy_number is not None and not allow_ratio_only:
        r_s, c_s = _series(ish_ratio), _series(ish_copy_number)
        _same_index(i0, r_s)
        keys = ish_candidates(r_s, c_s).to_numpy(dtype=object, na_value=None)
        for key, groups in _CANDIDATES.items():
            rows = (keys == key) & (grp == 0)
            if not rows.any():
                continue
            calls = [_call(ihc_s[rows], np.full(int(rows.sum()), g), ihc0_call[rows]) for g in groups]
            agree = np.all([c == calls[0] for c in calls], axis=0)
            out[rows] = np.where(agree, calls[0], "unknown")
    return pd.Series(out, index=i0.index, dtype="string", name="her2_status")


def her2_unknown_reasons(ihc, ish_group, ish_ratio, ish_copy_number, status) -> pd.Series:
    """Why each HER2-unknown tumour is unknown (<NA> for the others): the reasons counted in QC."""
    i0 = _series(ihc)
    ihc_s = normalize_ihc(i0).to_numpy(dtype=object, na_value=None)
    grp = _groups(_series(ish_group))
    keys = ish_candidates(ish_ratio, ish_copy_number).to_numpy(dtype=object, na_value=None)
    unknown = (_series(status).astype("string") == "unknown").to_numpy(dtype=bool, na_value=False)
    out = np.full(len(i0), None, dtype=object)
    for idx in np.flatnonzero(unknown):
        score = ihc_s[idx]
        if keys[idx] is not None:
            groups = " or ".join(str(g) for g in _CANDIDATES[keys[idx]])
            missing = "copy number" if keys[idx].startswith("ratio") else "ratio"
            out[idx] = (f"incomplete ISH with IHC {score or 'missing'}: {keys[idx]} without {missing} "
                        f"(group {groups}, which give different calls)")
        elif score is None and grp[idx] == 0:
            out[idx] = "no IHC score and no ISH result"
        elif score is None:
            out[idx] = f"ISH group {grp[idx]} without an IHC score (only group 1 decides alone)"
        elif score == "2+":
            out[idx] = "IHC 2+ (equivocal) without an ISH result"
        else:
            out[idx] = f"IHC {score}: not decided"
    return pd.Series(pd.array(out, dtype="string"), index=i0.index, name="her2_unknown_reason")
