"""Reads a whole e-KTP: reader slot + SAM + pinned issuer key, one call per tap.

Blocking; the flow runs it in a worker.  Used by the flow and by ``adm-kiosk card read``;
``make_card_service`` builds it from the configuration (real PC/SC parts only) without
the rest of the kiosk, so the technician's command starts quickly.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from drivers.card import ektp
from drivers.card.base import CardReader
from drivers.card.sam import ApduSam, SecureAccessModule
from kiosk.config import Config, issuer_key_path, simulated_backend


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


def make_reader(config: Config, reader: str | None = None) -> CardReader:
    """The PC/SC reader named by ``card.reader`` (or ``reader``)."""
    if config.card.backend != "pcsc":
        raise simulated_backend("card.backend", config.card.backend)
    from drivers.card.pcsc import PcscReader

    return PcscReader(reader or config.card.reader)


def make_sam(config: Config) -> SecureAccessModule:
    """The SAM in the reader's contact slot."""
    return ApduSam(make_reader(config, config.card.sam_reader))


def make_card_service(
    config: Config, reader: CardReader | None = None, sam: SecureAccessModule | None = None
) -> CardService:
    """The e-KTP reading service the configuration describes (reader, SAM, pinned key)."""
    return CardService(
        reader or make_reader(config),
        sam or make_sam(config),
        load_issuer_key(issuer_key_path(config)),
        extended=config.card.extended_apdu,
    )
