"""``adm-server seed-demo``: a realistic demo population with every document kind.

Three families from ``sim.population``; approved documents of all six kinds; a kiosk PIN
for every adult and one QR login token for the demo citizen.  Print codes, PINs and the
token are deterministic (``officer.demo_secret``) so the simulated kiosk, the tests and
the README can use them; a real deployment never runs this.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server import officer
from server.db import Citizen, Document, Family, QrToken
from server.security import keyed_hash
from sim.population import DEMO_NIK, FAMILIES, ISSUING_OFFICIAL

APPROVED = dt.datetime(2026, 11, 2, 9, 0)


def demo_code(number: str) -> str:
    return officer.demo_secret("code", number, 8)


def demo_pin(nik: str) -> str:
    return officer.demo_secret("pin", nik, 6)


DEMO_QR_TOKEN = "demo-qr-" + officer.demo_secret("qr", DEMO_NIK, 12)


@dataclass(frozen=True)
class DemoDocument:
    kind: str
    owner: str
    number: str
    data: dict[str, Any]


def demo_documents() -> list[DemoDocument]:
    """Every demo document: number and data as the samples in ``sim.documents``."""
    from sim import documents as samples

    budi, dewi = FAMILIES[0]["members"][0], FAMILIES[0]["members"][3]
    every = samples.all_samples()
    out = [
        DemoDocument(
            "kartu_keluarga", fam["members"][0]["nik"], f"KK-{fam['kk_number']}-20261102", {}
        )
        for fam in FAMILIES
    ]
    owners = {
        "ktp_el": budi["nik"],
        "kia": budi["nik"],  # a child's card is collected by a parent
        "akta_kelahiran": budi["nik"],
        "surat_pindah": FAMILIES[1]["members"][0]["nik"],
        "akta_kematian": FAMILIES[2]["members"][0]["nik"],  # an heir prints it
    }
    del dewi
    for kind, owner in owners.items():
        sample = every[kind]
        out.append(DemoDocument(kind, owner, sample["number"], sample.get("data", {})))
    return out


def seed_demo(db: Session, pepper: bytes) -> int:
    """Insert what is missing (idempotent); return how many documents were added."""
    for fam in FAMILIES:
        if db.get(Family, fam["kk_number"]) is None:
            db.add(Family(kk_number=fam["kk_number"], address=fam["address"]))
        db.flush()
        for pos, member in enumerate(fam["members"]):
            if db.get(Citizen, member["nik"]) is None:
                adult = member["birth_date"] <= "2008-11-02"
                db.add(
                    Citizen(
                        nik=member["nik"],
                        name=member["name"],
                        kk_number=fam["kk_number"],
                        position=pos,
                        details=member,
                        pin_hash=keyed_hash(pepper, "pin", demo_pin(member["nik"]))
                        if adult
                        else None,
                    )
                )
    db.commit()
    added = 0
    for spec in demo_documents():
        if db.scalar(select(Document.id).where(Document.number == spec.number)) is not None:
            continue
        application = officer.register(db, spec.kind, spec.owner, spec.data, officer="seed")
        officer.approve(
            db,
            pepper,
            application.id,
            ISSUING_OFFICIAL,
            officer="seed",
            number=spec.number,
            print_code=demo_code(spec.number),
            now=APPROVED,
        )
        added += 1
    if db.get(QrToken, keyed_hash(pepper, "qr", DEMO_QR_TOKEN)) is None:
        officer.qr_token(db, pepper, DEMO_NIK, ttl=dt.timedelta(days=365), token=DEMO_QR_TOKEN)
    return added


def card_assertion(score: float = 1.0) -> dict[str, object]:
    """What a kiosk asserts after a demo e-KTP read and a matched finger (the evidence
    fields stand for a read chip's digest and SAM session: the server records them)."""
    return {
        "chip_authenticated": True,
        "fingerprint_matched": True,
        "finger_score": score,
        "signed_data_sha256": "5a" * 32,
        "sam_session": "c3" * 16,
    }
