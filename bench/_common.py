"""Helpers the benchmark scripts share (bench/ is not a package: scripts run as files)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path


def wait_quiet(max_load: float | None, timeout: float) -> None:
    """On a shared machine: wait until the 1-minute load average is below max_load."""
    if max_load is None:
        return
    deadline = time.monotonic() + timeout
    while os.getloadavg()[0] > max_load and time.monotonic() < deadline:
        time.sleep(5)


def emit_json(result: dict, path: Path | None) -> None:
    """Print the result as JSON, and write it to `path` too when one is given."""
    text = json.dumps(result, indent=2)
    print(text)
    if path:
        path.write_text(text + "\n")
