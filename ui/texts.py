"""Every sentence the kiosk's core hands up as a code, in words: Bahasa Indonesia is the
source language, English comes from ``ui/i18n/adm_en.ts`` through Qt's translator.

The tables mark their strings with ``QT_TRANSLATE_NOOP`` so ``pyside6-lupdate`` finds
them; ``notice_text`` translates at the moment of showing, so a language switched in the
middle of a session changes what is on screen at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication

from kiosk import messages

if TYPE_CHECKING:  # PySide6 types it as returning object; it returns the source

    def QT_TRANSLATE_NOOP(context: str, source: str) -> str: ...
else:
    from PySide6.QtCore import QT_TRANSLATE_NOOP

translate = QCoreApplication.translate
CONTEXT = "Notice"

NOTICES: dict[str, str] = {
    # errors of a session
    "finger_mismatch": QT_TRANSLATE_NOOP(
        "Notice", "Sidik jari tidak cocok dengan e-KTP. Silakan masuk dengan NIK dan PIN."
    ),
    "no_finger": QT_TRANSLATE_NOOP(
        "Notice", "Jari tidak terbaca. Tempelkan kembali e-KTP dan letakkan jari pada pemindai."
    ),
    "poor_image": QT_TRANSLATE_NOOP(
        "Notice", "Sidik jari kurang jelas. Bersihkan jari lalu letakkan dengan rata."
    ),
    "scanner_fault": QT_TRANSLATE_NOOP(
        "Notice", "Pemindai sidik jari bermasalah. Silakan masuk dengan NIK dan PIN."
    ),
    "not_an_ektp": QT_TRANSLATE_NOOP("Notice", "Kartu ini bukan e-KTP. Tempelkan e-KTP Anda."),
    "data_not_authentic": QT_TRANSLATE_NOOP(
        "Notice", "Data pada e-KTP tidak sah. Silakan hubungi petugas Dukcapil."
    ),
    "card_not_verified": QT_TRANSLATE_NOOP(
        "Notice", "e-KTP tidak dapat diverifikasi. Silakan hubungi petugas Dukcapil."
    ),
    "card_removed": QT_TRANSLATE_NOOP(
        "Notice", "e-KTP terangkat sebelum selesai dibaca. Tempelkan kembali e-KTP Anda."
    ),
    "reader_fault": QT_TRANSLATE_NOOP(
        "Notice", "Pembaca kartu sedang bermasalah. Silakan hubungi petugas."
    ),
    "card_unreadable": QT_TRANSLATE_NOOP(
        "Notice", "e-KTP tidak dapat dibaca. Silakan coba lagi atau hubungi petugas."
    ),
    "card_error": QT_TRANSLATE_NOOP("Notice", "e-KTP tidak dapat dibaca. Silakan coba lagi."),
    "locked": QT_TRANSLATE_NOOP(
        "Notice",
        "Terlalu banyak percobaan yang salah. Silakan coba lagi nanti atau hubungi petugas.",
    ),
    "forged_document": QT_TRANSLATE_NOOP(
        "Notice", "Dokumen tidak lolos pemeriksaan keaslian. Silakan hubungi petugas."
    ),
    "server_unavailable": QT_TRANSLATE_NOOP(
        "Notice", "Server Dukcapil sedang tidak dapat dihubungi. Silakan coba lagi nanti."
    ),
    "server_refused": QT_TRANSLATE_NOOP(
        "Notice", "Permintaan ditolak oleh server Dukcapil. Silakan hubungi petugas."
    ),
    "server_error": QT_TRANSLATE_NOOP(
        "Notice", "Server Dukcapil sedang bermasalah. Silakan coba lagi nanti."
    ),
    "kiosk_fault": QT_TRANSLATE_NOOP(
        "Notice", "Anjungan sedang bermasalah. Silakan hubungi petugas."
    ),
    "print_failed": QT_TRANSLATE_NOOP(
        "Notice", "Dokumen gagal dicetak. Dokumen tetap dapat dicetak lagi nanti."
    ),
    "printer_fault": QT_TRANSLATE_NOOP(
        "Notice", "Printer sedang bermasalah. Dokumen tetap dapat dicetak lagi nanti."
    ),
    "unknown_error": QT_TRANSLATE_NOOP(
        "Notice", "Terjadi kendala. Silakan coba lagi atau hubungi petugas."
    ),
    # wrong entries (``left``: attempts left, when the server says)
    "wrong_pin": QT_TRANSLATE_NOOP("Notice", "NIK atau PIN tidak cocok."),
    "wrong_code": QT_TRANSLATE_NOOP("Notice", "Kode cetak salah."),
    "bad_token": QT_TRANSLATE_NOOP("Notice", "Kode QR tidak berlaku atau sudah dipakai."),
    "wrong_data": QT_TRANSLATE_NOOP("Notice", "Data yang dimasukkan salah."),
    "attempts_left": QT_TRANSLATE_NOOP("Notice", "Sisa {left} kali percobaan."),
    # the idle screen and the finger
    "lift_and_tap": QT_TRANSLATE_NOOP(
        "Notice", "Angkat e-KTP dari pembaca kartu, lalu tempelkan kembali."
    ),
    "finger_retry_poor_image": QT_TRANSLATE_NOOP(
        "Notice", "Sidik jari kurang jelas; bersihkan jari dan letakkan dengan rata."
    ),
    "finger_retry_no_finger": QT_TRANSLATE_NOOP(
        "Notice", "Jari belum terbaca; letakkan jari pada pemindai."
    ),
    "finger_retry_no_match": QT_TRANSLATE_NOOP("Notice", "Sidik jari belum cocok."),
    "finger_retry_left": QT_TRANSLATE_NOOP("Notice", "Coba lagi: {left} kesempatan tersisa."),
    "finger_fallback_no_match": QT_TRANSLATE_NOOP(
        "Notice", "Sidik jari tidak dapat dicocokkan. Silakan masuk dengan NIK dan PIN."
    ),
    "finger_fallback_scanner": QT_TRANSLATE_NOOP(
        "Notice", "Pemindai sidik jari tidak tersedia. Silakan masuk dengan NIK dan PIN."
    ),
    # why the kiosk does not serve, why a document cannot be printed
    "reader_missing": QT_TRANSLATE_NOOP("Notice", "Pembaca e-KTP tidak terhubung."),
    "printer_unreachable": QT_TRANSLATE_NOOP("Notice", "Printer tidak dapat dihubungi."),
    "scanner_missing": QT_TRANSLATE_NOOP("Notice", "Pemindai sidik jari tidak terhubung."),
    "devices_not_ready": QT_TRANSLATE_NOOP("Notice", "Perangkat anjungan belum siap."),
    "renderer_missing": QT_TRANSLATE_NOOP(
        "Notice", "Komponen pencetak dokumen tidak terpasang. Hubungi petugas."
    ),
    "finishing_earlier_prints": QT_TRANSLATE_NOOP(
        "Notice", "Anjungan sedang menyelesaikan pencetakan sebelumnya."
    ),
    "no_printer": QT_TRANSLATE_NOOP("Notice", "Tidak ada printer yang dapat digunakan."),
    "closed_maintenance": QT_TRANSLATE_NOOP("Notice", "Dalam perawatan oleh petugas."),
    "updating": QT_TRANSLATE_NOOP(
        "Notice", "Anjungan sedang diperbarui. Silakan kembali dalam beberapa menit."
    ),
    "closed_by_technician": QT_TRANSLATE_NOOP("Notice", "Ditutup oleh petugas: {reason}"),
    "closed_by_office": QT_TRANSLATE_NOOP("Notice", "Ditutup oleh kantor Dukcapil: {reason}"),
    "not_here": QT_TRANSLATE_NOOP(
        "Notice", "Jenis dokumen ini tidak dapat dicetak di anjungan ini."
    ),
    "no_blank_cards": QT_TRANSLATE_NOOP("Notice", "Blangko kartu sedang habis."),
    "printer_unavailable": QT_TRANSLATE_NOOP("Notice", "Printer sedang tidak tersedia."),
    "paper_out": QT_TRANSLATE_NOOP("Notice", "Kertas printer sedang habis."),
    "paper_jam": QT_TRANSLATE_NOOP("Notice", "Kertas tersangkut di printer."),
    "door_open": QT_TRANSLATE_NOOP("Notice", "Pintu printer terbuka."),
    "toner_out": QT_TRANSLATE_NOOP("Notice", "Tinta/toner printer habis."),
    "printer_offline": QT_TRANSLATE_NOOP("Notice", "Printer sedang tidak terhubung."),
    # the technician's screen
    "test_printing": QT_TRANSLATE_NOOP("Notice", "Mencetak halaman uji…"),
    "device_test_running": QT_TRANSLATE_NOOP(
        "Notice", "Letakkan jari pada pemindai dan pindai sebuah kode QR…"
    ),
    "no_serial_devices": QT_TRANSLATE_NOOP(
        "Notice", "Tidak ada pemindai serial pada anjungan ini."
    ),
    # the live device test (``device_test|finger=..|qr=..``), one sentence per device
    "device_test_finger_ok": QT_TRANSLATE_NOOP(
        "Notice", "Sidik jari: jari terbaca, ciri-cirinya terekstraksi."
    ),
    "device_test_finger_no_finger": QT_TRANSLATE_NOOP(
        "Notice", "Sidik jari: tidak ada jari dalam {seconds} detik."
    ),
    "device_test_finger_poor_image": QT_TRANSLATE_NOOP(
        "Notice", "Sidik jari: gambar jari kurang jelas."
    ),
    "device_test_finger_fault": QT_TRANSLATE_NOOP("Notice", "Sidik jari: gagal ({detail})."),
    "device_test_qr_read": QT_TRANSLATE_NOOP("Notice", "QR: kode terbaca."),
    "device_test_qr_none": QT_TRANSLATE_NOOP("Notice", "QR: tidak ada kode dalam {seconds} detik."),
    "technician_failed": QT_TRANSLATE_NOOP("Notice", "Gagal: {detail}"),
    "technician_result": QT_TRANSLATE_NOOP("Notice", "{detail}"),
    "kiosk_reopened": QT_TRANSLATE_NOOP("Notice", "Anjungan dibuka kembali."),
}


# The technician's device checks (``kiosk.diagnostics.Check``): names and details.
CHECK_NAMES: dict[str, str] = {
    "reader": QT_TRANSLATE_NOOP("Check", "Pembaca e-KTP"),
    "printer": QT_TRANSLATE_NOOP("Check", "Printer {queue}"),
    "fingerprint": QT_TRANSLATE_NOOP("Check", "Pemindai sidik jari"),
    "qr": QT_TRANSLATE_NOOP("Check", "Pemindai QR"),
    "blank_cards": QT_TRANSLATE_NOOP("Check", "Blangko kartu"),
    "server": QT_TRANSLATE_NOOP("Check", "Server Dukcapil"),
    "print_jobs": QT_TRANSLATE_NOOP("Check", "Transaksi cetak"),
}
CHECK_DETAILS: dict[str, str] = {
    "reader_unavailable": QT_TRANSLATE_NOOP("Check", "tidak terhubung"),
    "reader_empty": QT_TRANSLATE_NOOP("Check", "siap, tidak ada kartu"),
    "reader_present": QT_TRANSLATE_NOOP("Check", "ada kartu di pembaca"),
    "ready": QT_TRANSLATE_NOOP("Check", "siap"),
    "printer_state": QT_TRANSLATE_NOOP("Check", "{conditions}; {supplies}"),
    "finger_ready": QT_TRANSLATE_NOOP(
        "Check", "{port}: {baud} baud, paket {packet} B, tingkat keamanan {security}"
    ),
    "port_ready": QT_TRANSLATE_NOOP("Check", "{port}: siap"),
    "port_error": QT_TRANSLATE_NOOP("Check", "{port}: {error}"),
    "port_missing": QT_TRANSLATE_NOOP("Check", "{port}: tidak terhubung"),
    "cards_left": QT_TRANSLATE_NOOP("Check", "{left} tersisa"),
    "server_ok": QT_TRANSLATE_NOOP("Check", "terhubung"),
    "server_unhealthy": QT_TRANSLATE_NOOP("Check", "tidak sehat"),
    "jobs": QT_TRANSLATE_NOOP("Check", "{unfinished} belum selesai, {pending} menunggu server"),
    "raw": QT_TRANSLATE_NOOP("Check", "{text}"),
}


def _worded(table: dict[str, str], text: str) -> str:
    code, values = messages.parse(text)
    if code not in table:
        return text  # not a code: shown as it came (a device's own words)
    if code == "printer_state" and not values.get("conditions"):
        values["conditions"] = translate("Check", CHECK_DETAILS["ready"])
    sentence = translate("Check", table[code])
    return sentence.format(**values) if values else sentence


def check_text(name: str, detail: str) -> tuple[str, str]:
    """A device check's name and detail in the current language."""
    return _worded(CHECK_NAMES, name), _worded(CHECK_DETAILS, detail)


