"""CDISC conventions a mapping can state: reductions (RECIST best response, first, last, latest,
any), blank codes, coalesced fields, subject keys that differ, filters, and number formats.

Packages come from tests/cdisc_fixtures.py; every expected count is computed here from the
fixture's construction (its truth), never by the code under test."""

from __future__ import annotations

import datetime as dt
import logging
import textwrap
from collections import Counter

import pandas as pd
import pytest

from cdisc_fixtures import RECIST_CASES, SAS7BDAT_FIXTURE, adam_subject, sas7bdat_truth, write_adam_package, write_sdtm_package
from her2meta.errors import StudyDataError
from her2meta.mapping import DAYS_PER_MONTH, apply_mapping, load_mapping


def run(tmp_path, package, text, study="FIX"):
    path = tmp_path / f"{study}.yaml"
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return apply_mapping(load_mapping(path), package)


def load(tmp_path, text, study="FIX"):
    path = tmp_path / f"{study}.yaml"
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return load_mapping(path)


@pytest.fixture()
def adam(tmp_path):
    return write_adam_package(tmp_path / "adam")


@pytest.fixture()
def sdtm(tmp_path):
    return write_sdtm_package(tmp_path / "sdtm")


ADAM_HEAD = """
mapping_version: 1
study_id: FIX
datasets:
  adsl:
    file: ADSL.XPT
    key: USUBJID
{extra}
subjects: adsl
fields:
  patient_id: {{from: adsl.USUBJID}}
{fields}
constants: {{setting: metastatic}}
"""


def adam_mapping(extra="", fields=""):
    # a block (starting with a newline) is dedented; a line such as "  filter: [...]" keeps its indentation
    extra = textwrap.dedent(extra) if extra.startswith("\n") else extra
    return ADAM_HEAD.format(extra=textwrap.indent(extra.strip("\n"), "  "),
                            fields=textwrap.indent(textwrap.dedent(fields).strip("\n"), "  "))


# ----------------------------------------------------------------------------------------------
# 1. Several records per subject reduced to one


BOR_DATASET = """
ovr:
  file: ADRS.XPT
  key: USUBJID
  filter: [{column: PARAMCD, equals: OVR}]
  reduce:
    best_response: {response: AVALC, date: ADT, start: adsl.RANDDT, confirmation: %s, sd_min_days: 42}
"""


@pytest.mark.parametrize("rule, truth_key", [("confirmed", "bor_confirmed"), ("unconfirmed", "bor_unconfirmed")])
def test_best_overall_response_from_adrs_visit_records(tmp_path, adam, rule, truth_key):
    result = run(tmp_path, adam.path, adam_mapping(BOR_DATASET % rule, "best_overall_response: {from: ovr.BOR}"))
    got = result.data.set_index("patient_id")["best_overall_response"]
    expected = adam.truth[truth_key]
    assert len(got) == adam.truth["n"]
    for subject, response in expected.items():
        assert (pd.isna(got[subject]) if response is None else got[subject] == response), subject
    reduction = result.qc["reductions"]["ovr"]
    with_records = Counter(n for n in adam.truth["ovr_records"].values() if n)
    assert reduction["records_per_subject"] == {str(k): v for k, v in sorted(with_records.items())}
    assert reduction["best_response"]["none"] == 0  # a subject with no OVR record is not in the reduced dataset
    assert result.qc["fields"]["best_overall_response"]["no_record"] == sum(1 for n in adam.truth["ovr_records"].values() if n == 0)
    assert reduction["rule"] == {"confirmation": rule, "confirm_days": 28, "sd_min_days": 42}


def test_derived_best_response_equals_the_sponsors_bor_parameter(tmp_path, adam):
    text = adam_mapping(BOR_DATASET % "confirmed" + textwrap.dedent("""
        sponsor:
          file: ADRS.XPT
          key: USUBJID
          filter: [{column: PARAMCD, equals: BOR}]
        """), "best_overall_response: {from: ovr.BOR}")
    result = run(tmp_path, adam.path, text)
    assert result.qc["joins"]["sponsor"]["subjects_matched"] == sum(1 for r in adam.truth["bor_confirmed"].values() if r)


def test_best_response_from_sdtm_rs_with_codes_and_confirmation_interval(tmp_path, sdtm):
    text = """
    mapping_version: 1
    study_id: FIX
    datasets:
      dm: {file: DM.XPT, key: USUBJID}
      rs:
        file: RS.XPT
        key: USUBJID
        filter: [{column: RSTESTCD, equals: OVRLRESP}]
        reduce:
          best_response:
            response: RSORRES
            date: RSDTC
            start: dm.RFSTDTC
            confirmation: confirmed
            confirm_days: 28
            sd_min_days: 42
            codes: {Non-CR/Non-PD: NON-CR/NON-PD}
    subjects: dm
    fields:
      patient_id: {from: dm.USUBJID}
      best_overall_response: {from: rs.BOR}
    constants: {setting: metastatic}
    """
    result = run(tmp_path, sdtm.path, text)
    got = result.data.set_index("patient_id")["best_overall_response"]
    expected = pd.Series(sdtm.truth["bor_confirmed"])
    assert (got[expected.notna()] == expected[expected.notna()]).all()
    assert got[expected.isna()].isna().all()
    reduction = result.qc["reductions"]["rs"]
    assert sum(int(k) * v for k, v in reduction["records_per_subject"].items()) == sdtm.truth["rs_overall_records"]
    recoded = sum(1 for i in range(1, sdtm.truth["n"] + 1) for _, r in RECIST_CASES[(i - 1) % len(RECIST_CASES)][0]
                  if r == "NON-CR/NON-PD")
    assert reduction["records_recoded"] == recoded


