"""Shared CLI helpers: printing JSON or text, parsing lists."""

import json
import math
from typing import Any

from condnet.errors import CondnetError


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def print_json(obj: dict[str, Any]) -> None:
    """Print one JSON object (non-finite floats become null)."""
    print(json.dumps(_clean(obj), indent=2))


def parse_int_list(text: str, what: str, length: int | None = None) -> list[int]:
    """Parse ``"1,28,28"``; errors name the option and the expected form."""
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise CondnetError(f"{what} must be comma-separated integers, got {text!r}") from None
    if length is not None and len(values) != length:
        raise CondnetError(f"{what} needs {length} comma-separated integers, got {text!r}")
    return values
