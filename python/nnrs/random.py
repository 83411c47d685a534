"""Seeding: ``nnrs.random.seed(s)`` fixes weight initialisation, shuffling and dropout masks.

One numpy ``Generator`` drives everything drawn on the host (initial weights, shuffling
orders); dropout asks it for a 64-bit seed per call and the kernels draw the mask from
that seed with a counter-based hash, so every backend gets the same mask.
"""

from __future__ import annotations

import numpy as np

_rng = np.random.default_rng()


def seed(s: int) -> None:
    """Reseed every random draw of nnrs."""
    global _rng
    _rng = np.random.default_rng(int(s))


def generator() -> np.random.Generator:
    """The generator nnrs draws from (initialisers, shuffling)."""
    return _rng


def next_seed() -> int:
    """A fresh 63-bit seed for a kernel that draws its own random numbers (dropout)."""
    return int(_rng.integers(0, 2**63 - 1))
