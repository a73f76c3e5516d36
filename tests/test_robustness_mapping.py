"""Property tests (hypothesis): whatever a sponsor's package and a mapping hold (random column
names, codes, missing patterns and types), extraction and harmonization either give tables that
follow the data model or stop with the project's own clear error (StudyDataError naming the
study); never another exception, and their QC records are always valid JSON."""

from __future__ import annotations

import json
import string
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from her2meta.errors import StudyDataError
from her2meta.harmonize import harmonize_study
from her2meta.io import canonical_json
from her2meta.mapping import apply_mapping, canonical_code, load_mapping, mappable_fields
from her2meta.schemas import field_kind, harmonized_fields

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FIELDS = sorted(name for name in mappable_fields() if name != "patient_id")
STUDY = "FUZZ-1"

# Text a sponsor file may hold: codes, numbers in several spellings, percentages, dates, blanks.
CELL_TEXT = st.one_of(
    st.sampled_from(["", " ", "NA", "n/a", "unknown", "Y", "N", "Yes", "No", "0", "1", "2", "3+", "2+", "1+",
                     "85%", "<1%", "10 %", "1,5", "3.7", "-4", "1e300", "inf", "nan", "ypT0", "ypTis", "ypN0(i+)",
                     "ypT1c", "ypN1", "CR", "PR", "PD", "positive", "negative", "pre", "post", "2015-03-01",
                     "01.02.2016", "paclitaxel+trastuzumab", "TCHP", "T-DM1", "é", "Zürich", "a,b", 'say "x"']),
    st.text(alphabet=string.ascii_letters + string.digits + " .,;-+%<>/'\"éü", max_size=8),
)
NUMERIC_TEXT = st.one_of(st.integers(0, 400).map(str), st.floats(0, 120, allow_nan=False).map(lambda x: f"{x:.1f}"),
                         st.sampled_from(["", "0", "1", "2015-03-01", "2016-07-19", "2014-12-31"]))
COLUMN_NAME = st.one_of(st.sampled_from(["USUBJID", "AGE", "ER", "CNSR", "AVAL", "ARM", "PARAMCD", "ITTFL", "DT"]),
                        st.text(alphabet=string.ascii_letters + string.digits + " _-éü", min_size=1, max_size=8))


@st.composite
def packages(draw):
    """A two-file package: (files {name: DataFrame}, separator, encoding written)."""
    n = draw(st.one_of(st.integers(1, 6), st.just(0)))
    if draw(st.integers(0, 4)):  # usually one row per subject, as a subject-level dataset should be
        ids = [f"S{i}" for i in draw(st.permutations(range(1, 7)))[:n]]
    else:
        ids = draw(st.lists(st.sampled_from(["S1", "S2", "S3", "1", "01", ""]), min_size=n, max_size=n))
    columns = draw(st.lists(COLUMN_NAME, min_size=1, max_size=5, unique=True))
    frame = pd.DataFrame({"USUBJID": ids})
    for column in columns:
        if column == "USUBJID":
            continue
        cells = NUMERIC_TEXT if draw(st.booleans()) else CELL_TEXT
        frame[column] = draw(st.lists(cells, min_size=n, max_size=n))
    second = frame.copy()
    if len(second):
        second["PARAMCD"] = draw(st.lists(st.sampled_from(["EFS", "OS"]), min_size=n, max_size=n))
    fmt = draw(st.sampled_from(["csv", "csv", "dta", "xpt"]))
    if fmt != "csv":  # typed formats: some columns numeric (with missing values), names as SAS/Stata allow
        for table in (frame, second):
            table.columns = _typed_names(table.columns)
            for column in table.columns[1:]:
                if column != "PARAMCD" and draw(st.booleans()):
                    numbers = pd.to_numeric(table[column], errors="coerce").astype(float)
                    table[column] = numbers.where(np.isfinite(numbers))  # SAS and Stata hold no infinity
    return ({f"dm.{fmt}": frame, f"tte.{fmt}": second}, draw(st.sampled_from([",", ";", "\t"])),
            draw(st.sampled_from(["utf-8", "latin-1"])))


def _typed_name(name: str, index: int) -> str:
    cleaned = "".join(ch for ch in name if ch.isascii() and ch.isalnum())[:7]
    return cleaned if cleaned[:1].isalpha() else f"V{index}{cleaned}"[:8]


