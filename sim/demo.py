"""The headless demo: one scripted citizen session through the simulated rig.

Brings the rig up, starts the kiosk with an embedded central server holding the demo
population, inserts a demo citizen's virtual e-KTP through pcscd, taps through the screens
(real button clicks), prints the Kartu Keluarga through CUPS to the simulated A4 printer,
pulls the card, and leaves a screenshot of every screen passed and the printed PDF in the
output folder.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import QApplication

from kiosk.flow import SessionView
from protocol.nik import mask_nik
from sim.compose import build, demo_config, use_rig
from sim.population import DEMO_NIK, TEST_TECHNICIAN_PIN, citizen
from sim.rig import Rig
from sim.seed import demo_code
from ui.main import KioskUi, use_offscreen, wait_until

log = logging.getLogger("sim.demo")


@dataclass
class PrintedDocument:
    title: str
    number: str
    queue: str
    cups_job: int
    card_serial: str | None
    spool_file: Path  # the simulated printer's "paper"
    pdf: Path  # its copy in the output folder


@dataclass
class DemoResult:
    name: str
    masked_nik: str
    documents: list[PrintedDocument]
    screenshots: list[Path]

    @property
    def pdf(self) -> Path:
        """The printed Kartu Keluarga."""
        return next(d.pdf for d in self.documents if d.title == "Kartu Keluarga")


def run_demo(
    out: Path, nik: str = DEMO_NIK, rig: Rig | None = None, lang: str = "id"
) -> DemoResult:
    """One scripted session; ``lang``: the language the citizen picks on the idle screen
    (each session starts in the default; the switch is tapped as a citizen would)."""
    use_offscreen()
    qapp = QApplication.instance() or QApplication([])
    assert isinstance(qapp, QApplication)
    rig = rig or Rig()
    rig.up()
    rig.remove_card()
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.png"):
        old.unlink()
    db = out / "demo-server.db"
    for stale in [*out.glob("demo-server.db*"), *out.glob("kiosk.db*")]:
        stale.unlink()  # a fresh approval each run: a printed KK is never offered again

    config = demo_config()  # PC/SC and CUPS through the rig, embedded server, card stock
    config.printer.server = str(rig.cups_socket)
    use_rig(config, rig)  # the emulated fingerprint module and QR scanner
    config.server.database = f"sqlite:///{db}"
    config.server.home = str(out / "server-home")  # CA and keys, kept between runs
    config.kiosk.store = str(out / "kiosk.db")
    app = build(config)
    app.start()
    shots: list[Path] = []
    seen: list[str] = []

    def screenshot(name: str) -> None:
        qapp.processEvents()
        path = out / f"{len(shots) + 1:02d}-{name}.png"
        assert ui is not None
        ui.window.grab().save(str(path))
        shots.append(path)

    def on_state(state: str, view: SessionView) -> None:
        if not seen or seen[-1] != state:
            seen.append(state)
            screenshot(state)

    ui: KioskUi | None = None
    try:
        ui = KioskUi(app)
        ui.window.show()
        ui.on_state.append(on_state)
        if lang != "id":
            ui.window.language.click()
        screenshot("attract")
        person = citizen(nik)
        started_ns = time.time_ns()

        rig.serial("fingerprint", finger="holder")  # the citizen's finger on the sensor
        rig.insert_card(person["nik"])
        wait_until(qapp, lambda: app.flow.state == "choose_documents", 30, "the document list")
        screen = ui.window.documents
        kk = [d for d in app.flow.session.documents if d["kind"] == "kartu_keluarga"]
        if not kk:
            raise RuntimeError(f"no Kartu Keluarga approved for NIK {mask_nik(nik)}")
        # The KK on A4 and, for the demo citizen, a KTP-el reprint on the card printer, in
        # one session: the citizen taps each and types its print code on the keypad.
        wanted = kk + [d for d in app.flow.session.documents if d["kind"] == "ktp_el"]
        for doc in wanted:
            screen.doc_buttons[doc["id"]].click()
            wait_until(qapp, lambda: app.flow.state == "enter_code", 10, "the code keypad")
            for digit in demo_code(doc["number"]):
                ui.window.code.keypad.buttons[digit].click()
            screenshot(f"enter_code-{doc['kind']}")
            ui.window.code.submit.click()
            wait_until(qapp, lambda: app.flow.state == "choose_documents", 30, "the code check")
        screenshot("choose_documents-ready")
        screen.print_button.click()
        wait_until(qapp, lambda: app.flow.state in ("done", "error"), 120, "the print")
        if app.flow.state == "error":
            raise RuntimeError(f"print failed: {app.flow.session.error}")
        results = list(app.flow.session.results)
        rig.remove_card()
        wait_until(qapp, lambda: app.flow.state == "attract", 15, "the idle screen")
        # The other way in, for the screenshots: NIK and PIN on the keypad.
        if lang != "id":
            ui.window.language.click()
        ui.window.screens["attract"].pin_button.click()  # type: ignore[attr-defined]
        wait_until(qapp, lambda: app.flow.state == "enter_pin", 10, "the PIN screen")
        for digit in person["nik"][:16] + "12":
            ui.window.pin.keypad.buttons[digit].click()
        screenshot("enter_pin-typing")
        app.flow.post("finish")
        wait_until(qapp, lambda: app.flow.state == "attract", 10, "the idle screen")
        # The technician: five taps on the header, the test PIN, the device checks.
        for _ in range(5):
            ui.window._brand_tapped(None)
        wait_until(qapp, lambda: app.flow.state == "technician_pin", 10, "the technician PIN")
        for digit in TEST_TECHNICIAN_PIN:
            ui.window.screens["technician_pin"].keypad.buttons[digit].click()  # type: ignore[attr-defined]
        ui.window.screens["technician_pin"].submit.click()  # type: ignore[attr-defined]
        wait_until(qapp, lambda: bool(app.flow.view().checks), 30, "the device checks")
        screenshot("diagnostics-checks")
        app.flow.post("diagnostics_done")
        wait_until(qapp, lambda: app.flow.state == "attract", 10, "the idle screen")

        printed: list[PrintedDocument] = []
        for result in results:
            # The printer keeps each document on receipt, before CUPS reports completion.
            # This job's own file (its name carries the job id), not the newest one: a
            # test page or another kiosk's job may have come out since.
            new = [
                p for p in rig.printed_since(result.queue, started_ns) if result.job_id in p.name
            ]
            if not new:
                raise RuntimeError(
                    f"job {result.job_id} left no page in {rig.spool_dir(result.queue)}"
                )
            copy = out / (result.title.lower().replace(" ", "-") + ".pdf")
            shutil.copyfile(new[-1], copy)
            printed.append(
                PrintedDocument(
                    result.title,
                    result.number,
                    result.queue,
                    result.cups_job,
                    result.card_serial,
                    new[-1],
                    copy,
                )
            )
        return DemoResult(
            name=person["name"],
            masked_nik=mask_nik(person["nik"]),
            documents=printed,
            screenshots=shots,
        )
    finally:
        if ui is not None:
            ui.close()
        rig.remove_card()
        app.stop()
