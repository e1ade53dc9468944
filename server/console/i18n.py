"""The console's words in Bahasa Indonesia (default) and English.

Every sentence the console shows lives here under a key; templates call ``t(key,
**values)``.  A test renders every page in both languages and fails on a key missing in
either, so a page never shows a key or half a translation.
"""

from __future__ import annotations

from typing import Any

LANGUAGES = ("id", "en")

TEXT: dict[str, tuple[str, str]] = {
    # frame
    "app_title": ("Konsol ADM", "ADM console"),
    "app_subtitle": ("Anjungan Dukcapil Mandiri", "Self-service Dukcapil kiosks"),
    "nav_fleet": ("Anjungan", "Kiosks"),
    "nav_documents": ("Dokumen", "Documents"),
    "nav_office": ("Layanan kantor", "Office work"),
    "nav_alerts": ("Peringatan", "Alerts"),
    "logout": ("Keluar", "Log out"),
    "signed_in_as": ("Masuk sebagai {user} ({role})", "Signed in as {user} ({role})"),
    "role_officer": ("petugas", "officer"),
    "role_supervisor": ("supervisor", "supervisor"),
    "role_technician": ("teknisi", "technician"),
    "language": ("Bahasa", "Language"),
    "skip": ("Lewati ke isi", "Skip to content"),
    # login
    "login_title": ("Masuk ke konsol", "Sign in to the console"),
    "username": ("Nama pengguna", "User name"),
    "password": ("Kata sandi", "Password"),
    "otp": ("Kode autentikator (jika diaktifkan)", "Authenticator code (if enabled)"),
    "login": ("Masuk", "Sign in"),
    "login_bad_credentials": (
        "Nama pengguna atau kata sandi salah.",
        "Wrong user name or password.",
    ),
    "login_second_factor": (
        "Kode autentikator salah atau kedaluwarsa.",
        "Wrong or expired authenticator code.",
    ),
    "login_locked": (
        "Terlalu banyak percobaan. Akun dikunci sampai {until} UTC.",
        "Too many attempts. The account is locked until {until} UTC.",
    ),
    "login_disabled": ("Akun ini dinonaktifkan.", "This account is disabled."),
    "login_throttled": (
        "Terlalu banyak percobaan masuk dari alamat ini. Coba lagi setelah {until} UTC.",
        "Too many sign-in attempts from this address. Try again after {until} UTC.",
    ),
    "login_totp_required": (
        "Akun supervisor memerlukan aplikasi autentikator; minta petugas TI mendaftarkannya "
        "(adm-server user totp NAMA).",
        "A supervisor account needs an authenticator app; ask IT to enrol one "
        "(adm-server user totp NAME).",
    ),
    "login_expired": (
        "Formulir kedaluwarsa; silakan coba lagi.",
        "The form expired; please try again.",
    ),
    # errors
    "forbidden_title": ("Tidak diizinkan", "Not allowed"),
    "forbidden": (
        "Peran Anda ({role}) tidak dapat membuka halaman atau melakukan tindakan ini.",
        "Your role ({role}) cannot open this page or do this.",
    ),
    "csrf_title": ("Permintaan ditolak", "Request refused"),
    "csrf": (
        "Formulir ini tidak berasal dari sesi Anda. Muat ulang halaman lalu coba lagi.",
        "This form did not come from your session. Reload the page and try again.",
    ),
    "not_found_title": ("Tidak ditemukan", "Not found"),
    "not_found": ("{what} tidak ditemukan.", "{what} was not found."),
    "back": ("Kembali", "Back"),
    # fleet
    "fleet_title": ("Anjungan", "Kiosks"),
    "fleet_summary": (
        "{total} anjungan; {problems} perlu perhatian.",
        "{total} kiosks; {problems} need attention.",
    ),
    "filter_office": ("Kantor/wilayah", "Office/area"),
    "all_offices": ("Semua", "All"),
    "filter": ("Saring", "Filter"),
    "col_kiosk": ("Anjungan", "Kiosk"),
    "col_office": ("Kantor", "Office"),
    "col_state": ("Keadaan", "State"),
    "col_last_seen": ("Kontak terakhir", "Last heard"),
    "col_supplies": ("Persediaan", "Supplies"),
    "col_cards": ("Blangko kartu", "Blank cards"),
    "col_jobs": ("Cetak belum selesai", "Unsettled jobs"),
    "col_version": ("Versi", "Version"),
    "col_alerts": ("Peringatan", "Alerts"),
    "never": ("belum pernah", "never"),
    "ago_s": ("{n} detik lalu", "{n} s ago"),
    "ago_m": ("{n} menit lalu", "{n} min ago"),
    "ago_h": ("{n} jam lalu", "{n} h ago"),
    "ago_d": ("{n} hari lalu", "{n} days ago"),
    "state_serving": ("Melayani", "Serving"),
    "state_in_session": ("Sedang dipakai", "In session"),
    "state_out_of_service": ("Tidak melayani", "Out of service"),
    "state_closed": ("Ditutup teknisi", "Closed by a technician"),
    "state_not_heard": ("Tidak ada kabar", "Not heard from"),
    "state_revoked": ("Dicabut", "Revoked"),
    "state_new": ("Belum pernah terhubung", "Never called in"),
    "state_unknown": ("Tidak dikenal", "Unknown"),
    "none": ("—", "—"),
    # alerts
    "alerts_title": ("Peringatan", "Alerts"),
    "alerts_none": ("Tidak ada peringatan.", "No alerts."),
    "alert_not_heard": (
        "Tidak ada kabar sejak {since}.",
        "Not heard from since {since}.",
    ),
    "alert_supply_low": ("{supply} tinggal {level}%.", "{supply} at {level}%."),
    "alert_blank_cards_low": ("Blangko kartu tinggal {left}.", "{left} blank cards left."),
    "alert_paper": ("Kertas {printer}: {condition}.", "Paper of {printer}: {condition}."),
    "alert_unsettled_job": (
        "Pekerjaan cetak {job} belum selesai sejak {since}.",
        "Print job {job} unsettled since {since}.",
    ),
    "alert_held_job": (
        "Dokumen {number} ditahan untuk kantor sejak {since}: anjungan tidak dapat memastikan "
        "apakah tercetak. Periksa printernya, lalu putuskan di halaman dokumen.",
        "Document {number} held for the office since {since}: the kiosk could not tell "
        "whether it printed. Look at its printer, then decide on the document's page.",
    ),
    "alert_audit_chain": (
        "Log audit anjungan {what} (sejak {since}).",
        "The kiosk's audit log was {what} (since {since}).",
    ),
    "alert_untrusted": (
        "Anjungan melaporkan bagian simulasi atau tidak melaporkan susunannya ({what}); "
        "sesi e-KTP ditolak (sejak {since}).",
        "The kiosk reports simulated parts or no build ({what}); e-KTP sessions are "
        "refused (since {since}).",
    ),
    "alert_refused_certificates": (
        "{count} sertifikat ditolak dalam satu jam terakhir.",
        "{count} certificates refused in the last hour.",
    ),
    "audit_truncated": ("terpotong", "truncated"),
    "audit_rewritten": ("ditulis ulang", "rewritten"),
    "cond_media_empty": ("habis", "empty"),
    "cond_media_low": ("hampir habis", "low"),
    "cond_media_jam": ("macet", "jammed"),
    "cond_offline": ("tidak terhubung", "offline"),
    "cond_door_open": ("pintu terbuka", "door open"),
    "cond_toner_low": ("toner hampir habis", "toner low"),
    "cond_toner_empty": ("toner habis", "toner empty"),
    "cond_no_blank_cards": ("blangko kartu habis", "no blank cards"),
    "cond_unreachable": ("tidak dapat dihubungi", "unreachable"),
    "cond_not_ready": ("belum siap", "not ready"),
    "cond_other": ("gangguan lain", "other fault"),
    "cond_ok": ("baik", "ok"),
    "cond_empty": ("kosong", "empty"),
    "cond_present": ("kartu terpasang", "card present"),
    "cond_unavailable": ("tidak tersedia", "unavailable"),
    "cond_not_configured": ("tidak dipasang", "not configured"),
    # kiosk page
    "kiosk_title": ("Anjungan {id}", "Kiosk {id}"),
    "kiosk_state": ("Keadaan", "State"),
    "kiosk_reason": ("Alasan", "Reason"),
    "kiosk_devices": ("Perangkat", "Devices"),
    "kiosk_certificate": ("Sertifikat", "Certificate"),
    "cert_serial": ("Nomor seri", "Serial"),
    "cert_status": ("Status", "Status"),
    "cert_active": ("aktif", "active"),
    "cert_revoked": ("dicabut {at}", "revoked {at}"),
    "cert_registered": ("Terdaftar", "Registered"),
    "chart_supplies": ("Persediaan (24 jam)", "Supplies (24 hours)"),
    "chart_sessions": ("Sesi per jam (24 jam)", "Sessions per hour (24 hours)"),
    "chart_prints": ("Cetak per jam (24 jam)", "Prints per hour (24 hours)"),
    "chart_empty": ("Belum ada data.", "No data yet."),
    "last_errors": ("Gangguan terakhir yang dilaporkan", "Last reported faults"),
    "no_errors": ("Tidak ada gangguan dilaporkan.", "No faults reported."),
    "actions": ("Tindakan", "Actions"),
    "revoke_kiosk": ("Cabut sertifikat anjungan", "Revoke the kiosk's certificate"),
    "revoke_kiosk_help": (
        "Panggilan berikutnya dari anjungan ini akan ditolak; pekerjaan cetaknya dilepas. "
        "Untuk sertifikat baru, anjungan membuat kunci baru dan mengirim permintaan "
        "(adm-kiosk provision).",
        "The kiosk's next call is refused; its print jobs are released. For a new "
        "certificate the kiosk makes a new key and sends a request (adm-kiosk provision).",
    ),
    "cert_requests": ("Permintaan sertifikat", "Certificate requests"),
    "cert_requests_none": ("Tidak ada permintaan menunggu.", "No request waiting."),
    "cert_requests_help": (
        "Kunci dibuat di anjungan dan tidak pernah keluar darinya. Cocokkan sidik kunci "
        "dengan yang ditampilkan anjungan, lalu tanda tangani di komputer CA kantor: "
        "adm-server pki sign-kiosk ID --fingerprint SIDIK.",
        "The key was made on the kiosk and never leaves it. Compare the fingerprint with "
        "the one the kiosk shows, then sign on the office's CA host: adm-server pki "
        "sign-kiosk ID --fingerprint FINGERPRINT.",
    ),
    "acknowledge_audit": ("Tandai log audit sudah diperiksa", "Mark the audit log checked"),
    "acknowledge_trust": (
        "Tandai susunan anjungan sudah diperiksa",
        "Mark the kiosk's build checked",
    ),
    "trust_acknowledged": ("Peringatan susunan anjungan dihapus.", "Kiosk build alert cleared."),
    "col_build": ("Susunan", "Build"),
    "set_office": ("Simpan kantor", "Save office"),
    "kiosk_revoked_done": ("Anjungan {id} dicabut.", "Kiosk {id} revoked."),
    "office_saved": ("Kantor disimpan.", "Office saved."),
    "audit_acknowledged": ("Peringatan log audit dihapus.", "Audit log alert cleared."),
    # documents
    "documents_title": ("Dokumen", "Documents"),
    "waiting": ("Menunggu dicetak", "Waiting to be printed"),
    "printed_today": ("Dicetak hari ini", "Printed today"),
    "by_kind": ("Menurut jenis", "By kind"),
    "by_office": ("Menurut kantor anjungan", "By kiosk office"),
    "col_number": ("Nomor", "Number"),
    "col_kind": ("Jenis", "Kind"),
    "col_owner": ("NIK pemilik", "Owner NIK"),
    "col_status": ("Status", "Status"),
    "col_approved": ("Disetujui", "Approved"),
    "col_printed": ("Dicetak", "Printed"),
    "col_count": ("Jumlah", "Count"),
    "search_nik": ("Cari NIK atau nomor", "Search NIK or number"),
    "search": ("Cari", "Search"),
    "status_approved": ("siap cetak", "ready to print"),
    "status_reserved": ("sedang dicetak", "being printed"),
    # A reservation the kiosk held for the office (no lease: reserved_until is empty).
    "status_held": ("ditahan untuk kantor", "held for the office"),
    "status_printed": ("tercetak", "printed"),
    "status_revoked": ("dicabut", "revoked"),
    "status_superseded": ("digantikan", "superseded"),
    "document_title": ("Dokumen {number}", "Document {number}"),
    "history": ("Riwayat", "History"),
    "col_when": ("Waktu", "When"),
    "col_who": ("Oleh", "By"),
    "col_what": ("Kejadian", "Event"),
    "ev_approved": ("disetujui", "approved"),
    "ev_reserved": ("dipesan untuk dicetak oleh {kiosk}", "reserved for printing by {kiosk}"),
    "ev_confirmed": ("tercetak di {kiosk}", "printed at {kiosk}"),
    "ev_released": ("dilepas ({reason})", "released ({reason})"),
    "ev_expired": ("masa pesan habis ({reason})", "lease ended ({reason})"),
    "ev_revoked": ("dicabut", "revoked"),
    "ev_superseded": ("digantikan oleh {by}", "superseded by {by}"),
    "ev_code_reissued": ("kode cetak diterbitkan ulang", "print code re-issued"),
    "ev_reservation_released": ("pemesanan dilepas petugas", "reservation released by an officer"),
    "ev_reservation_expired": ("pemesanan kedaluwarsa", "reservation expired"),
    "ev_held": ("ditahan untuk kantor ({reason})", "held for the office ({reason})"),
    "ev_hold_found_printed": (
        "kantor memastikan sudah tercetak",
        "the office found it printed",
    ),
    "ev_hold_offered_again": (
        "kantor memastikan tidak tercetak; ditawarkan lagi",
        "the office found it not printed; offered again",
    ),
    "held_title": ("Ditahan untuk kantor", "Held for the office"),
    "held_help": (
        "Anjungan {kiosk} tidak dapat memastikan apakah dokumen ini tercetak ({reason}). "
        "Dokumen tidak ditawarkan lagi sampai kantor memutuskan. Periksa printer dan baki "
        "anjungan itu (dan nomor seri blangko kartu), lalu pilih.",
        "Kiosk {kiosk} could not tell whether this document came out ({reason}). It is not "
        "offered again until the office decides. Look at that kiosk's printer and tray (and "
        "the blank card's serial), then choose.",
    ),
    "btn_found_printed": ("Sudah tercetak", "It was printed"),
    "btn_offer_again": ("Tidak tercetak: tawarkan lagi", "Not printed: offer it again"),
    "done_hold_printed": (
        "Dokumen {number} dicatat tercetak.",
        "Document {number} recorded as printed.",
    ),
    "done_hold_offered": (
        "Dokumen {number} ditawarkan lagi dengan kode cetaknya.",
        "Document {number} is offered again with its print code.",
    ),
    "ev_other": ("{action}", "{action}"),
    # office work
    # remote actions (kiosk.html)
    "remote_title": ("Tindakan jarak jauh", "Remote actions"),
    "remote_busy": (
        "Seorang warga sedang dilayani di anjungan ini: tindakan ditolak kecuali dipaksa "
        "oleh supervisor.",
        "A citizen is being served at this kiosk: actions are refused unless a supervisor "
        "forces them.",
    ),
    "remote_force": ("Paksa, walau warga sedang dilayani", "Force, even while a citizen is served"),
    "remote_reason": ("Alasan (ditampilkan di layar)", "Reason (shown on the screen)"),
    "remote_notice": (
        "Pengumuman di layar awal (kosong: pengumuman bawaan)",
        "Notice on the idle screen (empty: the configured one)",
    ),
    "remote_set_notice": ("Tampilkan pengumuman", "Show the notice"),
    "remote_out_of_service": ("Tidak melayani", "Out of service"),
    "remote_in_service": ("Melayani lagi", "Back in service"),
    "action_out_of_service": ("Tidak melayani", "Out of service"),
    "action_in_service": ("Melayani lagi", "Back in service"),
    "action_notice": ("Pengumuman", "Notice"),
    "action_restart": ("Mulai ulang", "Restart"),
    "action_diagnostics": ("Diagnostik", "Diagnostics"),
    "remote_restart": ("Mulai ulang anjungan", "Restart the kiosk"),
    "remote_diagnostics": ("Kumpulkan diagnostik", "Collect diagnostics"),
    "remote_recent": ("Tindakan terakhir", "Recent actions"),
    "remote_action": ("Tindakan", "Action"),
    "remote_by": ("Oleh", "By"),
    "remote_forced": ("dipaksa", "forced"),
    "remote_download": ("Unduh diagnostik (JSON)", "Download diagnostics (JSON)"),
    "command_state_pending": ("menunggu detak anjungan", "waiting for the kiosk's heartbeat"),
    "command_state_sent": ("dikirim ke anjungan", "sent to the kiosk"),
    "command_state_done": ("selesai", "done"),
    "command_state_refused": ("ditolak anjungan", "refused by the kiosk"),
    "command_state_failed": ("gagal", "failed"),
    "command_state_expired": (
        "kedaluwarsa (anjungan tidak menjawab)",
        "expired (the kiosk did not answer)",
    ),
    "command_asked": (
        "Diminta; anjungan melakukannya pada detak berikutnya (paling lama satu menit).",
        "Asked; the kiosk does it at its next heartbeat (within a minute).",
    ),
    "command_error_in_session": (
        "Ditolak: seorang warga sedang dilayani. Supervisor dapat memaksa.",
        "Refused: a citizen is being served. A supervisor may force it.",
    ),
    "command_error_reason": ("Tuliskan alasannya.", "Give a reason."),
    "command_error_revoked": ("Anjungan ini dicabut.", "This kiosk is revoked."),
    "command_error_action": ("Tindakan tidak dikenal.", "Unknown action."),
    "force_forbidden": (
        "Hanya supervisor yang dapat memaksa tindakan saat warga dilayani.",
        "Only a supervisor can force an action while a citizen is served.",
    ),
    # fleet updates (updates.html)
    "nav_updates": ("Pembaruan", "Updates"),
    "updates_title": ("Pembaruan armada", "Fleet updates"),
    "versions_title": ("Versi di armada", "Versions across the fleet"),
    "col_kiosks": ("Anjungan", "Kiosks"),
    "not_reported": ("tidak dilaporkan", "not reported"),
    "rollout_new": ("Peluncuran baru", "New rollout"),
    "release_version": ("Versi", "Version"),
    "rollout_scope": ("Untuk", "For"),
    "rollout_canary": (
        "Anjungan kenari (ID, dipisah koma)",
        "Canary kiosks (IDs, comma-separated)",
    ),
    "rollout_canary_percent": ("Kenari (% armada)", "Canary (% of the fleet)"),
    "rollout_percent": ("Sesudah kenari (%)", "After the canary (%)"),
    "rollout_window_start": ("Jendela pemeliharaan mulai", "Maintenance window from"),
    "rollout_window_end": ("sampai", "until"),
    "rollout_max_failures": (
        "Hentikan sesudah sekian kegagalan",
        "Pause after this many failures",
    ),
    "rollout_hint": (
        "Kenari dipasang lebih dulu; sisanya menyusul setelah setiap kenari berjalan sehat. "
        "Anjungan memasang hanya saat menganggur di dalam jendela (waktu setempat); "
        "kosongkan jendela untuk kapan saja.",
        "The canary installs first; the rest follow once every canary runs healthy. A kiosk "
        "installs only when idle inside the window (local time); leave the window empty "
        "for any time.",
    ),
    "btn_rollout": ("Mulai peluncuran", "Start the rollout"),
    "no_releases": (
        "Belum ada rilis yang diterbitkan (adm-server release publish).",
        "No release published yet (adm-server release publish).",
    ),
    "rollouts_title": ("Peluncuran", "Rollouts"),
    "no_rollouts": ("Belum ada peluncuran.", "No rollout yet."),
    "rollout_state_active": ("berjalan", "active"),
    "rollout_state_paused": ("dijeda", "paused"),
    "rollout_state_superseded": ("digantikan", "superseded"),
    "rollout_line": (
        "Kenari {canary_ok}/{canary} sehat · sesudahnya {percent}%: {chosen} dari {scope} anjungan",
        "Canary {canary_ok}/{canary} healthy · then {percent}%: {chosen} of {scope} kiosks",
    ),
    "rollout_window": ("jendela {start}–{end}", "window {start}–{end}"),
    "rollout_by": ("oleh {who}, {at}", "by {who}, {at}"),
    "rollout_progress": (
        "{updated} dari {chosen} sudah diperbarui · {updating} sedang · {failed} gagal",
        "{updated} of {chosen} updated · {updating} on their way · {failed} failed",
    ),
    "col_chosen": ("Dituju", "Chosen"),
    "col_updated": ("Diperbarui", "Updated"),
    "col_failed": ("Gagal", "Failed"),
    "no_office": ("(tanpa kantor)", "(no office)"),
    "btn_pause": ("Jeda", "Pause"),
    "btn_resume": ("Lanjutkan", "Resume"),
    "btn_set": ("Simpan", "Set"),
    "update_failures": ("Pembaruan yang gagal", "Failed updates"),
    "col_target": ("Dituju", "Target"),
    "col_why": ("Sebab", "Why"),
    "col_update": ("Pembaruan", "Update"),
    "update_state_idle": ("tidak ada", "none"),
    "update_state_waiting": (
        "menunggu jendela atau anjungan senggang",
        "waiting for its window or an idle kiosk",
    ),
    "update_state_downloading": ("mengunduh", "downloading"),
    "update_state_installing": ("memasang", "installing"),
    "update_state_booted": (
        "baru dinyalakan, pemeriksaan kesehatan",
        "booted, passing its health gate",
    ),
    "update_state_ok": ("berhasil", "done"),
    "update_state_rolled_back": ("dikembalikan", "rolled back"),
    "update_state_failed": ("gagal", "failed"),
    "releases_title": ("Rilis", "Releases"),
    "col_published": ("Diterbitkan", "Published"),
    "col_size": ("Ukuran", "Size"),
    "rollout_created": ("Peluncuran dimulai.", "Rollout started."),
    "rollout_pause_done": ("Peluncuran dijeda.", "Rollout paused."),
    "rollout_resume_done": ("Peluncuran dilanjutkan.", "Rollout resumed."),
    "rollout_percent_done": ("Persentase disimpan.", "Percentage set."),
    "rollout_error_version": ("Versi itu tidak diterbitkan.", "That version is not published."),
    "rollout_error_numbers": (
        "Persentase 0–100 dan batas kegagalan minimal 1.",
        "Percentages are 0–100 and the failure limit at least 1.",
    ),
    "rollout_error_canary": (
        "Ada anjungan kenari yang tidak dikenal (atau lebih dari 200).",
        "A canary kiosk is unknown (or there are more than 200).",
    ),
    "rollout_error_window": (
        "Jendela: dua waktu JJ:MM yang berbeda, atau keduanya kosong.",
        "Window: two different HH:MM times, or both empty.",
    ),
    "rollout_error_rollout": ("Peluncuran itu tidak ada.", "No such rollout."),
    "rollout_error_superseded": (
        "Peluncuran itu sudah digantikan yang lebih baru.",
        "That rollout was superseded by a newer one.",
    ),
    "rollout_error_action": ("Tindakan tidak dikenal.", "Unknown action."),
    "rollout_error_exists": ("Versi itu sudah diterbitkan.", "That version is already published."),
    "office_title": ("Layanan kantor", "Office work"),
    "register": ("Daftarkan permohonan", "Register an application"),
    "kind": ("Jenis dokumen", "Document kind"),
    "nik": ("NIK", "NIK"),
    "data_json": ("Isian dokumen (JSON, boleh kosong)", "Document fields (JSON, may be empty)"),
    "approve": ("Setujui permohonan", "Approve an application"),
    "application": ("Permohonan", "Application"),
    "no_applications": ("Tidak ada permohonan yang menunggu.", "No applications waiting."),
    "db_line_sqlite": (
        "Basis data: SQLite (satu berkas di server ini).",
        "Database: SQLite (one file on this server).",
    ),
    "db_line_postgresql": (
        "Basis data: PostgreSQL, primer {primary}, {standbys} standby.",
        "Database: PostgreSQL, primary {primary}, {standbys} standby.",
    ),
    "db_no_primary": (
        "Basis data: tidak ada node yang menerima penulisan (failover berjalan atau klaster mati).",
        "Database: no node takes writes (failover in progress, or the cluster is down).",
    ),
    "db_no_standby": (
        "Basis data: tidak ada standby yang menyalin; kehilangan primer berarti layanan berhenti.",
        "Database: no standby is replicating; losing the primary stops the service.",
    ),
    "db_archive_failing": (
        "Basis data: pengarsipan WAL gagal sejak {since} UTC; pemulihan ke titik waktu terancam.",
        "Database: WAL archiving failing since {since} UTC; point-in-time restore at risk.",
    ),
    "db_backup_old": (
        "Basis data: cadangan terakhir {hours} jam lalu (batas {limit} jam).",
        "Database: the last backup is {hours} hours old (limit {limit} hours).",
    ),
    "db_backup_none": ("Basis data: belum ada cadangan.", "Database: no backup yet."),
    "db_backup_unknown": (
        "Basis data: umur cadangan tidak diketahui ({why}).",
        "Database: backup age unknown ({why}).",
    ),
    "revoke_document": ("Cabut dokumen", "Revoke a document"),
    "revoke_help": (
        "Untuk selamanya: pemeriksaan QR di kertas ini akan menyatakan dokumen dicabut "
        "(beserta tanggalnya, tanpa alasannya).",
        "For good: the check of this paper's QR will say the document is revoked (with "
        "the date, never the reason).",
    ),
    "revoke_reason": ("Alasan (wajib, dicatat di log audit)", "Reason (required, audited)"),
    "col_revoked": ("Dicabut", "Revoked"),
    "col_checks": ("Pemeriksaan keaslian", "Authenticity checks"),
    "checks_help": (
        "Berapa kali QR dokumen ini diperiksa di halaman publik (siapa yang memeriksa "
        "tidak dicatat).",
        "How many times this document's QR was checked on the public page (who checked "
        "is not recorded).",
    ),
    "supersede": ("Gantikan dokumen", "Supersede a document"),
    "old_number": ("Nomor lama", "Old number"),
    "new_number": ("Nomor baru", "New number"),
    "set_pin": ("Buat/ubah PIN anjungan", "Set a kiosk PIN"),
    "pin": ("PIN (6 angka)", "PIN (6 digits)"),
    "qr_token": ("Token QR untuk masuk", "QR login token"),
    "reissue_code": ("Terbitkan ulang kode cetak", "Re-issue a print code"),
    "release": ("Lepaskan pemesanan cetak", "Release a print reservation"),
    "job_or_number": ("ID pekerjaan atau nomor dokumen", "Job id or document number"),
    "number": ("Nomor dokumen", "Document number"),
    "btn_register": ("Daftarkan", "Register"),
    "btn_approve": ("Setujui dan terbitkan kode", "Approve and issue the code"),
    "btn_revoke": ("Cabut", "Revoke"),
    "btn_supersede": ("Gantikan", "Supersede"),
    "btn_reissue": ("Terbitkan kode baru", "Issue a new code"),
    "btn_release": ("Lepaskan", "Release"),
    "btn_pin": ("Simpan PIN", "Save PIN"),
    "btn_qr": ("Buat token QR", "Make a QR token"),
    "done_registered": (
        "Permohonan {id} didaftarkan ({kind}).",
        "Application {id} registered ({kind}).",
    ),
    "done_approved": ("Dokumen {number} disetujui.", "Document {number} approved."),
    "print_code_once": (
        "Kode cetak (hanya ditampilkan sekali; juga dikirim ke warga):",
        "Print code (shown this once; also sent to the citizen):",
    ),
    "done_revoked": ("Dokumen {number} dicabut.", "Document {number} revoked."),
    "done_superseded": (
        "Dokumen {old} digantikan oleh {new}.",
        "Document {old} superseded by {new}.",
    ),
    "done_pin": ("PIN ditetapkan untuk {nik}.", "PIN set for {nik}."),
    "done_qr": (
        "Token QR untuk {nik} (sekali pakai, 3 hari). Tunjukkan atau kirimkan gambar ini:",
        "QR token for {nik} (single use, 3 days). Show or send this image:",
    ),
    "done_reissued": ("Kode cetak baru untuk {number}:", "New print code for {number}:"),
    "done_released": (
        "Pekerjaan cetak {job} dilepas; dokumen dapat dicetak lagi.",
        "Print job {job} released; the document is printable again.",
    ),
    "office_error": ("Tidak dapat dilakukan: {message}", "Cannot be done: {message}"),
}


def translate(lang: str, key: str, **values: Any) -> str:
    """The sentence ``key`` in ``lang`` with ``values`` filled in; a missing key is an
    error (caught by the console's test), not a silent fallback."""
    text = TEXT[key][LANGUAGES.index(lang) if lang in LANGUAGES else 0]
    return text.format(**values) if values else text
