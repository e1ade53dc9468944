"""The demo's central server in a process of its own, as a deployment has it.

Started first thing by ``adm-kiosk simulate --window``, it imports, migrates and seeds
on the second core while the kiosk imports its own stack, and its requests never compete
with the screen for one interpreter.  ``stop`` and ``start`` take it down and bring it
back on the same port (the simulator panel's server switch).

    python -m sim.server_process DATABASE HOME KIOSK_ID [PORT]
prints ``URL CERT KEY`` on one line once it serves, then runs until terminated.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path


class ServerProcess:
    def __init__(self, database: str, home: Path, kiosk_id: str) -> None:
        self.database, self.home, self.kiosk_id = database, Path(home), kiosk_id
        self.port = 0
        self.url = self.cert = self.key = ""
        self._proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        """Spawn the server and wait until it serves."""
        self.spawn()
        self.wait_ready()

    def spawn(self) -> None:
        """Spawn the server (returns at once; ``wait_ready`` waits for it)."""
        self._proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sim.server_process",
                self.database,
                str(self.home),
                self.kiosk_id,
                str(self.port),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        """Until the server serves: its URL and the kiosk's credentials are then known."""
        assert self._proc is not None and self._proc.stdout is not None
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self._proc.stdout.readline()))  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout)
        if not line or not line[0].strip():
            self.stop()
            raise RuntimeError("the demo's central server did not start")
        self.url, self.cert, self.key = line[0].split()
        self.port = int(self.url.rsplit(":", 1)[1])

    @property
    def pid(self) -> int | None:
        """The server process's id while it runs (a benchmark reads its CPU time)."""
        return self._proc.pid if self._proc is not None else None

    def stop(self) -> None:
        """Down (a later ``start`` brings it back on the same port: the kiosk keeps its URL)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None


def main(argv: list[str]) -> int:
    import signal

    from sim.embedded import EmbeddedServer

    database, home, kiosk_id = argv[0], Path(argv[1]), argv[2]
    port = int(argv[3]) if len(argv) > 3 else 0
    server = EmbeddedServer(database, home, kiosks=(kiosk_id,), port=port)
    server.start()
    cred = server.credentials(kiosk_id)
    print(server.url, cred.cert, cred.key, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    parent = os.getppid()
    while not done.wait(1.0):
        if os.getppid() != parent:  # the kiosk died without stopping it: go too
            break
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
