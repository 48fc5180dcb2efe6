"""Audit as data (issue 12, part 2): every service writes its events itself, in its transaction:
who, when, what, the object, from -> to, why. Nothing is audited that did not happen; the admin
and the portal read the trail."""

import datetime as dt
import importlib
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import translation

from licensing import services
from licensing.models import AuditEvent, Installment, License, Patent
from licensing.roles import TTO_STAFF_GROUP
from licensing.selectors import audit_trail

from .factories import OfferFactory, PatentFactory


def events_on(obj, **filters):
    return list(audit_trail(obj).filter(**filters))


def test_a_transition_run_but_never_saved_is_not_audited(offer, make_license, clock):
    """django-fsm-log wrote its row when the transition method ran, saved or not."""
    clock("2026-01-31")
    lic = make_license(offer, "applied")
    before = AuditEvent.objects.count()

    lic.approve(dt.date(2026, 1, 31))  # in memory only

    assert AuditEvent.objects.count() == before


def test_a_refused_or_rolled_back_service_leaves_no_event(offer, make_license, staff, clock):
    clock("2026-01-31")
    equity_offer = OfferFactory(patent__owner=offer.patent.owner, equity_allowed=True)
    lic = make_license(equity_offer, "trial")
    before = AuditEvent.objects.count()

    with pytest.raises(ValidationError):  # the purchase runs and is audited, then the proposal fails
        services.purchase_with_equity(license_id=lic.pk, plan="lump_sum", share="0.9", valuation="1", by=staff)
    with pytest.raises(ValidationError):
        services.reject_application(license_id=lic.pk, by=staff, reason="too late")  # not in this state

    assert AuditEvent.objects.count() == before
    assert License.objects.get(pk=lic.pk).state == License.State.TRIAL


def test_creating_services_record_who_created_what(offer, enterprise, staff, make_member, clock):
    clock("2026-01-31")
    applicant = make_member(enterprise).user
    lic = services.apply_for_trial(offer_id=offer.pk, enterprise=enterprise, intended_use="Pilot line", by=applicant)
    services.approve_trial(license_id=lic.pk, by=staff, reason="Strong plan")
    policy = services.register_policy(
        license_id=lic.pk,
        by=staff,
        insurer="PICC",
        policy_number="PI-9",
        coverage_ratio=Decimal("0.8"),
        starts_on=dt.date(2026, 1, 31),
        ends_on=dt.date(2030, 1, 1),
    )

    applied = audit_trail(lic).get(action="created", content_type__model="license")
    assert applied.by == applicant and applied.changes["intended_use"] == [None, "Pilot line"]
    assert applied.changes["price"] == [None, str(offer.price)]  # money as text, to the fen
    approved = audit_trail(lic).get(action="transition")
    assert (approved.by, approved.source_state, approved.state, approved.reason) == (
        staff,
        "applied",
        "trial",
        "Strong plan",
    )
    assert approved.changes["trial_start"] == [None, "2026-01-31"]
    registered = audit_trail(policy).get()
    assert registered.by == staff and registered.changes["insurer"] == [None, "PICC"]
    assert registered.license_id == lic.pk  # so the license's page lists it


def test_money_received_is_audited_on_the_payment_and_each_installment_it_pays(offer, make_license, staff, clock):
    clock("2026-08-01")
    lic = make_license(offer, "purchased", start="2026-01-31")
    first = lic.installments.order_by("sequence").first()

    services.record_payment(
        license_id=lic.pk,
        amount=first.amount + 1,
        paid_on=dt.date(2026, 8, 1),
        reference="ICBC-7",
        idempotency_key="k-7",
        by=staff,
    )

    payment = events_on(lic, action="created", content_type__model="payment")[0]
    assert payment.changes["amount"] == [None, str(first.amount + 1)] and payment.by == staff
    paid = audit_trail(first).get(action="transition")
    assert (paid.transition, paid.state, paid.reason) == ("mark_paid", "paid", "Paid by payment ICBC-7")
    assert paid.changes["paid_amount"] == ["0.00", str(first.amount)]
    second = audit_trail(lic.installments.get(sequence=2)).get(action="changed")
    assert second.changes == {"paid_amount": ["0.00", "1.00"]}


def test_equity_execution_lists_each_installment_it_lowers_and_they_add_up(institution, make_license, staff, clock):
    clock("2026-08-01")
    offer = OfferFactory(patent__owner=institution, equity_allowed=True, equity_max_share=Decimal("0.5"))
    lic = make_license(offer, "purchased", start="2026-01-31")
    conversion = services.propose_equity_conversion(license_id=lic.pk, share="0.3", valuation="5000000", by=staff)
    services.approve_equity_conversion(conversion_id=conversion.pk, by=staff)

    services.execute_equity_conversion(conversion_id=conversion.pk, by=staff)

    lowered = AuditEvent.objects.filter(license=lic, content_type__model="installment", action="changed")
    cut = sum(Decimal(e.changes["amount"][0]) - Decimal(e.changes["amount"][1]) for e in lowered)
    assert cut == conversion.converted_amount and lowered.count() == lic.installments.count()
    assert [e.action for e in audit_trail(conversion).order_by("pk")] == ["created", "transition", "transition"]