def test_best_response_refuses_unknown_response_values_with_counts(tmp_path, sdtm):
    text = """
    mapping_version: 1
    study_id: FIX
    datasets:
      dm: {file: DM.XPT, key: USUBJID}
      rs:
        file: RS.XPT
        key: USUBJID
        filter: [{column: RSTESTCD, equals: OVRLRESP}]
        reduce: {best_response: {response: RSORRES, date: RSDTC, start: dm.RFSTDTC, confirmation: confirmed, sd_min_days: 42}}
    subjects: dm
    fields:
      patient_id: {from: dm.USUBJID}
      best_overall_response: {from: rs.BOR}
    constants: {setting: metastatic}
    """
    with pytest.raises(StudyDataError) as err:
        run(tmp_path, sdtm.path, text)
    count = sum(1 for i in range(1, sdtm.truth["n"] + 1) for _, r in RECIST_CASES[(i - 1) % len(RECIST_CASES)][0]
                if r == "NON-CR/NON-PD")
    assert f"'Non-CR/Non-PD' ({count} rows)" in str(err.value) and "best_response.codes" in str(err.value)


def test_sd_minimum_without_start_date_is_refused_at_check(tmp_path):
    text = adam_mapping("""
        ovr:
          file: ADRS.XPT
          key: USUBJID
          reduce: {best_response: {response: AVALC, date: ADT, confirmation: confirmed, sd_min_days: 42}}
        """, "best_overall_response: {from: ovr.BOR}")
    with pytest.raises(StudyDataError, match="needs `start:`"):
        load(tmp_path, text)


def test_first_and_last_record_by_date(tmp_path, adam):
    for method, truth_key in (("first", "er_first"), ("last", "er_last")):
        text = adam_mapping(f"""
            lab:
              file: LB.csv
              key: SUBJID
              join_to: SUBJID
              key_normalize: [strip_leading_zeros]
              filter: [{{column: LBTESTCD, equals: ER}}]
              reduce: {{{method}: LBDTC}}
            """, "er_percent: {from: lab.LBORRES}")
        result = run(tmp_path, adam.path, text)
        got = result.data.set_index("patient_id")["er_percent"]
        assert got.to_dict() == adam.truth[truth_key], method
        reduction = result.qc["reductions"]["lab"]
        assert reduction["records_per_subject"] == {"2": adam.truth["n"]}
        assert reduction["subjects_with_tied_records"] == 0


def test_first_record_ties_are_counted(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "dm.csv").write_text("USUBJID\nA\nB\n")
    (pkg / "lab.csv").write_text("USUBJID,DAY,ER\nA,3,10\nA,3,20\nA,5,30\nB,1,40\n")
    result = run(tmp_path, pkg, """
    mapping_version: 1
    study_id: FIX
    datasets:
      dm: {file: dm.csv, key: USUBJID}
      lab: {file: lab.csv, key: USUBJID, reduce: {first: DAY}}
    subjects: dm
    fields:
      patient_id: {from: dm.USUBJID}
      er_percent: {from: lab.ER}
    """)
    assert result.data["er_percent"].tolist() == [10.0, 40.0]  # the tie goes to the record earlier in the file
    assert result.qc["reductions"]["lab"]["subjects_with_tied_records"] == 1
    assert result.qc["reductions"]["lab"]["records_per_subject"] == {"1": 1, "3": 1}


def test_latest_of_several_dates_is_the_last_known_alive_date(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "dm.csv").write_text("USUBJID,RANDDT,DTHFL\nA,2015-01-01,\nB,2015-01-01,\nC,2015-01-01,Y\n")
    # several records per subject, each with several dates; C's latest contact is its death
    (pkg / "contacts.csv").write_text(
        "USUBJID,VISITDT,LABDT,DTHDT\n"
        "A,2015-03-01,2015-04-01,\nA,2015-06-01,2015-05-01,\n"
        "B,2015-02-01,,\nB,,2015-08-15,\n"
        "C,2015-02-01,2015-02-02,2015-09-30\n")
    result = run(tmp_path, pkg, """
    mapping_version: 1
    study_id: FIX
    datasets:
      dm: {file: dm.csv, key: USUBJID}
      contacts: {file: contacts.csv, key: USUBJID, reduce: {latest: [VISITDT, LABDT, DTHDT]}}
    subjects: dm
    fields:
      patient_id: {from: dm.USUBJID}
      os_months: {dates: {start: dm.RANDDT, end: contacts.LATEST}}
      os_event: {from: dm.DTHFL, codes: {Y: 1, "": 0}}
    constants: {setting: neoadjuvant}
    """)
    expected_days = {"A": (dt.date(2015, 6, 1) - dt.date(2015, 1, 1)).days, "B": (dt.date(2015, 8, 15) - dt.date(2015, 1, 1)).days,
                     "C": (dt.date(2015, 9, 30) - dt.date(2015, 1, 1)).days}
    got = result.data.set_index("patient_id")["os_months"]
    for subject, days in expected_days.items():
        assert got[subject] == pytest.approx(days / DAYS_PER_MONTH)
    assert result.data["os_event"].tolist() == [0, 0, 1]
    reduction = result.qc["reductions"]["contacts"]
    assert reduction["from_column"] == {"VISITDT": 1, "LABDT": 1, "DTHDT": 1}
    assert reduction["records_per_subject"] == {"1": 1, "2": 2}


