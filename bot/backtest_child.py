"""/backtest in a child process: the bot keeps its live size, and a backtest that runs out of memory ends
only the child.

Run in the bot, a 25-pair 7-day backtest took the process from 256 MB to a 505 MB peak and left it at
471 MB (numba's compiler, the history, the engines' caches); on a 512 MB host a 30- or 60-day one could
get the bot itself killed. The child is ``python -m bot.backtest_child``: it reads one pickled
:class:`bot.backtest_runner.BacktestJob` on stdin and writes length-prefixed pickled frames on stdout:
``("progress", text)`` any number of times, then ``("result", BacktestResult)`` or ``("error", class name,
message)``. Its log lines go to the bot's stderr. Both ends are this program: pickle is safe here.
"""

from __future__ import annotations

import logging
import pickle
import struct
import subprocess
import sys
from collections.abc import Iterator
from typing import IO, Any

from bot.backtest_runner import BacktestJob, BacktestResult, Progress, run_backtest_job
from engines.errors import JobFailed, SignalTrackerError

logger = logging.getLogger(__name__)
HEADER = struct.Struct(">I")


def _error_classes(base: type[SignalTrackerError] = SignalTrackerError) -> dict[str, type[SignalTrackerError]]:
    """The engines' error hierarchy (``engines.errors``: each takes one message) by class name, for the
    errors the child sends back."""
    classes = {base.__name__: base}
    for subclass in base.__subclasses__():
        if subclass.__module__ == base.__module__:
            classes |= _error_classes(subclass)
    return classes


def run_in_child(job: BacktestJob, progress: Progress) -> BacktestResult:
    """Run ``job`` in a new ``python -m bot.backtest_child``; blocking (call it from a worker thread)."""
    with subprocess.Popen([sys.executable, "-m", "bot.backtest_child"], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE) as child:
        try:
            child.stdin.write(pickle.dumps(job))
            child.stdin.close()
            for frame in _frames(child.stdout):
                if frame[0] == "progress":
                    progress(frame[1])
                elif frame[0] == "result":
                    return frame[1]
                else:
                    raise _error_classes().get(frame[1], SignalTrackerError)(frame[2])
        finally:
            if child.poll() is None:
                child.kill()
            child.wait()
    raise JobFailed(f"the backtest process ended without a result ({_exit_reason(child.returncode)})")


def _exit_reason(code: int) -> str:
    if code == -9:
        return "killed, most likely out of memory: try fewer days or pairs"
    return f"signal {-code}" if code < 0 else f"exit code {code}, see the log"


def _frames(stream: IO[bytes]) -> Iterator[tuple[Any, ...]]:
    while header := stream.read(HEADER.size):
        if len(header) < HEADER.size:
            return
        body = stream.read(HEADER.unpack(header)[0])
        yield pickle.loads(body)


def _send(stream: IO[bytes], frame: tuple[Any, ...]) -> None:
    body = pickle.dumps(frame)
    stream.write(HEADER.pack(len(body)) + body)
    stream.flush()


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s backtest %(levelname)s %(name)s: %(message)s")
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # anything printed goes to the log, never into the frames
    job: BacktestJob = pickle.load(sys.stdin.buffer)
    try:
        result = run_backtest_job(job, lambda text: _send(out, ("progress", text)))
    except SignalTrackerError as e:
        _send(out, ("error", type(e).__name__, str(e)))
        return 0
    _send(out, ("result", result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
