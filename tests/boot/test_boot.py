"""The appliance booted for real: a Debian image under systemd in QEMU, the kiosk under
cage on a 1080x1920 display, touched through the compositor, supervised, power-cut.

Everything the kiosk meets is outside the guest (sim/appliance.py): the server, the
printers, the serial devices and the cards are on the host, reached as real ones are.
The figures go to the terminal (``-s``) and bench/boot.py records them.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import time
from functools import partial
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from sim.appliance import Appliance
from sim.guest import GuestError, wait_until
from sim.population import DEMO_NIK
from sim.seed import demo_code
from tests.boot.conftest import ROOT, Booted, boot

SMOKE = os.environ.get("ADM_BOOT_SMOKE") == "1"
POWER_CUTS = int(os.environ.get("ADM_BOOT_POWER_CUTS", "10"))
SHOTS = Path(os.environ.get("ADM_BOOT_SHOTS", ROOT / "docs" / "screenshots" / "booted"))
SHOTS.mkdir(parents=True, exist_ok=True)
KK = "KK-3201012505180001-20261102"  # the demo citizen's family card (sim/seed.py)
CUT_NIK = "3201015507850002"  # a card holder with no document of her own in the seed
KINDS = (("kartu_keluarga", "adm-a4"), ("ktp_el", "adm-card"))

# Where the idle-to-print path's buttons are on the portrait panel at 100 % text
# (docs/screenshots/05-choose_documents.png and 06-enter_code.png, in panel pixels).
FIRST_ROW = (539, 1137)  # the first document of four
ONLY_ROW = (539, 1515)  # a list of one (the list stands on the buttons below it)
KEYS = {
    **{str(d): (227 + 312 * ((d - 1) % 3), 1060 + 146 * ((d - 1) // 3)) for d in range(1, 10)},
    "0": (539, 1498),
}
PRIMARY = (301, 1659)  # Lanjut / Cetak
BUTTONS = (74, 1594, 1006, 1724)  # Cetak / Lanjut and Batal
KEYPAD = (80, 990, 1000, 1565)
CODE_FIELD = (80, 478, 1000, 556)
KIOSK_PROCESS = "^/opt/adm-kiosk/venv/bin/python3 /opt/adm-kiosk/venv/bin/adm-kiosk run"  # not cage


def report(b: Booted, name: str, value: float) -> None:
    b.figures[name] = round(value, 2)
    print(f"\nFIGURE {name} = {value:.2f}")
    out = Path(os.environ.get("ADM_BOOT_FIGURES", ROOT / "dist" / "boot-figures.json"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(b.figures, indent=2) + "\n")


def _changed(b: Booted, before: bytes) -> bool:
    return b.crop(CODE_FIELD) != before


def type_code(b: Booted, code: str) -> None:
    """Each digit touched once the last one shows in the code field: a burst of taps
    overruns the virtual touch device's queue under emulation, as no finger does."""
    for digit in code:
        before = b.crop(CODE_FIELD)
        b.guest.touch(*KEYS[digit])
        wait_until(partial(_changed, b, before), 30, f"digit {digit} in the code field")


def test_systemd_is_pid1_and_the_kiosk_is_idle(booted: Booted) -> None:
    run = booted.guest.agent.run
    assert run("cat", "/proc/1/comm").out.strip() == "systemd"
    status = booted.status()
    assert status["ActiveState"] == "active", status
    assert status["StatusText"].startswith("idle"), status
    enabled = run("systemctl", "is-enabled", "adm-server.service").out.strip()
    assert enabled == "disabled", enabled
    # production mode, and nothing in the guest's configuration names a simulator
    config = run("cat", "/etc/adm/kiosk.toml").out
    assert re.search(r'^mode = "production"$', config, re.M), config
    assert not re.search(r'= "(sim|embedded)"$', config, re.M), config
    report(booted, "first_boot_to_idle_s", booted.figures["first_boot_to_idle_s"])
    pid = status["MainPID"]
    kiosk = run("pgrep", "-u", "adm-kiosk", "-f", KIOSK_PROCESS).out.split()
    assert kiosk, f"no kiosk process under cage (pid {pid})"
    rss = run("ps", "-o", "rss=", "-p", kiosk[0]).out.strip()
    report(booted, "kiosk_rss_mb", int(rss) / 1024)


