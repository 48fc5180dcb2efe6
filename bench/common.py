"""What every benchmark here needs: Django on the benchmark database (DATABASE_URL, PostgreSQL),
a book of the size asked for, and a stopwatch. Benchmarks print figures; they assert nothing."""

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Production settings, as served (a server started by a benchmark inherits them): no DEBUG
# (cached templates, no query log), manifest static files, plain HTTP on the loopback.
for name, value in {
    "DEBUG": "false",
    "SECRET_KEY": "benchmark-only-not-a-secret",
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "SECURE_SSL_REDIRECT": "false",
}.items():
    os.environ.setdefault(name, value)

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from licensing.demo import seed_bulk, seed_demo  # noqa: E402
from licensing.demo.bulk import bench_licenses  # noqa: E402
from licensing.models import Installment, License, Payment, RoyaltyReport, StaffProfile  # noqa: E402
from licensing.roles import TTO_STAFF_GROUP  # noqa: E402

RUNS = 7


def require_postgresql() -> None:
    if connection.vendor != "postgresql":
        sys.exit("Run this against PostgreSQL: set DATABASE_URL (see the README's Performance section).")


def create_database() -> None:
    """CREATE DATABASE for DATABASE_URL's database when it does not exist yet."""
    import psycopg

    settings = connection.settings_dict
    with psycopg.connect(
        dbname="postgres", user=settings["USER"], host=settings["HOST"], port=settings["PORT"], autocommit=True
    ) as maintenance:
        if not maintenance.execute("SELECT 1 FROM pg_database WHERE datname = %s", [settings["NAME"]]).fetchone():
            maintenance.execute(f'CREATE DATABASE "{settings["NAME"]}"')


def ensure_book(licenses: int) -> str:
    """Create the database, migrate, load the demo book, and generate licenses until the book
    holds `licenses`. Returns a line describing the book."""
    require_postgresql()
    create_database()
    with connection.cursor() as cursor:  # building the book is no web request: no statement timeout
        cursor.execute("SET statement_timeout = 0")
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    seed_demo()
    demo = License.objects.count() - bench_licenses().count()
    if License.objects.count() < licenses:
        load_book(licenses - demo)
    with connection.cursor() as cursor:
        cursor.execute("RESET statement_timeout")  # back to the web requests' (settings)
    return (
        f"Book: {License.objects.count():,} licenses, {Installment.objects.count():,} installments, "
        f"{Payment.objects.count():,} payments (PostgreSQL {connection.cursor().connection.info.server_version})"
    )


def load_book(bench: int) -> None:
    """Bulk-load (or complete) a bench book of `bench` licenses, with a progress bar, and say how fast."""
    from tqdm import tqdm

    before = bench_licenses().count()
    start = time.perf_counter()
    with tqdm(total=bench, unit="license", initial=0, disable=None) as bar:
        seed_bulk(bench, progress=bar.update)
    seconds = time.perf_counter() - start
    rows = Installment.objects.count() + Payment.objects.count() + RoyaltyReport.objects.count()
    print(
        f"Loaded {bench - before:,} licenses in {seconds:.0f} s ({(bench - before) / seconds:,.0f} licenses/s); "
        f"the book now holds {rows:,} installments, payments and royalty periods",
        flush=True,
    )


def timed(fn, repeat: int = 1):
    """(the last result, the seconds each run took)."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return result, times


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def median(times) -> float:
    return statistics.median(times)


def logged_in(username: str, *, institution=None) -> Client:
    """A test client logged in as a superuser, or as TTO staff of `institution`."""
    user, created = get_user_model().objects.get_or_create(
        username=username, defaults={"is_staff": True, "is_superuser": institution is None}
    )
    if created and institution is not None:
        user.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))
        StaffProfile.objects.create(user=user, institution=institution)
    client = Client()
    client.force_login(user)
    return client


def page(client: Client, path: str):
    """(median seconds, queries) of RUNS requests after a warm-up one."""
    assert client.get(path).status_code == 200, path
    times, queries = [], 0
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as captured:
            _, seconds = timed(lambda: client.get(path))
        times.append(seconds[0])
        queries = len(captured)
    return median(times), queries