def test_any_record_flagged_with_a_value_for_no_record(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "dm.csv").write_text("USUBJID\nA\nB\nC\nD\n")
    (pkg / "cm.csv").write_text("USUBJID,CMCLAS\nA,ANALGESIC\nA,ENDOCRINE THERAPY\nB,ANALGESIC\nC,ENDOCRINE THERAPY\n")
    result = run(tmp_path, pkg, """
    mapping_version: 1
    study_id: FIX
    datasets:
      dm: {file: dm.csv, key: USUBJID}
      cm: {file: cm.csv, key: USUBJID, reduce: {any: {column: CMCLAS, equals: ENDOCRINE THERAPY}}}
    subjects: dm
    fields:
      patient_id: {from: dm.USUBJID}
      endocrine_concurrent: {from: cm.ANY, codes: {Y: true, N: false}, no_record: false}
    """)
    assert result.data["endocrine_concurrent"].tolist() == [True, False, True, False]
    info = result.qc["fields"]["endocrine_concurrent"]
    assert info["no_record"] == 1 and info["no_record_coded"] == 1 and info["missing"] == 0
    assert result.qc["reductions"]["cm"]["subjects_Y"] == 2 and result.qc["reductions"]["cm"]["subjects_N"] == 1


def test_any_death_record_in_ds_gives_the_death_indicator(tmp_path, sdtm):
    result = run(tmp_path, sdtm.path, """
    mapping_version: 1
    study_id: FIX
    datasets:
      dm: {file: DM.XPT, key: USUBJID}
      ds: {file: DS.XPT, key: USUBJID, reduce: {any: {column: DSDECOD, equals: DEATH}}}
    subjects: dm
    fields:
      patient_id: {from: dm.USUBJID}
      os_event: {from: ds.ANY, codes: {Y: 1, N: 0}}
    constants: {setting: metastatic}
    """)
    assert int(result.data["os_event"].sum()) == sdtm.truth["deaths"]
    assert result.qc["reductions"]["ds"]["records_per_subject"] == {"1": sdtm.truth["n"] - sdtm.truth["deaths"],
                                                                   "2": sdtm.truth["deaths"]}


def test_duplicates_without_a_reduction_point_to_reduce(tmp_path, adam):
    text = adam_mapping("""
        ovr: {file: ADRS.XPT, key: USUBJID, filter: [{column: PARAMCD, equals: OVR}]}
        """, "best_overall_response: {from: ovr.AVALC}")
    with pytest.raises(StudyDataError, match="duplicated subject identifiers") as err:
        run(tmp_path, adam.path, text)
    assert "reduce:" in str(err.value)


def test_pivot_and_reduce_together_are_refused(tmp_path):
    text = adam_mapping("""
        ovr: {file: ADRS.XPT, key: USUBJID, pivot: {names_from: PARAMCD, values_from: AVALC}, reduce: {first: ADT}}
        """)
    with pytest.raises(StudyDataError, match="both `pivot:` and `reduce:`"):
        load(tmp_path, text)


def test_order_column_that_is_not_a_date_or_number_stops(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "dm.csv").write_text("USUBJID\nA\n")
    (pkg / "lab.csv").write_text("USUBJID,DAY,ER\nA,03.02.2015,10\nA,01.02.2015,20\n")
    text = """
    mapping_version: 1
    study_id: FIX
    datasets:
      dm: {file: dm.csv, key: USUBJID}
      lab: {file: lab.csv, key: USUBJID, reduce: {first: DAY}}
    subjects: dm
    fields:
      patient_id: {from: dm.USUBJID}
      er_percent: {from: lab.ER}
    """
    with pytest.raises(StudyDataError, match="neither numbers nor ISO 8601 dates") as err:
        run(tmp_path, pkg, text)
    assert "date_format" in str(err.value)
    fixed = text.replace("reduce: {first: DAY}", "reduce: {first: DAY, date_format: '%d.%m.%Y'}")
    assert run(tmp_path, pkg, fixed).data["er_percent"].tolist() == [20.0]


# ----------------------------------------------------------------------------------------------
# 2. A blank value as a code


SDTM_OS = """
mapping_version: 1
study_id: FIX
datasets:
  dm: {file: DM.XPT, key: USUBJID}
  sv: {file: SV.XPT, key: USUBJID, reduce: {latest: SVSTDTC}}
subjects: dm
fields:
  patient_id: {from: dm.USUBJID}
  os_months: {dates: {start: dm.RFSTDTC, end: [dm.DTHDTC, sv.LATEST]}}
  os_event: {from: dm.DTHFL, codes: {Y: 1, "": 0}}
constants: {setting: metastatic}
"""


