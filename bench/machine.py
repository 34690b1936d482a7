"""The machine line every benchmark prints first, so figures from different runs can be compared."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def describe(*extra: str) -> str:
    """Host, CPU, cores, load average and Python, then ``extra`` parts (library or server versions)."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    parts = [platform.node(), cpu_model(), f"{os.cpu_count()} cores", f"load {load:.2f}",
             f"Python {platform.python_version()}", *extra]
    return " | ".join(parts)
