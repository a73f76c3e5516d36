"""Drug dictionary lookups and regimen parsing (FACTS.md section D)."""

import pandas as pd
import pytest

from her2meta.dictionary import DerivationError, DrugDictionary, Regimen, parse_regimen, parse_regimens


@pytest.fixture(scope="module")
def dd():
    return DrugDictionary.load()


@pytest.mark.parametrize(
    "token,expected",
    [
        ("Herceptin", ("trastuzumab",)), ("herceptin hylecta", ("trastuzumab",)),
        ("Ogivri", ("trastuzumab",)), ("trastuzumab-dkst", ("trastuzumab",)),
        ("TRASTUZUMAB DKST", ("trastuzumab",)), ("Kanjinti", ("trastuzumab",)), ("Hercessi", ("trastuzumab",)),
        ("Perjeta", ("pertuzumab",)), ("2C4", ("pertuzumab",)), ("Omnitarg", ("pertuzumab",)),
        ("Phesgo", ("pertuzumab", "trastuzumab")),
        ("T-DM1", ("trastuzumab emtansine",)), ("TDM1", ("trastuzumab emtansine",)),
        ("Kadcyla", ("trastuzumab emtansine",)), ("ado-trastuzumab emtansine", ("trastuzumab emtansine",)),
        ("DS-8201a", ("trastuzumab deruxtecan",)), ("T-DXd", ("trastuzumab deruxtecan",)),
        ("Enhertu", ("trastuzumab deruxtecan",)), ("RC48-ADC", ("disitamab vedotin",)),
        ("GW572016", ("lapatinib",)), ("gw-572016", ("lapatinib",)), ("Tyverb", ("lapatinib",)),
        ("HKI-272", ("neratinib",)), ("ONT-380", ("tucatinib",)), ("MGAH22", ("margetuximab",)),
        ("ZW25", ("zanidatamab",)), ("Adriamycin", ("doxorubicin",)), ("5-FU", ("5-fluorouracil",)),
        ("Abraxane", ("nab-paclitaxel",)), ("Taxotere", ("docetaxel",)), ("Paraplatin", ("carboplatin",)),
        ("ICI 182,780", ("fulvestrant",)), ("PD-0332991", ("palbociclib",)), ("LEE011", ("ribociclib",)),
        ("MK-3475", ("pembrolizumab",)), ("Afinitor", ("everolimus",)),
        ("placebo", ()), ("hyaluronidase-zzxf", ()),
    ],
)
def test_lookup(dd, token, expected):
    assert dd.lookup(token) == expected


@pytest.mark.parametrize("token", ["T", "P", "H", "L", "C", "A", "E", "D", "TCH", "TCHP", "wP", "t", "W P",
                                   "Doc", "FEC", "xyz", "trastuzumabb", ""])
def test_lookup_never_resolves_abbreviations_or_unknowns(dd, token):
    assert dd.lookup(token) is None


def test_classes(dd):
    assert dd.drug_class("trastuzumab emtansine") == "anti_her2_adc"
    assert dd.drug_class("pyrotinib") == "anti_her2_tki"
    assert dd.drug_class("letrozole") == "endocrine"
    assert dd.drug_class("ribociclib") == "cdk46"


def test_full_names_and_canonical_order():
    r = parse_regimen("Pertuzumab + Trastuzumab + Docetaxel")
    assert isinstance(r, Regimen)
    assert r.agents == ("docetaxel", "pertuzumab", "trastuzumab")
    assert r.regimen == "docetaxel+trastuzumab+pertuzumab"
    assert r.anti_her2 == "trastuzumab+pertuzumab"
    assert r.regimen_class == "dual_mab"
    assert (r.chemo_taxane, r.chemo_anthracycline, r.chemo_platinum, r.endocrine_concurrent) == (True, False, False, False)
    with pytest.raises(AttributeError):
        r.regimen = "x"  # frozen


def test_same_regimen_same_string_whatever_the_order():
    a = parse_regimen("trastuzumab/pertuzumab/docetaxel")
    b = parse_regimen("Taxotere; Perjeta, Herceptin")
    assert a == b


def test_abbreviation_trap_T_in_two_studies():
    neoaltto = {"T": "trastuzumab", "L": "lapatinib"}
    tch_study = {"T": "docetaxel", "C": "carboplatin", "H": "trastuzumab"}
    r1 = parse_regimen("L+T", neoaltto)
    r2 = parse_regimen("T+C+H", tch_study)
    assert r1.regimen == "trastuzumab+lapatinib" and r1.regimen_class == "mab_tki"
    assert r2.regimen == "docetaxel+carboplatin+trastuzumab" and r2.regimen_class == "trastuzumab"
    assert r2.chemo_platinum and r2.chemo_taxane and not r1.chemo_taxane


