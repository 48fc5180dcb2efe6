from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from licensing.demo import DEMO_PASSWORD, seed_bulk, seed_demo


class Command(BaseCommand):
    help = (
        "Load the demo book (institutions, SMEs of every size, patents, licenses in every state). "
        "With --licenses N, also bulk-load a synthetic book of N licenses for benchmarks (COPY on "
        "PostgreSQL; a load that stopped is completed by running the same command again)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--licenses", type=int, default=0, help="a bench book of this many synthetic licenses")
        parser.add_argument("--batch", type=int, default=2000, help="licenses per transaction in --licenses mode")

    def handle(self, *args, licenses, batch, **options):
        if licenses < 0 or batch < 1:
            raise CommandError("--licenses must be 0 or more and --batch at least 1.")
        result = seed_demo()
        if result["created"]:
            states = ", ".join(f"{state}: {n}" for state, n in sorted(result["counts"].items()))
            self.stdout.write(self.style.SUCCESS(f"Demo book created. Licenses by state: {states}"))
            self.stdout.write(
                f"Logins (password {DEMO_PASSWORD}): admin (superuser), "
                + ", ".join(result["staff"])
                + f"; SME portal: {result['sme']}"
            )
        else:
            self.stdout.write("Demo book already present: nothing changed.")
        if licenses:
            with tqdm(total=licenses, unit="license", disable=None) as bar:  # from what a stopped load left
                stats = seed_bulk(licenses, progress=bar.update, batch=batch)
            self.stdout.write(
                self.style.SUCCESS(
                    f"Generated {stats['licenses']} licenses on {stats['patents']} patents for "
                    f"{stats['enterprises']} enterprises."
                )
            )
