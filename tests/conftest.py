import datetime as dt
import os
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.db import connection
from django.test import override_settings
from django.utils import translation

from licensing import services
from licensing.domain.clock import replaying
from licensing.models import Inventor, Payment
from licensing.roles import TTO_STAFF_GROUP

from .factories import (
    EXAMPLE_POLICY,
    EnterpriseFactory,
    OfferFactory,
    PatentFactory,
    StaffProfileFactory,
    UserFactory,
)

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(autouse=True, scope="session")
def fast_password_hasher():
    """Tests hash passwords with MD5: PBKDF2's 1M iterations took most of the suite's time in
    fixtures that make users. Production keeps Django's default (settings.py)."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True, scope="session")
def private_files_outside_the_checkout(tmp_path_factory):
    """Uploads and generated documents (contracts, receipts) go to a temporary folder, never to the
    checkout's var/private; a test that reads the folder sets its own (settings.PRIVATE_MEDIA_ROOT)."""
    with override_settings(PRIVATE_MEDIA_ROOT=tmp_path_factory.mktemp("private")):
        yield


@pytest.fixture(autouse=True)
def english_messages():
    """Service calls outside a request speak English in tests, so assertions read plainly;
    requests choose their own language (LocaleMiddleware), tested in both languages."""
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def celery_eager():
    """Tasks run in-process in unit tests; tests/test_worker_integration.py uses a real worker."""
    from config import celery_app

    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture(autouse=True)
def balances_kept(request):
    """After every test that uses the database, each license's kept balance (outstanding, next due
    date: the database's triggers, models/balances.py) is what its installments say, computed by
    the ORM's twin (selectors.balances_out_of_step), its licensor is its patent's owner, and on
    PostgreSQL the dashboard's tallies are what the raw tables give: every path the suite walks,
    every write it makes, checks what is kept."""
    uses_db = request.node.get_closest_marker("django_db") or {"db", "transactional_db"} & set(request.fixturenames)
    if not uses_db:
        yield
        return
    request.getfixturevalue("_django_db_helper")  # set up first, so this check runs before its rollback
    yield
    from django.db import connection

    from licensing import selectors

    if connection.vendor == "postgresql" and connection.connection is not None:
        from psycopg.pq import TransactionStatus

        if connection.connection.info.transaction_status == TransactionStatus.INERROR:
            return  # a test that ends in a failed statement (a timeout it provoked): nothing more can be read
    wrong = selectors.balances_out_of_step().values_list(
        "pk", "outstanding_amount", "computed_outstanding", "next_due_date", "computed_next_due"
    )
    assert not list(wrong), f"kept balances differ from the installments (id, kept, computed, …): {list(wrong)}"
    from django.db.models import F

    from licensing.models import License

    misfiled = License.objects.exclude(institution=F("offer__patent__owner")).values_list("pk", flat=True)
    assert not list(misfiled), f"licenses whose licensor is not their patent's owner: {list(misfiled)}"
    from licensing.models import tallies

    if tallies.in_use(connection):  # the dashboard's tallies: what the raw tables give (models/tallies.py)
        astray = tallies.out_of_step(connection)
        assert not astray, f"kept tallies differ from the raw tables (key, kept, computed): {astray}"


@pytest.fixture
def publish_to():
    """publish_to(url): tasks go to that broker for real (not eagerly) for the rest of the test.
    The app caches a connection pool and, separately, a producer pool bound to the broker it
    first used; both are dropped (as Celery does after a fork) so the next publish uses `url`."""
    from config import celery_app

    def forget_connections():
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    previous = celery_app.conf.broker_url

    def use(url: str):
        celery_app.conf.broker_url = url
        celery_app.conf.task_always_eager = False
        forget_connections()

    yield use
    celery_app.conf.broker_url = previous
    forget_connections()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """A second alias, "replica", mirroring the test database, as a read replica would mirror the
    primary: the replica router's tests read through it (READ_REPLICA is off everywhere else)."""
    from django.conf import settings
    from django.db import connections

    if "replica" not in settings.DATABASES:
        settings.DATABASES["replica"] = {**settings.DATABASES["default"], "TEST": {"MIRROR": "default"}}
        connections.__dict__.pop("settings", None)  # read DATABASES again (a cached property)


