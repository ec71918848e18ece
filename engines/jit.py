"""Numeric kernels: interpreted one decision at a time, compiled by numba for whole histories.

Each kernel of the engines is written once, as Python over numpy arrays, and marked with
:func:`kernel`. Until :func:`compile_kernels` is called, kernels run in the interpreter: the live bot
decides one candle per pair at a time, which the interpreter does in a few milliseconds, and so never
loads numba (llvmlite's compiler and numba's typing machinery stay out of its memory: ~90 MB).
Whole-history work (backtests, sweeps, signal scans) calls :func:`compile_kernels` first; from then on
every kernel called from Python runs through its numba dispatcher (``cache=True``), and kernels that
call kernels are compiled together (numba sees each one as a jitable overload of itself).

Both ways run the same source; the kernels are written so that the interpreter gives the same bits as
the compiled code (no reductions whose order differs, explicit NaN handling), and a test holds the
live path equal to the batch scan at every candle of real data.

numba's on-disk cache checks only the file of the function it compiled, not the kernels it calls from
other files; so the compiled kernels are cached in a folder named after a digest of every file that
defines kernels (``engines/__pycache__/kernels-<digest>``, unless ``NUMBA_CACHE_DIR`` is set): an edit to
any kernel recompiles them all instead of running stale machine code.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import logging
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

logger = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class _Kernel:
    function: Callable[..., Any]
    wrapper: Callable[..., Any] | None = None
    dispatcher: Any = None


@dataclass
class _Registry:
    kernels: list[_Kernel] = field(default_factory=list)
    compiled: bool = False  # process-wide: kernels called from Python go through numba
    lock: threading.Lock = field(default_factory=threading.Lock)


_REGISTRY = _Registry()


def kernel(function: F) -> F:
    """Mark a numeric kernel (see the module docstring)."""
    entry = _Kernel(function)

    @functools.wraps(function)
    def call(*args: Any) -> Any:
        dispatcher = entry.dispatcher
        if dispatcher is not None and _REGISTRY.compiled:
            return dispatcher(*args)
        return function(*args)

    entry.wrapper = call
    with _REGISTRY.lock:
        _REGISTRY.kernels.append(entry)
        if _REGISTRY.compiled:
            _compile(entry)
    return call  # type: ignore[return-value]


def compile_kernels() -> None:
    """Run every kernel (those imported later too) through numba from now on; idempotent."""
    if _REGISTRY.compiled:
        return
    with _REGISTRY.lock:
        if _REGISTRY.compiled:
            return
        logger.debug("compiling %d kernels with numba", len(_REGISTRY.kernels))
        _use_cache_dir(_REGISTRY.kernels)
        for entry in _REGISTRY.kernels:
            _compile(entry)
        _REGISTRY.compiled = True


def kernels_compiled() -> bool:
    """Whether :func:`compile_kernels` has been called in this process."""
    return _REGISTRY.compiled


@contextlib.contextmanager
def interpreted() -> Iterator[None]:
    """Run kernels in the interpreter inside the block, as the live bot does (tests compare both ways)."""
    was = _REGISTRY.compiled
    _REGISTRY.compiled = False
    try:
        yield
    finally:
        _REGISTRY.compiled = was


def _compile(entry: _Kernel) -> None:
    """Make ``entry`` callable from compiled kernels (an overload of its wrapper) and give it a dispatcher."""
    if entry.dispatcher is not None:
        return
    import numba
    from numba.core.extending import overload

    function = entry.function
    overload(entry.wrapper, strict=False)(lambda *args: function)
    entry.dispatcher = numba.njit(cache=True)(function)


def _use_cache_dir(kernels: list[_Kernel]) -> None:
    """Point numba's cache at a folder named after the kernels' sources (see the module docstring): every
    engines module that defines kernels, whether imported yet or not, and those of ``kernels``."""
    import numba

    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    package = Path(__file__).parent
    sources = {path for path in package.rglob("*.py") if "@kernel" in path.read_text(encoding="utf-8")}
    sources |= {Path(inspect.getsourcefile(entry.function) or "") for entry in kernels} - {Path("")}
    digest = hashlib.sha256(numba.__version__.encode())
    for source in sorted(sources):
        digest.update(str(source).encode() + source.read_bytes())
    numba.config.CACHE_DIR = str(package / "__pycache__" / f"kernels-{digest.hexdigest()[:16]}")
