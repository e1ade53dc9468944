"""One kiosk process for the crash-matrix test: print one document, or restart.

    python -m tests.crash_job CONFIG.json print KIND   # reserve + print, may die at ADM_CRASH_AT
    python -m tests.crash_job CONFIG.json restart      # start the kiosk (reconciles), report

CONFIG.json holds the kiosk settings (store, CUPS socket, card serials, server URL and
credentials).  The process is the real kiosk (``KioskApp``) with the e-KTP reader
simulated: the transaction under test goes through cupsd + ippeveprinter and the server
over HTTPS.  The last line printed is a JSON report.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from kiosk.app import KioskApp, ServerLink
from kiosk.config import Config
from kiosk.server_client import Tls
from sim.compose import build
from sim.population import DEMO_NIK
from sim.seed import card_assertion, demo_code
from tests.rig_config import rig_config

CARD = card_assertion(1.0)


def config(path: Path) -> Config:
    data = json.loads(path.read_text())
    cfg = rig_config()
    cfg.kiosk.mode = "demo"  # the e-KTP reader simulated in-process: composed by sim/
    cfg.card.backend = "sim"
    cfg.printer.backend = "cups"
    cfg.printer.server = data["cups"]
    cfg.printer.card_serials = data["card_serials"]
    cfg.kiosk.id = data["kiosk_id"]
    cfg.kiosk.store = data["store"]
    # A demo talks only to the simulator's server: the test's, handed in as a part.
    cfg.server.backend = "embedded"
    return cfg


def server_link(path: Path) -> ServerLink:
    data = json.loads(path.read_text())
    tls = Tls(Path(data["ca"]), Path(data["cert"]), Path(data["key"]))
    return ServerLink(data["url"], tls, Path(data["issuer_key"]))


def main(argv: list[str]) -> int:
    app: KioskApp = build(config(Path(argv[0])), server=server_link(Path(argv[0])))
    app.start()
    try:
        report: dict[str, object] = {}
        if argv[1] == "print":
            client = app.printer.server
            session = client.open_session("ektp", nik=DEMO_NIK, card=CARD)["session"]
            doc = next(d for d in client.list_documents(session) if d["kind"] == argv[2])
            res = app.printer.reserve(session, doc, demo_code(doc["number"]))
            # The print code is accepted: a campaign's random kill counts from here.
            print(f"RESERVED {res.job_id} {doc['number']}", flush=True)
            result = app.printer.print_reserved(res)
            print("DONE", flush=True)  # the document is out and the job settled
            report = {"job": res.job_id, "cups_job": result.cups_job}
        else:
            r = app.reconciled
            assert r is not None
            report = {
                "confirmed": r.confirmed,
                "released": r.released,
                "held": r.held,
                "undecided": r.undecided,
                "sent": r.sent,
                "pending": r.pending,
                "cards_left": app.card_stock.remaining,
            }
        print(json.dumps(report))
    finally:
        app.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
