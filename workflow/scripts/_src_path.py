"""Put the project's src/ first on sys.path, so rule scripts import this checkout's her2meta
whether or not the package is installed in the job's (conda) environment. Snakemake adds this
folder to sys.path for local scripts."""

import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")
# First, even when it is already on the path: an installed her2meta (e.g. another checkout's
# editable install) must not shadow this checkout's code.
if sys.path[:1] != [SRC]:
    sys.path.insert(0, SRC)
