"""Fill a server database with the demo population and an approved KK for each family."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.db import Citizen, Document, Family
from sim.population import FAMILIES, ISSUING_OFFICIAL


def seed_demo(session: Session, now: dt.datetime | None = None) -> int:
    """Insert what is missing (idempotent); return how many documents were added."""
    now = now or dt.datetime(2026, 11, 2, 9, 0)
    added = 0
    for fam in FAMILIES:
        if session.get(Family, fam["kk_number"]) is None:
            session.add(Family(kk_number=fam["kk_number"], address=fam["address"]))
        session.flush()
        for pos, member in enumerate(fam["members"]):
            if session.get(Citizen, member["nik"]) is None:
                session.add(
                    Citizen(
                        nik=member["nik"],
                        name=member["name"],
                        kk_number=fam["kk_number"],
                        position=pos,
                        details=member,
                    )
                )
        session.flush()
        number = f"KK-{fam['kk_number']}-{now:%Y%m%d}"
        if session.scalar(select(Document).where(Document.number == number)) is None:
            session.add(
                Document(
                    kind="kartu_keluarga",
                    number=number,
                    owner_nik=fam["members"][0]["nik"],
                    kk_number=fam["kk_number"],
                    status="approved",
                    approved_at=now,
                    official=ISSUING_OFFICIAL,
                )
            )
            added += 1
    # A reprinted KTP-el for the demo citizen (photo and signature from the chip's issuer).
    from sim.cards import photo, signature_image
    from sim.documents import ktp_el

    head = FAMILIES[0]["members"][0]
    card = ktp_el(photo(head["nik"], head["sex"]), signature_image(head["nik"]))
    if session.scalar(select(Document).where(Document.number == card["number"])) is None:
        session.add(
            Document(
                kind="ktp_el",
                number=card["number"],
                owner_nik=head["nik"],
                status="approved",
                approved_at=now,
                official=ISSUING_OFFICIAL,
                data=card["data"],
            )
        )
        added += 1
    session.commit()
    return added