def test_abbreviation_trap_P():
    assert parse_regimen("P+H+D", {"P": "pertuzumab", "H": "trastuzumab", "D": "docetaxel"}).regimen_class == "dual_mab"
    r = parse_regimen("AC->P+H", {"AC": "doxorubicin+cyclophosphamide", "P": "paclitaxel", "H": "Herceptin"})
    assert r.regimen == "doxorubicin+cyclophosphamide+paclitaxel+trastuzumab"
    assert r.regimen_class == "trastuzumab" and r.chemo_anthracycline


def test_multi_agent_abbreviation():
    r = parse_regimen("TCHP", {"TCHP": "docetaxel+carboplatin+trastuzumab+pertuzumab"})
    assert r.regimen == "docetaxel+carboplatin+trastuzumab+pertuzumab"
    assert r.regimen_class == "dual_mab"


def test_unresolved_abbreviation_error_message():
    with pytest.raises(DerivationError) as e:
        parse_regimen("T + Herceptin")
    err = e.value
    assert err.field == "regimen" and err.counts == {"T": 1}
    msg = str(err)
    assert "'T'" in msg and "abbreviations" in msg and "study mapping" in msg


def test_unknown_token_error_lists_all_tokens_with_rows():
    s = pd.Series(["foo + trastuzumab", "foo", "bar+T", "foo"])
    with pytest.raises(DerivationError) as e:
        parse_regimens(s)
    assert e.value.counts == {"foo": 3, "bar": 1, "T": 1}


def test_bad_abbreviation_expansion():
    with pytest.raises(DerivationError) as e:
        parse_regimen("X", {"X": "docetaxel+C"})
    assert e.value.field == "abbreviations" and "C" in e.value.counts


@pytest.mark.parametrize(
    "text,cls,anti",
    [
        ("docetaxel", "none", ""),
        ("trastuzumab + paclitaxel", "trastuzumab", "trastuzumab"),
        ("pertuzumab + docetaxel", "pertuzumab", "pertuzumab"),
        ("Phesgo + docetaxel", "dual_mab", "trastuzumab+pertuzumab"),
        ("trastuzumab + lapatinib + paclitaxel", "mab_tki", "trastuzumab+lapatinib"),
        ("trastuzumab+pyrotinib+docetaxel+carboplatin", "mab_tki", "trastuzumab+pyrotinib"),
        ("lapatinib + paclitaxel", "tki", "lapatinib"),
        ("tucatinib + capecitabine", "tki", "tucatinib"),
        ("T-DM1", "adc", "trastuzumab emtansine"),
        ("Enhertu", "adc", "trastuzumab deruxtecan"),
        ("RC48", "adc", "disitamab vedotin"),
        ("T-DM1 + pertuzumab", "adc_mab", "pertuzumab+trastuzumab emtansine"),
        ("margetuximab + capecitabine", "other_her2", "margetuximab"),
        ("zanidatamab + docetaxel", "other_her2", "zanidatamab"),
        ("T-DM1 + tucatinib", "other_her2", "tucatinib+trastuzumab emtansine"),
        ("placebo + trastuzumab + docetaxel", "trastuzumab", "trastuzumab"),
    ],
)
def test_regimen_classes(text, cls, anti):
    r = parse_regimen(text)
    assert (r.regimen_class, r.anti_her2) == (cls, anti)


def test_placebo_is_ignored_including_placebo_for_named_drug():
    r = parse_regimen("Placebo (pertuzumab) + trastuzumab + docetaxel")
    assert r.agents == ("docetaxel", "trastuzumab")
    r2 = parse_regimen("pertuzumab placebo + Herceptin")
    assert r2.agents == ("trastuzumab",)
    r3 = parse_regimen("placebo")
    assert r3.regimen == "" and r3.regimen_class == "none"


def test_separators_and_qualifiers():
    r = parse_regimen("Epirubicin and cyclophosphamide x4 followed by docetaxel 75 mg/m2 q3w plus trastuzumab IV then letrozole")
    assert r.regimen == "epirubicin+cyclophosphamide+docetaxel+trastuzumab+letrozole"
    assert r.endocrine_concurrent is False  # letrozole only after the anti-HER2 phase
    r2 = parse_regimen("trastuzumab SC + pertuzumab → T-DM1; carboplatin AUC6 (weekly)")
    assert r2.regimen == "carboplatin+trastuzumab+pertuzumab+trastuzumab emtansine"
    assert r2.regimen_class == "adc_mab"