def test_blank_dthfl_is_a_code_and_no_patient_leaves_os(tmp_path, sdtm):
    result = run(tmp_path, sdtm.path, SDTM_OS)
    events = result.data["os_event"]
    assert events.notna().all() and len(events) == sdtm.truth["n"]
    assert int(events.sum()) == sdtm.truth["deaths"]
    info = result.qc["fields"]["os_event"]
    assert info["blank_coded"] == sdtm.truth["n"] - sdtm.truth["deaths"] and info["missing"] == 0


def test_blank_code_leaves_a_subject_without_record_missing(tmp_path, sdtm):
    text = SDTM_OS.replace("  sv: {file: SV.XPT", "  death: {file: DS.XPT, key: USUBJID, filter: [{column: DSDECOD, equals: DEATH}]}\n"
                           "  sv: {file: SV.XPT").replace('os_event: {from: dm.DTHFL, codes: {Y: 1, "": 0}}',
                                                          'os_event: {from: death.DSDECOD, codes: {DEATH: 1, "": 0}}')
    result = run(tmp_path, sdtm.path, text)
    info = result.qc["fields"]["os_event"]
    assert info["no_record"] == sdtm.truth["n"] - sdtm.truth["deaths"]  # counted apart from blanks
    assert info["blank_coded"] == 0 and info["missing"] == sdtm.truth["n"] - sdtm.truth["deaths"]


@pytest.mark.parametrize("codes, message", [
    ("{Y: 1, null: 0}", "null key"),
    ("{1: 1, '1': 0}", "same source value twice"),
])
def test_code_keys_that_can_never_match_are_errors(tmp_path, codes, message):
    text = adam_mapping(fields=f"os_event: {{from: adsl.DTHFL, codes: {codes}}}")
    with pytest.raises(StudyDataError, match=message):
        load(tmp_path, text)


def test_code_key_also_listed_as_missing_is_an_error(tmp_path):
    text = adam_mapping(fields='os_event: {from: adsl.DTHFL, codes: {Y: 1, N: 0}, missing: [N]}')
    with pytest.raises(StudyDataError, match="both under codes and under missing"):
        load(tmp_path, text)


def test_text_code_on_a_numeric_column_can_never_match(tmp_path, adam):
    text = adam_mapping("""
        os: {file: ADTTE.XPT, key: USUBJID, filter: [{column: PARAMCD, equals: OS}]}
        """, 'os_event: {from: os.CNSR, codes: {EVENT: 1, CENSORED: 0}}')
    with pytest.raises(StudyDataError, match="can never match: the source column holds numbers"):
        run(tmp_path, adam.path, text)


def test_unquoted_yes_no_keys_get_a_yaml_hint(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "dm.csv").write_text("USUBJID,ENDO\nA,Yes\nB,No\n")
    with pytest.raises(StudyDataError, match="quote the keys"):
        run(tmp_path, pkg, """
        mapping_version: 1
        study_id: FIX
        datasets: {dm: {file: dm.csv, key: USUBJID}}
        subjects: dm
        fields:
          patient_id: {from: dm.USUBJID}
          endocrine_concurrent: {from: dm.ENDO, codes: {Yes: true, No: false}}
        """)


# ----------------------------------------------------------------------------------------------
# 3. Coalescing fields


def test_death_date_else_last_contact_date_counts_each_source(tmp_path, sdtm):
    result = run(tmp_path, sdtm.path, SDTM_OS)
    got = result.data.set_index("patient_id")["os_months"]
    dm = pd.DataFrame({"start": {f"FIX-SDTM-{i:03d}": (dt.date(2015, 1, 5) + dt.timedelta(days=i)) for i in range(1, sdtm.truth["n"] + 1)}})
    for subject, start in dm["start"].items():
        end = sdtm.truth["death_date"].get(subject) or sdtm.truth["last_contact"][subject]
        assert got[subject] == pytest.approx((dt.date.fromisoformat(end) - start).days / DAYS_PER_MONTH), subject
    sources = result.qc["fields"]["os_months"]["sources"]["end"]
    assert sources == {"dm.DTHDTC": sdtm.truth["deaths"], "sv.LATEST": sdtm.truth["n"] - sdtm.truth["deaths"], "none": 0}
    assert result.qc["fields"]["os_months"]["source"] == "dm.RFSTDTC -> dm.DTHDTC, else sv.LATEST"


def test_coalesced_value_field(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "dm.csv").write_text("USUBJID,AGE\nA,50\nB,\nC,\n")
    (pkg / "sc.csv").write_text("USUBJID,AGEDERIV\nB,61\nC,\n")
    result = run(tmp_path, pkg, """
    mapping_version: 1
    study_id: FIX
    datasets:
      dm: {file: dm.csv, key: USUBJID}
      sc: {file: sc.csv, key: USUBJID}
    subjects: dm
    fields:
      patient_id: {from: dm.USUBJID}
      age_years: {from: [dm.AGE, sc.AGEDERIV]}
    """)
    assert result.data["age_years"].tolist()[:2] == [50.0, 61.0] and pd.isna(result.data["age_years"].iloc[2])
    assert result.qc["fields"]["age_years"]["sources"] == {"dm.AGE": 1, "sc.AGEDERIV": 1, "none": 1}


