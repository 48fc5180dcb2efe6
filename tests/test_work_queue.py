"""The admin index's work queue (issue 15, point 1): what waits for the officer today, each a count
linking to the filtered list behind it. The count is what that list shows the same user, and
another institution's work is not in it."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from licensing import services
from licensing.domain.clock import replaying
from licensing.models import Contract

from .factories import EnterpriseFactory, OfferFactory


def add_work(side, clock):
    """One of several kinds of waiting work on institution `side`'s book (clock: 2026-08-01)."""
    user, lic = side["user"], side["license"]
    institution = user.staff_profile.institution
    services.apply_for_trial(offer_id=OfferFactory(patent__owner=institution).pk, enterprise=EnterpriseFactory())
    services.report_payment(license_id=lic.pk, amount="50.00", paid_on=dt.date(2026, 8, 1), reference="T1", by=user)
    with replaying(dt.date(2026, 2, 1)):
        ending = services.apply_for_trial(
            offer_id=OfferFactory(patent__owner=institution).pk, enterprise=EnterpriseFactory()
        )
    services.approve_trial(license_id=ending.pk, by=user, start=dt.date(2026, 2, 4))  # ends 2026-08-04
    overdue = OfferFactory(patent__owner=institution, first_due_months=0)
    with replaying(dt.date(2026, 1, 1)):
        late = services.apply_for_trial(offer_id=overdue.pk, enterprise=EnterpriseFactory())
    services.approve_trial(license_id=late.pk, by=user, start=dt.date(2026, 1, 5))
    services.purchase(license_id=late.pk, plan="lump_sum", by=user, on=dt.date(2026, 7, 1))  # due 07-01: overdue
    if not Contract.objects.filter(license=lic).exists():  # the late one's contract is still to issue
        services.issue_contract(license_id=lic.pk, by=user)


def queue(client):
    response = client.get(reverse("admin:index"), headers={"accept-language": "en"})
    return {task["key"]: task for task in response.context["tasks"]}


def test_each_count_is_what_its_list_shows_and_only_for_the_users_institution(
    client, two_institutions, clock, settings, tmp_path
):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    add_work(two_institutions["A"], clock)
    add_work(two_institutions["B"], clock)
    client.force_login(two_institutions["A"]["user"])

    tasks = queue(client)

    waiting = {key: t["count"] for key, t in tasks.items() if t["count"]}
    assert waiting == {
        "applications": 1,
        "payment_reports": 1,
        "trials_ending": 1,
        "overdue": 1,
        "contracts_to_issue": 1,
        "contracts_with_licensee": 1,
    }
    for key, task in tasks.items():
        listed = client.get(task["url"])
        assert listed.status_code == 200, key
        assert listed.context["cl"].result_count == task["count"], key


def test_the_index_takes_a_fixed_number_of_queries(client, two_institutions, clock, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    client.force_login(two_institutions["A"]["user"])
    with CaptureQueriesContext(connection) as small:
        client.get(reverse("admin:index"))
    for _ in range(3):
        add_work(two_institutions["A"], clock)
    with CaptureQueriesContext(connection) as large:
        body = client.get(reverse("admin:index"), headers={"accept-language": "zh-hans"}).content.decode()
    assert len(small) == len(large) == INDEX_QUERIES, (len(small), len(large))
    assert "今天等您处理" in body


INDEX_QUERIES = 18  # session, user, permissions, profile, work queue (10), recent changes (for LogEntry), status, apps


@pytest.mark.parametrize("value", ["7", "30", "past"])
def test_the_trial_end_filter_looks_forward(admin_client, offer, make_license, clock, value):
    clock("2026-08-01")
    make_license(offer, "trial", start="2026-02-04")  # ends 2026-08-04
    listed = admin_client.get(reverse("admin:licensing_license_changelist") + f"?trial_ends={value}")
    assert listed.context["cl"].result_count == (0 if value == "past" else 1)


def test_the_applications_contact_is_on_the_license_page_and_in_the_export(admin_client, offer, enterprise):
    """Issue 15, point 3: the contact person and phone the SME gave when applying."""
    import csv
    import io

    lic = services.apply_for_trial(offer_id=offer.pk, enterprise=enterprise, contact="王经理 138-0000-1234")
    page = admin_client.get(reverse("admin:licensing_license_change", args=[lic.pk])).content.decode()
    assert "王经理 138-0000-1234" in page
    export = admin_client.get(reverse("admin:export_csv", args=["licenses"]), headers={"accept-language": "en"})
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode().lstrip("\ufeff"))))
    column = rows[0].index("contact person and phone")
    assert rows[1][column] == "王经理 138-0000-1234"


