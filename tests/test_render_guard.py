"""A kiosk that cannot render documents does not serve, and never reserves a document it
could not print: a missing libqrencode (or font, or renderer) puts it out of service at
start with a reason the technician sees, and a print job refuses before the server is
asked."""

from __future__ import annotations

import ctypes.util
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from drivers.fingerprint.sim import SimMatcher
from kiosk.app import KioskApp
from kiosk.print_service import PrintFailed
from printing import fonts, qrmatrix, renderers
from printing.sim_spooler import SimSpooler
from server.db import Document, Reservation
from sim.embedded import EmbeddedServer
from sim.population import DEMO_NIK
from sim.seed import card_assertion, demo_code
from tests.conftest import point_at, run_until
from tests.console_helpers import database
from tests.rig_config import rig_config


@pytest.fixture
def no_libqrencode(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine as without the Debian package libqrencode4."""
    monkeypatch.setattr(qrmatrix, "SONAME", "libqrencode-absent.so.99")
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    monkeypatch.setattr(renderers, "_warmed", False)
    qrmatrix._library.cache_clear()
    yield
    qrmatrix._library.cache_clear()


def kiosk(server: EmbeddedServer, store: str = "") -> KioskApp:
    cfg = rig_config()
    cfg.kiosk.store = store
    point_at(cfg, server)
    return KioskApp(cfg, spooler=SimSpooler(), matcher=SimMatcher())


def test_missing_libqrencode_keeps_the_kiosk_out_of_service_with_the_reason(
    server: EmbeddedServer,
    no_libqrencode: None,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    with pytest.raises(renderers.RendererUnavailable, match="libqrencode4"):
        renderers.check()
    app = kiosk(server, str(tmp_path / "kiosk.db"))
    app.start()
    try:
        assert app.flow.state == "out_of_service"
        assert app.flow.view().error == "renderer_missing"
        assert "install the Debian package libqrencode4" in caplog.text
        assert app.store is not None
        events = app.store.audit_events_of(("device_unavailable",))
        assert [e[3].get("device") for e in events] == ["renderers"]
        assert "libqrencode4" in str(events[0][3].get("error"))
    finally:
        app.stop()


def test_a_print_job_refuses_before_the_server_reserves_anything(
    server: EmbeddedServer, no_libqrencode: None
) -> None:
    app = kiosk(server)
    app.start()
    try:
        client = app.printer.server
        session = client.open_session("ektp", nik=DEMO_NIK, card=card_assertion(0.9))["session"]
        doc = next(d for d in client.list_documents(session) if d["kind"] == "kartu_keluarga")
        with pytest.raises(PrintFailed, match="renderer_missing"):
            app.printer.reserve(session, doc, demo_code(doc["number"]))
        with database(server) as db:
            row = db.get(Document, doc["id"])
            assert row is not None and row.status == "approved"
            assert db.scalars(select(Reservation)).all() == []
    finally:
        app.stop()


def test_renderers_that_fail_to_load_after_start_take_the_kiosk_out_of_service(
    server: EmbeddedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The library is there at the start-up check; the renderers' import then fails on
    the warm-up thread (a font removed meanwhile): the next health round says so."""
    app = kiosk(server)
    app.start()
    try:
        assert app.flow.state == "attract"
        monkeypatch.setattr(renderers, "_warmed", False)
        monkeypatch.setattr(fonts, "FONT_DIRS", (fonts.FONT_DIRS[0] / "absent",))
        app.warm_up()
        assert app.warmed.wait(30)
        assert app.prepare() == "renderer_missing"
        assert app.health is not None
        app.health.check_once()  # the next health round
        run_until(app, lambda: app.flow.state == "out_of_service", "out of service", 30)
        assert app.flow.view().error == "renderer_missing"
    finally:
        app.stop()
