"""The buttons on the license page call the services; bad input gets a clear, translated error
and writes nothing."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from licensing.models import License, Payment
from licensing.roles import TTO_STAFF_GROUP
from licensing.selectors import audit_trail


@pytest.fixture
def officer(staff, client):
    staff.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))
    client.force_login(staff)
    return staff


def act(client, lic, action, data=None, language="en"):
    url = reverse("admin:licensing_license_act", args=[lic.pk, action])
    return client.post(url, data or {}, headers={"accept-language": language})


def test_license_page_shows_the_buttons_the_state_allows(client, officer, offer, make_license):
    lic = make_license(offer, "applied")

    response = client.get(reverse("admin:licensing_license_change", args=[lic.pk]), headers={"accept-language": "en"})

    names = [a.name for a in response.context["service_actions"]]
    assert names == ["approve", "reject", "register_policy"]


def test_approve_button_starts_the_trial_through_the_service(client, officer, offer, make_license):
    lic = make_license(offer, "applied")

    response = act(client, lic, "approve", {"start": "2026-03-01", "reason": "Strong pilot plan"})

    assert response.url == reverse("admin:licensing_license_change", args=[lic.pk])
    lic.refresh_from_db()
    assert (lic.state, lic.trial_end) == (License.State.TRIAL, dt.date(2026, 9, 1))
    log = audit_trail(lic).get(action="transition")
    assert (log.by, log.reason) == (officer, "Strong pilot plan")


def test_record_payment_button_and_double_submit(client, officer, offer, make_license, clock):
    clock("2026-08-01")
    lic = make_license(offer, "purchased", start="2026-01-31")
    data = {"amount": "1000.00", "paid_on": "2026-08-01", "reference": "ICBC-1", "idempotency_key": "form-123"}

    assert act(client, lic, "record_payment", data).status_code == 302
    assert act(client, lic, "record_payment", data).status_code == 302  # the same form posted again

    assert Payment.objects.get().amount == Decimal("1000.00")


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "Ensure this value is greater than or equal to 0.01."),
        ("zh-hans", "确保该值大于或等于0.01。"),
    ],
)
def test_a_payment_of_nothing_is_refused_in_the_users_language_and_nothing_written(
    client, officer, offer, make_license, clock, language, message
):
    clock("2026-08-01")
    lic = make_license(offer, "purchased", start="2026-01-31")
    data = {"amount": "0.00", "paid_on": "2026-08-01", "reference": "X", "idempotency_key": "k"}

    response = act(client, lic, "record_payment", data, language)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Payment.objects.exists()


@pytest.mark.parametrize(
    ("language", "message"), [("en", "This field is required."), ("zh-hans", "这个字段是必填项。")]
)
def test_reject_without_reason_shows_the_form_error(client, officer, offer, make_license, language, message):
    lic = make_license(offer, "applied")

    response = act(client, lic, "reject", {"reason": ""}, language)

    assert message in response.content.decode()
    lic.refresh_from_db()
    assert lic.state == License.State.APPLIED


def test_button_for_a_transition_the_state_forbids_is_not_found(client, officer, offer, make_license):
    lic = make_license(offer, "applied")

    assert act(client, lic, "purchase", {"plan": "lump_sum", "on": "2026-01-01"}).status_code == 404
    lic.refresh_from_db()
    assert lic.state == License.State.APPLIED


def test_staff_registers_an_application_from_the_offer_page(client, officer, offer, enterprise):
    url = reverse("admin:licensing_offer_act", args=[offer.pk, "apply"])

    response = client.post(url, {"enterprise": enterprise.pk, "intended_use": "Battery pilot"})

    assert response.status_code == 302
    assert License.objects.get().enterprise == enterprise


def test_claim_paid_button_compensates_the_license(client, officer, make_insured_default):
    from licensing import services

    lic = make_insured_default()
    claim = services.file_claim(license_id=lic.pk, by=officer)
    services.approve_claim(claim_id=claim.pk, by=officer)
    client.force_login(officer)  # the session from before the clock moved has expired

    response = client.post(
        reverse("admin:licensing_insuranceclaim_act", args=[claim.pk, "record_paid"]), {"amount": "80000.00"}
    )

    assert response.url == reverse("admin:licensing_insuranceclaim_change", args=[claim.pk])
    lic.refresh_from_db()
    assert lic.state == License.State.COMPENSATED


def test_expire_button_appears_only_once_the_trial_has_ended(client, officer, offer, make_license, clock):
    clock("2026-01-31")
    lic = make_license(offer, "trial", start="2026-01-31")  # ends 2026-07-31
    page = reverse("admin:licensing_license_change", args=[lic.pk])

    clock("2026-07-31")
    client.force_login(officer)
    assert "expire" not in [a.name for a in client.get(page).context["service_actions"]]

    clock("2026-08-01")
    client.force_login(officer)
    assert "expire" in [a.name for a in client.get(page).context["service_actions"]]


def test_license_page_has_no_save_button_because_state_changes_only_through_services(
    client, officer, offer, make_license
):
    lic = make_license(offer, "trial")

    body = client.get(reverse("admin:licensing_license_change", args=[lic.pk])).content.decode()

    assert 'name="_save"' not in body
    assert "service-action" in body


def test_licenses_are_never_deleted_in_the_admin(admin_client, offer, make_license):
    """A license ends by a transition that its history keeps; no delete, no bulk delete."""
    lic = make_license(offer, "trial")

    listing = admin_client.get(reverse("admin:licensing_license_changelist"))
    delete = admin_client.post(reverse("admin:licensing_license_delete", args=[lic.pk]), {"post": "yes"})

    assert 'name="_selected_action"' not in listing.content.decode()
    assert delete.status_code == 403
    assert License.objects.filter(pk=lic.pk).exists()


def test_the_payment_form_shows_the_license_and_the_message_says_what_changed(
    client, officer, offer, make_license, clock
):
    """Issue 15, point 2: the action page shows the license it acts on (enterprise, outstanding,
    overdue, next due, the oldest-first rule); the success message gives the amounts."""
    clock("2026-08-01")
    lic = make_license(offer, "purchased", start="2026-01-31")  # 100,000.00 in 3 from 2027-07-31
    url = reverse("admin:licensing_license_act", args=[lic.pk, "record_payment"])
    page = client.get(url, headers={"accept-language": "en"}).content.decode()
    assert lic.enterprise.name in page and "100,000.00" in page and "2027-08-02 · 33,333.33" in page
    assert "pays the oldest amount due first" in page

    data = {"amount": "1000.00", "paid_on": "2026-08-01", "reference": "ICBC-1", "idempotency_key": "form-1"}
    done = client.post(url, data, headers={"accept-language": "en"}, follow=True)
    said = [str(m) for m in done.context["messages"]]
    assert said == [
        "Recorded CNY 1,000.00 (ICBC-1, paid on 2026-08-01). Outstanding now CNY 99,000.00, of which CNY 0.00 overdue."
    ]
    assert "license-summary" in done.content.decode()  # the license page opens with its balance


def test_every_success_message_says_what_changed_with_amounts(client, officer, offer, make_license, clock):
    """Issue 15, point 2: approving, buying, registering a policy and the default path each say
    what they did, with dates and amounts; an action without words of its own names the new state."""
    clock("2026-01-31")
    lic = make_license(offer, "applied")

    def act(name, data=None, obj=lic, model="license"):
        url = reverse(f"admin:licensing_{model}_act", args=[obj.pk, name])
        done = client.post(url, data or {}, headers={"accept-language": "en"}, follow=True)
        return [str(m) for m in done.context["messages"]]

    assert act("approve", {"start": "2026-01-31"}) == ["Trial approved: 2026-01-31 to 2026-07-31."]
    policy = {
        "kind": "insurance",
        "insurer": "PICC",
        "insurer_email": "c@picc.example",
        "insurer_language": "zh-hans",
        "policy_number": "PI-9",
        "coverage_ratio": "0.8",
        "premium": "0",
        "starts_on": "2026-01-31",
        "ends_on": "2030-01-31",
    }
    assert act("register_policy", policy) == [
        "Policy PI-9 registered: it covers 80% of what is unpaid, 2026-01-31 to 2030-01-31."
    ]
    clock("2026-07-31")
    client.force_login(officer)  # after the clock moved
    [bought] = act("purchase", {"plan": "installments", "on": "2026-07-31"})
    assert bought.startswith(
        "Purchased (Fixed price · Installments). CNY 100,000.00 fixed in the schedule. Next due: CNY 33,333.33 on"
    )
    clock("2027-11-15")
    from licensing import services

    services.mark_overdue(license_id=lic.pk)
    client.force_login(officer)  # after the clock moved
    [defaulted] = act("declare_default", {"reason": ""})
    assert defaulted.startswith(f"{lic} is now Defaulted. Outstanding now CNY 100,000.00")
    [filed] = act("file_claim", {"reason": ""})
    assert filed.startswith("Claim filed: CNY 80,000.00, 80% of CNY 100,000.00 outstanding.")
