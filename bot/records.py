"""Why a stored record cannot be read, in one short line (for the log and ``/status``)."""

from __future__ import annotations

from pydantic import ValidationError


def damage(error: Exception) -> str:
    """``field: message`` of the first validation error, or the error's first line."""
    if isinstance(error, ValidationError) and error.errors():
        first = error.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        return f"{where}: {first['msg']}" if where else first["msg"]
    if isinstance(error, KeyError):
        return f"{error.args[0]}: missing"
    return str(error).splitlines()[0] if str(error) else type(error).__name__
