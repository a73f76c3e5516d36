"""RECIST 1.1 best overall response and objective response (CR or PR)."""

import pandas as pd
import pytest

from her2meta.dictionary import DerivationError, normalize_bor, objective_response


def test_normalize_bor_forms():
    s = pd.Series(["CR", "cr", "Complete Response", "PARTIAL RESPONSE", "pr", "Stable Disease",
                   "NON-CR/NON-PD", "Non-CR/Non-PD", "PD", "Progressive disease", "NE",
                   "Not Evaluable", None, ""], dtype=object)
    assert normalize_bor(s).tolist() == ["CR", "CR", "CR", "PR", "PR", "SD", "SD", "SD", "PD", "PD",
                                         "NE", "NE", pd.NA, pd.NA]


@pytest.mark.parametrize("bad", ["ORR", "responder", "MISSING", "NED", 1, "CR/PR"])
def test_normalize_bor_rejects(bad):
    with pytest.raises(DerivationError) as e:
        normalize_bor(pd.Series([bad], dtype=object, name="AVALC"))
    assert e.value.field == "AVALC" and list(e.value.counts) == [bad]


def test_objective_response():
    s = pd.Series(["CR", "PR", "SD", "PD", "NE", "NON-CR/NON-PD", None], index=list("abcdefg"), dtype=object)
    out = objective_response(s)
    assert str(out.dtype) == "boolean"
    assert out.index.tolist() == list("abcdefg")
    assert out.tolist() == [True, True, False, False, False, False, pd.NA]
