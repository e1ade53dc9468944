"""Named points in the print transaction where the kiosk can be made to die (SIGKILL).

Fault injection for the crash-matrix test, like the simulators' faults: with
``ADM_CRASH_AT=<name>`` in the environment the process kills itself, without any cleanup,
when it reaches that point.  Unset (always, in production) it costs one dict lookup.
"""

from __future__ import annotations

import os
import signal

POINTS = (
    "reserve_recorded",  # job recorded, server not asked yet
    "reserved",  # the server reserved it (payload in memory only)
    "rendered",  # PDF rendered, not submitted
    "submitted",  # CUPS has the job, the kiosk has not recorded its id
    "spooled",  # CUPS job id recorded
    "completed",  # printed and recorded, confirmation not queued
    "settled_at_server",  # the server acknowledged, the outbox not yet marked
)


def crash_point(name: str) -> None:
    if os.environ.get("ADM_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
