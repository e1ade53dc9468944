"""Schemathesis hooks for the central server's run.

JSON Schema counts ``350.0`` as an integer, and Schemathesis offers it where the spec
says ``integer``.  The kiosk API refuses it on purpose (ids are strict: an id sent as a
float is a client bug, not an id), which OpenAPI cannot say; such bodies are left out of
the generated cases rather than the check that found them.
"""

from __future__ import annotations

from typing import Any

import schemathesis


def _has_integral_float(value: Any) -> bool:
    if isinstance(value, float):
        return value.is_integer()
    if isinstance(value, dict):
        return any(_has_integral_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_integral_float(v) for v in value)
    return False


@schemathesis.hook
def filter_body(context: Any, body: Any) -> bool:
    return not _has_integral_float(body)
