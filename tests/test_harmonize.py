"""Harmonization of an extracted study: derivations, flags, counts and schema checks."""

from __future__ import annotations

import pandas as pd
import pytest

from her2meta.errors import StudyDataError
from her2meta.harmonize import harmonize_study
from her2meta.schemas import harmonized_fields

STUDY = {"study_id": "T-1", "setting": "neoadjuvant", "label": "T-1"}


def extracted(**columns):
    n = len(next(iter(columns.values())))
    base = {"study_id": ["T-1"] * n, "patient_id": [f"P{i}" for i in range(n)]}
    base.update(columns)
    return pd.DataFrame(base)


def test_receptors_from_percent_with_threshold_and_er_low():
    data, qc = harmonize_study(
        extracted(er_percent=[0.0, 5.0, 50.0, None, 0.0], pr_percent=[0.0, 0.0, None, None, 20.0]), study=STUDY
    )
    assert list(data["er_status"]) == ["negative", "positive", "positive", "unknown", "negative"]
    assert list(data["hr_status"]) == ["negative", "positive", "positive", "unknown", "positive"]
    assert list(data["er_low"].astype(object)) == [False, True, False, pd.NA, False]
    assert qc["derivations"]["hr_status"]["from_percent"] == 4 and qc["derivations"]["hr_status"]["unknown"] == 1
    # The 10% sensitivity threshold moves the ER-low patient to HR-negative.
    data10, _ = harmonize_study(extracted(er_percent=[5.0], pr_percent=[0.0]), study=STUDY, hr_threshold=10)
    assert data10["hr_status"].tolist() == ["negative"]


def test_category_only_sources_are_taken_as_given_and_flagged():
    data, qc = harmonize_study(
        extracted(er_status=["positive", "negative", None], pr_status=["negative", "negative", "negative"]),
        study=STUDY, receptor_cutoff=10,
    )
    assert list(data["hr_status"]) == ["positive", "negative", "unknown"]
    assert list(data["hr_status_source"]) == ["category", "category", "unknown"]
    assert qc["derivations"]["hr_status"]["source_category_cutoff_percent"] == 10
    assert any("10% cut-off" in w for w in qc["warnings"])


def test_her2_groups_and_categories():
    data, _ = harmonize_study(
        extracted(
            her2_ihc=["3+", "2+", "2+", "1+", "0", "0", "2+"],
            her2_ish_ratio=[None, 2.5, 1.5, None, None, None, None],
            her2_ish_copy_number=[None, 5.0, 3.0, None, None, None, None],
            her2_ihc0_staining=[None, None, None, None, "ultralow", "null", None],
        ),
        study=STUDY,
    )
    assert data["her2_ish_group"].tolist()[:3] == [pd.NA, 1, 5]
    assert list(data["her2_status"]) == ["positive", "positive", "low", "low", "ultralow", "null", "unknown"]


def test_single_ish_call_settles_ihc_2plus():
    data, qc = harmonize_study(extracted(her2_ihc=["2+", "2+", "3+"], her2_ish_amplified=[True, False, None]), study=STUDY)
    assert list(data["her2_status"]) == ["positive", "low", "positive"]
    assert qc["derivations"]["her2_status"]["from_single_ish_call"] == 2
    assert "her2_ish_amplified" not in data.columns


def test_pcr_variants_from_stage_and_contradicting_flags_counted():
    data, qc = harmonize_study(
        extracted(ypt=["ypT0", "ypTis", "ypT1c", "ypT0", None], ypn=["ypN0", "ypN0", "ypN0", "ypN1", None],
                  pcr_ypt0is_ypn0=[True, True, True, False, None]),
        study=STUDY,
    )
    assert data["pcr_ypt0is_ypn0"].astype(object).tolist() == [True, True, False, False, pd.NA]
    assert data["pcr_ypt0_ypn0"].astype(object).tolist() == [True, False, False, False, pd.NA]
    assert data["pcr_breast"].astype(object).tolist() == [True, True, False, True, pd.NA]
    assert set(data["pcr_source"]) == {"stage"}
    assert qc["derivations"]["pcr"]["pcr_ypt0is_ypn0_contradicting_source_flag"] == 1


def test_pcr_flag_only_source():
    data, qc = harmonize_study(extracted(pcr_ypt0is_ypn0=[True, False, None]), study=STUDY)
    assert data["pcr_ypt0is_ypn0"].astype(object).tolist() == [True, False, pd.NA]
    assert data["pcr_breast"].isna().all()
    assert set(data["pcr_source"]) == {"flag"}


def test_regimen_with_study_abbreviations():
    data, _ = harmonize_study(extracted(arm=["TCHP", "T-DM1+P"]), study=STUDY,
                              abbreviations={"TCHP": "docetaxel+carboplatin+trastuzumab+pertuzumab", "P": "pertuzumab"})
    assert list(data["regimen_class"]) == ["dual_mab", "adc_mab"]
    assert data["chemo_platinum"].astype(object).tolist() == [True, False]


def test_unresolved_abbreviation_is_a_study_error():
    with pytest.raises(StudyDataError) as err:
        harmonize_study(extracted(arm=["TH"]), study=STUDY)
    assert "T-1" in str(err.value) and "TH" in str(err.value)


def test_output_follows_the_data_model_columns_and_types():
    data, qc = harmonize_study(extracted(efs_months=[10.0, 20.0], efs_event=[1, 0], age_years=[40.0, 50.0]), study=STUDY)
    assert list(data.columns) == list(harmonized_fields())
    assert str(data["efs_event"].dtype) == "Int64" and qc["rows_out"] == 2


@pytest.mark.parametrize(
    "columns, message",
    [
        ({"efs_months": [-1.0], "efs_event": [1]}, "negative efs_months"),
        ({"efs_months": [1.0], "efs_event": [2]}, "efs_event has 1 value(s) other than 0/1"),
        ({"age_years": [130.0]}, "age_years has 1 value(s) outside"),
        ({"ct_stage": ["T9"]}, "ct_stage"),
    ],
)
def test_values_outside_the_model_are_errors(columns, message):
    with pytest.raises(StudyDataError) as err:
        harmonize_study(extracted(**columns), study=STUDY)
    assert message in str(err.value) and "T-1" in str(err.value)
