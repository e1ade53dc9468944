"""End to end through the real stacks: pcscd+vpcd, HTTP, cupsd+ippeveprinter.

GIVEN the simulated rig and a central server with the demo population
WHEN a citizen's virtual e-KTP is inserted and the Kartu Keluarga is printed
THEN the simulated printer's spool holds a PDF naming the family, the CUPS job is
completed, and the server records the print under the kiosk's job id.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from drivers.fingerprint.sim import SimMatcher
from kiosk.app import KioskApp
from kiosk.config import DEFAULT_FILE
from kiosk.store import KioskStore
from printing.cups_spooler import CupsSpooler
from printing.spooler import JobState
from sim.embedded import EmbeddedServer
from sim.population import FAMILIES
from sim.rig import CUPS_PORT, Rig
from sim.seed import card_assertion, demo_code
from tests.conftest import kiosk_client, point_at, rig_config, run_until, server_section

pytestmark = pytest.mark.rig


@pytest.mark.parametrize("family", [0, 2], ids=["bogor", "surabaya"])
def test_citizen_prints_approved_documents(
    rig: Rig, server: EmbeddedServer, family: int, tmp_path: Path
) -> None:
    fam = FAMILIES[family]
    head = fam["members"][0]
    cfg = rig_config()
    cfg.card.backend = "pcsc"
    cfg.printer.backend = "cups"
    cfg.printer.server = str(rig.cups_socket)
    point_at(cfg, server)
    cfg.printer.card_serials = "KTP2611A000001..KTP2611A000250"
    cfg.kiosk.store = str(tmp_path / "kiosk.db")
    app = KioskApp(cfg, matcher=SimMatcher())  # the e-KTP path needs a finger scanner
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
        for d in view.documents:  # the citizen types each document's print code
            app.flow.post("document_tapped", doc_id=d["id"])
            run_until(app, lambda: app.flow.state == "enter_code", "the code keypad")
            app.flow.post("code_entered", code=demo_code(d["number"]))
            run_until(app, lambda: app.flow.state == "checking_code", "the code check")
            run_until(app, lambda: app.flow.state == "choose_documents", "the code accepted")
        assert set(app.flow.view().reserved) == {d["id"] for d in view.documents}
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
    a4_kinds = [k for k, d in docs.items() if d["medium"] == "a4"]
    printed = rig.printed_since("adm-a4", started_ns)
    assert len(printed) == len(a4_kinds), printed
    texts = [
        subprocess.run(
            ["pdftotext", "-layout", str(p), "-"], capture_output=True, text=True, check=True
        ).stdout
        for p in printed
    ]
    (text,) = [t for t in texts if "KARTU KELUARGA" in t]
    assert fam["kk_number"] in text
    for member in fam["members"]:
        assert member["name"] in text

    cups = CupsSpooler(str(rig.cups_socket))
    cups.open()
    assert cups.status(result.cups_job).state == JobState.COMPLETED
    cups.close()

    # No family-card number, document number or name outside the kiosk's own store: not
    # in CUPS's record of the job, its page log, or the printer's file names.
    secrets = [fam["kk_number"], head["name"], *(r.number for r in results.values())]
    for r in results.values():
        name = _cups_job_name(r.cups_job)
        assert all(x not in name for x in secrets), name
        assert f"[{r.job_id}]" in name  # the marker alone finds the job
    page_log = rig.log_dir / "cupsd-page.log"
    lines = page_log.read_text().splitlines() if page_log.exists() else []
    ours = [line for line in lines if any(f"[{r.job_id}]" in line for r in results.values())]
    assert all(x not in line for line in ours for x in secrets)
    for spooled in [*rig.printed_since("adm-a4", started_ns), *printed]:
        assert all(x not in spooled.name for x in secrets), spooled.name

    client = kiosk_client(server)
    assert client.reservation(result.job_id)["state"] == "confirmed"
    card = card_assertion(1.0)
    again = client.open_session("ektp", nik=head["nik"], card=card)["session"]
    assert client.list_documents(again) == []  # printed documents are never offered again

    if "ktp_el" in docs:
        card_job = results[docs["ktp_el"]["id"]]
        assert card_job.queue == "adm-card" and card_job.card_serial == "KTP2611A000001"
        cards = rig.printed_since("adm-card", started_ns)
        assert len(cards) == 2  # KTP-el and the child's KIA
        card_texts = [
            subprocess.run(
                ["pdftotext", str(c), "-"], capture_output=True, text=True, check=True
            ).stdout
            for c in cards
        ]
        assert any(head["nik"] in t and head["name"].upper() in t for t in card_texts)
        # the blank is accounted for by serial, as consumed by this job, in the store
        store = KioskStore(tmp_path / "kiosk.db")
        record_card = next(r for r in store.records if r.job_id == card_job.job_id)
        assert len(store.records) == 2
        kinds = [e[2] for e in store.audit_events()]
        # Supply changes are audited whenever the health thread sees them; the rest in order.
        story = [k for k in kinds if k != "supply_changed"]
        assert story[:4] == ["kiosk_started", "card_stock_loaded", "in_service", "session_started"]
        assert kinds.count("document_printed") == 4 and kinds.count("card_consumed") == 2
        assert "session_ended" in kinds and kinds[-1] == "kiosk_stopped"
        assert store.verify_audit().ok
        assert (record_card.serial, record_card.outcome.value, record_card.job_id) == (
            "KTP2611A000001",
            "consumed",
            card_job.job_id,
        )
        assert app.card_stock.remaining == 248


def _cups_job_name(job: int) -> str:
    """The job's name as CUPS keeps it (IPP Get-Job-Attributes through ipptool)."""
    res = subprocess.run(
        [
            "ipptool",
            "-tv",
            f"ipp://localhost:{CUPS_PORT}/jobs/{job}",
            "/usr/share/cups/ipptool/get-job-attributes.test",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    names = [line for line in res.stdout.splitlines() if "job-name (" in line]
    assert names, res.stdout + res.stderr
    return names[0].split(" = ", 1)[1].replace("\\", "")


def test_diagnostics_command_checks_and_prints_the_test_page(
    rig: Rig, own_server: EmbeddedServer, tmp_path: Path
) -> None:
    server = own_server  # stopped below: not the shared one
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f"""
[kiosk]
id = "kiosk-test"
mode = "demo"  # the simulator's test issuer key
store = "{tmp_path / "kiosk.db"}"
[card]
issuer_key = "{DEFAULT_FILE.parent / "keys" / "ektp-issuer-test.pem"}"
[printer]
server = "{rig.cups_socket}"
card_serials = "KTP2611D000001..KTP2611D000005"
{server_section(server, backend="embedded")}"""
    )
    started = time.time_ns()
    out = subprocess.run(
        [sys.executable, "-m", "cli.kiosk", "diagnostics", "--config", str(config), "--test-print"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "✓  Printer adm-a4" in out.stdout and "✓  Server Dukcapil: terhubung" in out.stdout
    assert "✓  Blangko kartu: 5 tersisa" in out.stdout
    assert "Halaman uji tercetak" in out.stdout
    (page,) = rig.printed_since("adm-a4", started)
    text = subprocess.run(
        ["pdftotext", str(page), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "kiosk-test" in text
    # CUPS learns a printer's state from jobs; what the kiosk can always see is the server.
    server.stop()
    down = subprocess.run(
        [sys.executable, "-m", "cli.kiosk", "diagnostics", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert down.returncode == 1 and "✕  Server Dukcapil" in down.stdout
