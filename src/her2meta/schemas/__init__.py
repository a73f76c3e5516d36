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
