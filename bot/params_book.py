"""Strategy parameters the bot runs with: versioned, persisted, audited, with rollback.

Table ``params`` holds every version (key = version number) with its parent; table
``params_state`` key ``current`` points at the version in force; ``params_audit`` is an
append-only log of who changed what and when. Rolling back moves the pointer to the parent,
so history is never rewritten.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from pydantic import ValidationError

from bot.records import damage
from engines.errors import InvalidInput
from engines.params import DEFAULT_PARAMS, StrategyParams
from storage import StateStore

logger = logging.getLogger(__name__)
VERSIONS, STATE, AUDIT = "params", "params_state", "params_audit"



@dataclass(frozen=True)
class ParamChange:
    """One parameter's value before and after."""

    key: str
    old: Any
    new: Any


@dataclass(frozen=True)
class ParamsVersion:
    """A stored set of parameters."""

    version: int
    params: StrategyParams
    parent: int | None
    changed_by: str
    changed_at: datetime


def diff(old: StrategyParams, new: StrategyParams) -> tuple[ParamChange, ...]:
    before, after = old.model_dump(), new.model_dump()
    return tuple(ParamChange(k, before[k], after[k]) for k in after if before[k] != after[k])


class ParamsBook:
    """The parameter versions in a :class:`~storage.StateStore`; version 1 is the defaults."""

    def __init__(self, store: StateStore) -> None:
        self._store = store
        self._current: ParamsVersion | None = None
        self.quarantined: dict[str, str] = {}  # "params/<version>" -> why it cannot be read
        if self._store.get(STATE, "current") is None:
            self._write(_defaults())
            self._store.put(STATE, "current", {"version": 1})

    def _write(self, version: ParamsVersion) -> None:
        self._store.put(VERSIONS, str(version.version), {
            "version": version.version, "values": version.params.model_dump(mode="json"),
            "parent": version.parent, "changed_by": version.changed_by,
            "changed_at": version.changed_at.isoformat()})

    def _read(self, number: int) -> ParamsVersion:
        doc = self._store.get(VERSIONS, str(number))
        if doc is None:
            raise InvalidInput(f"parameter version {number} does not exist")
        try:
            return ParamsVersion(int(doc["version"]), StrategyParams.model_validate(doc["values"]), doc["parent"],
                                 str(doc["changed_by"]), datetime.fromisoformat(doc["changed_at"]))
        except (ValidationError, KeyError, TypeError, ValueError) as e:
            name = f"{VERSIONS}/{number}"
            if name not in self.quarantined:
                self.quarantined[name] = damage(e)
                logger.error("parameter record %s is malformed (%s); left aside", name, self.quarantined[name])
            raise InvalidInput(f"parameter version {number} is damaged and cannot be used") from e

    def version(self, number: int) -> ParamsVersion:
        """A stored version by number (raises :class:`InvalidInput` if there is none)."""
        return self._read(number)

    def current(self) -> ParamsVersion:
        """The version in force; a damaged one gives way to its nearest readable parent, then the defaults."""
        if self._current is None:
            number = (self._store.get(STATE, "current") or {}).get("version")
            seen: set[object] = set()
            while self._current is None and isinstance(number, int) and number not in seen:
                seen.add(number)
                try:
                    self._current = self._read(number)
                except InvalidInput:
                    parent = self._store.get(VERSIONS, str(number)) or {}
                    number = parent.get("parent") if isinstance(parent, dict) else None
            if self._current is None:
                self._current = _defaults()
        return self._current

    def _point_at(self, version: ParamsVersion) -> None:
        self._store.put(STATE, "current", {"version": version.version})
        self._current = version

    @property
    def params(self) -> StrategyParams:
        return self.current().params

    def apply(self, params: StrategyParams, *, who: str, when: datetime, shown: dict[str, Any] | None = None,
              market_time: datetime | None = None) -> ParamsVersion:
        """Store ``params`` as a new version in force; raises if nothing changes.

        ``shown``: what the person applying was shown beforehand (the /tune preview), kept in the audit;
        ``market_time``: the feed's clock at the change (a replay's differs from ``when``), kept as ``market_at``.
        """
        current = self.current()
        changes = diff(current.params, params)
        if not changes:
            raise InvalidInput("nothing to change: the parameters already have these values")
        number = max(int(key) for key, _ in self._store.items(VERSIONS)) + 1
        version = ParamsVersion(number, params, current.version, who, when)
        self._write(version)
        self._point_at(version)
        self._audit("tune", who, when, current.version, number, changes, shown=shown, market_time=market_time)
        return version

    def rollback(self, *, who: str, when: datetime,
                 market_time: datetime | None = None) -> tuple[ParamsVersion, tuple[ParamChange, ...]]:
        """Return to the version the current one was made from."""
        current = self.current()
        if current.parent is None:
            raise InvalidInput("nothing to roll back: these are the original parameters (version 1)")
        previous = self._read(current.parent)
        self._point_at(previous)
        changes = diff(current.params, previous.params)
        self._audit("rollback", who, when, current.version, previous.version, changes, market_time=market_time)
        return previous, changes

    def _audit(self, action: str, who: str, when: datetime, old: int, new: int,
               changes: tuple[ParamChange, ...], *, shown: dict[str, Any] | None = None,
               market_time: datetime | None = None) -> None:
        entry: dict[str, Any] = {"action": action, "user": who, "at": when.isoformat(), "from_version": old,
                                 "to_version": new, "changes": {c.key: [c.old, c.new] for c in changes}}
        if market_time is not None:
            entry["market_at"] = market_time.isoformat()
        if shown is not None:
            entry["shown"] = shown
        self._store.append(AUDIT, entry)

    def audit(self) -> list[dict[str, Any]]:
        return self._store.all(AUDIT)


def _defaults() -> ParamsVersion:
    return ParamsVersion(1, DEFAULT_PARAMS, None, "defaults", datetime(1970, 1, 1, tzinfo=timezone.utc))
