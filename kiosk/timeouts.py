"""Every delay the kiosk uses, in one table (seconds).  Tests and the UI read them here."""

from __future__ import annotations

# Inactivity timeouts of the citizen-facing states: on expiry the session ends.
STATE_TIMEOUTS: dict[str, float] = {
    "reading_card": 20.0,
    "verify_finger": 30.0,
    "enter_pin": 60.0,
    "loading_documents": 30.0,
    "choose_documents": 90.0,
    "enter_code": 60.0,
    "checking_code": 30.0,
    "done": 30.0,
    "error": 20.0,
    "technician_pin": 30.0,
    "diagnostics": 300.0,
}

TIMEOUT_WARNING = 10.0  # the last seconds of a state's timeout: the screen asks for a touch
HEARTBEAT = 60.0  # between heartbeats to the central server
HEALTH_POLL = 5.0  # between checks of whether the kiosk can serve at all
CARD_POLL = 0.5  # longest wait of one reader status call (the watcher loops on it)
# How long the health check waits for the card watcher's first look at the slot (a look
# takes milliseconds with a reader, one CARD_POLL without pcscd).
CARD_FIRST_LOOK = 1.5
FINGER_CAPTURE = 15.0  # time to place a finger
SERVER_CONNECT = 3.0  # HTTP connect timeout to the central server
SERVER_READ = 10.0  # HTTP read timeout
PRINT_JOB_DEADLINE = 120.0  # a job not completed by then is canceled and released
# A printer that has not answered for this long during a job: canceled and released then
# (the citizen is told), not at the deadline.  Long enough for a printer's own restart.
PRINTER_OFFLINE_GRACE = 15.0
PRINT_POLL = 0.25  # interval of job-state queries while a job prints
# "Done" after the card left during printing: long enough to read "take your documents",
# short enough that the next citizen's tap meets the idle screen.
DONE_CARD_GONE = 5.0
