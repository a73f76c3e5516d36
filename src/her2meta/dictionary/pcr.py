"""Pathological complete response (pCR) from post-neoadjuvant ypT/ypN (AJCC ypTNM).

Definitions (FDA 2014/2020 pCR guidance; NeoSTEEP; CTNeoBC):
  pcr_ypt0is_ypn0  no invasive residual in breast (DCIS allowed) and in sampled nodes;
  pcr_ypt0_ypn0    no invasive and no in-situ residual in breast, nodes negative;
  pcr_breast       ypT0/is: breast only, nodes ignored.
Nodes: ypN0(mol+) counts as node-negative (no tumour cells seen on histology); ypN0(i+)
(isolated tumour cells) counts as residual disease unless ``itc_is_pcr=True``.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from . import _same_index, _series, _translate

_T_RE = re.compile(r"^(?:yp|p)?t(0|is(?:\((?:dcis|lcis|paget)\))?|1mi|1[abc]?|2|3|4[abcd]?|x)$")
_N_RE = re.compile(
    r"^(?:yp|p)?n(0|1mi|1[abc]?|2[ab]?|3[abc]?|x)(\((?:i\+|i-|mol\+|mol-)\))?(?:\((?:sn|f)\))?$"
)
DEFINITIONS = ("pcr_ypt0is_ypn0", "pcr_ypt0_ypn0", "pcr_breast")


def _t(v) -> str:
    if not isinstance(v, str):
        raise TypeError(v)
    m = _T_RE.match(re.sub(r"\s+", "", v).lower())
    if not m:
        raise ValueError(v)
    code = m.group(1)
    if code.startswith("is"):
        return "Tis"
    return "T" + code.upper() if code == "x" else "T" + code


def _n(v) -> str:
    if not isinstance(v, str):
        raise TypeError(v)
    m = _N_RE.match(re.sub(r"\s+", "", v).lower())
    if not m:
        raise ValueError(v)
    code, itc = m.group(1), m.group(2)
    if itc and code != "0":
        raise ValueError(v)
    if code == "x":
        return "NX"
    if itc in ("(i+)", "(mol+)"):
        return f"N0{itc}"
    return "N" + code  # "(i-)", "(mol-)", "(sn)", "(f)" add nothing to the category


def parse_ypt(series) -> pd.Series:
    """Canonical ypT category: T0, Tis, T1mi, T1, T1a-c, T2, T3, T4, T4a-d, TX (<NA> if missing).

    Case-insensitive, spaces ignored, optional "yp"/"p" prefix; Tis(DCIS)/Tis(LCIS)/Tis(Paget)
    -> Tis.
    """
    s = _series(series)
    return _translate(s, _t, field=str(s.name or "ypt"),
                      hint="Expected AJCC ypT codes such as ypT0, ypTis, ypT1mi, ypT2, ypTX; recode other labels in the study mapping.")


def parse_ypn(series) -> pd.Series:
    """Canonical ypN category: N0, N0(i+), N0(mol+), N1mi, N1, N1a-c, N2, N2a-b, N3, N3a-c, NX.

    N0(i-)/N0(mol-) -> N0; the (sn)/(f) modifiers are dropped.
    """
    s = _series(series)
    return _translate(s, _n, field=str(s.name or "ypn"),
                      hint="Expected AJCC ypN codes such as ypN0, ypN0(i+), ypN1mi, ypN2a, ypNX; recode other labels in the study mapping.")


def _bool(a_true: np.ndarray, known: np.ndarray) -> pd.arrays.BooleanArray:
    out = pd.array(a_true, dtype="boolean")
    out[~known] = pd.NA
    return out


def _and(a: pd.arrays.BooleanArray, b: pd.arrays.BooleanArray) -> pd.arrays.BooleanArray:
    return a & b  # Kleene logic: False & NA is False, True & NA is NA


def pcr_variants(ypt, ypn, itc_is_pcr: bool = False) -> pd.DataFrame:
    """Boolean-nullable pcr_ypt0is_ypn0, pcr_ypt0_ypn0 and pcr_breast from ypT/ypN.

    TX, NX or missing make a component unknown. Components combine by Kleene logic: known
    residual disease in either compartment means no pCR even if the other is unknown;
    otherwise an unknown component gives <NA>.
    """
    t0, n0 = _series(ypt), _series(ypn)
    _same_index(t0, n0)
    t = parse_ypt(t0).to_numpy(dtype=object, na_value="TX")
    n = parse_ypn(n0).to_numpy(dtype=object, na_value="NX")
    t_known, n_known = t != "TX", n != "NX"
    node_neg = np.isin(n, ("N0", "N0(mol+)") + (("N0(i+)",) if itc_is_pcr else ()))
    no_invasive = _bool(np.isin(t, ("T0", "Tis")), t_known)
    no_tumour = _bool(t == "T0", t_known)
    nodes = _bool(node_neg, n_known)
    return pd.DataFrame(
        {
            "pcr_ypt0is_ypn0": _and(no_invasive, nodes),
            "pcr_ypt0_ypn0": _and(no_tumour, nodes),
            "pcr_breast": no_invasive,
        },
        index=t0.index,
    )


def _flag(v) -> bool:
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, float, np.integer, np.floating)) and float(v) in (0.0, 1.0):
        return bool(v)
    raise ValueError(v)


def pcr_consistency(pcr_flag, ypt, ypn, definition: str = "pcr_ypt0is_ypn0",
                    itc_is_pcr: bool = False) -> pd.Series:
    """True where a source pCR flag (bool or 0/1) contradicts the stage-derived one.

    ``definition`` is one of pcr_ypt0is_ypn0, pcr_ypt0_ypn0, pcr_breast (the "pcr_" prefix
    may be omitted). Rows where either side is unknown are False (not a contradiction).
    """
    d = definition if definition.startswith("pcr_") else f"pcr_{definition}"
    if d not in DEFINITIONS:
        raise ValueError(f"definition must be one of {DEFINITIONS}, got {definition!r}")
    f0 = _series(pcr_flag)
    _same_index(f0, _series(ypt))
    flag = _translate(f0, _flag, field=str(f0.name or "pcr_flag"), dtype="boolean",
                      hint="A source pCR flag must be boolean or 0/1; map Y/N style codes in the study mapping.")
    derived = pcr_variants(ypt, ypn, itc_is_pcr=itc_is_pcr)[d]
    differ = (flag.array != derived.array).fillna(False)
    return pd.Series(np.asarray(differ, dtype=bool), index=f0.index, name=f"{d}_inconsistent")

