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
from drivers.fingerprint.base import FingerMismatch, FingerprintError, NoFinger, PoorImage
from kiosk.print_service import PrintFailed
from kiosk.server_client import (
    ForgedDocument,
    Locked,
    ServerError,
    ServerRefused,
    ServerUnavailable,
    WrongSecret,
)
from kiosk.store import StoreError
from printing.spooler import SpoolerError
from protocol.errors import ErrorCode

MESSAGES: list[tuple[type[BaseException], str]] = [
    (FingerMismatch, "Sidik jari tidak cocok dengan e-KTP. Silakan masuk dengan NIK dan PIN."),
    (NoFinger, "Jari tidak terbaca. Tempelkan kembali e-KTP dan letakkan jari pada pemindai."),
    (PoorImage, "Sidik jari kurang jelas. Bersihkan jari lalu letakkan dengan rata."),
    (FingerprintError, "Pemindai sidik jari bermasalah. Silakan masuk dengan NIK dan PIN."),
    (NotAnEktp, "Kartu ini bukan e-KTP. Tempelkan e-KTP Anda."),
    (DataNotAuthentic, "Data pada e-KTP tidak sah. Silakan hubungi petugas Dukcapil."),
    (AuthenticationFailed, "e-KTP tidak dapat diverifikasi. Silakan hubungi petugas Dukcapil."),
    (CardRemoved, "e-KTP terangkat sebelum selesai dibaca. Tempelkan kembali e-KTP Anda."),
    (ReaderUnavailable, "Pembaca kartu sedang bermasalah. Silakan hubungi petugas."),
    (CardProtocolError, "e-KTP tidak dapat dibaca. Silakan coba lagi atau hubungi petugas."),
    (CardError, "e-KTP tidak dapat dibaca. Silakan coba lagi."),
    (Locked, "Terlalu banyak percobaan yang salah. Silakan coba lagi nanti atau hubungi petugas."),
    (ForgedDocument, "Dokumen tidak lolos pemeriksaan keaslian. Silakan hubungi petugas."),
    (ServerUnavailable, "Server Dukcapil sedang tidak dapat dihubungi. Silakan coba lagi nanti."),
    (ServerRefused, "Permintaan ditolak oleh server Dukcapil. Silakan hubungi petugas."),
    (ServerError, "Server Dukcapil sedang bermasalah. Silakan coba lagi nanti."),
    (StoreError, "Anjungan sedang bermasalah. Silakan hubungi petugas."),
    (PrintFailed, "Dokumen gagal dicetak. Dokumen tetap dapat dicetak lagi nanti."),
    (SpoolerError, "Printer sedang bermasalah. Dokumen tetap dapat dicetak lagi nanti."),
]


# A card was on the reader when the idle screen appeared (no tap was seen).
LIFT_AND_TAP = "Angkat e-KTP dari pembaca kartu, lalu tempelkan kembali."

WRONG: dict[str, str] = {
    ErrorCode.WRONG_PIN: "NIK atau PIN tidak cocok.",
    ErrorCode.WRONG_CODE: "Kode cetak salah.",
    ErrorCode.BAD_TOKEN: "Kode QR tidak berlaku atau sudah dipakai.",
}


def for_citizen(error: BaseException | None) -> str:
    if isinstance(error, WrongSecret):
        text = WRONG.get(error.code, "Data yang dimasukkan salah.")
        left = error.attempts_left
        return f"{text} Sisa {left} kali percobaan." if left is not None else text
    for kind, message in MESSAGES:
        if isinstance(error, kind):
            return message
    return "Terjadi kendala. Silakan coba lagi atau hubungi petugas."


def finger_retry(error: BaseException | None, left: int) -> str:
    """Why the finger is asked for again, and how many attempts are left."""
    if isinstance(error, PoorImage):
        why = "Sidik jari kurang jelas; bersihkan jari dan letakkan dengan rata."
    elif isinstance(error, NoFinger):
        why = "Jari belum terbaca; letakkan jari pada pemindai."
    else:
        why = "Sidik jari belum cocok."
    return f"{why} Coba lagi: {left} kesempatan tersisa."


def finger_fallback(error: BaseException | None) -> str:
    """The e-KTP path gave up (attempts used, or the scanner failed): NIK + PIN instead."""
    if isinstance(error, (FingerMismatch, NoFinger, PoorImage)):
        return "Sidik jari tidak dapat dicocokkan. Silakan masuk dengan NIK dan PIN."
    return "Pemindai sidik jari tidak tersedia. Silakan masuk dengan NIK dan PIN."
