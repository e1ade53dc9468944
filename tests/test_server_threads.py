"""How many threads a server worker gives its database work, unless configured."""

from __future__ import annotations

import pytest

from server.app import db_threads_for


@pytest.mark.parametrize(
    ("configured", "dialect", "threads"),
    [
        (None, "sqlite", 0),  # one writer at a time: inline on the event loop
        (None, "postgresql", 2),  # a commit's WAL flush overlaps the next request
        (0, "postgresql", 0),  # configured inline stays inline
        (6, "sqlite", 6),  # configured wins
    ],
)
def test_default_and_configured(configured: int | None, dialect: str, threads: int) -> None:
    assert db_threads_for(configured, dialect) == threads
