"""When the job's process started: the start of a job's clock, without importing anything heavy
(the warm worker's job side uses it too, her2meta.warm)."""

from __future__ import annotations

import os
import time
from pathlib import Path


def process_start_time() -> float | None:
    """When this process started (seconds since the epoch, to 10 ms), from /proc on Linux
    (system uptime now minus uptime at the process's start); None elsewhere."""
    try:
        ticks = int(Path(f"/proc/{os.getpid()}/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return time.time() - (uptime - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return None
