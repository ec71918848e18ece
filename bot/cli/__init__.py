"""``signaltracker`` console command: one subcommand per module of this package.

Each public module ``bot/cli/<name>.py`` (names starting with ``_`` are shared code) defines ``register(subparsers) -> None``, which adds its parser
and sets ``handler=<callable(args) -> int>``. Errors of the project's hierarchy become one line on
stderr and exit status 2; nothing else is printed on stdout but the command's own output.

Only the module of the command being run is imported (the others are listed with the ``help=`` text
of their ``add_parser`` call, read from their source), so ``signaltracker --help`` and every command
start without loading what the other commands need (pandas, numba, matplotlib...).
"""

from __future__ import annotations

import argparse
import ast
import importlib
import logging
import os
import pkgutil
import sys
from pathlib import Path

from engines.errors import SignalTrackerError

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line: ``signaltracker: <what is wrong>``."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"signaltracker: {message}\n")
        raise SystemExit(EXIT_BAD_INPUT)


def _help_text(name: str) -> str | None:
    """The ``help=`` of the module's ``add_parser`` call, read from its source (no import)."""
    try:
        tree = ast.parse((Path(__path__[0]) / f"{name}.py").read_text(encoding="utf-8"))
    except (OSError, SyntaxError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_parser":
            for keyword in node.keywords:
                if keyword.arg == "help" and isinstance(keyword.value, ast.Constant):
                    return str(keyword.value.value)
    return None


def _command(argv: list[str], names: list[str]) -> str | None:
    """The subcommand named on the command line (the first argument that is one), if any."""
    return next((a for a in argv if a in names), None)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with ``argv``, only the command it names is imported and fully registered."""
    parser = _Parser(prog="signaltracker", description="Crypto signal engines, backtests and sweeps.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
    wanted = names if argv is None else [_command(argv, names)]
    for name in names:
        if name in wanted:
            importlib.import_module(f"{__name__}.{name}").register(subparsers)
        else:
            subparsers.add_parser(name, help=_help_text(name))
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
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