def test_the_idle_screen_is_on_the_display(booted: Booted) -> None:
    """QEMU's screendump of what cage shows, against the offscreen screenshot of the
    same screen: same size, and nearly the same pixels (fonts and anti-aliasing may
    differ between the image's and the host's Qt font set-up)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = booted.guest.screendump(SHOTS / "idle.png")
    got = Image.open(shot).convert("RGB")
    want = Image.open(ROOT / "docs" / "screenshots" / "01-attract.png").convert("RGB")
    assert got.size == want.size == (1080, 1920)
    diff = ImageChops.difference(got, want).convert("L")
    changed = sum(diff.point(lambda v: 255 if v > 48 else 0).histogram()[255:]) / (1080 * 1920)
    report(booted, "idle_screen_pixels_differing_pct", 100 * changed)
    assert changed < 0.05, f"{100 * changed:.1f} % of the pixels differ from the offscreen shot"
    # the screen is the kiosk's, not a blank or a console: mostly its light background
    light = sum(got.convert("L").histogram()[201:]) / (1080 * 1920)
    assert light > 0.5


def test_a_whole_session_through_the_compositor(booted: Booted) -> None:
    """Card on the host's vicc, finger on the host's emulator, every choice and the
    print code touched on the panel: the family card arrives at the host's A4 printer.
    Each touch waits for the display to show the screen the offscreen screenshots show
    (docs/screenshots): what cage draws is what the suite has been looking at."""
    app = booted.app
    since = time.time_ns()
    booted.mark()
    app.serial("fingerprint", finger="holder")
    app.insert_card(DEMO_NIK)
    booted.wait_state("choose_documents")
    booted.wait_screen("05-choose_documents", within=0.02)  # the countdown differs
    booted.guest.screendump(SHOTS / "choose_documents.png")
    booted.guest.touch(*FIRST_ROW)
    booted.wait_state("enter_code", 60)
    booted.wait_screen("06-enter_code", within=0.02)
    type_code(booted, demo_code(KK))
    booted.wait_screen("07-enter_code-kartu_keluarga", within=0.02)
    booted.guest.screendump(SHOTS / "enter_code.png")
    booted.guest.touch(*PRIMARY)
    booted.wait_state("choose_documents", 60)  # the code accepted, the card ready
    booted.wait_screen("09-choose_documents", BUTTONS)
    started = time.monotonic()
    booted.guest.touch(*PRIMARY)
    printed = wait_until(
        lambda: app.rig.printed_since("adm-a4", since), 180, "the family card on paper", 0.1
    )
    report(booted, "print_touch_to_paper_s", time.monotonic() - started)
    text = subprocess.run(["pdftotext", str(printed[0]), "-"], capture_output=True, text=True)
    assert KK in text.stdout
    booted.wait_state("done", 120)
    booted.guest.screendump(SHOTS / "done.png")
    app.remove_card()
    wait_until(booted.idle, 180, "the idle screen after the session", 1.0)
    assert len(app.rig.printed_since("adm-a4", since)) == 1
    documents = app.server_cli("officer", "documents", "--nik", DEMO_NIK).stdout
    assert re.search(rf"{re.escape(KK)}\s+kartu_keluarga\s+printed\s+kiosk-boot-01", documents)


def test_the_journal_has_the_kiosk_fields_and_no_nik(booted: Booted) -> None:
    run = booted.guest.agent.run
    out = run("journalctl", "-b", "-u", "adm-kiosk", "-o", "json", "--no-pager", timeout=120).out
    fields: set[str] = set()
    for line in out.splitlines():
        fields |= set(json.loads(line))
    assert {"KIOSK_ID", "SESSION_ID", "JOB_ID"} <= fields, sorted(fields)
    # What every program on the appliance logged: no 16-digit number at all.  The
    # kernel's own messages have counters of that length (clocksource max_idle_ns), so
    # there the check is for a number shaped like a NIK (a region code, a date of birth
    # with 40 added for women, a serial).  Neither citizen's NIK anywhere.
    userspace = run(
        "journalctl", "-o", "cat", "--no-pager", "_TRANSPORT=journal", "+",
        "_TRANSPORT=stdout", "+", "_TRANSPORT=syslog", timeout=120,
    ).out  # fmt: skip
    everything = run("journalctl", "-o", "cat", "--no-pager", timeout=120).out
    assert userspace and len(everything) > len(userspace)
    for text, shaped in ((userspace, False), (everything, True)):
        for found in re.finditer(r"(?<![0-9A-Fa-fx])\d{16}(?![0-9A-Fa-f])", text):
            assert shaped and not nik_shaped(found.group(0)), text[
                max(0, found.start() - 300) : found.end() + 100
            ]
    assert DEMO_NIK not in everything and CUT_NIK not in everything


def nik_shaped(digits: str) -> bool:
    """Could these 16 digits be a NIK: province 11-94, a day of birth 1-31 (41-71 for
    women), a month 1-12?"""
    day, month = int(digits[6:8]), int(digits[8:10])
    return 11 <= int(digits[:2]) <= 94 and (1 <= day <= 31 or 41 <= day <= 71) and 1 <= month <= 12


def test_nik_shape() -> None:
    assert nik_shaped(DEMO_NIK) and nik_shaped(CUT_NIK)
    assert not nik_shaped("7645519600211568")  # the kernel's clocksource max_idle_ns


def _restarted(booted: Booted, before: int, what: str) -> float:
    started = time.monotonic()
    wait_until(
        lambda: int(booted.status().get("NRestarts", 0)) == before + 1,
        180,
        f"systemd to restart the kiosk after {what}",
        every=1.0,
    )
    wait_until(booted.idle, 300, f"the idle screen after {what}", every=1.0)
    return time.monotonic() - started


def test_watchdog_restarts_a_frozen_kiosk(booted: Booted) -> None:
    """The kiosk's GUI thread stopped (SIGSTOP): the watchdog pings stop, systemd
    restarts the unit after WatchdogSec, the idle screen comes back."""
    run = booted.guest.agent.run
    before = int(booted.status()["NRestarts"])
    pid = run("pgrep", "-u", "adm-kiosk", "-f", KIOSK_PROCESS).out.split()[0]
    stalled = time.monotonic()
    assert run("kill", "-STOP", pid).code == 0
    _restarted(booted, before, "a frozen GUI")
    report(booted, "watchdog_stall_to_idle_s", time.monotonic() - stalled)
    assert int(booted.status()["NRestarts"]) == before + 1
    booted.guest.screendump(SHOTS / "idle-after-watchdog.png")


def test_cage_killed_is_restarted(booted: Booted) -> None:
    if SMOKE:
        pytest.skip("cage killed runs in make boot-test")
    run = booted.guest.agent.run
    status = booted.status()
    before, cage = int(status["NRestarts"]), status["MainPID"]
    assert run("cat", f"/proc/{cage}/comm").out.strip() == "cage"
    killed = time.monotonic()
    assert run("kill", "-KILL", cage).code == 0
    _restarted(booted, before, "cage was killed")
    report(booted, "cage_killed_to_idle_s", time.monotonic() - killed)


def _new_document(booted: Booted, kind: str) -> tuple[str, str]:
    """A newly approved document of ``kind`` for the power-cut citizen: (number, code)."""
    app = booted.app
    reg = app.server_cli("officer", "register", kind, CUT_NIK)
    assert reg.returncode == 0, reg.stdout + reg.stderr
    application = re.search(r"application (\d+)", reg.stdout)
    assert application is not None
    approved = app.server_cli("officer", "approve", application.group(1))
    found = re.search(r"document (\S+) approved; print code (\d+)", approved.stdout)
    assert found is not None, approved.stdout + approved.stderr
    return found.group(1), found.group(2)


def _cut_due(app: Appliance, at: float, queue: str, since: int) -> bool:
    return time.monotonic() >= at or bool(app.rig.printed_since(queue, since))


def _copies_at_printer(booted: Booted, queue: str, number: str, since: int) -> int:
    copies = 0
    for pdf in booted.app.rig.printed_since(queue, since):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True)
        copies += number in text.stdout
    return copies


@pytest.mark.timeout(3600)  # ten boots under emulation
def test_power_cut_during_printing(booted: Booted) -> None:
    """QEMU killed at a random moment between the code accepted and the page out; after
    each boot the kiosk reconciles: printed at most once, nothing left reserved."""
    if SMOKE:
        pytest.skip("the power cuts run in make boot-test")
    app = booted.app
    rng = random.Random(int(os.environ.get("ADM_BOOT_SEED", "2027")))
    since = time.time_ns()
    boots: list[float] = []
    outcomes: list[str] = []
    for cut in range(POWER_CUTS):
        # the family card on the A4 queue and the KTP-el on the card queue, in turn
        kind, queue = KINDS[cut % 2]
        number, code = _new_document(booted, kind)
        cut_since = time.time_ns()
        booted.mark()
        app.serial("fingerprint", finger="holder")
        app.insert_card(CUT_NIK)
        booted.wait_state("choose_documents")
        booted.wait_screen("05-choose_documents", BUTTONS)  # Cetak not yet enabled
        booted.guest.touch(*ONLY_ROW)
        booted.wait_state("enter_code", 60)
        booted.wait_screen("06-enter_code", KEYPAD)
        type_code(booted, code)
        booted.wait_screen("07-enter_code-kartu_keluarga", BUTTONS)  # Lanjut enabled
        booted.guest.touch(*PRIMARY)
        booted.wait_state("choose_documents", 60)  # code accepted
        booted.wait_screen("09-choose_documents", BUTTONS)  # Cetak enabled
        booted.guest.touch(*PRIMARY)
        # The cut: at a random moment of the window, or as the page comes out if that is
        # sooner (the window ends there).
        cut_at = time.monotonic() + rng.uniform(
            0.0, booted.figures.get("print_touch_to_paper_s", 8.0)
        )
        wait_until(
            partial(_cut_due, app, cut_at, queue, cut_since),
            60,
            "the moment of the power cut",
            every=0.01,
        )
        booted.guest.kill()  # the power cut
        app.remove_card()
        boots.append(boot(app, fresh=False))

        # Reconciled before READY: the document is printed (once), printable again, or,
        # when CUPS no longer knows the job, held for the office (never printed twice).
        def state(number: str = number, kind: str = kind) -> str:
            found = re.search(
                rf"{re.escape(number)}\s+{kind}\s+(\w+)",
                app.server_cli("officer", "documents", "--nik", CUT_NIK).stdout,
            )
            assert found is not None
            return found.group(1)

        try:
            wait_until(lambda: state() in ("printed", "approved"), 60, f"{number} settled")
            outcome = state()
        except GuestError:
            held = re.search(r"(\d+) held", app.journal())
            assert held and int(held.group(1)) >= 1, "reserved, and the kiosk holds nothing"
            outcome = "held"
        if queue == "adm-a4":
            copies = _copies_at_printer(booted, queue, number, since)
        else:  # a card's face carries no document number: its cards since this round
            copies = len(app.rig.printed_since(queue, cut_since))
        assert copies <= 1, f"{number} printed {copies} times"
        if outcome != "held":
            assert (copies == 1) == (outcome == "printed"), (number, copies, outcome)
        outcomes.append(outcome)
        if outcome == "held":  # the office looks at the printer's tray, then decides
            app.server_cli("officer", "release" if copies == 0 else "revoke", number)
        if state() == "approved":
            app.server_cli("officer", "revoke", number)  # the next round's list: one card
        # The blank-card ledger: every card that reached the card printer is recorded
        # consumed, by serial, once; no card consumed that did not.
        ledger = booted.guest.agent.run(
            "python3", "-c",
            "import sqlite3, json; print(json.dumps(sqlite3.connect("
            "'/var/lib/adm-kiosk/kiosk.db').execute('select serial, outcome, document "
            "from card_ledger').fetchall()))",
        )  # fmt: skip
        assert ledger.code == 0, ledger.err
        rows = json.loads(ledger.out)
        consumed = [r for r in rows if r[1] == "consumed"]
        cards_out = len(booted.app.rig.printed_since("adm-card", since))
        assert len(consumed) == cards_out, (rows, cards_out)
        assert len({r[0] for r in rows}) == len(rows)
        if queue == "adm-card":
            assert sum(r[2] == number for r in consumed) == copies, (rows, number)
        verify = booted.guest.agent.run("/opt/adm-kiosk/venv/bin/adm-kiosk", "audit", "verify")
        assert verify.code == 0, verify.out + verify.err
    report(booted, "power_cut_boot_to_idle_median_s", sorted(boots)[len(boots) // 2])
    report(booted, "power_cut_boot_to_idle_max_s", max(boots))
    report(booted, "power_cuts_printed", outcomes.count("printed"))
    report(booted, "power_cuts_not_printed", outcomes.count("approved"))
    report(booted, "power_cuts_held_for_the_office", outcomes.count("held"))


def test_the_server_unit_under_systemd(booted: Booted) -> None:
    """adm-server.service as written (MemoryDenyWriteExecute and all) on the same image
    in the server role: READY after its migrations, a kiosk answered over mTLS, a
    SIGKILL restarted."""
    if SMOKE:
        pytest.skip("the server role runs in make boot-test")
    run = booted.guest.agent.run
    venv = "/opt/adm-kiosk/venv/bin"
    home, db = "/var/lib/adm-server/home", "sqlite:////var/lib/adm-server/adm-server.db"
    server = [f"{venv}/adm-server", "--home", home, "--db", db]
    init = run(*server, "pki", "init", "--owner", "adm-server", "--hostname", "127.0.0.1")
    assert init.code == 0, init.out + init.err
    started = time.monotonic()
    assert run("systemctl", "start", "adm-server", timeout=300).code == 0
    report(booted, "server_start_to_ready_s", time.monotonic() - started)
    unit = booted.app.unit("adm-server", "ActiveState", "NRestarts", "MainPID")
    assert unit["ActiveState"] == "active", unit
    tables = run(
        "python3", "-c",
        "import sqlite3; print(sqlite3.connect('/var/lib/adm-server/adm-server.db')"
        ".execute('select version_num from alembic_version').fetchone()[0])",
    )  # fmt: skip
    assert tables.code == 0 and tables.out.strip(), tables.err  # migrated before READY
    # a kiosk's request, signed where the CA key is, then an mTLS call with the result
    provision = [f"{venv}/adm-kiosk", "provision", "--server", "https://127.0.0.1:8443",
                 "--ca", f"{home}/ca.pem", "--etc", "/run/server-check", "--owner", ""]  # fmt: skip
    first = run(*provision, "--id", "server-check")
    found = re.search(r"sign-kiosk (\S+) --fingerprint \\\s*\n\s*([0-9a-f ]+)\n", first.out)
    assert found is not None, first.out + first.err
    signed = run(*server, "pki", "sign-kiosk", found.group(1), "--fingerprint", found.group(2))
    assert signed.code == 0, signed.out + signed.err
    second = run(*provision)
    assert "this kiosk's certificate accepted" in second.out, second.out
    before = int(unit["NRestarts"])
    assert run("kill", "-KILL", unit["MainPID"]).code == 0
    wait_until(
        lambda: (
            (u := booted.app.unit("adm-server", "ActiveState", "NRestarts"))
            and u["ActiveState"] == "active"
            and int(u["NRestarts"]) == before + 1
        ),
        180,
        "the server restarted after SIGKILL",
        every=1.0,
    )
    assert run("systemctl", "stop", "adm-server", timeout=120).code == 0
