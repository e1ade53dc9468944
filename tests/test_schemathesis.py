"""Schemathesis against the running server: every operation of the OpenAPI spec with
generated valid and invalid input (all checks: no server error, answers that match the
spec, valid input accepted, invalid input refused), over HTTPS with a kiosk certificate
and an open citizen session.  ``make schemathesis`` runs the same with more cases."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sim.embedded import EmbeddedServer
from sim.population import DEMO_NIK
from sim.seed import demo_pin
from tests.conftest import kiosk_client

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = int(os.environ.get("ADM_SCHEMATHESIS_EXAMPLES", "20"))


def test_the_api_holds_its_spec_under_generated_input(server: EmbeddedServer) -> None:
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
        timeout=600,
    )
    report = run.stdout[-8000:] + run.stderr[-2000:]
    assert run.returncode == 0, report
    summary = next(line for line in run.stdout.splitlines() if " generated, " in line)
    generated = int(summary.split()[0])
    assert generated >= 10 * EXAMPLES, summary  # every operation was exercised
    assert "failure" not in summary, summary
