"""What every benchmark prints first: the date and the machine it ran on."""

from __future__ import annotations

import os
import platform
import time


def header() -> str:
    return (
        f"# {time.strftime('%Y-%m-%d')} on {platform.node()}: "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
