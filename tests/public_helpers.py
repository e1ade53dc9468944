"""Printing a document for the public check's tests: approved by an officer, reserved and
confirmed through the kiosk API like a kiosk does, rendered to PDF by the kiosk's
renderer, and its QR read back by zbar from the page rasterised at 100 dpi."""

from __future__ import annotations

import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from printing.renderers import render
from server import officer
from server.db import make_engine, session_factory
from sim.documents import all_samples
from sim.embedded import EmbeddedServer
from sim.population import DEMO_NIK, ISSUING_OFFICIAL
from sim.seed import card_assertion
from tests.conftest import kiosk_client

ASSERTION = card_assertion(0.93)
SAMPLES = all_samples()


@dataclass(frozen=True)
class Printed:
    kind: str
    number: str
    payload: dict
    link: str  # as zbar read it from the rasterised page


def approve(srv: EmbeddedServer, kind: str) -> tuple[str, str]:
    """A new approved document of ``kind`` for the demo citizen: (number, print code)."""
    engine = make_engine(srv.database_url)
    try:
        with session_factory(engine)() as db:
            data = dict(SAMPLES[kind].get("data", {}))
            for key in ("photo", "signature"):
                data.pop(key, None)  # the chip's portrait is not in the register's data
            app = officer.register(db, kind, DEMO_NIK, data)
            done = officer.approve(db, srv.settings.pepper, app.id, ISSUING_OFFICIAL)
            return done.document.number, done.print_code
    finally:
        engine.dispose()


def print_document(srv: EmbeddedServer, kind: str, tmp: Path) -> Printed:
    number, code = approve(srv, kind)
    client = kiosk_client(srv)
    session = str(client.open_session("ektp", nik=DEMO_NIK, card=ASSERTION)["session"])
    listed = {d["number"]: d for d in client.list_documents(session)}
    reserved = client.reserve(session, str(uuid.uuid4()), listed[number]["id"], code)
    client.confirm(reserved.job_id)
    client.end_session(session)
    payload = reserved.payload
    return Printed(kind, number, payload, read_qr(render(payload), tmp / kind))


def read_qr(pdf: bytes, folder: Path, dpi: int = 100) -> str:
    """The one QR text zbar finds on the document's pages at ``dpi`` (a poor photo)."""
    folder.mkdir(parents=True, exist_ok=True)
    src = folder / "doc.pdf"
    src.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), str(src), str(folder / "p")], check=True)
    found: list[str] = []
    for page in sorted(folder.glob("p-*.png")):
        run = subprocess.run(
            ["zbarimg", "--raw", "-q", "-Sdisable", "-Sqrcode.enable", str(page)],
            capture_output=True,
            text=True,
        )
        found += [line for line in run.stdout.splitlines() if line]
    assert len(found) == 1, f"{folder.name}: {len(found)} codes found at {dpi} dpi"
    return found[0]
