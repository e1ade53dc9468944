"""Kiosks printing under a fault: lanes of simulated kiosks each running print
transactions (open a session, reserve with the print code, confirm) through the real
kiosk client, retrying what a kiosk retries, and recording every refusal and outage with
its moment, so a test or a benchmark can say how long the fault was visible, whether
any answer was a fault of the server (5xx other than 503), and what was acknowledged.

A reserve and a confirm are retried with the same job id until they are answered (they
are idempotent on the server, as the kiosk's outbox relies on); a session opening is
tried again as a citizen taps again.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

from kiosk.server_client import ServerClient, ServerRefused, ServerUnavailable
from sim.seed import card_assertion

CARD = card_assertion(0.9)
T = TypeVar("T")


@dataclass
class LoadResult:
    started: float = 0.0
    finished: float = 0.0
    reserved: list[str] = field(default_factory=list)  # acknowledged job ids
    confirmed: list[str] = field(default_factory=list)
    outages: list[float] = field(default_factory=list)  # monotonic moments of 503/unreachable
    faults: list[str] = field(default_factory=list)  # any other 5xx: must stay empty
    latencies: list[float] = field(default_factory=list)  # per transaction, seconds

    @property
    def longest_wait(self) -> float:
        """The longest a citizen's print took from its session to its confirmation: what
        a fault costs at the kiosk, refused or merely slow."""
        return max(self.latencies, default=0.0)

    @property
    def outage_window(self) -> float:
        """From the first refused or failed call to the last one (0 without any)."""
        return max(self.outages) - min(self.outages) if self.outages else 0.0


def run_lanes(
    clients: list[ServerClient],
    documents: list[tuple[str, int, str]],
    *,
    deadline: float = 120.0,
    pace: float = 0.0,
    on_done: Callable[[int], None] | None = None,
) -> LoadResult:
    """Every document printed once through one of ``clients`` (a lane each); ``pace``:
    seconds between one lane's transactions (0: back to back); ``on_done(n)`` after each
    confirmed print (a test injects its fault there)."""
    result = LoadResult(started=time.monotonic())
    lock = threading.Lock()
    stop_at = result.started + deadline

    def call(fn: Callable[[], T]) -> T:
        while True:
            if time.monotonic() > stop_at:
                raise TimeoutError("the load did not finish in time")
            try:
                return fn()
            except ServerUnavailable:
                with lock:
                    result.outages.append(time.monotonic())
            except ServerRefused as exc:
                if exc.status == 503:
                    with lock:
                        result.outages.append(time.monotonic())
                elif exc.status >= 500:
                    with lock:
                        result.faults.append(f"{exc.status} {exc.detail}")
                    raise
                else:
                    raise

    def lane(k: int) -> None:
        kiosk = clients[k]
        for nik, doc_id, code in documents[k :: len(clients)]:
            begun = time.monotonic()
            opened = call(partial(kiosk.open_session, "ektp", nik=nik, card=CARD))
            session = str(opened["session"])
            job = str(uuid.uuid4())
            answer = call(partial(kiosk.reserve, session, job, doc_id, code))
            assert answer.state == "reserved"
            with lock:
                result.reserved.append(job)
            confirmed = call(partial(kiosk.confirm, job))
            assert confirmed["state"] == "confirmed"
            with lock:
                result.confirmed.append(job)
                result.latencies.append(time.monotonic() - begun)
                count = len(result.confirmed)
            if on_done is not None:
                on_done(count)
            if pace:
                time.sleep(max(0.0, pace - (time.monotonic() - begun)))

    with ThreadPoolExecutor(len(clients)) as pool:
        for future in [pool.submit(lane, k) for k in range(len(clients))]:
            future.result()
    result.finished = time.monotonic()
    return result