def _typed_names(columns) -> list[str]:
    """SAS and Stata names, unique whatever their case: XPT holds no "DT" beside "dT", and cleaning can
    make two names one ("a_b", "ab")."""
    names: list[str] = []
    for index, column in enumerate(columns):
        name = column if column in ("USUBJID", "PARAMCD") else _typed_name(column, index)
        taken = {n.upper() for n in names}
        suffix = 0
        while name.upper() in taken:
            name, suffix = f"V{index}X{suffix}"[:8], suffix + 1
        names.append(name)
    return names


CODE_TARGET = st.one_of(st.none(), st.booleans(), st.integers(-2, 3), st.floats(allow_nan=False, allow_infinity=False),
                        st.sampled_from(["positive", "negative", "unknown", "pre", "T2", "N1", "3+", "x", "true", "1"]))


KIND_TARGETS = {
    "boolean": st.one_of(st.none(), st.booleans(), st.sampled_from([0, 1, "true", "false"])),
    "integer": st.one_of(st.none(), st.integers(-2, 3)),
    "number": st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False), st.sampled_from([0, 1, 100, 150, -1])),
    "string": st.one_of(st.none(), st.sampled_from(["positive", "negative", "unknown", "pre", "post", "T2", "N1", "3+",
                                                    "1+", "0", "ypT0", "ypN0", "CR", "PD", "x", "trastuzumab"])),
}


@st.composite
def field_rules(draw, name, frame):
    """Options that suit the field's type most of the time, anything at all otherwise."""
    columns = list(frame.columns)
    kind = field_kind(mappable_fields()[name])
    wild = draw(st.integers(0, 9)) == 0
    column = draw(COLUMN_NAME) if wild else draw(st.sampled_from(columns))
    rule: dict = {"from": f"{draw(st.sampled_from(['dm', 'tte']))}.{column}"}
    numeric = kind in ("number", "integer")
    if wild:
        parses = ["text", "number", "integer", "percent", "date"]
    else:
        parses = ["number", "integer", "percent"] if numeric else ["text"]
    if draw(st.booleans()):
        rule["parse"] = draw(st.sampled_from(parses))
    if kind == "boolean" or draw(st.booleans()):
        present = [canonical_code(v) for v in frame[column]] if column in frame else []
        keys = sorted({v for v in present if v and draw(st.integers(0, 5))})  # most observed values, sometimes not all
        keys += draw(st.lists(CELL_TEXT.filter(lambda s: s.strip() != ""), max_size=2, unique=True))
        rule["codes"] = {k: draw(CODE_TARGET if wild else KIND_TARGETS[kind]) for k in keys}
    if draw(st.booleans()):
        rule["missing"] = draw(st.lists(st.sampled_from(["", "NA", "unknown", "n/a"]), max_size=2))
    if (wild or name.endswith("_months")) and draw(st.booleans()):
        rule["unit"] = draw(st.sampled_from(["days", "weeks", "months", "years"]))
    if name.endswith("_months") and not wild and draw(st.integers(0, 3)) == 0:
        rule = {"dates": {"start": f"dm.{draw(st.sampled_from(columns))}", "end": f"tte.{draw(st.sampled_from(columns))}"}}
    return rule


@st.composite
def mappings(draw, package):
    files, sep, _ = package
    dm_file, tte_file = list(files)
    frame = files[dm_file]
    columns = list(frame.columns)
    dm = {"file": dm_file, "key": "USUBJID", "encoding": draw(st.sampled_from(["utf-8", "latin-1"]))}
    tte = {"file": tte_file, "key": "USUBJID"}
    if dm_file.endswith(".csv"):
        dm["sep"] = tte["sep"] = sep
    if draw(st.booleans()):
        dm["filter"] = [{"column": draw(st.sampled_from(columns)), "not_in": [draw(CELL_TEXT)], "reason": "fuzz"}]
    if draw(st.booleans()):
        tte["filter"] = [{"column": "PARAMCD", "equals": "EFS"}]
    fields = {"patient_id": {"from": "dm.USUBJID"}}
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=4, unique=True)):
        fields[name] = draw(field_rules(name, frame))
        pair = {"_months": "_event", "_event": "_months"}
        for suffix, other in pair.items():  # usually give a time with its event, as real mappings do
            if name.endswith(suffix) and draw(st.booleans()):
                partner = name.removesuffix(suffix) + other
                fields.setdefault(partner, draw(field_rules(partner, frame)))
    spec = {"mapping_version": 1, "study_id": STUDY, "datasets": {"dm": dm, "tte": tte}, "subjects": "dm",
            "fields": fields, "constants": {"setting": "neoadjuvant"}}
    if draw(st.booleans()):
        spec["data_cutoff"] = {"date": "2016-01-01", **({"start": "dm.DT"} if draw(st.booleans()) else {})}
    return spec