def test_staff_edits_in_admin_forms_are_audited_from_and_to(client, staff, institution, superuser):
    staff.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))
    client.force_login(staff)
    patent = PatentFactory(owner=institution, title="Old title")
    url = reverse("admin:licensing_patent_change", args=[patent.pk])
    form = client.get(url).context["adminform"].form
    data = {name: form.initial.get(name) for name in form.fields}
    data.update(title="Graphene anode", owner=institution.pk)
    data = {k: ("" if v is None else v) for k, v in data.items()}

    assert client.post(url, data).status_code == 302
    event = audit_trail(patent).get()
    assert (event.action, event.by, event.changes) == ("changed", staff, {"title": ["Old title", "Graphene anode"]})
    page = client.get(url, headers={"accept-language": "en"}).content.decode()
    assert "Old title → Graphene anode" in page  # the patent's page shows its history

    client.force_login(superuser)  # staff may not delete patents; a platform administrator may
    client.post(reverse("admin:licensing_patent_delete", args=[patent.pk]), {"post": "yes"})
    assert not Patent.objects.filter(pk=patent.pk).exists()
    deleted = AuditEvent.objects.get(action="deleted")
    assert (
        deleted.object_id == patent.pk
        and deleted.by == superuser
        and deleted.changes["title"] == ["Graphene anode", None]
    )


def test_a_new_calendar_address_is_audited_without_the_address(enterprise, make_member):
    member = make_member(enterprise)
    old = member.calendar_token

    services.renew_calendar_token(member=member)

    event = audit_trail(member).get(action="changed")
    assert old not in str(event.changes) and member.calendar_token not in str(event.changes)
    assert event.by == member.user and event.enterprise_id == enterprise.pk


@pytest.mark.parametrize(("language", "what"), [("en", "Approve trial: License #"), ("zh-hans", "批准试用")])
def test_the_license_page_reads_the_trail_in_the_readers_language(
    client, staff, offer, make_license, clock, language, what
):
    staff.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))
    client.force_login(staff)
    clock("2026-01-31")
    lic = make_license(offer, "applied")
    services.approve_trial(license_id=lic.pk, by=staff, reason="<script>alert(1)</script>")

    page = client.get(
        reverse("admin:licensing_license_change", args=[lic.pk]), headers={"accept-language": language}
    ).content.decode()

    assert what in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page


def test_the_trail_names_related_objects_and_shows_beijing_time(client, staff, institution, make_license, clock):
    """Issue 22, point 5: a related object by its name, not its id (one query per kind whatever the
    trail's length), a person by full name, a recorded moment in Beijing time, not UTC."""
    staff.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))
    staff.first_name, staff.last_name = "Fang", "Wang"
    staff.save()
    client.force_login(staff)
    clock("2026-01-31")
    offer = OfferFactory(
        patent__owner=institution, name="Graphene package", price=0, royalty_base="net_sales", royalty_rates="2%"
    )
    lic = make_license(offer, "purchased", start="2025-07-01", plan="lump_sum")
    clock("2026-07-02")  # noon in Beijing, 04:00 UTC
    report = lic.royalty_reports.order_by("period_start").first()
    services.file_royalty_report(report_id=report.pk, base=Decimal("0"), by=staff)

    page = client.get(reverse("admin:licensing_license_change", args=[lic.pk]), headers={"accept-language": "en"})
    html = page.content.decode()
    assert "offer: — → Graphene package" in html and f"enterprise: — → {lic.enterprise.name}" in html
    assert "filed at: — → 2026-07-02 12:00" in html and "T04:00" not in html
    assert "<td>Fang Wang</td>" in html  # who filed it (the officer, for the SME)


def test_the_retired_transition_log_is_copied_into_the_trail(offer, make_license, staff, clock):
    """A database that ran django-fsm-log keeps its history: migration 0010 copies the log's rows,
    tied to their license (or the license of the installment, claim, ... they were on)."""
    copy = importlib.import_module("licensing.migrations.0010_audit_trail_data").copy_transition_log
    clock("2026-01-31")
    lic = make_license(offer, "trial")
    fee = Installment.objects.create(license=lic, kind="trial_fee", sequence=1, amount=10, due_date=lic.trial_start)
    content_types = apps.get_model("contenttypes", "ContentType").objects
    license_type = content_types.get_for_model(License).pk
    installment_type = content_types.get_for_model(Installment).pk
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE django_fsm_log_statelog (id integer PRIMARY KEY, timestamp timestamp with time zone,"
            " by_id integer NULL, source_state varchar(255) NULL, state varchar(255), transition varchar(255),"
            " content_type_id integer, object_id integer, description text NULL)"
        )
        cursor.executemany(
            "INSERT INTO django_fsm_log_statelog VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (1, "2025-12-01 02:00:00+00:00", staff.pk, "applied", "trial", "approve", license_type, lic.pk, "ok"),
                (2, "2025-12-02 02:00:00+00:00", None, "due", "paid", "mark_paid", installment_type, fee.pk, None),
                (3, "2025-12-03 02:00:00+00:00", None, "a", "b", "approve", license_type, 999999, None),  # gone
            ],
        )
    try:
        copy(apps, SimpleNamespace(connection=connection))  # what the function reads of a schema editor
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE django_fsm_log_statelog")

    copied = AuditEvent.objects.filter(at__year=2025).order_by("at")
    assert [(e.transition, e.license_id, e.by_id, e.reason) for e in copied] == [
        ("approve", lic.pk, staff.pk, "ok"),
        ("mark_paid", lic.pk, None, ""),
    ]
    with translation.override("en"):
        assert copied[0].state_labels() == ("Applied", "In trial")
