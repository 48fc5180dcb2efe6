"""Demo and benchmark books, and the identifiers and dates they (and the tests) are made with."""

from .bulk import seed_bulk
from .stories import DEMO_PASSWORD, seed_demo

__all__ = ["DEMO_PASSWORD", "seed_bulk", "seed_demo"]