@pytest.fixture
def clock():
    """Move the clock: clock("2026-03-01") sets local (Asia/Shanghai) noon of that day."""
    travellers = []

    def move(day: str):
        if travellers:
            travellers.pop().stop()
        traveller = time_machine.travel(dt.datetime.fromisoformat(day).replace(hour=12, tzinfo=SHANGHAI), tick=False)
        traveller.start()
        travellers.append(traveller)

    def back_to_now():
        """Leave the time travel (network clients' timeouts need a clock that moves)."""
        while travellers:
            travellers.pop().stop()

    move.stop = back_to_now
    yield move
    back_to_now()


@pytest.fixture
def staff(db):
    return StaffProfileFactory().user


@pytest.fixture
def institution(staff):
    return staff.staff_profile.institution


@pytest.fixture
def superuser(db):
    return UserFactory(is_superuser=True)


@pytest.fixture
def enterprise(db):
    return EnterpriseFactory()


@pytest.fixture
def offer(institution):
    return OfferFactory(patent__owner=institution)


def tell_the_story_so_far():
    """Deliver the notices a fixture's story caused (an application, its approval, a purchase) and
    empty the outbox: they went out when the story happened, and a test counts what it causes.
    The ledger keeps them, sent."""
    from django.core import mail

    from licensing.reminders import delivery, sweep

    for reminder_id in sweep.deliverable_reminder_ids():
        delivery.deliver_reminder(reminder_id)
    mail.outbox.clear()


@pytest.fixture
def make_license(staff, enterprise):
    """A license driven through the services to the state a test needs."""

    def make(offer, state="applied", *, start="2026-01-31", plan="installments", enterprise=enterprise):
        if state == "applied":
            lic = services.apply_for_trial(offer_id=offer.pk, enterprise=enterprise)
            tell_the_story_so_far()
            return lic
        with replaying(dt.date.fromisoformat(start)):  # a story that starts before today
            lic = services.apply_for_trial(offer_id=offer.pk, enterprise=enterprise)
        lic = services.approve_trial(license_id=lic.pk, by=staff, start=dt.date.fromisoformat(start))
        if state != "trial":
            lic = services.purchase(license_id=lic.pk, plan=plan, by=staff, on=lic.trial_end)
        tell_the_story_so_far()
        return lic

    return make


@pytest.fixture
def trial_with_credit(institution, staff, make_license, clock):
    """A trial whose 5,000.00 fee was paid with 8,000.00: 3,000.00 of credit (clock: 2026-02-02)."""
    clock("2026-01-31")
    offer = OfferFactory(patent__owner=institution, trial_fee=Decimal("5000.00"), price=Decimal("90000.00"))
    lic = make_license(offer, "trial")
    clock("2026-02-02")
    services.record_payment(
        license_id=lic.pk,
        amount=Decimal("8000.00"),
        paid_on=dt.date(2026, 2, 2),
        reference="ICBC-over",
        idempotency_key="over",
        by=staff,
    )
    lic.refresh_from_db()
    return lic


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")


@pytest.fixture
def make_insured_default(institution, staff, clock):
    """An insured lump-sum license, purchased 2026-02-02 and declared in default on 2027-06-01
    (the clock is left there). Returns the license."""

    def make(insurer_email="claims@picc.example"):
        clock("2026-01-31")
        offer = OfferFactory(patent__owner=institution)
        lic = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory())
        services.approve_trial(license_id=lic.pk, by=staff, start=dt.date(2026, 1, 31))
        services.register_policy(
            license_id=lic.pk,
            by=staff,
            insurer="PICC",
            insurer_email=insurer_email,
            policy_number="PI-1",
            coverage_ratio=Decimal("0.8"),
            starts_on=dt.date(2026, 1, 31),
            ends_on=dt.date(2030, 1, 1),
        )
        services.purchase(license_id=lic.pk, plan="lump_sum", by=staff, on=dt.date(2026, 2, 2))
        tell_the_story_so_far()
        clock("2027-06-01")
        services.mark_overdue(license_id=lic.pk)
        return services.declare_default(license_id=lic.pk, by=staff)

    return make


