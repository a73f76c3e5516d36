"""plot_forest: pooled analysis JSON -> forest plot (SVG and PNG, byte-stable)."""

from __future__ import annotations

import json
from pathlib import Path


from ..figures import forest_from_document


def run(*, inputs, outputs, params, wildcards, logger) -> None:
    with open(inputs.pooled, encoding="utf-8") as handle:
        document = json.load(handle)
    written = forest_from_document(document, Path(outputs.svg).with_suffix(""), sources=params["sources"])
    logger.info("wrote %s", ", ".join(map(str, written)))
