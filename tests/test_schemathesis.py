"""Schemathesis against the running server: every operation of the OpenAPI spec with
generated valid and invalid input (all checks: no server error, answers that match the
spec, valid input accepted, invalid input refused), over HTTPS with a kiosk certificate
and an open citizen session, then a stateful phase that chains operations along the links
Schemathesis infers between them.  The suite runs a short pass on SQLite;
``make schemathesis`` runs 50,000 cases and more on SQLite and PostgreSQL
(``ADM_SCHEMATHESIS_DB=both``) and prints the count."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sim.embedded import EmbeddedServer
from sim.population import DEMO_NIK
from sim.seed import demo_pin
from tests.conftest import _start_server, kiosk_client

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = int(os.environ.get("ADM_SCHEMATHESIS_EXAMPLES", "20"))
DATABASES = (
    ["sqlite", "postgresql"] if os.environ.get("ADM_SCHEMATHESIS_DB") == "both" else ["sqlite"]
)


@pytest.fixture(params=DATABASES)
def target(request: pytest.FixtureRequest, tmp_path: Path, server_home: Path) -> Iterator[Any]:
    """The shared SQLite server, or a server of its own on PostgreSQL (the long run)."""
    if request.param == "sqlite":
        yield request.getfixturevalue("server")
        return
    url = request.getfixturevalue("pg_cluster").create_database(f"st_{os.getpid()}")
    srv = _start_server(url, server_home, tmp_path)
    yield srv
    srv.stop()


def test_the_api_holds_its_spec_under_generated_input(target: EmbeddedServer) -> None:
    server = target
    cred = server.credentials("kiosk-test")
    opened = kiosk_client(server).open_session("pin", nik=DEMO_NIK, pin=demo_pin(DEMO_NIK))
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.schemathesis.hooks", "PYTHONPATH": str(ROOT)}
    cli = Path(sys.executable).parent / "schemathesis"
    run = subprocess.run(
        [
            str(cli),
            "--config-file",
            str(ROOT / "tests" / "schemathesis" / "schemathesis.toml"),
            "run",
            f"{server.url}/openapi.json",
            "--checks",
            "all",
            "--max-examples",
            str(EXAMPLES),
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--generation-deterministic",
            "--tls-verify",
            str(server.home.ca_cert),
            "--request-cert",
            str(cred.cert),
            "--request-cert-key",
            str(cred.key),
            "--header",
            f"Authorization: Bearer {opened['session']}",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=7200,
    )
    report = run.stdout[-8000:] + run.stderr[-2000:]
    assert run.returncode == 0, report
    summary = next(line for line in run.stdout.splitlines() if " generated, " in line)
    generated = int(summary.split()[0])
    assert generated >= 10 * EXAMPLES, summary  # every operation was exercised
    assert "failure" not in summary, summary
    out = run.stdout.splitlines()
    at = next((i for i, line in enumerate(out) if "Test Phases" in line), len(out))
    phases = [line.strip() for line in out[at + 1 : at + 6] if line.strip()]
    print(f"schemathesis on {server.database_url.split(':')[0]}: {summary.strip()}; {phases}")
