"""Staff of one institution see and change only their institution's rows; superusers see all."""

import pytest
from django.urls import reverse

from licensing.models import Installment, License, Offer, Patent, Payment
from licensing.roles import TTO_STAFF_GROUP

CHANGELISTS = ["patent", "offer", "license", "payment"]


@pytest.mark.parametrize("model", CHANGELISTS)
def test_changelist_shows_only_own_institution(client, two_institutions, model):
    client.force_login(two_institutions["A"]["user"])

    response = client.get(reverse(f"admin:licensing_{model}_changelist"))

    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
    own = two_institutions["A"][model]
    assert list(response.context["cl"].result_list) == [own]


@pytest.mark.parametrize("model", CHANGELISTS)
def test_another_institutions_object_is_not_found(client, two_institutions, model):
    client.force_login(two_institutions["A"]["user"])
    other = two_institutions["B"][model]

    response = client.get(reverse(f"admin:licensing_{model}_change", args=[other.pk]))

    # Django's admin answers a missing object with a redirect to the index and a message
    assert response.status_code == 302 and response.url == reverse("admin:index")


def test_service_button_on_another_institutions_license_is_not_found(client, two_institutions):
    client.force_login(two_institutions["A"]["user"])
    other = two_institutions["B"]["license"]

    response = client.post(reverse("admin:licensing_license_act", args=[other.pk, "terminate"]), {"reason": "x"})

    assert response.status_code == 404
    other.refresh_from_db()
    assert other.state == License.State.PURCHASED


def test_superuser_sees_every_institution(admin_client, two_institutions):
    response = admin_client.get(reverse("admin:licensing_license_changelist"))
    assert response.context["cl"].result_count == 2


def test_offer_form_offers_only_own_patents(client, two_institutions):
    client.force_login(two_institutions["A"]["user"])

    response = client.get(reverse("admin:licensing_offer_add") + "?shape=mixed")
    form_patents = response.context["adminform"].form.fields["patent"].queryset

    assert list(form_patents) == [two_institutions["A"]["patent"]]


@pytest.mark.parametrize("field_name", ["patent", "patents"])  # the lead patent, and the package's others
def test_patent_autocomplete_returns_only_own_patents(client, two_institutions, field_name):
    client.force_login(two_institutions["A"]["user"])

    response = client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "licensing",
            "model_name": "offer",
            "field_name": field_name,
            "term": "Patent",
        },
    )

    texts = [r["text"] for r in response.json()["results"]]
    assert [text.split(" · ")[0] for text in texts] == [str(two_institutions["A"]["patent"])]


def test_the_package_field_offers_only_own_patents_and_refuses_anothers(client, two_institutions):
    from licensing.models import Offer

    a, b = two_institutions["A"], two_institutions["B"]
    client.force_login(a["user"])
    draft = Offer.objects.filter(patent__owner=a["user"].staff_profile.institution).first()
    Offer.objects.filter(pk=draft.pk).update(state=Offer.State.DRAFT)
    url = reverse("admin:licensing_offer_change", args=[draft.pk])

    form = client.get(url).context["adminform"].form
    assert list(form.fields["package"].queryset) == [a["patent"]]
    data = {name: form.initial.get(name) for name in form.fields if name != "package"}
    data = {k: ("" if v is None else v) for k, v in data.items()}
    data.update({"milestones-TOTAL_FORMS": 0, "milestones-INITIAL_FORMS": 0})  # the milestones inline
    refused = client.post(url, {**data, "package": [b["patent"].pk]})

    assert refused.status_code == 200 and "package" in refused.context["adminform"].form.errors
    assert list(draft.patents.all()) == [a["patent"]]


def test_staff_without_an_institution_sees_nothing(client, two_institutions):
    from django.contrib.auth.models import Group

    from .factories import UserFactory

    loner = UserFactory()
    loner.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))
    client.force_login(loner)

    # Not even the admin opens to a staff account tied to no institution: back to its login page.
    response = client.get(reverse("admin:licensing_license_changelist"))
    assert response.status_code == 302 and response.url.startswith(reverse("admin:login"))


def test_staff_cannot_edit_payments_or_installments_directly(client, two_institutions):
    client.force_login(two_institutions["A"]["user"])
    payment = two_institutions["A"]["payment"]

    response = client.post(reverse("admin:licensing_payment_change", args=[payment.pk]), {"amount": "1.00"})

    assert response.status_code == 403
    assert Payment.objects.get(pk=payment.pk).amount == payment.amount
    assert Installment.objects.filter(license=two_institutions["A"]["license"]).count() == 3
    assert Offer.objects.count() == Patent.objects.count() == 2


def test_the_notice_ledger_shows_each_institution_its_own_notices_a_sign_up_included(
    client, two_institutions, admin_client, settings
):
    """Issue 22: notices now exist without a license (a sign-up to approve). Each carries its
    institution; staff see their own, a sign-up that came to no institution only a superuser."""
    from django.test import Client

    from licensing.demo.identifiers import make_uscc
    from licensing.models import Reminder

    from .test_handoffs import SIGN_UP

    a, b = two_institutions["A"], two_institutions["B"]
    settings.PLATFORM_CONTACT_EMAIL = "platform@example.edu.cn"
    Client().post(f"/signup/?next=/patents/{b['offer'].pk}/", {**SIGN_UP, "next": f"/patents/{b['offer'].pk}/"})
    Client().post("/signup/", {**SIGN_UP, "user-username": "other", "enterprise-uscc": make_uscc(99)})
    to_b = Reminder.objects.get(kind=Reminder.Kind.MEMBER_TO_APPROVE, institution=b["user"].staff_profile.institution)
    platform = Reminder.objects.get(kind=Reminder.Kind.MEMBER_TO_APPROVE, institution=None)

    client.force_login(a["user"])
    seen = client.get(reverse("admin:licensing_reminder_changelist")).context["cl"].result_list
    assert seen and {r.institution_id for r in seen} == {a["user"].staff_profile.institution_id}
    for hidden in (to_b, platform):
        response = client.get(reverse("admin:licensing_reminder_change", args=[hidden.pk]))
        assert response.status_code == 302 and response.url == reverse("admin:index")

    client.force_login(b["user"])
    assert client.get(reverse("admin:licensing_reminder_change", args=[to_b.pk])).status_code == 200
    assert admin_client.get(reverse("admin:licensing_reminder_change", args=[platform.pk])).status_code == 200
