"""System programs that some tests need and .ci/run installs (Debian packages).

Locally a missing program skips those tests and says how to install it; on CI (CI=true) a
missing program fails them at collection, so no test quietly skips itself on CI.
"""

from __future__ import annotations

import os
import shutil

import pytest

ON_CI = os.environ.get("CI", "").lower() == "true"


def system_program(*names: str, install: str):
    """(path of the first of `names` on PATH or None, a skip mark for when it is missing)."""
    found = next((path for name in names if (path := shutil.which(name))), None)
    if found is None and ON_CI:
        pytest.fail(f"{names[0]} is not installed, but .ci/run installs it ({install})", pytrace=False)
    return found, pytest.mark.skipif(found is None, reason=f"{names[0]} is not installed ({install}); CI installs it")
