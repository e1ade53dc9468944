"""The one way a NIK appears anywhere but the registry: logs, audit rows, screens."""

from __future__ import annotations

import re

# ASCII digits only: ``\d`` also matches Arabic-Indic and other Unicode digits.
NIK_PATTERN = r"^[0-9]{16}$"
_NIK = re.compile(NIK_PATTERN)


def is_nik(text: str) -> bool:
    """Sixteen ASCII digits."""
    return bool(_NIK.match(text))


def mask_nik(nik: str) -> str:
    """Region prefix and last four digits only (``3201********0001``); anything that is
    not sixteen characters is masked whole, so a malformed NIK leaks nothing either."""
    if len(nik) != 16:
        return "*" * len(nik)
    return f"{nik[:4]}{'*' * 8}{nik[-4:]}"
