"""Define-XML 2.0 / 2.1 reader (her2meta.define): datasets, variables, code lists, record counts.

The documents are written here following the Define-XML structure (ODM root, MetaDataVersion,
ItemGroupDef with ItemRef and def:leaf, ItemDef with Description and CodeListRef, CodeList with
CodeListItem/Decode or EnumeratedItem); the values are invented."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from her2meta.define import DefineError, find_defines, read_define

NS20 = ('xmlns="http://www.cdisc.org/ns/odm/v1.3" xmlns:def="http://www.cdisc.org/ns/def/v2.0" '
        'xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:sponsor="http://example.org/sponsor"')
NS21 = NS20.replace("def/v2.0", "def/v2.1")


def define_20(records_attribute: str = 'sponsor:Records="254"') -> str:
    return textwrap.dedent(f"""\
        <?xml version="1.0" encoding="UTF-8"?>
        <ODM {NS20} FileType="Snapshot" FileOID="DEF.T1" ODMVersion="1.3.2">
          <Study OID="ST.T1">
            <GlobalVariables><StudyName>T-1</StudyName><StudyDescription>test</StudyDescription>
              <ProtocolName>T-1</ProtocolName></GlobalVariables>
            <MetaDataVersion OID="MDV.T1" Name="ADaM" def:DefineVersion="2.0.0">
              <ItemGroupDef OID="IG.ADSL" Name="ADSL" SASDatasetName="ADSL" Repeating="No" IsReferenceData="No"
                  Purpose="Analysis" def:Structure="One record per subject" def:Class="SUBJECT LEVEL ANALYSIS DATASET"
                  def:ArchiveLocationID="LF.ADSL" {records_attribute}>
                <Description><TranslatedText xml:lang="fr">Analyse sujets</TranslatedText>
                  <TranslatedText xml:lang="en">Subject-Level Analysis Dataset</TranslatedText></Description>
                <ItemRef ItemOID="IT.ADSL.USUBJID" Mandatory="Yes" OrderNumber="1" KeySequence="1"/>
                <ItemRef ItemOID="IT.ADSL.ERPCT" Mandatory="No" OrderNumber="2"/>
                <ItemRef ItemOID="IT.ADSL.ITTFL" Mandatory="Yes" OrderNumber="3"/>
                <def:leaf ID="LF.ADSL" xlink:href="adsl.xpt"><def:title>adsl.xpt</def:title></def:leaf>
              </ItemGroupDef>
              <ItemGroupDef OID="IG.ADTTE" Name="ADTTE" Repeating="Yes" Purpose="Analysis"
                  def:Structure="One record per subject per parameter" def:Class="BASIC DATA STRUCTURE"
                  def:CommentOID="COM.ADTTE">
                <Description><TranslatedText>Time-to-Event Analysis Dataset</TranslatedText></Description>
                <ItemRef ItemOID="IT.ADTTE.CNSR" Mandatory="Yes" OrderNumber="1"/>
                <def:leaf ID="LF.ADTTE" xlink:href="../adam/ADTTE.XPT"><def:title>ADTTE.XPT</def:title></def:leaf>
              </ItemGroupDef>
              <ItemDef OID="IT.ADSL.USUBJID" Name="USUBJID" DataType="text" Length="20">
                <Description><TranslatedText xml:lang="en">Unique Subject Identifier</TranslatedText></Description>
              </ItemDef>
              <ItemDef OID="IT.ADSL.ERPCT" Name="ERPCT" DataType="float" Length="8">
                <Description><TranslatedText xml:lang="en">ER Positive Tumour Cells (%)</TranslatedText></Description>
              </ItemDef>
              <ItemDef OID="IT.ADSL.ITTFL" Name="ITTFL" DataType="text" Length="1">
                <Description><TranslatedText xml:lang="en">Intent-To-Treat Population Flag</TranslatedText></Description>
                <CodeListRef CodeListOID="CL.NY"/>
              </ItemDef>
              <ItemDef OID="IT.ADTTE.CNSR" Name="CNSR" DataType="integer" Length="8">
                <Description><TranslatedText xml:lang="en">Censor</TranslatedText></Description>
                <CodeListRef CodeListOID="CL.CNSR"/>
              </ItemDef>
              <CodeList OID="CL.NY" Name="No Yes Response" DataType="text">
                <CodeListItem CodedValue="N"><Decode><TranslatedText xml:lang="en">No</TranslatedText></Decode></CodeListItem>
                <CodeListItem CodedValue="Y"><Decode><TranslatedText xml:lang="en">Yes</TranslatedText></Decode></CodeListItem>
              </CodeList>
              <CodeList OID="CL.CNSR" Name="Censor" DataType="integer">
                <EnumeratedItem CodedValue="0"/><EnumeratedItem CodedValue="1"/>
              </CodeList>
              <CodeList OID="CL.AEDICT" Name="Adverse event dictionary" DataType="text">
                <ExternalCodeList Dictionary="MedDRA" Version="26.0"/>
              </CodeList>
              <def:CommentDef OID="COM.ADTTE">
                <Description><TranslatedText xml:lang="en">Delivered with 1,016 records; one record per subject per parameter.</TranslatedText></Description>
              </def:CommentDef>
            </MetaDataVersion>
          </Study>
        </ODM>
        """)


def test_datasets_labels_files_and_structure(tmp_path):
    path = tmp_path / "define.xml"
    path.write_text(define_20(), encoding="utf-8")
    define = read_define(path)
    assert define.version == "2.0" and define.study_name == "T-1"
    assert sorted(define.datasets) == ["ADSL", "ADTTE"]
    adsl = define.datasets["ADSL"]
    assert adsl.label == "Subject-Level Analysis Dataset"  # the English text, not the first one
    assert adsl.file == "adsl.xpt"
    assert adsl.structure == "One record per subject"
    assert adsl.dataset_class == "SUBJECT LEVEL ANALYSIS DATASET"
    assert list(adsl.items) == ["USUBJID", "ERPCT", "ITTFL"]
    assert adsl.items["ERPCT"].label == "ER Positive Tumour Cells (%)"
    assert adsl.items["USUBJID"].key_sequence == 1 and adsl.items["USUBJID"].length == 20
    assert adsl.items["ERPCT"].mandatory is False and adsl.items["ERPCT"].codelist is None


def test_codelists_with_decodes_enumerations_and_external_dictionaries(tmp_path):
    path = tmp_path / "define.xml"
    path.write_text(define_20(), encoding="utf-8")
    define = read_define(path)
    assert define.datasets["ADSL"].items["ITTFL"].codelist.items == {"N": "No", "Y": "Yes"}
    assert define.datasets["ADTTE"].items["CNSR"].codelist.items == {"0": None, "1": None}
    assert define.codelists["CL.AEDICT"].external == "MedDRA 26.0" and define.codelists["CL.AEDICT"].items == {}


def test_record_counts_from_a_sponsor_attribute_or_a_comment(tmp_path):
    """Define-XML has no record count: a sponsor extension attribute or a comment text is read, and
    where it was found is kept; a structure phrase ("one record per subject") is not a count."""
    path = tmp_path / "define.xml"
    path.write_text(define_20(), encoding="utf-8")
    define = read_define(path)
    assert define.datasets["ADSL"].records == 254
    assert define.datasets["ADSL"].records_source == "attribute Records='254'"
    assert define.datasets["ADTTE"].records == 1016
    assert define.datasets["ADTTE"].records_source.startswith("comment COM.ADTTE")
    path.write_text(define_20(records_attribute=""), encoding="utf-8")
    assert read_define(path).datasets["ADSL"].records is None


@pytest.mark.parametrize("text, records", [
    ("Records: 412", 412), ("412 observations", 412), ("1 record per subject", None),
    ("2 records per subject per parameter", None), ("Analysis of 3 arms", None), ("record count = 1,204", 1204),
])
def test_record_count_phrases_in_a_description(tmp_path, text, records):
    doc = define_20(records_attribute="").replace("Subject-Level Analysis Dataset", f"Subject-Level Analysis Dataset. {text}")
    path = tmp_path / "define.xml"
    path.write_text(doc, encoding="utf-8")
    assert read_define(path).datasets["ADSL"].records == records


def test_define_21_class_element_and_dataset_for_file(tmp_path):
    doc = define_20(records_attribute="").replace(NS20, NS21).replace('def:DefineVersion="2.0.0"', 'def:DefineVersion="2.1.0"')
    doc = doc.replace(' def:Class="SUBJECT LEVEL ANALYSIS DATASET"', "").replace(
        '<def:leaf ID="LF.ADSL"', '<def:Class Name="SUBJECT LEVEL ANALYSIS DATASET"/><def:leaf ID="LF.ADSL"')
    path = tmp_path / "define.xml"
    path.write_text(doc, encoding="utf-8")
    define = read_define(path)
    assert define.version == "2.1"
    assert define.datasets["ADSL"].dataset_class == "SUBJECT LEVEL ANALYSIS DATASET"
    assert define.dataset_for_file("ADSL.XPT").name == "ADSL"            # leaf file name, any case
    assert define.dataset_for_file("adam/adtte.xpt").name == "ADTTE"     # leaf in another folder
    assert define.dataset_for_file("adsl.sas7bdat").name == "ADSL"       # same dataset, other format
    assert define.dataset_for_file("adrs.xpt") is None


@pytest.mark.parametrize("content, message", [
    ("<ODM><Study>", "not well-formed XML"),
    ("<?xml version='1.0'?><html><body/></html>", "its root element is html, not ODM"),
    ("<ODM xmlns='http://www.cdisc.org/ns/odm/v1.3'><Study/></ODM>", "has no MetaDataVersion"),
])
def test_files_that_are_not_define_xml_raise_define_error(tmp_path, content, message):
    path = tmp_path / "define.xml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DefineError, match=message):
        read_define(path)


def test_find_defines_in_a_package(tmp_path):
    for name in ("define.xml", "m5/DEFINE-ADAM.XML", "data.xml", "notes/definitions.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("<ODM/>")
    assert [p.relative_to(tmp_path).as_posix() for p in find_defines(tmp_path)] == ["define.xml", "m5/DEFINE-ADAM.XML"]
    assert find_defines(Path(tmp_path) / "missing") == []


def test_version_from_the_def_namespace_when_define_version_is_absent(tmp_path):
    doc = define_20(records_attribute="").replace(' def:DefineVersion="2.0.0"', "")
    path = tmp_path / "define.xml"
    path.write_text(doc, encoding="utf-8")
    assert read_define(path).version == "2.0"  # from def:Structure, def:leaf, ...
