"""A damaged Parquet cache file does not stop the history client: it is fetched again and rewritten."""

from __future__ import annotations

import logging

import pandas as pd


async def test_a_corrupt_cache_file_is_fetched_again(make_history, tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    folder = tmp_path / "bybit"
    folder.mkdir()
    (folder / "ETHUSDT_15m.parquet").write_bytes(b"PAR1 cut short by a full disk")
    frame = await make_history(cache_dir=tmp_path).recent("ETHUSDT", "15m", 150)
    assert len(frame) == 150
    pd.testing.assert_frame_equal(pd.read_parquet(folder / "ETHUSDT_15m.parquet").iloc[-150:].reset_index(drop=True),
                                  frame.reset_index(drop=True), check_dtype=False)
    assert f"ignoring the unreadable cache file {folder / 'ETHUSDT_15m.parquet'}" in caplog.text
