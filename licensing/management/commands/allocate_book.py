"""Allocate the income a book recorded before the distribution ledger existed (issue 24)."""

import time

from django.core.management.base import BaseCommand
from tqdm import tqdm

from licensing import services
from licensing.models import License


class Command(BaseCommand):
    help = (
        "Allocate every amount of income not yet in the distribution ledger (payments into installments, "
        "insurance compensation, equity executed), in batches of licenses; safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=1000, help="licenses per transaction (default 1000)")

    def handle(self, *args, batch, **options):
        started = time.perf_counter()
        with tqdm(total=License.objects.count(), unit="license", disable=None) as bar:
            totals = services.backfill_allocations(batch=batch, progress=bar.update)
        took = time.perf_counter() - started
        rate = totals["allocations"] / took if took else 0
        self.stdout.write(
            f"{totals['licenses']:,} licenses: {totals['allocations']:,} allocations and {totals['lines']:,} lines "
            f"written in {took:.1f} s ({rate:,.0f} allocations/s)"
        )
