"""Sweep combinations on Ray (optional extra ``ray``): one task per group of combinations that share
their support/resistance levels.

Connects to the cluster at ``request.address`` (``--address``, e.g. ``ray://head:10001`` or
``10.0.0.5:6379``); without one, to the cluster ``RAY_ADDRESS`` names or a local instance. The request
(candles included) is put in the object store once. Each task builds one signal cache for its group,
so the combinations in it share the level scan and the MACRO part (a task per combination would
redo both); results come back in the order of ``combos``.
"""

from __future__ import annotations

from typing import Any

from engines.errors import InvalidInput


def evaluate_all(request, combos: list[dict[str, Any]]) -> list:
    try:
        import ray
    except ImportError as e:
        raise InvalidInput("--executor ray needs the optional extra: pip install 'signaltracker[ray]'") from e
    from engines.backtest.sweep import SignalCache, evaluate_combos

    @ray.remote
    def _group(req, group):
        return evaluate_combos(req, group, SignalCache(req.history, req.start, req.end))

    started = not ray.is_initialized()
    if started:
        try:
            ray.init(address=request.address, include_dashboard=False, log_to_driver=False)
        except ConnectionError as e:
            raise InvalidInput(f"--address: no Ray cluster at {request.address}: {e}") from e
    try:
        shared = ray.put(request)
        groups = level_groups(request, combos)
        done = ray.get([_group.remote(shared, [combos[i] for i in group]) for group in groups])
        results: list = [None] * len(combos)
        for group, evaluated in zip(groups, done):
            for i, result in zip(group, evaluated):
                results[i] = result
        return results
    finally:
        if started:
            ray.shutdown()


LEVEL_KEYS = ("sr_lookback", "tolerance", "touches", "wick_window", "wick_ratio")  # what the level scan depends on


def level_groups(request, combos: list[dict[str, Any]]) -> list[list[int]]:
    """Indices of ``combos``, grouped by the parameters their level scan depends on."""
    groups: dict[tuple, list[int]] = {}
    for i, changes in enumerate(combos):
        params = request.base.with_changes(**changes)
        groups.setdefault(tuple(getattr(params, k) for k in LEVEL_KEYS), []).append(i)
    return list(groups.values())
