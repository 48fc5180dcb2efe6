"""Recount the dashboard's tallies from the raw tables (licensing/models/tallies.py)."""

import time

from django.core.management.base import BaseCommand
from django.db import connection, transaction

from licensing.models import tallies


class Command(BaseCommand):
    help = (
        "Recount every dashboard tally from the raw tables, in one transaction (PostgreSQL; the "
        "triggers keep them after that), and check them: after a restore, or writes made with the "
        "triggers off. Safe to run again; the dashboard reads the old tallies until it commits."
    )

    def handle(self, *args, **options):
        if not tallies.in_use(connection):
            self.stdout.write("This database keeps no tallies (SQLite): the dashboard reads the raw tables.")
            return
        started = time.perf_counter()
        with transaction.atomic():
            tallies.install(connection, fill=False)  # the triggers too, in case they were dropped
            rows = tallies.rebuild(connection)
        took = time.perf_counter() - started
        astray = len(tallies.out_of_step(connection))
        self.stdout.write(f"{rows:,} tally rows counted in {took:.1f} s; {astray} out of step with the raw tables")
