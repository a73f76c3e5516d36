"""When the job's process started: the start of a job's clock, without importing anything heavy
(the warm worker's job side uses it too, her2meta.warm)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path


def process_start_time() -> float | None:
    """When this process started (seconds since the epoch, to 10 ms), from /proc on Linux
    (system uptime now minus uptime at the process's start); None elsewhere (Windows has neither
    /proc nor os.sysconf), where a job's start-up time is then reported as not measured."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        ticks = int(Path(f"/proc/{os.getpid()}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text(encoding="ascii").split()[0])
        return time.time() - (uptime - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return None
