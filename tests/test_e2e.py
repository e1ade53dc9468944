"""End to end through the real stacks: pcscd+vpcd, HTTP, cupsd+ippeveprinter.

GIVEN the simulated rig and a central server with the demo population
WHEN a citizen's virtual e-KTP is inserted and the Kartu Keluarga is printed
THEN the simulated printer's spool holds a PDF naming the family, the CUPS job is
completed, and the server records the print under the kiosk's job id.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest

from kiosk.app import KioskApp
from kiosk.config import Config
from kiosk.store import KioskStore
from printing.cups_spooler import CupsSpooler
from printing.spooler import JobState
from server.embedded import EmbeddedServer
from sim.population import FAMILIES
from sim.rig import Rig
from tests.conftest import run_until

pytestmark = pytest.mark.rig


@pytest.mark.parametrize("family", [0, 2], ids=["bogor", "surabaya"])
def test_citizen_prints_approved_documents(
    rig: Rig, server: EmbeddedServer, family: int, tmp_path: Path
) -> None:
    fam = FAMILIES[family]
    head = fam["members"][0]
    cfg = Config()
    cfg.card.backend = "pcsc"
    cfg.printer.backend = "cups"
    cfg.printer.server = str(rig.cups_socket)
    cfg.server.backend = "http"
    cfg.server.url = server.url
    cfg.printer.card_serials = "KTP2611A000001..KTP2611A000250"
    cfg.kiosk.store = str(tmp_path / "kiosk.db")
    app = KioskApp(cfg)
    app.start()
    started_ns = time.time_ns()
    try:
        rig.insert_card(head["nik"])
        run_until(app, lambda: app.flow.state == "choose_documents", "the document list")
        view = app.flow.view()
        assert view.name == head["name"].upper()
        # Every approved document in one session (the Bogor head also has a KTP-el reprint).
        docs = {d["kind"]: d for d in view.documents}
        assert "kartu_keluarga" in docs
        doc = docs["kartu_keluarga"]
        app.flow.post("print_selected", doc_ids=[d["id"] for d in view.documents])
        run_until(app, lambda: app.flow.state in ("done", "error"), "the print", timeout=120)
        assert app.flow.state == "done", app.flow.view().error
        results = {r.doc_id: r for r in app.flow.view().results}
        assert set(results) == {d["id"] for d in view.documents}
        result = results[doc["id"]]
        rig.remove_card()
        run_until(app, lambda: app.flow.state == "attract", "the idle screen")
    finally:
        rig.remove_card()
        app.stop()

    # The printer keeps the document on receipt, so it is there once the job completed.
    printed = rig.printed_since("adm-a4", started_ns)
    assert len(printed) == 1, printed
    paper = printed[0]
    text = subprocess.run(
        ["pdftotext", "-layout", str(paper), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "KARTU KELUARGA" in text
    assert fam["kk_number"] in text
    for member in fam["members"]:
        assert member["name"] in text

    cups = CupsSpooler(str(rig.cups_socket))
    cups.open()
    assert cups.status(result.cups_job).state == JobState.COMPLETED
    cups.close()

    record = httpx.get(f"{server.url}/api/v1/documents/{doc['id']}/status").json()
    assert record["status"] == "printed"
    assert record["printed_job_id"] == result.job_id
    assert record["printed_kiosk"] == cfg.kiosk.id
    listed = httpx.get(f"{server.url}/api/v1/citizens/{head['nik']}/documents").json()
    assert listed["documents"] == []

    if "ktp_el" in docs:
        card = results[docs["ktp_el"]["id"]]
        assert card.queue == "adm-card" and card.card_serial == "KTP2611A000001"
        (on_card,) = rig.printed_since("adm-card", started_ns)
        card_text = subprocess.run(
            ["pdftotext", str(on_card), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert head["nik"] in card_text and head["name"].upper() in card_text
        # the blank is accounted for by serial, as consumed by this job, in the store
        store = KioskStore(tmp_path / "kiosk.db")
        (record_card,) = store.records
        kinds = [e[2] for e in store.audit_events()]
        assert kinds[:3] == ["kiosk_started", "card_stock_loaded", "session_started"]
        assert kinds.count("document_printed") == 2 and "card_consumed" in kinds
        assert "session_ended" in kinds and kinds[-1] == "kiosk_stopped"
        assert store.verify_audit().ok
        assert (record_card.serial, record_card.outcome.value, record_card.job_id) == (
            "KTP2611A000001",
            "consumed",
            card.job_id,
        )
        assert app.card_stock.remaining == 249
