"""Child process of the crash test: writes records until it is killed.

Usage: ``python crash_writer.py STATE_FILE CHILD_NUMBER`` (a ``.json`` file is a TinyDBStore, any
other a SQLiteStore). Prints ``ready`` once the store is
open, then for i = 0, 1, ...: puts record ``<child>-<i>``, overwrites ``latest/writer`` with i,
and only then prints ``<i>`` -- so every printed number is a write that was acknowledged.
"""

from __future__ import annotations

import sys
from typing import Any

from storage import SQLiteStore, TinyDBStore


def record_for(child: int, i: int) -> dict[str, Any]:
    """The exact document written as record ``<child>-<i>`` (sizes vary, text is not ASCII)."""
    return {"child": child, "i": i, "payload": "é✔" * ((child * 31 + i * 7) % 97),
            "nested": {"squares": [n * n for n in range(i % 11)]}}


def main(path: str, child: int) -> None:
    store = TinyDBStore(path) if path.endswith(".json") else SQLiteStore(path)
    print("ready", flush=True)
    i = 0
    while True:
        store.put("records", f"{child}-{i}", record_for(child, i))
        store.put("latest", "writer", {"child": child, "i": i})
        print(i, flush=True)
        i += 1


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
