"""Sweep combinations on Ray (optional extra ``ray``): one task per combination.

Uses a running Ray cluster if ``ray.init`` finds one, else starts a local instance. Each task
has its own signal cache, so the local executor is faster for small grids.
"""

from __future__ import annotations

from typing import Any

from engines.errors import InvalidInput


def evaluate_all(request, combos: list[dict[str, Any]]) -> list:
    try:
        import ray
    except ImportError as e:
        raise InvalidInput("--executor ray needs the optional extra: pip install 'signaltracker[ray]'") from e
    from engines.backtest.sweep import SignalCache, evaluate_combo

    @ray.remote
    def _one(req, changes):
        return evaluate_combo(req, changes, SignalCache(req.history, req.start, req.end))

    started = not ray.is_initialized()
    if started:
        ray.init(include_dashboard=False, log_to_driver=False)
    try:
        shared = ray.put(request)
        return ray.get([_one.remote(shared, c) for c in combos])
    finally:
        if started:
            ray.shutdown()
