"""What the citizen is told when something fails: plain Indonesian, and what to do next.

The technical reason goes to the log; the screen gets a sentence a citizen can act on.
"""

from __future__ import annotations

from drivers.card.base import (
    AuthenticationFailed,
    CardError,
    CardProtocolError,
    CardRemoved,
    DataNotAuthentic,
    NotAnEktp,
    ReaderUnavailable,
)
from kiosk.print_service import PrintFailed
from kiosk.server_client import ServerError, ServerRefused, ServerUnavailable
from printing.spooler import SpoolerError

MESSAGES: list[tuple[type[BaseException], str]] = [
    (NotAnEktp, "Kartu ini bukan e-KTP. Tempelkan e-KTP Anda."),
    (DataNotAuthentic, "Data pada e-KTP tidak sah. Silakan hubungi petugas Dukcapil."),
    (AuthenticationFailed, "e-KTP tidak dapat diverifikasi. Silakan hubungi petugas Dukcapil."),
    (CardRemoved, "e-KTP terangkat sebelum selesai dibaca. Tempelkan kembali e-KTP Anda."),
    (ReaderUnavailable, "Pembaca kartu sedang bermasalah. Silakan hubungi petugas."),
    (CardProtocolError, "e-KTP tidak dapat dibaca. Silakan coba lagi atau hubungi petugas."),
    (CardError, "e-KTP tidak dapat dibaca. Silakan coba lagi."),
    (ServerUnavailable, "Server Dukcapil sedang tidak dapat dihubungi. Silakan coba lagi nanti."),
    (ServerRefused, "Permintaan ditolak oleh server Dukcapil. Silakan hubungi petugas."),
    (ServerError, "Server Dukcapil sedang bermasalah. Silakan coba lagi nanti."),
    (PrintFailed, "Dokumen gagal dicetak. Dokumen tetap dapat dicetak lagi nanti."),
    (SpoolerError, "Printer sedang bermasalah. Dokumen tetap dapat dicetak lagi nanti."),
]


def for_citizen(error: BaseException | None) -> str:
    for kind, message in MESSAGES:
        if isinstance(error, kind):
            return message
    return "Terjadi kendala. Silakan coba lagi atau hubungi petugas."