# ----------------------------------------------------------------------------------------------
# 4. Subject keys that differ between datasets


TTE = """
os:
  file: ADTTE.XPT
  key: USUBJID
  filter: [{column: PARAMCD, equals: OS}]
"""
TTE_FIELDS = """
os_months: {from: os.AVAL, unit: days}
os_event: {from: os.CNSR, codes: {0: 1, 1: 0}}
"""


def test_lower_case_ids_stop_the_study_with_evidence_and_hint(tmp_path):
    pkg = write_adam_package(tmp_path / "adam", n=254, lowercase_tte_ids=30)
    with pytest.raises(StudyDataError) as err:
        run(tmp_path, pkg.path, adam_mapping(TTE, TTE_FIELDS))
    text = str(err.value)
    assert "30 keys of dataset os" in text and "30 of them match once normalized with upper" in text
    assert "key_normalize: [upper]" in text and repr(adam_subject(1)[0].lower()) in text


def test_declared_case_normalization_joins_every_subject(tmp_path):
    pkg = write_adam_package(tmp_path / "adam", n=254, lowercase_tte_ids=30)
    result = run(tmp_path, pkg.path, adam_mapping(TTE + "  key_normalize: [upper]\n", TTE_FIELDS))
    assert result.data["os_months"].notna().sum() == 254
    assert int(result.data["os_event"].sum()) == pkg.truth["deaths"]
    assert result.qc["joins"]["os"]["key_normalize"] == ["upper"] and result.qc["joins"]["os"]["unmatched_keys"] == 0


def test_lab_keyed_by_subjid_without_padding_needs_the_declaration(tmp_path, adam):
    text = adam_mapping("""
        lab:
          file: LB.csv
          key: SUBJID
          join_to: SUBJID
          reduce: {last: LBDTC}
        """, "er_percent: {from: lab.LBORRES}")
    with pytest.raises(StudyDataError) as err:
        run(tmp_path, adam.path, text)
    assert "strip_leading_zeros" in str(err.value) and f"{adam.truth['n']} of them match" in str(err.value)


def test_keys_of_excluded_subjects_are_counted_apart(tmp_path, adam):
    text = adam_mapping('  filter: [{column: ITTFL, equals: "Y"}]\n' + TTE, TTE_FIELDS)
    result = run(tmp_path, adam.path, text)
    join = result.qc["joins"]["os"]
    excluded = adam.truth["n"] - adam.truth["itt"]
    assert join["keys_of_excluded_subjects"] == excluded and join["unknown_keys"] == 0
    assert result.qc["unmatched_rows"]["os"] == excluded and not result.qc["warnings"]


def _stray_tte(pkg, strays):
    import pyreadstat

    from her2meta.simulate.deterministic import xpt_bytes

    frame, _ = pyreadstat.read_xport(str(pkg.path / "ADTTE.XPT"))
    extra = frame[frame["PARAMCD"] == "OS"].head(strays).assign(USUBJID=[f"OTHER-{i}" for i in range(strays)])
    (pkg.path / "ADTTE.XPT").write_bytes(xpt_bytes(pd.concat([frame, extra], ignore_index=True), "ADTTE"))


def test_a_few_unknown_keys_are_counted_and_logged(tmp_path, adam, caplog):
    _stray_tte(adam, 1)  # 1 of 43 keys: below the 5 % default
    with caplog.at_level(logging.WARNING, logger="her2meta.mapping"):
        result = run(tmp_path, adam.path, adam_mapping(TTE, TTE_FIELDS))
    join = result.qc["joins"]["os"]
    assert join["unknown_keys"] == 1 and join["unknown_key_examples"] == ["OTHER-0"] and join["keys"] == adam.truth["n"] + 1
    assert any("1 of 43 keys of dataset os match no subject" in w for w in result.qc["warnings"])
    assert "OTHER-0" not in " ".join(result.qc["warnings"])  # identifiers stay out of the report's warnings
    assert any("OTHER-0" in r.getMessage() for r in caplog.records)


def test_many_unknown_keys_stop_unless_the_fraction_is_raised(tmp_path, adam):
    _stray_tte(adam, 5)  # 5 of 47 keys: above 5 %
    with pytest.raises(StudyDataError, match="more than max_unmatched_fraction 0.05") as err:
        run(tmp_path, adam.path, adam_mapping(TTE, TTE_FIELDS))
    assert "'OTHER-0'" in str(err.value)
    result = run(tmp_path, adam.path, adam_mapping(TTE + "  max_unmatched_fraction: 0.2\n", TTE_FIELDS))
    assert result.qc["joins"]["os"]["unknown_keys"] == 5


def test_normalization_on_the_subjects_dataset_is_refused(tmp_path):
    with pytest.raises(StudyDataError, match="subjects dataset adsl, which joins to nothing"):
        load(tmp_path, adam_mapping("  key_normalize: [upper]\n"))


# ----------------------------------------------------------------------------------------------
# 5. Filters


