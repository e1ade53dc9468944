"""Screenshots of the office console's main pages (docs/console-screenshots/), taken in
Debian's Chromium against an embedded server whose fleet is in every state the fleet
page knows: serving, in a session, out of paper, closed by a technician, silent, revoked.

    .venv/bin/python scripts/console_screenshots.py [OUT_DIR]
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pyotp
from sqlalchemy import update

from kiosk.server_client import ServerClient, Tls
from server.console import accounts
from server.db import Heartbeat, Kiosk, make_engine, session_factory, utcnow
from sim.browser import chromium, full_page_screenshot
from sim.embedded import EmbeddedServer
from sim.population import DEMO_NIK
from sim.seed import card_assertion, demo_code

KIOSKS = {
    "adm-bdg-01": ("Kota Bandung · Disdukcapil", "attract", {}, 72, 180),
    "adm-bdg-02": ("Kota Bandung · Mal Pelayanan Publik", "choose_documents", {}, 55, 95),
    "adm-cmh-01": ("Kota Cimahi · Kantor Kecamatan", "attract", {"adm-a4": "media_empty"}, 40, 12),
    "adm-sby-01": ("Kota Surabaya · Siola", "diagnostics", {}, 9, 300),
    "adm-sby-02": ("Kota Surabaya · Siola", "attract", {}, 80, 260),
    "adm-mdn-01": ("Kota Medan · Disdukcapil", "attract", {}, 66, 140),
}
PASSWORD = "contoh-kata-sandi-konsol"
# What the two canaries of the 1.7.0 rollout report (the rest run 1.6.0).
UPDATES: dict[str, dict[str, Any]] = {
    "adm-bdg-01": {"version": "1.7.0", "update": {"target": "1.7.0", "state": "ok", "slot": "b"}},
    "adm-cmh-01": {
        "version": "1.6.0",
        "update": {
            "target": "1.7.0",
            "state": "rolled_back",
            "why": "health gate: printer adm-card not ready in 300 s",
            "slot": "a",
        },
    },
}


# The supervisor's authenticator secret (a supervisor signs in with a code).
SECRET = [""]
HELD = [""]  # the document number held for the office


def client(srv: EmbeddedServer, kiosk: str) -> ServerClient:
    cred = srv.credentials(kiosk)
    tls = Tls(ca=srv.home.ca_cert, cert=cred.cert, key=cred.key)
    return ServerClient(srv.url, tls=tls, issuer_key=srv.home.issuer_pub, retries=1)


def populate(srv: EmbeddedServer) -> None:
    engine = make_engine(srv.database_url)
    rollouts(engine)
    for kiosk, (_office, state, devices, toner, cards) in KIOSKS.items():
        c = client(srv, kiosk)
        base = {"card_reader": "empty", "adm-a4": "ok", "adm-card": "ok"}
        c.heartbeat(
            state,
            {**base, **devices},
            {"adm-a4:Black Toner": toner, "adm-card:YMCKO Ribbon": 64, "blank_cards": cards},
            "0" * 64,
            audit_count=0,
            closed=state == "diagnostics",
            **UPDATES.get(kiosk, {"version": "1.6.0"}),
        )
    # A day of history for one kiosk: toner going down, sessions and prints each hour.
    now = utcnow()
    with session_factory(engine)() as db:
        for kiosk, (office, *_rest) in KIOSKS.items():
            db.execute(update(Kiosk).where(Kiosk.id == kiosk).values(office=office))
        for hour in range(24, 0, -1):
            db.add(
                Heartbeat(
                    kiosk_id="adm-bdg-01",
                    at=now - dt.timedelta(hours=hour),
                    status={
                        "state": "attract",
                        "supplies": {
                            "adm-a4:Black Toner": 72 + hour,
                            "adm-card:YMCKO Ribbon": 64 + hour // 2,
                        },
                    },
                )
            )
        # The Medan kiosk went silent an hour ago.
        db.execute(
            update(Kiosk)
            .where(Kiosk.id == "adm-mdn-01")
            .values(last_seen=now - dt.timedelta(hours=1))
        )
        secret = accounts.add_user(db, "siti", "supervisor", PASSWORD)  # with an authenticator
        db.commit()
    SECRET[0] = secret or ""
    # A citizen prints at the Bandung kiosk.
    c = client(srv, "adm-bdg-01")
    session = str(c.open_session("ektp", nik=DEMO_NIK, card=card_assertion(0.93))["session"])
    docs = c.list_documents(session)
    for doc in docs[:2]:
        job = str(uuid.uuid4())
        c.reserve(session, job, doc["id"], demo_code(doc["number"]))
        c.confirm(job)
    # A third the kiosk could not account for (CUPS lost it, the printer did not answer).
    job = str(uuid.uuid4())
    c.reserve(session, job, docs[2]["id"], demo_code(docs[2]["number"]))
    c.hold(job, "CUPS lost the job and the printer did not answer")
    HELD[0] = docs[2]["number"]
    engine.dispose()


def rollouts(engine: Any) -> None:
    """The fleet's updates page as it is mid-rollout: 1.7.0 runs on one canary and the
    other rolled it back (UPDATES; the rollout goes on: two failures pause it)."""
    from server import rollout

    with session_factory(engine)() as db:
        rollout.publish(db, "1.6.0", "1f" * 32, 412 << 20, None, "release-host")
        rollout.publish(db, "1.7.0", "7a" * 32, 418 << 20, None, "release-host")
        rollout.create(
            db,
            version="1.7.0",
            office="",
            canary=["adm-bdg-01", "adm-cmh-01"],
            canary_percent=0,
            percent=50,
            window=("22:00", "05:00"),
            max_failures=2,
            actor="console:siti",
        )
        db.commit()


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/console-screenshots")
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="adm-console-shots-"))
    srv = EmbeddedServer(f"sqlite:///{work / 'server.db'}", work / "home", kiosks=tuple(KIOSKS))
    srv.start()
    try:
        populate(srv)
        client(srv, "adm-sby-02").heartbeat("attract", {}, {})
        from server import officer

        engine = make_engine(srv.database_url)
        with session_factory(engine)() as db:
            officer.revoke_kiosk(db, "adm-sby-02", officer="console:siti")
        engine.dispose()
        shoot(srv, out)
    finally:
        srv.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"console screenshots in {out}")
    return 0


def shoot(srv: EmbeddedServer, out: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    with chromium(1366, 900) as d:
        d.get(f"{srv.url}/console/login")
        full_page_screenshot(d, str(out / "01-login.png"), 1366)
        d.find_element(By.ID, "username").send_keys("siti")
        d.find_element(By.ID, "password").send_keys(PASSWORD)
        d.find_element(By.ID, "otp").send_keys(pyotp.TOTP(SECRET[0]).now())
        d.find_element(By.ID, "login").click()
        full_page_screenshot(d, str(out / "02-fleet.png"), 1366)
        d.get(f"{srv.url}/console/kiosks/adm-bdg-01")
        full_page_screenshot(d, str(out / "03-kiosk.png"), 1366)
        d.get(f"{srv.url}/console/documents")
        full_page_screenshot(d, str(out / "04-documents.png"), 1366)
        d.get(f"{srv.url}/console/office")
        Select(d.find_element(By.ID, "register-kind")).select_by_value("kia")
        d.find_element(By.ID, "register-nik").send_keys(DEMO_NIK)
        d.find_element(By.ID, "register").click()
        # The registration's answer is a new page: wait for it, not for a fixed time.
        WebDriverWait(d, 15).until(lambda drv: drv.find_elements(By.ID, "approve"))
        d.find_element(By.ID, "approve").click()
        full_page_screenshot(d, str(out / "05-office-approved.png"), 1366)
        d.find_element(By.ID, "qr-nik").send_keys(DEMO_NIK)
        d.find_element(By.ID, "qr-token").click()
        full_page_screenshot(d, str(out / "06-office-qr.png"), 1366)
        d.get(f"{srv.url}/console/documents/{HELD[0]}")
        full_page_screenshot(d, str(out / "09-document-held.png"), 1366)
        d.get(f"{srv.url}/console/updates")
        full_page_screenshot(d, str(out / "10-updates.png"), 1366)
        d.get(f"{srv.url}/console/lang/en?next=/console/")
        full_page_screenshot(d, str(out / "07-fleet-en.png"), 1366)
        d.set_window_size(390, 844)
        d.get(f"{srv.url}/console/")
        full_page_screenshot(d, str(out / "08-fleet-phone-en.png"), 390)
        d.get(f"{srv.url}/console/updates")
        full_page_screenshot(d, str(out / "11-updates-phone-en.png"), 390)


if __name__ == "__main__":
    sys.exit(main())
