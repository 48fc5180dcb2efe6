"""The bench book itself: how fast a book of N licenses is bulk-loaded (COPY, a batch per
transaction, resumable), and what it holds. `make bench-1m` starts with it for a 1,000,000-license book.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tto_bench_1000k python bench/book_bench.py --licenses 1000000
"""

import argparse

from common import ensure_book

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--licenses", type=int, default=1_000_000)
    args = parser.parse_args()
    print(ensure_book(args.licenses))
