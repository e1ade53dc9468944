"""The ASGI app for ``uvicorn server.asgi:app`` (and ``adm-server serve --workers N``).

Each worker process builds its own engine from ``$ADM_SERVER_DB`` and keys from
``$ADM_SERVER_HOME``; migrations were applied by the parent before the workers start.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

from server.app import Settings, create_app
from server.db import make_engine
from server.pki import ServerHome

_home = ServerHome(Path(os.environ.get("ADM_SERVER_HOME", "adm-server-home")))
app = create_app(
    make_engine(
        os.environ.get("ADM_SERVER_DB", f"sqlite:///{_home.path / 'server.db'}"), migrate=False
    ),
    Settings(
        issuer=_home.issuer(),
        pepper=_home.pepper(),
        db_threads=int(threads) if (threads := os.environ.get("ADM_SERVER_DB_THREADS")) else None,
        home=_home,
        alert_rules=_home.alert_rules(),
        verification=_home.verification(),
        backup=_home.backup(),
        metrics_token_hash=_home.metrics_token_hash(),
    ),
)

# Everything built so far (the imports, FastAPI's routes and schemas, SQLAlchemy's
# compiled statements) lives as long as the worker: moved out of the collector's view, so a
# full collection under load scans only what requests made.  Without it each full
# collection stopped a worker for 57-89 ms, collected nothing, and every request in flight
# on that worker waited (docs/benchmarks.md, 2026-12-04).
gc.freeze()
