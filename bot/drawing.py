"""Chart rendering off the event loop, one chart at a time (matplotlib is not thread-safe)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

_EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="charts")


async def draw(render: Callable[..., bytes], *args: Any, **kwargs: Any) -> bytes:
    """Run ``render(*args, **kwargs)`` on the single chart thread and return its PNG bytes."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_EXECUTOR, lambda: render(*args, **kwargs))