def _write(folder: Path, package, spec) -> Path:
    files, sep, encoding = package
    for name, frame in files.items():
        if name.endswith(".csv"):
            text = frame.to_csv(sep=sep, index=False, lineterminator="\n")
            (folder / name).write_bytes(text.encode(encoding, errors="replace"))
        elif name.endswith(".dta"):
            with warnings.catch_warnings():  # a Stata reserved word as a column name is renamed: fine here
                warnings.simplefilter("ignore")
                frame.to_stata(folder / name, write_index=False, version=118)
        else:
            import pyreadstat

            ascii_frame = frame.apply(lambda col: col.map(lambda v: v.encode("ascii", "replace").decode() if isinstance(v, str) else v))
            pyreadstat.write_xport(ascii_frame, str(folder / name), file_format_version=5)
    path = folder / f"{STUDY}.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return path


def _check_follows_model(data: pd.DataFrame) -> None:
    for name, prop in harmonized_fields().items():
        assert name in data.columns
        values = data[name].dropna()
        if "enum" in prop:
            assert values.isin([v for v in prop["enum"] if v is not None]).all(), name
        if field_kind(prop) in ("number", "integer") and len(values):
            numbers = values.astype(float)
            assert np.isfinite(numbers).all(), name
            if "minimum" in prop:
                assert (numbers >= prop["minimum"]).all(), name
            if "maximum" in prop:
                assert (numbers <= prop["maximum"]).all(), name