@pytest.fixture
def payee(institution):
    institution.payee_name, institution.payee_bank = "京华科技大学", "中国工商银行北京海淀支行"
    institution.payee_account, institution.contact_name, institution.contact_phone = (
        "0200 0045 0900 123",
        "李老师",
        "010-62780000",
    )
    institution.contact_email = "tto@jinghua.example.edu.cn"
    institution.full_clean()
    institution.save()
    return institution


def test_the_sme_is_told_where_to_pay_and_whom_to_ask(sme_client, payee, offer, make_license, clock):
    """Issue 15, point 7: the license page and the payment form show the payee account, the
    reference to give, and the TTO contact; so do the reminders."""
    from django.core import mail

    from licensing.models import Reminder
    from licensing.reminders.delivery import deliver_reminder
    from licensing.reminders.sweep import run_sweep

    clock("2026-01-31")
    lic = make_license(offer, "purchased", enterprise=sme_client.member.enterprise)  # first due 2027-08-02
    for url in (f"/licenses/{lic.pk}/", f"/licenses/{lic.pk}/payments/new/"):
        page = sme_client.get(url).content.decode()
        assert "0200 0045 0900 123" in page and "中国工商银行北京海淀支行" in page and "010-62780000" in page, url
        assert f"License #{lic.pk}" in page
    lic.enterprise.contact_email = "cfo@sme.example"
    lic.enterprise.save()
    clock("2027-07-19")
    run_sweep()
    deliver_reminder(Reminder.objects.get(kind=Reminder.Kind.INSTALLMENT_DUE).pk)
    assert "0200 0045 0900 123" in mail.outbox[-1].body and "李老师" in mail.outbox[-1].body


@pytest.mark.parametrize(("language", "message"), [("en", "Enter the account number"), ("zh-hans", "请填写账号")])
def test_a_payee_account_that_is_not_a_number_is_refused_in_the_users_language(
    admin_client, institution, language, message
):
    from django.forms.models import model_to_dict

    before = institution.payee_account
    data = {**{k: v or "" for k, v in model_to_dict(institution).items()}, "payee_account": "IBAN? 12"}
    url = reverse("admin:licensing_institution_change", args=[institution.pk])
    response = admin_client.post(url, data, headers={"accept-language": language})
    assert response.status_code == 200 and message in response.content.decode()
    institution.refresh_from_db()
    assert institution.payee_account == before


def test_the_index_shows_the_latest_changes_of_the_users_institution_only(client, two_institutions, clock):
    """Issue 15, point 6: 'Recent actions' read Django's LogEntry, which the services never write;
    the box shows the audit trail instead, scoped like everything else."""
    a, b = two_institutions["A"], two_institutions["B"]
    client.force_login(a["user"])
    body = client.get(reverse("admin:index"), headers={"accept-language": "en"}).content.decode()
    box = body.split('id="recent-actions-module"')[1]
    assert f"/admin/licensing/license/{a['license'].pk}/change/" in box
    assert f"/admin/licensing/license/{b['license'].pk}/change/" not in box
    assert "REF-A" in box and "REF-B" not in box  # the payment each side recorded


def test_overdue_reads_alike_in_the_queue_the_list_and_the_dashboard_after_a_default(client, two_institutions, clock):
    """Issue 21, point 2: one rule for 'overdue'. A license declared in default still owes what
    is overdue (the queue once said 0 above a list of 1); a terminated one is not chased."""
    user = two_institutions["A"]["user"]
    institution = user.staff_profile.institution
    owing = {}
    for name in ("in_default", "terminated"):
        offer = OfferFactory(patent__owner=institution, first_due_months=0, installment_count=0, grace_days=5)
        lic = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory())
        services.approve_trial(license_id=lic.pk, by=user, start=dt.date(2026, 1, 5))
        owing[name] = services.purchase(license_id=lic.pk, plan="lump_sum", by=user, on=dt.date(2026, 7, 1))
    clock("2026-08-01")
    for lic in owing.values():
        services.mark_overdue(license_id=lic.pk)
    services.declare_default(license_id=owing["in_default"].pk, by=user)
    services.terminate(license_id=owing["terminated"].pk, by=user, reason="breach of contract")
    client.force_login(user)

    task = queue(client)["overdue"]
    listed = client.get(task["url"]).context["cl"]
    board = client.get(reverse("admin:dashboard")).context["board"]

    assert task["count"] == listed.result_count == 1
    assert [lic.pk for lic in listed.queryset] == [owing["in_default"].pk]
    assert board.headline["overdue"] == owing["in_default"].installments.get().amount