def test_numeric_comparison_counts_subjects_and_states_the_negation(tmp_path, adam):
    result = run(tmp_path, adam.path, adam_mapping("  filter: [{column: AGE, ge: 50}]\n"))
    expected_out = sum(1 for i in range(1, adam.truth["n"] + 1) if 40 + i % 30 < 50)
    assert result.qc["subjects"]["excluded"] == [{"reason": "AGE is below 50, or missing", "count": expected_out}]
    assert len(result.data) == adam.truth["n"] - expected_out


def test_not_missing_on_a_date_column_excludes_the_blanks(tmp_path, adam):
    for condition in ("{column: DTHDT, not_missing: true}", '{column: DTHDT, not_in: [""]}'):
        result = run(tmp_path, adam.path, adam_mapping(f"  filter: [{condition}]\n"))
        assert len(result.data) == adam.truth["deaths"], condition
    assert result.qc["subjects"]["excluded"][0]["reason"] == "DTHDT is blank"


def test_population_flag_from_suppdm(tmp_path, sdtm):
    text = """
    mapping_version: 1
    study_id: FIX
    datasets:
      dm:
        file: DM.XPT
        key: USUBJID
        filter: [{dataset: itt, column: QVAL, equals: "Y"}]
      itt: {file: SUPPDM.XPT, key: USUBJID, filter: [{column: QNAM, equals: ITTFL}]}
    subjects: dm
    fields:
      patient_id: {from: dm.USUBJID}
    constants: {setting: metastatic}
    """
    result = run(tmp_path, sdtm.path, text)
    assert len(result.data) == sdtm.truth["itt_y"]
    excluded = sdtm.truth["itt_n"] + sdtm.truth["itt_absent"]
    assert result.qc["subjects"]["excluded"] == [{"reason": "itt.QVAL is not 'Y' (or no itt record)", "count": excluded}]
    assert result.qc["exclusions"][-1]["count"] == excluded and result.qc["exclusions"][-1]["field"] == "itt.QVAL"


def test_adsl_flag_applied_to_adtte_records(tmp_path, adam):
    text = adam_mapping(TTE + '  filter: [{column: PARAMCD, equals: OS}, {dataset: adsl, column: ITTFL, equals: "Y"}]\n',
                        TTE_FIELDS)
    text = text.replace("  filter: [{column: PARAMCD, equals: OS}]\n  filter:", "  filter:")
    result = run(tmp_path, adam.path, text)
    non_itt = adam.truth["n"] - adam.truth["itt"]
    assert len(result.data) == adam.truth["n"]
    assert result.qc["fields"]["os_months"]["no_record"] == non_itt
    assert result.qc["filters"]["os"][-1] == {"condition": "adsl.ITTFL is 'Y'", "records_excluded": non_itt}


def test_filters_on_a_long_subjects_dataset_count_subjects_not_rows(tmp_path, adam):
    text = """
    mapping_version: 1
    study_id: FIX
    datasets:
      tte: {file: ADTTE.XPT, key: USUBJID, filter: [{column: PARAMCD, equals: OS}, {column: CNSR, equals: 0}]}
    subjects: tte
    fields:
      patient_id: {from: tte.USUBJID}
    constants: {setting: metastatic}
    """
    result = run(tmp_path, adam.path, text)
    assert result.qc["subjects"]["rows_in"] == adam.truth["n"] and result.qc["subjects"]["records_in"] == 2 * adam.truth["n"]
    assert result.qc["subjects"]["excluded"] == [
        {"reason": "PARAMCD is not 'OS'", "count": 0},  # every subject keeps its OS record
        {"reason": "CNSR is not 0", "count": adam.truth["n"] - adam.truth["deaths"]},
    ]


def test_comparison_on_text_values_stops_with_the_values(tmp_path, adam):
    with pytest.raises(StudyDataError, match="holds values that are not numbers: 'Y'"):
        run(tmp_path, adam.path, adam_mapping("  filter: [{column: ITTFL, gt: 0}]\n"))


# ----------------------------------------------------------------------------------------------
# 6. Unparsable values: units, separators, percent signs


@pytest.fixture()
def messy(tmp_path):
    pkg = tmp_path / "messy"
    pkg.mkdir()
    (pkg / "pts.csv").write_text('ID,AGE,ER,OSDAYS\nA,54 years,30%,"1,237"\nB,61 Years,5 %,980\nC,47,<1%,"2,004.5"\n')
    return pkg


MESSY = """
mapping_version: 1
study_id: FIX
datasets:
  pts: {file: pts.csv, key: ID}
subjects: pts
fields:
  patient_id: {from: pts.ID}
  age_years: {from: pts.AGE, strip_suffix: years}
  er_percent: {from: pts.ER, parse: percent}
  os_months: {from: pts.OSDAYS, unit: days, thousands: ","}
"""


def test_unit_suffix_thousands_separator_and_percent_parse(tmp_path, messy):
    data = run(tmp_path, messy, MESSY).data
    assert data["age_years"].tolist() == [54.0, 61.0, 47.0]
    assert data["er_percent"].tolist() == [30.0, 5.0, 0.0]
    assert data["os_months"].tolist() == pytest.approx([1237 / DAYS_PER_MONTH, 980 / DAYS_PER_MONTH, 2004.5 / DAYS_PER_MONTH])


