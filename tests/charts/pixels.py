"""Reading rendered PNGs back: pixel size and where a colour is drawn."""

from __future__ import annotations

import io

import numpy as np
from matplotlib import colors
from matplotlib import image as mpimg

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def decode_png(png: bytes) -> np.ndarray:
    """RGB pixels as uint8, shape (height, width, 3)."""
    rgba = mpimg.imread(io.BytesIO(png), format="png")
    return np.round(rgba[:, :, :3] * 255).astype(np.uint8)


def colour_mask(pixels: np.ndarray, colour: str, tolerance: int = 0) -> np.ndarray:
    """Pixels within ``tolerance`` (per channel) of ``colour``."""
    target = np.round(np.array(colors.to_rgb(colour)) * 255).astype(int)
    return (np.abs(pixels.astype(int) - target) <= tolerance).all(axis=2)


def widest_row(pixels: np.ndarray, colour: str, tolerance: int = 0) -> int:
    """The most pixels of ``colour`` in any one row: a horizontal line across the chart gives ~1000."""
    return int(colour_mask(pixels, colour, tolerance).sum(axis=1).max())


def blend_on_white(colour: str, alpha: float) -> str:
    """The colour a translucent fill of ``colour`` shows over a white background."""
    rgb = np.array(colors.to_rgb(colour))
    return colors.to_hex(alpha * rgb + (1 - alpha) * np.ones(3))
