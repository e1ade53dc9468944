"""Random kills: SIGKILL the real kiosk process at a uniformly random moment between its
print code being accepted and its document done, restart it on the same store, and
check the print transaction's invariant after each, on both queues in turn.

Each kill: an officer approves a new document (KK on A4 or KTP-el on a blank card); a
kiosk process (``tests.crash_job``: the real ``KioskApp`` through cupsd + ippeveprinter
and the server over HTTPS) reserves it with its print code and prints; the campaign
kills it at ``U(0, window)`` after the code was accepted, where ``window`` is the
medium's print time measured first; a second kiosk process starts on the same store
(start-up reconciliation).  Then, from outside:

* the document came out of the printer at most once (its job id in the file name);
* confirmed at the server exactly when it came out, else released (offered again):
  nothing left reserved after reconciliation, nothing held;
* every blank card that went to the printer is in the ledger by serial, once;
* the store's audit chain verifies.

Resumable in parts: ``--seed S --kills N`` runs kills S*100000 .. (a part of its own),
writes ``--out part-S.json``; ``--merge part-*.json`` adds parts up.

    python bench/kills.py --kills 100 --seed 1 --out kills-1.json
    python bench/kills.py --merge kills-*.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from machine import header  # bench/ is the script's own folder

from kiosk.server_client import ServerRefused
from kiosk.store import UNFINISHED, KioskStore
from server import officer
from server.db import make_engine, session_factory
from sim.documents import all_samples
from sim.embedded import EmbeddedServer
from sim.population import DEMO_NIK, ISSUING_OFFICIAL
from sim.rig import Rig
from sim.seed import demo_code

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = all_samples()
QUEUE = {"kartu_keluarga": "adm-a4", "ktp_el": "adm-card"}
CARDS = 5000


class Campaign:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.rig = Rig()
        self.rig.up()
        self.rig.set_paper("adm-a4", 250)
        self.server = EmbeddedServer(
            f"sqlite:///{work / 'server.db'}",
            work / "server-home",
            kiosks=("kiosk-kills",),
            kiosk_cache_seconds=0.0,
        )
        self.server.start()
        # A kill campaign opens thousands of e-KTP sessions from one kiosk in an hour:
        # the abuse limit (30 per 15 minutes) is what it is not measuring.
        self.server.settings.limits = replace(self.server.settings.limits, ektp_sessions=10**9)
        cred = self.server.credentials("kiosk-kills")
        self.config = work / "kiosk.json"
        self.config.write_text(
            json.dumps(
                {
                    "cups": str(self.rig.cups_socket),
                    "card_serials": f"KTP2699K000001..KTP2699K{CARDS:06d}",
                    "kiosk_id": "kiosk-kills",
                    "store": str(work / "kiosk.db"),
                    "url": self.server.url,
                    "ca": str(self.server.home.ca_cert),
                    "cert": str(cred.cert),
                    "key": str(cred.key),
                    "issuer_key": str(self.server.home.issuer_pub),
                }
            )
        )
        self.engine = make_engine(self.server.database_url)
        self.serial = 0

    def approve(self, kind: str) -> str:
        """A new document of ``kind`` for the demo citizen, its code the demo's."""
        self.serial += 1
        number = f"KILL-{kind[:3].upper()}-{os.getpid()}-{self.serial:06d}"
        data = dict(SAMPLES[kind].get("data", {}))
        data.pop("photo", None)  # the chip's portrait is not the register's
        data.pop("signature", None)
        with session_factory(self.engine)() as db:
            app = officer.register(db, kind, DEMO_NIK, data)
            officer.approve(
                db,
                self.server.settings.pepper,
                app.id,
                ISSUING_OFFICIAL,
                number=number,
                print_code=demo_code(number),
            )
        return number

    def kiosk(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.crash_job", str(self.config), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=ROOT,
        )

    def print_one(self, kind: str, kill_after: float | None) -> dict:
        """Print one new document; kill the process ``kill_after`` s after its code was
        accepted (None: let it finish).  The outcome, as seen from outside."""
        number = self.approve(kind)
        since = time.time_ns()
        proc = self.kiosk("print", kind)
        assert proc.stdout is not None
        job = ""
        for line in proc.stdout:
            if line.startswith("RESERVED "):
                job = line.split()[1]
                accepted = time.monotonic()
                break
        if not job:
            proc.wait(timeout=60)
            raise RuntimeError(f"the kiosk never reserved {number}")
        killed = False
        window = 0.0
        if kill_after is not None:
            try:
                proc.wait(timeout=kill_after)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                killed = True
        else:
            for line in proc.stdout:
                if line.startswith("DONE"):
                    window = time.monotonic() - accepted  # code accepted to document done
                    break
        proc.wait(timeout=180)
        restart_began = time.monotonic()
        restart = self.kiosk("restart")
        out, _ = restart.communicate(timeout=180)
        restart_s = time.monotonic() - restart_began
        if restart.returncode != 0:
            raise RuntimeError(f"restart failed after {job}")
        report = json.loads(out.strip().splitlines()[-1])
        violations, state = self.check(kind, job, since, report)
        return {
            "kind": kind,
            "job": job,
            "number": number,
            "killed": killed,
            "window": window,
            "restart_s": restart_s,
            "report": report,
            "state": state,
            "violations": violations,
        }

    def check(self, kind: str, job: str, since: int, report: dict) -> tuple[list[str], str]:
        """The violations of the invariant for ``job`` and the state it ended in."""
        wrong: list[str] = []
        printed = [p for p in self.rig.printed_since(QUEUE[kind], since) if job in p.name]
        store = KioskStore(self.work / "kiosk.db")
        try:
            every = store.jobs(states=("confirmed", "released", *UNFINISHED))
            record = next((j for j in every if j.job_id == job), None)
            cards = [r for r in store.records if r.job_id == job]
            serials = [r.serial for r in store.records]
            audit = store.verify_audit()
        finally:
            store.close()
        if record is None:
            wrong.append("job missing from the store")
            return wrong, "missing"
        if report["held"] or report["pending"]:
            wrong.append(
                f"after reconciliation: held {report['held']}, pending {report['pending']}"
            )
        if len(printed) > 1:
            wrong.append(f"printed {len(printed)} times")
        client = self.server_client()
        try:
            at_server = client.reservation(job)["state"]
        except ServerRefused as exc:
            at_server = f"refused {exc.status}"
        if record.state == "confirmed":
            if at_server != "confirmed" or len(printed) != 1:
                wrong.append(f"confirmed here, {at_server} there, printed {len(printed)}")
        elif record.state == "released":
            if at_server != "released" or printed:
                wrong.append(f"released here, {at_server} there, printed {len(printed)}")
        else:
            wrong.append(f"left {record.state}")
        if len(serials) != len(set(serials)):
            wrong.append("a blank card recorded twice")
        if (
            kind == "ktp_el"
            and record.state == "confirmed"
            and [c.outcome.value for c in cards] != ["consumed"]
        ):
            wrong.append(f"card ledger {[(c.serial, c.outcome.value) for c in cards]}")
        if not audit.ok:
            wrong.append(f"audit chain: {audit}")
        return wrong, record.state

    def server_client(self):  # type: ignore[no-untyped-def]
        from kiosk.server_client import ServerClient, Tls

        cred = self.server.credentials("kiosk-kills")
        return ServerClient(
            self.server.url,
            tls=Tls(self.server.home.ca_cert, cred.cert, cred.key),
            issuer_key=self.server.home.issuer_pub,
        )

    def close(self) -> None:
        self.engine.dispose()
        self.server.stop()


