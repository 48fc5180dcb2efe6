from django.core.management.base import BaseCommand

from licensing import tasks


class Command(BaseCommand):
    help = "Run the lifecycle and reminder sweep now (beat runs it hourly); deliveries go to the worker."

    def handle(self, *args, **options):
        stats = tasks.sweep()
        self.stdout.write(", ".join(f"{key}: {value}" for key, value in stats.items()))
