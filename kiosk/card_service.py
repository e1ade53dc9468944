"""Reads a whole e-KTP: reader slot + SAM + pinned issuer key, one call per tap.

Blocking; the flow runs it in a worker.  Used by the flow and by ``adm-kiosk card read``.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from drivers.card import ektp
from drivers.card.base import CardReader
from drivers.card.sam import SecureAccessModule


def load_issuer_key(path: Path) -> ec.EllipticCurvePublicKey:
    """The pinned issuer key; anything but an EC P-256 public key is refused."""
    key = load_pem_public_key(path.read_bytes())
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ValueError(f"{path}: not an EC P-256 public key")
    return key


class CardService:
    def __init__(
        self,
        reader: CardReader,
        sam: SecureAccessModule,
        issuer_key: ec.EllipticCurvePublicKey,
        *,
        extended: bool = True,
    ) -> None:
        self.reader = reader
        self.sam = sam
        self.issuer_key = issuer_key
        self.extended = extended

    def open(self) -> None:
        self.reader.open()
        self.sam.open()

    def close(self) -> None:
        self.sam.close()
        self.reader.close()

    def read(self, stats: ektp.ReadStats | None = None) -> ektp.EktpData:
        try:
            conn = self.reader.connect()
            return ektp.read_card(
                conn, self.sam, self.issuer_key, extended=self.extended, stats=stats
            )
        finally:
            self.reader.disconnect()
