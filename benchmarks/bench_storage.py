"""State store: time of one put (a delivery confirmation) with 50,000 signals already sent.

    .venv/bin/python benchmarks/bench_storage.py [--signals 50000] [--puts 200]

For each store the script fills a fresh file with ``--signals`` signal records and one delivery
record each (the shape the bot writes), then times ``--puts`` single-document puts and ``--puts``
three-change batches (an admission: risk book + position + journal). It prints the median and the
95th percentile per call: a put called on the event loop blocks it that long. The bot calls its
state writes in worker threads (``asyncio.to_thread``); the last line measures what that leaves on
the loop: a ticker coroutine records how late it wakes (every 1 ms) while puts run in a thread.
TinyDB rewrites the whole file, so it gets at most 5 puts.
Goal (issue 10): <= 5 ms of loop time per put at 50,000 signals sent.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storage import Put, SQLiteStore, StateStore, TinyDBStore  # noqa: E402

SIGNAL = {"type": "SCALP", "pair": "SOLUSDT", "side": "LONG", "entry": 169.42, "tp": 170.27, "sl": 168.57,
          "support": [169.42, 168.8], "resistance": [171.3], "trend": {"direction": "up", "slope": 0.0012},
          "timestamp": "2025-05-20T12:15:00Z", "confidence": 74,
          "exhaustion_checks": {"volume_drop": True, "double_wick": False, "rsi_extreme": False,
                                "order_book_flip": False}}
TINYDB_PUTS = 5


def signal_doc(i: int) -> dict:
    return {"signal": {**SIGNAL, "timestamp": f"2025-05-20T12:15:{i % 60:02d}Z"}, "decided_at": "2025-05-20T12:15:00+00:00",
            "opened": True, "outcome": "tp", "pnl_pct": 4.1, "note": "ok", "params_version": 3}


def fill(store: StateStore, signals: int) -> None:
    for start in range(0, signals, 5000):
        batch = []
        for i in range(start, min(start + 5000, signals)):
            batch.append(Put("signals", f"SCALP:SOLUSDT:LONG:{i}", signal_doc(i)))
            batch.append(Put("sent_signals", f"-100123|SCALP:SOLUSDT:LONG:{i}",
                             {"signal_key": f"SCALP:SOLUSDT:LONG:{i}", "chat_id": -100123, "state": "sent",
                              "message_id": i, "at": "2025-05-20T12:15:00+00:00"}))
        store.write(batch)


def timed(calls: int, action) -> list[float]:
    times = []
    for n in range(calls):
        started = time.perf_counter()
        action(n)
        times.append((time.perf_counter() - started) * 1000)
    return times


def report(name: str, what: str, times: list[float]) -> None:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    print(f"{name:8s} {what:28s} median {statistics.median(times):8.2f} ms   p95 {p95:8.2f} ms   (n={len(times)})")


def bench(name: str, store: StateStore, signals: int, puts: int) -> None:
    started = time.perf_counter()
    fill(store, signals)
    print(f"{name:8s} filled {signals:,} signals + deliveries in {time.perf_counter() - started:.1f} s")
    report(name, "put (delivery confirmed)", timed(puts, lambda n: store.put(
        "sent_signals", f"-100123|SCALP:SOLUSDT:LONG:{n}", {"state": "sent", "message_id": n})))
    report(name, "write of 3 (an admission)", timed(puts, lambda n: store.write([
        Put("risk", "book", {"positions": [], "n": n}), Put("positions", f"p{n}", {"status": "pending"}),
        Put("signals", f"new{n}", signal_doc(n))])))


async def loop_stalls(store: StateStore, puts: int) -> tuple[list[float], list[float]]:
    """Latency of puts run off the loop, and how late a 1 ms ticker on the loop woke meanwhile."""
    late: list[float] = []
    running = True

    async def ticker() -> None:
        loop = asyncio.get_running_loop()
        while running:
            before = loop.time()
            await asyncio.sleep(0.001)
            late.append((loop.time() - before - 0.001) * 1000)

    tick = asyncio.create_task(ticker())
    latency = []
    for n in range(puts):
        started = time.perf_counter()
        await asyncio.to_thread(store.put, "sent_signals", f"-100123|SCALP:SOLUSDT:LONG:{n}",
                                {"state": "sent", "message_id": n + 1})
        latency.append((time.perf_counter() - started) * 1000)
    running = False
    await tick
    return latency, late


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", type=int, default=50_000)
    parser.add_argument("--puts", type=int, default=200)
    args = parser.parse_args()
    print("machine: shared, 2 cores; figures are wall time per call")
    with tempfile.TemporaryDirectory() as folder:
        with SQLiteStore(Path(folder) / "state.sqlite") as store:
            bench("sqlite", store, args.signals, args.puts)
            latency, late = asyncio.run(loop_stalls(store, args.puts))
            report("sqlite", "put off the loop: latency", latency)
            report("sqlite", "  loop wake-up delay", late)
        with TinyDBStore(Path(folder) / "state.json") as store:
            bench("tinydb", store, args.signals, min(args.puts, TINYDB_PUTS))


if __name__ == "__main__":
    main()
