"""``signaltracker`` console command: one subcommand per module of this package.

Each public module ``bot/cli/<name>.py`` (names starting with ``_`` are shared code) defines ``register(subparsers) -> None``, which adds its parser
and sets ``handler=<callable(args) -> int>``. Errors of the project's hierarchy become one line on
stderr and exit status 2; nothing else is printed on stdout but the command's own output.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys

from engines.errors import SignalTrackerError

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line: ``signaltracker: <what is wrong>``."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"signaltracker: {message}\n")
        raise SystemExit(EXIT_BAD_INPUT)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="signaltracker", description="Crypto signal engines, backtests and sweeps.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module.name.startswith("_"):
            continue
        importlib.import_module(f"{__name__}.{module.name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.handler(args) or 0)
    except SignalTrackerError as e:
        sys.stderr.write(f"signaltracker {args.command}: {e}\n")
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # the reader (e.g. `| head`) left: stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
