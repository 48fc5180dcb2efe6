"""Demo and benchmark books, and the identifiers and dates they (and the tests) are made with."""

from .books import DEMO_PASSWORD, seed_bulk, seed_demo

__all__ = ["DEMO_PASSWORD", "seed_bulk", "seed_demo"]