def _extract_and_harmonize(package, spec) -> str:
    """The property: only StudyDataError escapes, QC is valid JSON, output follows the model.
    Returns where the package ended: "refused by the mapping", "refused by harmonization" or
    "harmonized"."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = _write(folder, package, spec)
        try:
            result = apply_mapping(load_mapping(path, study=STUDY), folder)
        except StudyDataError as exc:
            assert str(exc).startswith(f"study {STUDY}: ") and (exc.hint or exc.file)
            return "refused by the mapping"
        json.loads(canonical_json(result.qc))  # NaN or infinity would not be valid JSON
        assert result.data["patient_id"].is_unique and result.data["patient_id"].notna().all()
        try:
            harmonized, qc = harmonize_study(result.data, study={"study_id": STUDY, "setting": "neoadjuvant"})
        except StudyDataError as exc:
            assert str(exc).startswith(f"study {STUDY}: ")
            return "refused by harmonization"
        json.loads(canonical_json(qc))
        _check_follows_model(harmonized)
        return "harmonized"


@SETTINGS
@given(st.data())
def test_extraction_and_harmonization_raise_only_clear_errors(data):
    package = data.draw(packages())
    _extract_and_harmonize(package, data.draw(mappings(package)))


def test_an_all_blank_package():
    package = ({"dm.csv": pd.DataFrame({"USUBJID": ["S1", "S2"], "ER": ["", ""]}),
                "tte.csv": pd.DataFrame({"USUBJID": ["S1"], "ER": [""], "PARAMCD": ["EFS"]})}, ",", "utf-8")
    spec = {"mapping_version": 1, "study_id": STUDY, "datasets": {"dm": {"file": "dm.csv", "key": "USUBJID"},
            "tte": {"file": "tte.csv", "key": "USUBJID"}}, "subjects": "dm",
            "fields": {"patient_id": {"from": "dm.USUBJID"}, "er_percent": {"from": "dm.ER", "parse": "percent"}}}
    assert _extract_and_harmonize(package, spec) == "harmonized"


def test_a_clean_package_is_harmonized():
    """The fuzz property must not hold vacuously: an ordinary package goes all the way through."""
    package = ({"dm.csv": pd.DataFrame({"USUBJID": ["S1", "S2", "S3"], "ER": ["0", "50", "90"], "AGE": ["41", "55", "63"]}),
                "tte.csv": pd.DataFrame({"USUBJID": ["S1", "S2", "S3"], "AVAL": ["12.5", "30", "7"], "CNSR": ["0", "1", "0"],
                                         "PARAMCD": ["EFS", "EFS", "EFS"]})}, ",", "utf-8")
    spec = {"mapping_version": 1, "study_id": STUDY, "datasets": {"dm": {"file": "dm.csv", "key": "USUBJID"},
            "tte": {"file": "tte.csv", "key": "USUBJID"}}, "subjects": "dm",
            "fields": {"patient_id": {"from": "dm.USUBJID"}, "er_percent": {"from": "dm.ER", "parse": "percent"},
                       "age_years": {"from": "dm.AGE", "parse": "number"}},
            "constants": {"setting": "neoadjuvant"}}
    assert _extract_and_harmonize(package, spec) == "harmonized"


# ----------------------------------------------------------------------------------------------
# Harmonization alone, on extracted tables of every type the mapping step can produce.


def _values(kind: str):
    if kind == "boolean":
        return st.one_of(st.none(), st.booleans())
    if kind == "integer":
        return st.one_of(st.none(), st.integers(-3, 5), st.sampled_from([10 ** 12, -(10 ** 12)]))
    if kind == "number":
        return st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True),
                         st.sampled_from([0.0, 1.0, 99.5, 100.0, 100.5, 1e-300, 1e300, -0.0]))
    return st.one_of(st.none(), CELL_TEXT, st.sampled_from(["3+", "2+", "0", "ypT0", "ypN0", "ypTis", "ypT2", "ypN1",
                                                           "positive", "negative", "unknown", "CR", "PR", "SD", "PD",
                                                           "paclitaxel+trastuzumab", "docetaxel+trastuzumab+pertuzumab",
                                                           "T2", "N1", "pre", "post", "null", "ultralow"]))


@st.composite
def extracted_tables(draw):
    n = draw(st.integers(1, 8))
    fields = mappable_fields()
    frame = pd.DataFrame({"study_id": [STUDY] * n, "patient_id": [f"P{i}" for i in range(n)]})
    for name in draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=8, unique=True)):
        kind = field_kind(fields[name])
        values = draw(st.lists(_values(kind), min_size=n, max_size=n))
        if kind == "boolean":
            frame[name] = pd.array(values, dtype="boolean")
        elif kind == "integer":
            frame[name] = pd.array(values, dtype="Int64")
        elif kind == "number":
            frame[name] = pd.array([np.nan if v is None else v for v in values], dtype=float)
        else:
            frame[name] = pd.Series(values, dtype=object)
    return frame


@SETTINGS
@given(extracted_tables(), st.sampled_from([1.0, 10.0]), st.booleans(),
       st.dictionaries(st.sampled_from(["T", "P", "H", "TCHP"]), st.sampled_from(["trastuzumab", "pertuzumab", "docetaxel"])))
def test_harmonization_raises_only_clear_errors(frame, threshold, itc, abbreviations):
    try:
        harmonized, qc = harmonize_study(frame, study={"study_id": STUDY, "setting": "neoadjuvant"}, hr_threshold=threshold,
                                         itc_is_pcr=itc, abbreviations=abbreviations)
    except StudyDataError as exc:
        assert str(exc).startswith(f"study {STUDY}: ") and exc.field
        return
    assert len(harmonized) == len(frame) and list(harmonized["patient_id"]) == list(frame["patient_id"])
    json.loads(canonical_json(qc))
    _check_follows_model(harmonized)
    for exclusion in qc["exclusions"]:  # counted, never silent: each entry a positive count of rows
        assert 0 < exclusion["count"] <= len(frame) and exclusion["reason"] and exclusion["action"]


def test_harmonization_takes_a_clean_table():
    """The property above must not hold vacuously: an ordinary extracted table is harmonized."""
    frame = pd.DataFrame({"study_id": [STUDY] * 3, "patient_id": ["P0", "P1", "P2"],
                          "er_percent": [0.0, 50.0, 90.0], "pr_percent": [0.0, 0.0, 20.0],
                          "her2_ihc": pd.Series(["3+", "2+", "3+"], dtype=object)})
    harmonized, qc = harmonize_study(frame, study={"study_id": STUDY, "setting": "neoadjuvant"})
    assert list(harmonized["hr_status"]) == ["negative", "positive", "positive"]
    json.loads(canonical_json(qc))
    _check_follows_model(harmonized)
