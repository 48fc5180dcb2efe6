from django.core.management.base import BaseCommand

from licensing import services


class Command(BaseCommand):
    help = "Recompute effective (working-day) dates of open deadlines, after a calendar package update (audited)."

    def handle(self, *args, **options):
        moved = services.refresh_effective_dates(by=None)
        self.stdout.write(f"Updated {moved['installments']} installments and {moved['trials']} trials.")
