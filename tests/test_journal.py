"""journald's native protocol: the fields a handler sends, and the kiosk's and the
server's logs going to a journal socket under systemd (a capture socket stands in)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.journal import JournalHandler, _field, parse, wanted
from tests.conftest import wait_for
from tests.test_supervision import FakeSystemd

ROOT = Path(__file__).resolve().parent.parent


def test_an_entry_carries_structured_fields(tmp_path: Path) -> None:
    journal = FakeSystemd(tmp_path / "journal.sock")
    handler = JournalHandler("adm-kiosk", str(journal.path), fields={"KIOSK_ID": "kiosk-7"})
    log = logging.getLogger("adm.test.journal")
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    try:
        log.error("print failed\nsecond line", extra={"job_id": "j-1", "nik_masked": "3201***1"})
        wait_for(lambda: journal.got, "the entry", 5, poll=0.01)
        entry = parse(journal.raw[0])
        assert entry["MESSAGE"] == "print failed\nsecond line"  # the binary form
        assert (entry["PRIORITY"], entry["SYSLOG_IDENTIFIER"]) == ("3", "adm-kiosk")
        assert (entry["KIOSK_ID"], entry["JOB_ID"], entry["NIK_MASKED"]) == (
            "kiosk-7",
            "j-1",
            "3201***1",
        )
        assert entry["LOGGER"] == "adm.test.journal" and entry["CODE_FUNC"]
    finally:
        log.removeHandler(handler)
        handler.close()
        journal.close()
    assert wanted({"JOURNAL_STREAM": "8:1234"}) and not wanted({})


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.from_regex(r"[A-Z][A-Z0-9_]{0,20}", fullmatch=True), st.text()))
def test_fields_come_back_as_sent(fields: dict[str, str]) -> None:
    assert parse(b"".join(_field(k, v) for k, v in fields.items())) == {
        k: v.encode("utf-8", "replace").decode("utf-8", "replace") for k, v in fields.items()
    }


def test_the_server_logs_to_the_journal_under_systemd(server_home: Path, tmp_path: Path) -> None:
    """``serve`` under systemd: its entries (a dying worker's ERROR here) arrive on the
    journal socket with the priority and the server's identifier."""
    import shutil
    import socket

    home = tmp_path / "home"
    shutil.copytree(server_home, home)
    journal = FakeSystemd(tmp_path / "journal.sock")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "JOURNAL_STREAM": "8:1",
        "ADM_JOURNAL_SOCKET": str(journal.path),
    }
    cmd = [sys.executable, "-m", "server.cli", "--home", str(home), "--db"]
    db = f"sqlite:///{tmp_path / 'server.db'}"
    proc = subprocess.Popen([*cmd, db, "serve", "--port", str(port), "--workers", "2"], env=env)
    try:

        def workers() -> list[int]:
            path = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
            pids = [int(p) for p in path.read_text().split()] if path.exists() else []
            return [p for p in pids if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()]

        wait_for(lambda: len(workers()) == 2, "two workers", 60)
        os.kill(workers()[0], signal.SIGKILL)
        wait_for(lambda: any("died" in m for _, m in journal.got), "the journal entry", 30)
        entry = next(parse(m) for m in journal.raw if b"died" in m)
        assert (entry["PRIORITY"], entry["SYSLOG_IDENTIFIER"]) == ("3", "adm-server")
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        journal.close()


def capture_journal(tmp: Path) -> tuple[FakeSystemd, Any]:
    journal = FakeSystemd(tmp / "journal.sock")
    handler = JournalHandler("adm-kiosk", str(journal.path))
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    return journal, handler
