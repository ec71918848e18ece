"""``signaltracker --help`` and each command import only what they need."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
PROBE = """
import sys
from bot.cli import main
try:
    main({argv!r})
except SystemExit:
    pass
heavy = sorted(m for m in ("pandas", "numba", "matplotlib", "charts", "engines.backtest.run", "ccxt") if m in sys.modules)
print("HEAVY:" + ",".join(heavy))
"""


def _heavy_after(argv: list[str]) -> list[str]:
    out = subprocess.run([sys.executable, "-c", PROBE.format(argv=argv)], cwd=REPO, capture_output=True, text=True,
                         env={"PYTHONPATH": str(REPO), "PATH": ""}, check=True)
    line = next(l for l in out.stdout.splitlines() if l.startswith("HEAVY:"))
    return [m for m in line.removeprefix("HEAVY:").split(",") if m]


def test_top_level_help_imports_nothing_heavy():
    assert _heavy_after(["--help"]) == []


def test_a_command_imports_its_own_needs_only():
    assert _heavy_after(["signals", "--help"]) == ["pandas"]  # numba loads only when a scan runs
    assert "matplotlib" not in _heavy_after(["backtest", "--help"])
