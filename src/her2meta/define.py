"""Read a CDISC Define-XML 2.0 / 2.1 file (define.xml): the sponsor's description of its datasets.

What is read:
- datasets (ItemGroupDef): name, label (Description), the file it lives in (def:leaf xlink:href),
  structure, class, domain and purpose, and its variables in order (ItemRef);
- variables (ItemDef): name, label, data type, length, code list;
- code lists (CodeList): each coded value with its decode (CodeListItem, EnumeratedItem), or the
  external dictionary it names (ExternalCodeList);
- a record count per dataset, when the sponsor put one in (see below).

Record counts. Define-XML 2.0 and 2.1 have no element or attribute for a dataset's number of
records (ItemGroupDef carries OID, Name, Repeating, IsReferenceData, SASDatasetName, Domain,
Purpose, Structure, Class, ArchiveLocationID, CommentOID, and in 2.1 IsNonStandard, HasNoData,
StandardOID: none is a count; Dataset-JSON, not Define-XML, has `records`). Sponsors who state
one do it outside the standard, and two forms are read here:
  1. an extension attribute on ItemGroupDef whose local name is one of `Records`, `RecordCount`,
     `NumberOfRecords`, `NRecords`, `NObs`, `Observations` (any namespace, any case);
  2. text in the dataset's Description, its def:CommentDef (def:CommentOID) or its def:leaf
     title: "254 records" / "Records: 254" / "observations = 254" ("1 record per subject" and
     "2 records per subject per parameter" describe the structure, not a count, and are ignored).
`Dataset.records_source` says where the count was found, so a message can quote it.

API (used by the extraction cross-check and by `her2meta mapping scaffold`):

    define = read_define(path)               # DefineError if the file is not Define-XML
    ds = define.datasets["ADSL"]             # names upper-case; also define.dataset_for_file("adsl.xpt")
    ds.label, ds.file, ds.records, ds.structure, ds.dataset_class
    ds.items["ERPCT"].label, ds.items["SEX"].codelist.items   # {"F": "Female", "M": "Male"}
    find_defines(package_dir)                # define*.xml files of a package, sorted
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

XLINK = "{http://www.w3.org/1999/xlink}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_RECORD_ATTRIBUTES = {"records", "recordcount", "numberofrecords", "nrecords", "nobs", "observations"}
_COUNT_TEXT = (
    re.compile(r"(?<![\w.])(\d[\d,]*)\s+(?:records|observations|rows)\b(?!\s+per\b)", re.IGNORECASE),
    re.compile(r"\b(?:records|observations|number\s+of\s+records|record\s+count)\s*[:=]\s*(\d[\d,]*)\b", re.IGNORECASE),
)


class DefineError(ValueError):
    """The file is not readable as Define-XML (not XML, or no ODM/MetaDataVersion in it)."""


@dataclass(frozen=True)
class CodeList:
    oid: str
    name: str
    data_type: str | None
    items: dict[str, str | None]  # coded value -> decode (None for an EnumeratedItem)
    external: str | None = None   # "MedDRA 26.0" for an ExternalCodeList


@dataclass(frozen=True)
class Item:
    oid: str
    name: str
    label: str | None
    data_type: str | None
    length: int | None
    codelist: CodeList | None
    mandatory: bool | None = None
    order: int | None = None
    key_sequence: int | None = None


@dataclass(frozen=True)
class Dataset:
    oid: str
    name: str
    label: str | None
    file: str | None              # def:leaf xlink:href, as written (relative to the define.xml)
    records: int | None
    records_source: str | None    # where the count was read, e.g. "attribute Records" or "comment COM.ADSL"
    structure: str | None
    dataset_class: str | None
    domain: str | None
    purpose: str | None
    items: dict[str, Item] = field(default_factory=dict)  # by variable name (upper-case), in ItemRef order


@dataclass(frozen=True)
class Define:
    path: str
    version: str | None           # "2.0", "2.1" (from the def namespace), None if not stated
    study_name: str | None
    datasets: dict[str, Dataset]  # by dataset name, upper-case
    codelists: dict[str, CodeList]

    def dataset_for_file(self, file_name: str) -> Dataset | None:
        """The dataset whose def:leaf names this file (case-insensitive), else the one named like
        the file's stem (adsl.sas7bdat -> ADSL), else None."""
        wanted = PurePosixPath(str(file_name).replace("\\", "/"))
        for ds in self.datasets.values():
            if ds.file and PurePosixPath(ds.file.replace("\\", "/")).name.lower() == wanted.name.lower():
                return ds
        return self.datasets.get(wanted.stem.upper())


def find_defines(package_dir: Path | str) -> list[Path]:
    """The package's Define-XML files: *.xml whose name starts with "define" (any case), at any
    depth, sorted (define.xml, define-adam.xml, m5/.../define.xml)."""
    root = Path(package_dir)
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() == ".xml"
                  and p.name.lower().startswith("define"))