def test_dataset_level_thousands_separator(tmp_path, messy):
    text = MESSY.replace(', thousands: ","}', "}").replace("pts: {file: pts.csv, key: ID}",
                                                         "pts: {file: pts.csv, key: ID, thousands: \",\"}")
    assert run(tmp_path, messy, text).data["os_months"].iloc[0] == pytest.approx(1237 / DAYS_PER_MONTH)


@pytest.mark.parametrize("field, fixes", [
    ("age_years: {from: pts.AGE, strip_suffix: years}", ["strip_suffix: years"]),
    ("os_months: {from: pts.OSDAYS, unit: days, thousands: \",\"}", ["thousands: ','"]),
    ("er_percent: {from: pts.ER, parse: percent}", ["parse: percent"]),
])
def test_unparsable_values_say_how_to_state_the_format(tmp_path, messy, field, fixes):
    bare = field.replace(", strip_suffix: years", "").replace(', thousands: ","', "").replace(", parse: percent", "")
    with pytest.raises(StudyDataError) as err:
        run(tmp_path, messy, MESSY.replace(field, bare))
    text = str(err.value)
    for fix in fixes:
        assert fix in text
    assert "under fields" in text and ".missing" not in text  # numbers are never to be listed as missing


def test_unparsable_values_show_at_most_ten_distinct_with_counts(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    values = [f"{40 + i} yrs" for i in range(12)] + ["41 yrs", "unknown"]
    (pkg / "pts.csv").write_text("ID,AGE\n" + "".join(f"P{i},{v}\n" for i, v in enumerate(values)))
    with pytest.raises(StudyDataError) as err:
        run(tmp_path, pkg, """
        mapping_version: 1
        study_id: FIX
        datasets: {pts: {file: pts.csv, key: ID}}
        subjects: pts
        fields:
          patient_id: {from: pts.ID}
          age_years: {from: pts.AGE}
        """)
    message = str(err.value).splitlines()[0]
    assert "'41 yrs' (2 rows)" in message and "and 3 more distinct values" in message
    assert message.count(" rows)") == 10
    hint = str(err.value)
    assert "strip_suffix: yrs" in hint and "fields.age_years.missing" in hint  # 'unknown' has no digits: it may be missing


def test_thousands_equal_to_decimal_mark_is_refused(tmp_path):
    with pytest.raises(StudyDataError, match="both as decimal mark and thousands separator"):
        load(tmp_path, MESSY.replace("pts: {file: pts.csv, key: ID}", "pts: {file: pts.csv, key: ID, decimal: \",\", thousands: \",\"}"))


# ----------------------------------------------------------------------------------------------
# File formats: upper-case names, sas7bdat


def test_sas7bdat_fixture_through_a_mapping(tmp_path):
    import shutil

    pkg = tmp_path / "sas"
    pkg.mkdir()
    shutil.copy(SAS7BDAT_FIXTURE, pkg / "adsl.sas7bdat")
    truth = sas7bdat_truth()
    result = run(tmp_path, pkg, """
    mapping_version: 1
    study_id: FIX
    datasets:
      adsl: {file: adsl.sas7bdat, key: USUBJID, filter: [{column: ITTFL, equals: "Y"}]}
    subjects: adsl
    fields:
      patient_id: {from: adsl.USUBJID}
      age_years: {from: adsl.AGE}
    """)
    assert len(result.data) == truth["itt"] and result.qc["subjects"]["rows_in"] == truth["n"]
    ages = result.data.set_index("patient_id")["age_years"].to_dict()
    assert ages == {k: v for k, v in truth["age"].items() if k in ages} and len(ages) == truth["itt"]


# ----------------------------------------------------------------------------------------------
# Building blocks and remaining checks


def test_first_record_by_a_sas_date_column(tmp_path, adam):
    text = adam_mapping("""
        ovr:
          file: ADRS.XPT
          key: USUBJID
          filter: [{column: PARAMCD, equals: OVR}]
          reduce: {first: ADT}
        """, "best_overall_response: {from: ovr.AVALC}")
    got = run(tmp_path, adam.path, text).data.set_index("patient_id")["best_overall_response"]
    for i in range(1, adam.truth["n"] + 1):
        sequence = RECIST_CASES[(i - 1) % len(RECIST_CASES)][0]
        first = min(sequence)[1] if sequence else None  # earliest day; the file holds them in either order
        value = got[adam_subject(i)[0]]
        assert (pd.isna(value) if first is None else value == first), i


def test_earliest_of_several_dates(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "dm.csv").write_text("USUBJID,RANDDT\nA,2015-01-01\nB,2015-01-01\n")
    (pkg / "ev.csv").write_text("USUBJID,RECURDT,DEATHDT\nA,2016-05-01,2016-03-01\nA,2016-04-01,\nB,,2017-01-01\n")
    result = run(tmp_path, pkg, """
    mapping_version: 1
    study_id: FIX
    datasets:
      dm: {file: dm.csv, key: USUBJID}
      ev: {file: ev.csv, key: USUBJID, reduce: {earliest: [RECURDT, DEATHDT]}}
    subjects: dm
    fields:
      patient_id: {from: dm.USUBJID}
      efs_months: {dates: {start: dm.RANDDT, end: ev.EARLIEST}}
    """)
    assert result.data["efs_months"].tolist() == pytest.approx(
        [(dt.date(2016, 3, 1) - dt.date(2015, 1, 1)).days / DAYS_PER_MONTH, (dt.date(2017, 1, 1) - dt.date(2015, 1, 1)).days / DAYS_PER_MONTH])
    assert result.qc["reductions"]["ev"]["from_column"] == {"RECURDT": 0, "DEATHDT": 2}


def test_join_to_column_that_identifies_no_single_subject_is_refused(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "dm.csv").write_text("USUBJID,SUBJID\nS-1-001,001\nS-2-001,001\n")
    (pkg / "lb.csv").write_text("SUBJID,ER\n001,10\n")
    with pytest.raises(StudyDataError, match="2 subjects of dm share a SUBJID value"):
        run(tmp_path, pkg, """
        mapping_version: 1
        study_id: FIX
        datasets:
          dm: {file: dm.csv, key: USUBJID}
          lb: {file: lb.csv, key: SUBJID, join_to: SUBJID}
        subjects: dm
        fields:
          patient_id: {from: dm.USUBJID}
          er_percent: {from: lb.ER}
        """)


@pytest.mark.parametrize("steps, left, right", [
    (["upper"], "s-001", "S-001"),
    (["strip_leading_zeros"], "S-7", "S-007"),
    (["remove_spaces"], "S 001", "S001"),
    (["remove_separators"], "S001", "S-00/1"),
    (["upper", "strip_leading_zeros"], "abc-0042", "ABC-42"),
])
def test_key_normalizations(steps, left, right):
    from her2meta.subject_keys import normalizer, undeclared_matches

    apply = normalizer(steps)
    assert apply(left) == apply(right)
    assert normalizer([])(left) != normalizer([])(right)
    extra, matched = undeclared_matches([left], [right], [])
    assert matched == [left] and len(extra) <= len(steps)


@pytest.mark.parametrize("condition, reason", [
    ({"column": "ITTFL", "equals": "Y"}, "ITTFL is not 'Y'"),
    ({"column": "ARMCD", "in": ["A", "B"]}, "ARMCD is none of 'A', 'B'"),
    ({"column": "ARMCD", "not_in": ["SCRNFAIL"]}, "ARMCD is 'SCRNFAIL'"),
    ({"column": "ARMCD", "not_in": ["SCRNFAIL", "NOTASSGN"]}, "ARMCD is one of 'SCRNFAIL', 'NOTASSGN'"),
    ({"column": "AGE", "gt": 17}, "AGE is 17 or below, or missing"),
    ({"column": "AGE", "lt": 80}, "AGE is 80 or above, or missing"),
    ({"column": "AGE", "le": 79}, "AGE is above 79, or missing"),
    ({"column": "RANDDT", "not_missing": True}, "RANDDT is missing"),
    ({"column": "ITTFL", "equals": "Y", "reason": "not randomized"}, "not randomized"),
])
def test_exclusion_reason_is_the_negation_of_the_kept_condition(condition, reason):
    from her2meta.conditions import describe_kept, exclusion_reason

    assert exclusion_reason(condition) == reason
    if "reason" not in condition:
        assert exclusion_reason(condition) != describe_kept(condition)


def test_no_record_value_on_a_dates_field_is_refused(tmp_path):
    text = adam_mapping(fields="os_months: {dates: {start: adsl.RANDDT, end: adsl.DTHDT}, no_record: 0}")
    with pytest.raises(StudyDataError, match="applies to `from:` fields only"):
        load(tmp_path, text)


def test_population_flag_from_a_dataset_that_reads_another_is_refused(tmp_path):
    text = adam_mapping("""
        a: {file: ADTTE.XPT, key: USUBJID, filter: [{dataset: b, column: CNSR, equals: 0}]}
        b: {file: ADTTE.XPT, key: USUBJID, filter: [{dataset: a, column: CNSR, equals: 0}]}
        """)
    with pytest.raises(StudyDataError, match="which itself reads another dataset"):
        load(tmp_path, text)


def test_assessments_without_a_date_are_counted_not_used(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "dm.csv").write_text("USUBJID,RANDDT\nA,2015-01-01\n")
    (pkg / "rs.csv").write_text("USUBJID,RESP,RSDTC\nA,PR,2015-03-01\nA,PR,\nA,PR,2015-04-01\n")
    result = run(tmp_path, pkg, """
    mapping_version: 1
    study_id: FIX
    datasets:
      dm: {file: dm.csv, key: USUBJID}
      rs: {file: rs.csv, key: USUBJID, reduce: {best_response: {response: RESP, date: RSDTC, start: dm.RANDDT,
                                                               confirmation: confirmed, sd_min_days: 42}}}
    subjects: dm
    fields:
      patient_id: {from: dm.USUBJID}
      best_overall_response: {from: rs.BOR}
    """)
    assert result.data["best_overall_response"].tolist() == ["PR"]  # 31 days apart: confirmed
    assert result.qc["reductions"]["rs"]["records_without_date"] == 1
