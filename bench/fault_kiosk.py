"""The fault campaign's kiosk, in a process of its own so that the campaign can SIGKILL it.

    python fault_kiosk.py SETTINGS.json

The process is the real kiosk (``KioskApp``: e-KTP through pcscd + vpcd, printing through
cupsd + ippeveprinter, the server over HTTPS); only the finger matcher is simulated.  It
runs the session's state machine continuously and answers the campaign one JSON line per
command on stdin:

* ``{"op": "state"}`` -> the flow's state and the documents reserved in the session;
* ``{"op": "post", "trigger": T, "kw": {...}}`` -> an event posted to the flow;
* ``{"op": "settle", "timeout": S}`` -> the outbox sent (what is owed to the server),
  the store flushed, and the blank cards the kiosk counts;
* ``{"op": "stop"}`` -> a clean stop.

Its first line, once the kiosk is up (start-up reconciliation done), is
``{"ready": true, "reconciled": {...}}``.
"""

from __future__ import annotations

import json
import select
import sys
import time
from pathlib import Path
from typing import Any

from drivers.fingerprint.sim import SimMatcher
from kiosk.app import KioskApp
from kiosk.config import CONFIG_DIR, Config


def config(settings: dict[str, Any]) -> Config:
    """The campaign's kiosk: production backends on the rig, its own store and server."""
    cfg = Config()
    cfg.kiosk.id = settings["kiosk_id"]
    cfg.kiosk.store = settings["store"]
    cfg.card.reader, cfg.card.sam_reader = "Virtual PCD 00 00", "Virtual PCD 00 01"
    cfg.card.issuer_key = str(CONFIG_DIR / "keys" / "ektp-issuer-test.pem")
    cfg.printer.backend = "cups"
    cfg.printer.server = settings["cups"]
    cfg.printer.card_serials = settings["card_serials"]
    cfg.printer.job_memory = 60.0  # the rig's ippeveprinter keeps finished jobs 60 s
    cfg.server.backend = "http"
    cfg.server.url = settings["url"]
    cfg.server.ca = settings["ca"]
    cfg.server.cert, cfg.server.key = settings["cert"], settings["key"]
    cfg.server.issuer_key = settings["issuer_key"]
    return cfg


def answer(app: KioskApp, command: dict[str, Any]) -> dict[str, Any]:
    op = command.get("op")
    flow = app.flow
    if op == "state":
        return {"state": flow.state, "reserved": sorted(flow.session.reservations)}
    if op == "post":
        flow.post(command["trigger"], **command.get("kw", {}))
        return {"ok": True}
    if op == "settle":
        store = app.printer.store
        assert store is not None
        deadline = time.monotonic() + float(command.get("timeout", 60))
        while store.outbox_pending() and time.monotonic() < deadline:
            app.printer.send_outbox()
            flow.run_once(0.2)
        store.flush()
        return {"pending": len(store.outbox_pending()), "cards": app.card_stock.remaining}
    return {"error": f"unknown op {op!r}"}


def main(argv: list[str]) -> int:
    settings = json.loads(Path(argv[0]).read_text())
    app = KioskApp(config(settings), matcher=SimMatcher())
    app.start()
    r = app.reconciled
    reconciled = (
        {"confirmed": r.confirmed, "released": r.released, "held": r.held, "pending": r.pending}
        if r is not None
        else {}
    )
    print(json.dumps({"ready": True, "reconciled": reconciled}), flush=True)
    try:
        while True:
            readable, _, _ = select.select([sys.stdin], [], [], 0)
            if not readable:
                app.flow.run_once(0.02)
                continue
            line = sys.stdin.readline()
            if not line:
                break  # the campaign is gone
            command = json.loads(line)
            if command.get("op") == "stop":
                break
            print(json.dumps(answer(app, command)), flush=True)
    finally:
        app.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
