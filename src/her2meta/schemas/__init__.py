"""JSON Schemas shipped with the package: config, study sheet, mapping, harmonized data model.

They live in the package (not only in workflow/) so the command line, the tests and the
workflow validate with the very same files.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any


def schema_path(name: str) -> Path:
    return Path(str(resources.files(__package__).joinpath(f"{name}.json")))


@lru_cache(maxsize=None)
def load_schema(name: str) -> dict[str, Any]:
    return json.loads(schema_path(name).read_text(encoding="utf-8"))


def harmonized_fields() -> dict[str, dict[str, Any]]:
    """Field name -> property schema of the harmonized data model, in model order."""
    return load_schema("harmonized")["properties"]


def field_kind(prop: dict[str, Any]) -> str:
    """The non-null JSON type of a property: string, number, integer or boolean."""
    types = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
    return next(t for t in types if t != "null")


def data_model_markdown() -> str:
    """docs/data_model.md, generated from schemas/harmonized.json (the single source of truth)."""
    schema = load_schema("harmonized")
    lines = [
        "# Harmonized data model",
        "",
        "<!-- Generated from src/her2meta/schemas/harmonized.json by",
        "     `python -c \"from her2meta.schemas import data_model_markdown as d; print(d(), end='')\" > docs/data_model.md`;",
        "     tests/test_docs.py fails when this page and the schema disagree. -->",
        "",
        schema["title"] + ". Times are in months from randomization (or enrolment).",
        "Patient-level data in this model stay in `results/extracted` and `results/harmonized` (the secure zone).",
        "",
    ]
    group = None
    for name, prop in schema["properties"].items():
        if prop["x-group"] != group:
            group = prop["x-group"]
            lines += ["", f"## {group.capitalize()}", "", "| field | type | required | allowed values | meaning |", "|---|---|---|---|---|"]
        kind = field_kind(prop)
        required = "yes" if name in schema["required"] else ""
        allowed = ""
        if "enum" in prop:
            allowed = ", ".join(f"`{v}`" for v in prop["enum"] if v is not None)
        elif "minimum" in prop or "maximum" in prop:
            allowed = f"{prop.get('minimum', '')} to {prop.get('maximum', '')}".strip()
        lines.append(f"| `{name}` | {kind} | {required} | {allowed} | {prop['description']} |")
    return "\n".join(lines) + "\n"
