"""Exports benchmark: each data export of the book streamed as CSV (the admin's download, read as a
browser would, chunk by chunk), with its throughput and how much the process's memory grew: an
export reads the database in chunks (reporting/exports.py), so the growth stays flat whatever the
book's size. Prints figures; asserts nothing.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tto_bench_1000k \\
        .venv/bin/python bench/export_bench.py --licenses 1000000
"""

import argparse
import resource
import time

from common import ensure_book, logged_in
from django.db import connection
from django.urls import reverse

KINDS = ["licenses", "installments", "payments"]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--licenses", type=int, default=100_000)
    args = parser.parse_args()
    print(ensure_book(args.licenses))
    client = logged_in("bench-exports")
    with connection.cursor() as cursor:  # a benchmark is no web request: no statement timeout
        cursor.execute("SET statement_timeout = 0")
    for kind in KINDS:
        before = peak_rss_mb()
        start = time.perf_counter()
        response = client.get(reverse("admin:export_csv", args=[kind]))
        rows, size = 0, 0
        for chunk in response.streaming_content:
            rows += chunk.count(b"\n")
            size += len(chunk)
        seconds = time.perf_counter() - start
        peak = peak_rss_mb()
        print(
            f"{kind}: {rows - 1:,} rows, {size / 2**20:,.0f} MB of CSV in {seconds:.1f} s "
            f"({(rows - 1) / seconds:,.0f} rows/s); peak memory {peak:,.0f} MB (+{peak - before:,.0f})",
            flush=True,
        )


if __name__ == "__main__":
    main()