def run(kills: int, seed: int, out: Path) -> dict:
    rng = random.Random(seed)
    work = Path(tempfile.mkdtemp(prefix="adm-kills-"))
    campaign = Campaign(work)
    results = []
    try:
        # Each medium's window measured: the median of three prints without a kill.
        windows = {
            k: statistics.median(campaign.print_one(k, None)["window"] for _ in range(3))
            for k in QUEUE
        }
        print(f"print windows: {windows}", flush=True)
        for i in range(kills):
            kind = ("kartu_keluarga", "ktp_el")[i % 2]
            result = campaign.print_one(kind, rng.uniform(0, windows[kind]))
            results.append(result)
            if result["violations"]:
                print(f"kill {i}: {result['violations']}", flush=True)
            if (i + 1) % 25 == 0:
                print(f"{i + 1}/{kills} kills", flush=True)
    finally:
        campaign.close()
    summary = summarize(results, [f"seed {seed}"])
    out.write_text(json.dumps({"summary": summary, "results": results}, indent=1))
    return summary


def summarize(results: list[dict], parts: list[str]) -> dict:
    restarts = sorted(r["restart_s"] for r in results)
    killed = [r for r in results if r["killed"]]
    return {
        "parts": parts,
        "kills": len(results),
        "killed_in_window": len(killed),
        "finished_before_the_kill": len(results) - len(killed),
        "by_kind": {k: sum(1 for r in results if r["kind"] == k) for k in QUEUE},
        "ended": {
            state: sum(1 for r in results if r["state"] == state)
            for state in sorted({r["state"] for r in results})
        },
        "violations": [v for r in results for v in r["violations"]],
        "restart_s": {
            "median": statistics.median(restarts) if restarts else None,
            "max": restarts[-1] if restarts else None,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--merge", nargs="*", type=Path)
    args = parser.parse_args()
    print(header())
    if args.merge:
        results, parts = [], []
        for path in args.merge:
            data = json.loads(path.read_text())
            results += data["results"]
            parts += data["summary"]["parts"]
        print(json.dumps(summarize(results, parts), indent=1))
        return
    out = args.out or Path(f"kills-{args.seed}.json")
    print(json.dumps(run(args.kills, args.seed, out), indent=1))


if __name__ == "__main__":
    main()
