"""Backtester: the engines over history through the live code path, with an honest report."""
