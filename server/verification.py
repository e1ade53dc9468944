"""What the public check of a printed document concludes, and the keys it believes.

A seal (``protocol.seal``) names its key by id.  The server knows its own issuer key and,
from ``[verification]`` in ``server.toml``, other offices' public keys: a seal signed by
one of those is genuine paper of that office, which this server cannot say more about.

``server.toml``::

    [verification]
    host = "cek.dukcapil.example.go.id"   # printed in every QR link (default: the kiosk's)
    office = "Dinas Dukcapil Kota Bogor"   # the issuing office the page names
    per_minute = 30                        # checks per client address and minute

    [[verification.peer]]
    office = "Dinas Dukcapil Kota Depok"
    key = "peers/depok.pub"                # PEM, relative to the server's key folder

The verdict reads the register but tells only what a clerk needs to compare with the
paper: kind, number, issue date, office, the holder's name masked; never a NIK.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from protocol import seal
from protocol.kinds import KINDS
from protocol.signing import SignatureError, load_public_key
from server.db import Citizen, Document

State = Literal[
    "valid",  # printed by this office and in force
    "revoked",  # revoked by the office
    "superseded",  # a newer print replaces it
    "unrecorded",  # this office's signature, but no printed document of that number
    "foreign",  # genuine signature of another office's key
    "invalid",  # well formed, but the signature fails or the key is nobody's
    "malformed",  # not a seal at all
]


class VerificationConfigError(ValueError):
    """``[verification]`` of server.toml is wrong; the message names the key."""


@dataclass(frozen=True)
class Peer:
    office: str
    key: Ed25519PublicKey


@dataclass
class VerificationConfig:
    host: str = ""  # empty: the host the kiosk called (the same listener serves the page)
    office: str = ""  # empty: the signing official's title, which names the office
    per_minute: int = 30
    peers: dict[bytes, Peer] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path, base: Path | None = None) -> VerificationConfig:
        """``[verification]`` of ``path`` (defaults without the file or the section)."""
        if not path.is_file():
            return cls()
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8")).get("verification", {})
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise VerificationConfigError(f"{path}: {exc}") from None
        where = f"{path}: [verification]"
        unknown = set(data) - {"host", "office", "per_minute", "peer"}
        if unknown:
            raise VerificationConfigError(f"{where} has no setting {sorted(unknown)[0]!r}")
        config = cls()
        host = data.get("host", "")
        if not isinstance(host, str) or any(ch in host for ch in "/ ?#@\\") or len(host) > 80:
            raise VerificationConfigError(f"{where} host must be a bare host name[:port]")
        config.host = host
        office = data.get("office", "")
        if not isinstance(office, str) or len(office) > 120:
            raise VerificationConfigError(f"{where} office must be text of at most 120")
        config.office = office
        per_minute = data.get("per_minute", 30)
        if isinstance(per_minute, bool) or not isinstance(per_minute, int) or per_minute < 1:
            raise VerificationConfigError(f"{where} per_minute must be a positive whole number")
        config.per_minute = per_minute
        peers = data.get("peer", [])
        if not isinstance(peers, list):
            raise VerificationConfigError(f"{where}: peer must be [[verification.peer]] tables")
        for i, peer in enumerate(peers):
            name = f"{where} peer {i + 1}"
            if not isinstance(peer, dict) or set(peer) != {"office", "key"}:
                raise VerificationConfigError(f"{name} must have exactly office and key")
            key_file = Path(str(peer["key"]))
            if not key_file.is_absolute() and base is not None:
                key_file = base / key_file
            try:
                public = load_public_key(key_file.read_bytes())
            except (OSError, SignatureError) as exc:
                raise VerificationConfigError(f"{name} key {key_file}: {exc}") from None
            config.peers[seal.raw_key_id(public)] = Peer(str(peer["office"])[:120], public)
        return config


@dataclass(frozen=True)
class Verdict:
    state: State
    kind: str = ""
    title: str = ""
    number: str = ""
    issued: dt.date | None = None
    office: str = ""
    holder: str = ""  # masked
    newer: str = ""  # the superseding document's number
    revoked_at: dt.date | None = None
    reason: str = ""  # why the token is not a seal (malformed/invalid), for the page


def mask_name(name: str) -> str:
    """Enough of a name to compare with the paper, too little to learn it: the first two
    letters of each word (one of a short word), the rest as stars."""
    words = []
    for word in name.split()[:6]:
        keep = 1 if len(word) <= 3 else 2
        words.append(word[:keep] + "*" * (len(word) - keep))
    return " ".join(words)


def verdict(db: Session, token: str, own: Ed25519PublicKey, config: VerificationConfig) -> Verdict:
    """The verdict on ``token`` (already taken from its link), counting the check on the
    document when it is one of ours.  Commits."""
    try:
        found = seal.read(token)
    except seal.SealError as exc:
        return Verdict("malformed", reason=str(exc))
    title = KINDS[found.kind][0] if found.kind in KINDS else found.kind
    shown: dict[str, Any] = {
        "kind": found.kind,
        "title": title,
        "number": found.number,
        "issued": found.issued,
    }
    if found.key_id != seal.raw_key_id(own):
        peer = config.peers.get(found.key_id)
        if peer is None:
            return Verdict("invalid", reason="signed with a key not known here")
        try:
            found.verify(peer.key)
        except seal.SealError as exc:
            return Verdict("invalid", reason=str(exc))
        return Verdict("foreign", office=peer.office, **shown)
    try:
        found.verify(own)
    except seal.SealError as exc:
        return Verdict("invalid", reason=str(exc))
    doc = db.scalar(select(Document).where(Document.number == found.number))
    if (
        doc is None
        or doc.kind != found.kind
        or doc.approved_at.date() != found.issued
        or doc.status in ("approved", "reserved")
    ):
        return Verdict("unrecorded", **shown)
    if db.get_bind().dialect.name == "postgresql":
        # A counter, not a record: its commit need not wait for the WAL to reach the
        # disk (a crash may lose the last moment's counts, never the register's state).
        db.execute(text("SET LOCAL synchronous_commit TO OFF"))
    db.execute(update(Document).where(Document.id == doc.id).values(checks=Document.checks + 1))
    holder = db.scalar(select(Citizen.name).where(Citizen.nik == doc.owner_nik)) or ""
    office = config.office or str((doc.official or {}).get("title", ""))
    newer = ""
    if doc.status == "superseded" and doc.superseded_by is not None:
        newer = db.scalar(select(Document.number).where(Document.id == doc.superseded_by)) or ""
    db.commit()
    state: State = {"printed": "valid", "revoked": "revoked"}.get(doc.status, "superseded")  # type: ignore[assignment]
    return Verdict(
        state,
        office=office,
        holder=mask_name(holder),
        newer=newer,
        revoked_at=doc.revoked_at.date() if doc.revoked_at else None,
        **shown,
    )
