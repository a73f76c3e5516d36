"""The timing line every job logs (start-up vs stage work), read by bench/bench_workflow.py."""

import subprocess
import sys
from pathlib import Path

import pytest

from her2meta.snakemake_adapter import timing_line

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_process_start_time_measures_time_since_the_process_started():
    code = (f"import sys, time; sys.path.insert(0, {str(SRC)!r}); time.sleep(0.5)\n"
            "from her2meta.snakemake_adapter import process_start_time\n"
            "print(time.time() - process_start_time())")
    elapsed = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert 0.45 <= elapsed < 60


def test_timing_line_splits_startup_stage_and_provenance():
    line = timing_line(100.0, 100.75, 102.0, 102.25)
    assert line == "job timing: startup 0.750 s, stage 1.250 s, provenance 0.250 s, total 2.250 s"
    assert "startup nan s" in timing_line(None, 1.0, 2.0, 3.0)
