"""The documentation stays true to the code: generated pages in sync, every key documented."""

from __future__ import annotations

import re
from pathlib import Path

from her2meta.schemas import data_model_markdown, load_schema

ROOT = Path(__file__).resolve().parents[1]


def test_data_model_page_is_generated_from_the_schema():
    assert (ROOT / "docs" / "data_model.md").read_text() == data_model_markdown()


def test_readme_quick_start_is_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    # the cluster extra too: the profile and storage tests need its plugins, and CI installs it
    assert "pip install -e '.[test,cluster]' && snakemake --cores 8" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert "-e '.[test,cluster]'" in ci
    assert re.search(r"^pytest\s", readme, flags=re.M)


def _keys(schema: dict, prefix: str = "") -> set[str]:
    keys = set()
    for name, prop in schema.get("properties", {}).items():
        keys.add(name)
        keys |= _keys(prop)
    return keys


def test_config_readme_documents_every_key_and_column():
    text = (ROOT / "config" / "README.md").read_text()
    config = load_schema("config")
    names = _keys(config) | _keys(config["$defs"]["analysis"]) | _keys(config["$defs"]["comparison"])
    names |= _keys(load_schema("studies"))
    mapping = load_schema("mapping")
    names |= _keys(mapping) | _keys(mapping["$defs"]["dataset"]) | _keys(mapping["$defs"]["field"])
    names |= _keys(mapping["$defs"]["condition"])
    undocumented = sorted(n for n in names if not re.search(rf"`[^`]*\b{re.escape(n)}\b[^`]*`", text))
    assert not undocumented, f"config/README.md does not mention: {undocumented}"


def test_every_method_page_linked_from_readme_exists():
    readme = (ROOT / "README.md").read_text()
    for link in re.findall(r"\]\((docs/[^)]+)\)", readme):
        assert (ROOT / link).is_file(), link