def test_endocrine_concurrent():
    assert parse_regimen("trastuzumab + pertuzumab + letrozole").endocrine_concurrent is True
    assert parse_regimen("paclitaxel then trastuzumab + anastrozole").endocrine_concurrent is True
    assert parse_regimen("letrozole + palbociclib").endocrine_concurrent is False


def test_empty_text_raises():
    with pytest.raises(DerivationError):
        parse_regimen(" + ")


def test_parse_regimens_dataframe():
    s = pd.Series(["T+L", None, "L", "T+L", "AC->TH"], index=[10, 11, 12, 13, 14])
    abbr = {"T": "trastuzumab", "L": "lapatinib", "AC": "doxorubicin+cyclophosphamide",
            "TH": "paclitaxel+trastuzumab"}
    df = parse_regimens(s, abbr)
    assert list(df.columns) == ["regimen", "anti_her2", "regimen_class", "chemo_anthracycline",
                                "chemo_taxane", "chemo_platinum", "endocrine_concurrent"]
    assert df.index.tolist() == [10, 11, 12, 13, 14]
    assert df["regimen"].tolist() == ["trastuzumab+lapatinib", pd.NA, "lapatinib", "trastuzumab+lapatinib",
                                      "doxorubicin+cyclophosphamide+paclitaxel+trastuzumab"]
    assert df["regimen_class"].tolist() == ["mab_tki", pd.NA, "tki", "mab_tki", "trastuzumab"]
    assert df["chemo_anthracycline"].tolist() == [False, pd.NA, False, False, True]
    assert str(df["chemo_taxane"].dtype) == "boolean"


def test_dictionary_rejects_colliding_names(tmp_path):
    bad = tmp_path / "d.yaml"
    bad.write_text("class_order: [taxane]\nagents:\n  - {name: docetaxel, class: taxane, synonyms: [TX1]}\n"
                   "  - {name: paclitaxel, class: taxane, synonyms: [tx-1]}\n")
    with pytest.raises(ValueError, match="resolves to both"):
        DrugDictionary.load(bad)
    bad.write_text("class_order: [taxane]\nagents:\n  - {name: docetaxel, class: taxane, synonyms: [TCH]}\n"
                   "study_only_abbreviations: [TCH]\n")
    with pytest.raises(ValueError, match="study-only"):
        DrugDictionary.load(bad)


# --- Regimens outside the dictionary, declared in the mapping ---------------------------------

def test_declared_whole_regimen_text_takes_its_class_with_unknown_agents_and_flags():
    out = parse_regimens(pd.Series(["Physician's choice", "physicians  choice", "docetaxel + trastuzumab"]),
                         regimens={"Physician's choice": "other"})
    assert out["regimen_class"].tolist() == ["other", "other", "trastuzumab"]
    assert out["regimen"].tolist() == ["Physician's choice", "physicians  choice", "docetaxel+trastuzumab"]
    assert out["anti_her2"].isna().tolist() == [True, True, False]
    assert out["chemo_taxane"].isna().tolist() == [True, True, False]


def test_unlisted_agents_keep_the_known_agents_and_the_investigational_class_wins():
    r = parse_regimen("paclitaxel + trastuzumab + ABC-123 (10 mg/kg)", unlisted_agents={"ABC-123": "investigational"})
    assert (r.regimen, r.anti_her2, r.regimen_class, r.chemo_taxane) == (
        "paclitaxel+trastuzumab+ABC-123", "trastuzumab", "investigational", True)
    both = parse_regimen("ABC-123 + Supportive-X", unlisted_agents={"ABC-123": "investigational", "Supportive-X": "other"})
    assert both.regimen_class == "investigational" and both.declared == ("ABC-123", "Supportive-X")
    assert parse_regimen("Supportive-X + docetaxel", unlisted_agents={"Supportive-X": "other"}).regimen_class == "other"


def test_declarations_that_clash_with_the_dictionary_or_use_an_unknown_class_raise():
    with pytest.raises(DerivationError, match="in the drug dictionary: 'Kadcyla' \\(= trastuzumab emtansine\\)"):
        parse_regimen("docetaxel", unlisted_agents={"Kadcyla": "investigational"})
    with pytest.raises(DerivationError, match="Declare 'ABC-1' as one of other, investigational"):
        parse_regimen("ABC-1", unlisted_agents={"ABC-1": "experimental"})


def test_an_undeclared_unknown_token_still_stops_and_names_the_declaration():
    with pytest.raises(DerivationError) as e:
        parse_regimen("docetaxel + ABC-123")
    assert e.value.counts == {"ABC-123": 1} and "unlisted_agents" in str(e.value)