def read_define(path: Path | str) -> Define:
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise DefineError(f"{path.name} is not well-formed XML: {exc}") from exc
    except OSError as exc:
        raise DefineError(f"cannot read {path.name}: {exc}") from exc
    if _local(root.tag) != "ODM":
        raise DefineError(f"{path.name} is not Define-XML: its root element is {_local(root.tag)}, not ODM")
    mdv = next((e for e in root.iter() if _local(e.tag) == "MetaDataVersion"), None)
    if mdv is None:
        raise DefineError(f"{path.name} is not Define-XML: it has no MetaDataVersion")
    study_name = next((_text(e) for e in root.iter() if _local(e.tag) == "StudyName"), None)
    comments = {e.get("OID"): _description(e) for e in mdv if _local(e.tag) == "CommentDef"}
    codelists = {cl.oid: cl for cl in (_codelist(e) for e in mdv if _local(e.tag) == "CodeList")}
    item_defs = {e.get("OID"): e for e in mdv if _local(e.tag) == "ItemDef"}
    datasets: dict[str, Dataset] = {}
    for group in (e for e in mdv if _local(e.tag) == "ItemGroupDef"):
        ds = _dataset(group, item_defs, codelists, comments)
        datasets[ds.name.upper()] = ds
    return Define(path=str(path), version=_version(root, mdv), study_name=study_name, datasets=datasets,
                  codelists=codelists)


# ----------------------------------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _attr(element: ET.Element, name: str) -> str | None:
    """An attribute by local name, in any namespace (def:Structure, Structure)."""
    for key, value in element.attrib.items():
        if _local(key) == name:
            return value
    return None


def _text(element: ET.Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    text = " ".join(element.text.split())
    return text or None


def _description(element: ET.Element) -> str | None:
    """The English (or unlabelled, else the first) TranslatedText of the element's Description."""
    return _translated(next((c for c in element if _local(c.tag) == "Description"), None))


def _translated(element: ET.Element | None) -> str | None:
    if element is None:
        return None
    texts = [t for t in element if _local(t.tag) == "TranslatedText"]
    english = [t for t in texts if (t.get(XML_LANG) or "en").lower().startswith("en")]
    return _text((english or texts)[0]) if texts else None


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(str(value).replace(",", "").strip())
    except ValueError:
        return None


def _version(root: ET.Element, mdv: ET.Element) -> str | None:
    """From def:DefineVersion (2.0.0 -> "2.0"), else from the def namespace of any element or
    attribute (ElementTree keeps no xmlns declarations, only the expanded names)."""
    version = _attr(mdv, "DefineVersion")
    if version:
        return ".".join(version.split(".")[:2])
    for element in root.iter():
        for name in (element.tag, *element.attrib):
            match = re.search(r"cdisc\.org/ns/def/v(\d+\.\d+)", name if isinstance(name, str) else "")
            if match:
                return match.group(1)
    return None


def _codelist(element: ET.Element) -> CodeList:
    items: dict[str, str | None] = {}
    external = None
    for child in element:
        kind = _local(child.tag)
        if kind == "CodeListItem":
            decode = next((c for c in child if _local(c.tag) == "Decode"), None)
            items[child.get("CodedValue", "")] = _translated(decode)
        elif kind == "EnumeratedItem":
            items[child.get("CodedValue", "")] = None
        elif kind == "ExternalCodeList":
            external = " ".join(v for v in (child.get("Dictionary"), child.get("Version")) if v) or None
    return CodeList(oid=element.get("OID", ""), name=element.get("Name", ""), data_type=element.get("DataType"),
                    items=items, external=external)


def _dataset(group: ET.Element, item_defs: dict, codelists: dict, comments: dict) -> Dataset:
    name = group.get("Name") or group.get("SASDatasetName") or group.get("OID", "")
    leaf = next((c for c in group if _local(c.tag) == "leaf"), None)
    leaf_title = _text(next((c for c in leaf if _local(c.tag) == "title"), None)) if leaf is not None else None
    label = _description(group) or _attr(group, "Label")
    class_element = next((c for c in group if _local(c.tag) == "Class"), None)  # 2.1: <def:Class Name="...">
    dataset_class = class_element.get("Name") if class_element is not None else _attr(group, "Class")
    comment_oid = _attr(group, "CommentOID")
    records, source = _records(group, [("description", label), (f"comment {comment_oid}", comments.get(comment_oid)),
                                       ("leaf title", leaf_title)])
    items: dict[str, Item] = {}
    for ref in (c for c in group if _local(c.tag) == "ItemRef"):
        definition = item_defs.get(ref.get("ItemOID"))
        if definition is None:
            continue
        codelist_ref = next((c for c in definition if _local(c.tag) == "CodeListRef"), None)
        item = Item(
            oid=definition.get("OID", ""),
            name=definition.get("Name") or definition.get("SASFieldName") or "",
            label=_description(definition) or _attr(definition, "Label"),
            data_type=definition.get("DataType"),
            length=_int(definition.get("Length")),
            codelist=codelists.get(codelist_ref.get("CodeListOID")) if codelist_ref is not None else None,
            mandatory={"Yes": True, "No": False}.get(ref.get("Mandatory", "")),
            order=_int(ref.get("OrderNumber")),
            key_sequence=_int(ref.get("KeySequence")),
        )
        items[item.name.upper()] = item
    return Dataset(oid=group.get("OID", ""), name=name, label=label,
                   file=leaf.get(f"{XLINK}href") if leaf is not None else None, records=records,
                   records_source=source, structure=_attr(group, "Structure"), dataset_class=dataset_class,
                   domain=group.get("Domain"), purpose=group.get("Purpose"), items=items)


def _records(group: ET.Element, texts: list[tuple[str, str | None]]) -> tuple[int | None, str | None]:
    for key, value in group.attrib.items():
        if _local(key).lower() in _RECORD_ATTRIBUTES and _int(value) is not None:
            return _int(value), f"attribute {_local(key)}={value!r}"
    for where, text in texts:
        if not text:
            continue
        for pattern in _COUNT_TEXT:
            match = pattern.search(text)
            if match:
                return _int(match.group(1)), f"{where}: {match.group(0)!r}"
    return None, None
