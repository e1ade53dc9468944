"""The ASGI app for ``uvicorn server.asgi:app`` (and ``adm-server serve --workers N``).

Each worker process builds its own engine from ``$ADM_SERVER_DB`` and keys from
``$ADM_SERVER_HOME``; migrations were applied by the parent before the workers start.
"""

from __future__ import annotations

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
        db_threads=int(os.environ.get("ADM_SERVER_DB_THREADS") or 0),
        home=_home,
        alert_rules=_home.alert_rules(),
        metrics_token_hash=_home.metrics_token_hash(),
    ),
)
