"""RECIST 1.1 best overall response (Eisenhauer et al., EJC 2009) and objective response.

ORR counts patients whose best overall response is CR or PR. Confirmation of CR/PR (>= 4
weeks) is the source's job: pass the confirmed BOR (e.g. ADRS PARAMCD "BOR"/"CBOR").
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from . import _series, _translate

BOR = ("CR", "PR", "SD", "PD", "NE")

_SYNONYMS = {
    "cr": "CR", "completeresponse": "CR",
    "pr": "PR", "partialresponse": "PR",
    "sd": "SD", "stabledisease": "SD", "stable": "SD",
    # Non-target-only disease whose best response is neither CR nor PD. RECIST 1.1 has no
    # SD for it, but ORR analyses (and CDISC ADRS practice) count it with SD: a non-responder.
    "noncrnonpd": "SD", "noncr/nonpd": "SD",
    "pd": "PD", "progressivedisease": "PD", "progression": "PD",
    "ne": "NE", "notevaluable": "NE", "nonevaluable": "NE", "inevaluable": "NE",
    "unevaluable": "NE", "notassessable": "NE",
}


def _bor(v) -> str:
    if not isinstance(v, str):
        raise TypeError(v)
    key = re.sub(r"[\s_\-]+", "", v.strip().lower())
    return _SYNONYMS[key]


def normalize_bor(series) -> pd.Series:
    """Canonical BOR: CR, PR, SD, PD, NE (<NA> when missing).

    Accepts the codes and spelled-out forms in any case ("Complete Response", "stable
    disease", "not evaluable"); "NON-CR/NON-PD" -> SD (see module note).
    """
    s = _series(series)
    return _translate(s, _bor, field=str(s.name or "best_overall_response"),
                      hint="Allowed: CR, PR, SD, PD, NE, NON-CR/NON-PD or their spelled-out forms; recode other labels in the study mapping.")


def objective_response(bor) -> pd.Series:
    """True for CR/PR, False for SD/PD/NE, <NA> when the BOR is missing.

    NE counts as a non-responder (intention-to-treat convention: the ORR denominator keeps
    every treated/randomized patient with an assessment record).
    """
    b = normalize_bor(bor)
    arr = b.to_numpy(dtype=object, na_value=None)
    out = pd.array(np.isin(arr, ("CR", "PR")), dtype="boolean")
    out[pd.isna(b).to_numpy()] = pd.NA
    return pd.Series(out, index=b.index, name="objective_response")
