"""Sweep combinations on Ray (optional extra ``ray``): one task per combination.

Connects to the cluster at ``request.address`` (``--address``, e.g. ``ray://head:10001`` or
``10.0.0.5:6379``); without one, to the cluster ``RAY_ADDRESS`` names or a local instance. The request
(candles included) is put in the object store once; each task builds its own signal cache, so the
local executor is faster for small grids.
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
        try:
            ray.init(address=request.address, include_dashboard=False, log_to_driver=False)
        except ConnectionError as e:
            raise InvalidInput(f"--address: no Ray cluster at {request.address}: {e}") from e
    try:
        shared = ray.put(request)
        return ray.get([_one.remote(shared, c) for c in combos])
    finally:
        if started:
            ray.shutdown()
