"""The kiosk configuration tests on the rig start from, in a module of its own so that
the crash-test kiosk processes import it without pytest and the test server."""

from __future__ import annotations

from kiosk.config import CONFIG_DIR, Config


def rig_config() -> Config:
    """A configuration for tests on the rig: the virtual readers, the test issuer key,
    records in memory.  Tests set what else they need and hand in simulated parts."""
    cfg = Config()
    cfg.kiosk.id = "kiosk-test"
    cfg.card.reader, cfg.card.sam_reader = "Virtual PCD 00 00", "Virtual PCD 00 01"
    cfg.card.issuer_key = str(CONFIG_DIR / "keys" / "ektp-issuer-test.pem")
    cfg.kiosk.store = ""
    cfg.printer.job_memory = 60.0  # the rig's ippeveprinter keeps finished jobs 60 s
    return cfg