def _t(key: str) -> str:
    return translate(CONTEXT, NOTICES[key])


def notice_text(text: str) -> str:
    """The sentence for a notice (``kiosk.messages``) in the current language.  A code
    without a sentence is a programming error: shown as the generic one, never raw."""
    code, values = messages.parse(text)
    if not code:
        return ""
    if code == "finger_retry":
        return f"{_t('finger_retry_' + values.get('why', 'no_match'))} " + _t(
            "finger_retry_left"
        ).format(left=values.get("left", "?"))
    if code == "finger_fallback":
        return _t("finger_fallback_" + values.get("why", "scanner"))
    if code == "device_test":
        values.setdefault("seconds", "?")
        values.setdefault("detail", "")
        return " ".join(
            _t(f"device_test_{device}_{values[device]}").format(**values)
            for device in ("finger", "qr")
            if f"device_test_{device}_{values.get(device)}" in NOTICES
        )
    if code == "no_printer":
        why = values.get("why", "")
        first = _t("no_printer")
        return f"{first} {_t(why)}" if why in NOTICES else first
    if code not in NOTICES:
        return _t("unknown_error")
    sentence = _t(code).format(**values) if "{" in NOTICES[code] else _t(code)
    if code in ("wrong_pin", "wrong_code", "bad_token", "wrong_data") and "left" in values:
        sentence += " " + _t("attempts_left").format(left=values["left"])
    return sentence
