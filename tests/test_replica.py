"""Issue 25, point 6: with a read replica configured, the dashboard, data exports and admin
searches read from it, everything else and every write from the primary; without one, all reads
stay on the primary. The replica here is a second alias mirroring the test database."""

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from licensing.replica import REPLICA, ReplicaRouter

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])


def reads(queries, table: str) -> int:
    return sum(1 for q in queries if "SELECT" in q["sql"] and table in q["sql"])  # a cursor DECLAREs its SELECT


def on_each(client, method, *args, **kwargs):
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections[REPLICA]) as replica,
    ):
        response = getattr(client, method)(*args, **kwargs)
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)
    assert response.status_code in (200, 302), response.status_code
    return primary.captured_queries, replica.captured_queries


def test_lagging_reads_go_to_the_replica_and_the_rest_to_the_primary(client, two_institutions, settings):
    settings.READ_REPLICA = True
    client.force_login(two_institutions["A"]["user"])

    primary, replica = on_each(client, "get", reverse("admin:dashboard"))
    # The figures are the replica's: from the tallies PostgreSQL keeps, or SQLite's raw rows.
    figures = "licensing_tally" if connection.vendor == "postgresql" else "licensing_installment"
    assert reads(replica, figures) and not reads(primary, figures)
    assert reads(primary, "auth_user")  # the session and the user: the primary's

    primary, replica = on_each(client, "get", reverse("admin:export_csv", args=["payments"]))
    assert reads(replica, "licensing_payment") and not reads(primary, "licensing_payment")

    primary, replica = on_each(client, "get", reverse("admin:licensing_license_changelist"), {"q": "SME of A"})
    assert reads(replica, "licensing_license") and not reads(primary, '"licensing_license"."state"')

    primary, replica = on_each(client, "get", reverse("admin:licensing_license_changelist"))  # no search
    assert reads(primary, "licensing_license") and not replica

    license_id = two_institutions["A"]["license"].pk
    primary, replica = on_each(
        client, "post", reverse("admin:licensing_license_act", args=[license_id, "terminate"]), {"reason": "x"}
    )
    assert not replica  # a decision reads and writes the primary


def test_without_a_replica_every_read_stays_on_the_primary(client, two_institutions, settings):
    settings.READ_REPLICA = False
    client.force_login(two_institutions["A"]["user"])
    for url, params in (
        (reverse("admin:dashboard"), {}),
        (reverse("admin:export_csv", args=["payments"]), {}),
        (reverse("admin:licensing_license_changelist"), {"q": "SME of A"}),
    ):
        primary, replica = on_each(client, "get", url, params)
        assert primary and not replica


def test_the_replica_is_never_written_nor_migrated():
    router = ReplicaRouter()
    assert router.db_for_write(None) is None
    assert router.allow_migrate(REPLICA, "licensing") is False
    assert router.allow_migrate("default", "licensing") is None
    call_command("migrate", database=REPLICA, verbosity=0)  # runs nothing on it