@pytest.fixture
def make_member(db):
    """An approved portal user of an enterprise (a new one unless given)."""
    from licensing.models import EnterpriseMember

    def make(enterprise=None, state=EnterpriseMember.State.ACTIVE, username=None):
        enterprise = enterprise or EnterpriseFactory()
        user = UserFactory(is_staff=False, username=username or f"sme-{enterprise.pk}")
        member = EnterpriseMember.objects.create(user=user, enterprise=enterprise, full_name="Li Na")
        EnterpriseMember.objects.filter(pk=member.pk).update(state=state)
        member.refresh_from_db()
        return member

    return make


@pytest.fixture
def sme_client(client, make_member, enterprise):
    """A logged-in, approved member of `enterprise`, browsing in English."""
    member = make_member(enterprise)
    client.force_login(member.user)
    client.cookies["django_language"] = "en"
    client.member = member
    return client


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright (which never downloads a browser of its own)."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is not installed: run .ci/run, or apt-get install chromium")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop here
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM,
                headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
            )
            yield browser
            browser.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]  # only for these tests, never for later ones


@pytest.fixture
def two_institutions(db, clock):
    """Institution A and B, each with a staff member, an offer and a purchased, part-paid license."""
    clock("2026-08-01")
    group = Group.objects.get(name=TTO_STAFF_GROUP)
    sides = {}
    for side in "AB":
        user = StaffProfileFactory(institution__name=f"Institution {side}").user
        user.groups.add(group)
        offer = OfferFactory(patent__owner=user.staff_profile.institution, patent__title=f"Patent of {side}")
        lic = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory(name=f"SME of {side}"))
        services.approve_trial(license_id=lic.pk, by=user, start=dt.date(2026, 1, 31))
        services.purchase(license_id=lic.pk, plan="installments", by=user, on=dt.date(2026, 7, 31))
        services.record_payment(
            license_id=lic.pk,
            amount=Decimal("100.00"),
            paid_on=dt.date(2026, 8, 1),
            reference=f"REF-{side}",
            idempotency_key=f"key-{side}",
            by=user,
        )
        sides[side] = {
            "user": user,
            "offer": offer,
            "patent": offer.patent,
            "license": lic,
            "payment": Payment.objects.get(license=lic),
        }
    return sides


@pytest.fixture
def two_patent_license(institution, staff, clock):
    """The issue's example: a license of 2 patents (equal weights) bought for 100,000.00 in one
    sum; patent 1 made by three inventors (50/30/20), patent 2 by one; the example's policy."""
    clock("2026-01-31")
    offer = OfferFactory(patent__owner=institution, price=Decimal("100000.00"), installment_count=0, state="draft")
    second = PatentFactory(owner=institution)
    services.set_package(offer_id=offer.pk, patents=[offer.patent, second], by=staff)
    services.publish_offer(offer_id=offer.pk, by=staff)
    chem = [
        Inventor.objects.create(institution=institution, name=name, college="Chemistry")
        for name in ("Li Wei", "Wang Fang")
    ]
    physics = Inventor.objects.create(institution=institution, name="Zhang Min", college="Physics")
    solo = Inventor.objects.create(institution=institution, name="Chen Jie", college="Physics")
    start = dt.date(2025, 1, 1)
    services.set_inventor_shares(
        patent_id=offer.patent.pk,
        shares=[(chem[0].pk, "0.5"), (chem[1].pk, "0.3"), (physics.pk, "0.2")],
        effective_from=start,
        by=staff,
    )
    services.set_inventor_shares(patent_id=second.pk, shares=[(solo.pk, "1")], effective_from=start, by=staff)
    services.adopt_policy(institution=institution, by=staff, **EXAMPLE_POLICY)
    lic = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory())
    services.approve_trial(license_id=lic.pk, by=staff, start=dt.date(2026, 1, 31))
    clock("2026-07-31")
    return services.purchase(license_id=lic.pk, plan="lump_sum", by=staff)
