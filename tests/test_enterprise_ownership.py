"""An enterprise owns its master data: its active members change it in the portal, every change is
an audit event. Staff see the enterprises that deal with their institution (and new ones that deal
with nobody yet), may correct one only while it has no active member and deals with them alone,
and decide on its members only then; staff tied to no institution see and change nothing."""

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from licensing import services
from licensing.models import AuditEvent, Enterprise, EnterpriseMember
from licensing.roles import TTO_STAFF_GROUP

from .factories import EnterpriseFactory, UserFactory


@pytest.fixture
def shared(two_institutions, make_member):
    """B's SME, with an active portal member, and a pending one."""
    enterprise = two_institutions["B"]["license"].enterprise
    return {
        "enterprise": enterprise,
        "member": make_member(enterprise, username="b-member"),
        "pending": make_member(enterprise, state=EnterpriseMember.State.PENDING, username="b-pending"),
    }


def test_staff_cannot_see_or_edit_another_institutions_enterprise(client, two_institutions, shared):
    client.force_login(two_institutions["A"]["user"])
    enterprise = shared["enterprise"]
    assert client.get(reverse("admin:licensing_enterprise_changelist")).context["cl"].result_count == 1  # A's SME
    response = client.post(
        reverse("admin:licensing_enterprise_change", args=[enterprise.pk]),
        {"name": enterprise.name, "contact_email": "attacker@evil.example", "employees": 5000},
    )
    assert response.status_code == 302 and response.url == reverse("admin:index")  # not found
    enterprise.refresh_from_db()
    assert enterprise.contact_email != "attacker@evil.example" and enterprise.employees == 50


def test_staff_cannot_correct_an_enterprise_with_active_members_even_their_own(client, two_institutions, shared):
    b = two_institutions["B"]
    client.force_login(b["user"])
    enterprise = shared["enterprise"]
    page = client.get(reverse("admin:licensing_enterprise_change", args=[enterprise.pk]))
    assert "contact_email" not in page.context["adminform"].form.fields  # read-only for them
    with translation.override("en"), pytest.raises(ValidationError, match="keeps its details itself"):
        services.update_enterprise(enterprise_id=enterprise.pk, by=b["user"], changes={"employees": 5000})


def test_staff_may_correct_an_enterprise_that_deals_only_with_them_and_has_no_member(client, two_institutions):
    a = two_institutions["A"]
    enterprise = a["license"].enterprise
    client.force_login(a["user"])
    url = reverse("admin:licensing_enterprise_change", args=[enterprise.pk])
    form = client.get(url).context["adminform"].form
    data = {name: form.initial.get(name) for name in form.fields}
    data.update(employees=400, annual_revenue="30000", high_tech="", contact_email="finance@a-sme.example")
    data = {k: ("" if v is None else v) for k, v in data.items()}
    data.update({"audit_events-TOTAL_FORMS": 0, "audit_events-INITIAL_FORMS": 0})
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    enterprise.refresh_from_db()
    assert enterprise.employees == 400 and enterprise.size_class == "medium"
    event = AuditEvent.objects.get(enterprise=enterprise, action=AuditEvent.Action.CHANGED)
    assert event.by == a["user"] and event.changes["employees"] == [50, 400]
    assert event.changes["size_class"] == ["small", "medium"]


def test_the_enterprise_changes_its_details_in_the_portal_and_the_change_is_logged(client, shared):
    client.force_login(shared["member"].user)
    enterprise = shared["enterprise"]
    data = {
        "name": enterprise.name,
        "industry_section": "M",
        "industry": enterprise.industry,
        "employees": 120,
        "annual_revenue": "5000",
        "contact_email": "new-finance@sme.example",
        "language": "zh-hans",
        "reason": "New finance manager",
    }
    response = client.post(reverse("portal:enterprise"), data)
    assert response.status_code == 302
    enterprise.refresh_from_db()
    assert enterprise.contact_email == "new-finance@sme.example"
    event = AuditEvent.objects.get(action=AuditEvent.Action.CHANGED, enterprise=enterprise)
    assert event.by == shared["member"].user and event.reason == "New finance manager"
    assert event.changes["contact_email"][1] == "new-finance@sme.example"
    page = client.get(reverse("portal:enterprise"), headers={"accept-language": "en"}).content.decode()
    assert "new-finance@sme.example" in page and "New finance manager" in page


def test_a_pending_member_cannot_change_the_enterprise(client, shared):
    client.force_login(shared["pending"].user)
    response = client.post(reverse("portal:enterprise"), {"name": "Hijacked"})
    assert response.status_code == 403
    with pytest.raises(ValidationError):
        services.update_enterprise(
            enterprise_id=shared["enterprise"].pk, by=shared["pending"].user, changes={"name": "Hijacked"}
        )


def test_staff_decide_on_members_only_of_enterprises_dealing_with_them_alone(client, two_institutions, shared):
    a, b = two_institutions["A"], two_institutions["B"]
    pending = shared["pending"]
    with pytest.raises(ValidationError):  # A does not deal with B's SME: not even visible
        services.approve_member(member_id=pending.pk, by=a["user"])
    client.force_login(a["user"])
    url = reverse("admin:licensing_enterprisemember_act", args=[pending.pk, "approve"])
    assert client.post(url, {}).status_code == 404

    services.approve_member(member_id=pending.pk, by=b["user"])  # B alone deals with it
    pending.refresh_from_db()
    assert pending.state == EnterpriseMember.State.ACTIVE

    # Once the SME also applies at A, neither A nor B alone decides on its members
    services.apply_for_trial(offer_id=a["offer"].pk, enterprise=shared["enterprise"])
    with translation.override("en"), pytest.raises(ValidationError, match="platform administrator"):
        services.revoke_member(member_id=pending.pk, by=b["user"], reason="left the company")
    client.force_login(b["user"])
    page = client.get(reverse("admin:licensing_enterprisemember_change", args=[pending.pk]))
    assert page.context["service_actions"] == []


def test_a_superuser_decides_on_members_of_any_enterprise(two_institutions, shared, superuser):
    services.approve_member(member_id=shared["pending"].pk, by=superuser)
    shared["pending"].refresh_from_db()
    assert shared["pending"].state == EnterpriseMember.State.ACTIVE


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/licensing/enterprise/",
        "/admin/licensing/enterprisemember/",
        "/admin/licensing/license/",
        "/admin/licensing/export/",
        "/admin/dashboard/",
        "/admin/licensing/institution/",
    ],
)
def test_staff_with_no_institution_see_and_change_nothing(client, two_institutions, url):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 302 and "/admin/login/" in response.url
    enterprise = two_institutions["B"]["license"].enterprise
    with pytest.raises(ValidationError):
        services.update_enterprise(enterprise_id=enterprise.pk, by=user, changes={"employees": 1})
    member = EnterpriseMember.objects.create(user=UserFactory(is_staff=False), enterprise=enterprise, full_name="X")
    with pytest.raises(ValidationError):
        services.approve_member(member_id=member.pk, by=user)


def test_reminders_go_to_the_address_the_enterprise_keeps(two_institutions, shared, client):
    """The attack of the review: A's staff redirect B's reminders. A cannot; the enterprise can."""
    enterprise = shared["enterprise"]
    with pytest.raises(ValidationError):
        services.update_enterprise(
            enterprise_id=enterprise.pk, by=two_institutions["A"]["user"], changes={"contact_email": "x@evil.example"}
        )
    assert Enterprise.objects.get(pk=enterprise.pk).contact_email.endswith("@sme.example")


def test_new_enterprises_are_visible_to_every_institution_until_they_deal_with_one(client, two_institutions):
    prospect = EnterpriseFactory(name="Prospect Co.")
    for side in "AB":
        client.force_login(two_institutions[side]["user"])
        names = [e.name for e in client.get("/admin/licensing/enterprise/").context["cl"].result_list]
        assert "Prospect Co." in names
    services.apply_for_trial(offer_id=two_institutions["A"]["offer"].pk, enterprise=prospect)
    client.force_login(two_institutions["B"]["user"])
    names = [e.name for e in client.get("/admin/licensing/enterprise/").context["cl"].result_list]
    assert "Prospect Co." not in names


def test_staff_registering_an_enterprise_leave_its_creation_in_the_history(client, two_institutions):
    a = two_institutions["A"]
    client.force_login(a["user"])
    response = client.post(
        reverse("admin:licensing_enterprise_add"),
        {
            "name": "Paper Application Co.",
            "uscc": "91350100M000100Y43",
            "industry": "industry",
            "employees": 12,
            "annual_revenue": "300",
            "contact_email": "paper@sme.example",
            "language": "zh-hans",
            "audit_events-TOTAL_FORMS": 0,
            "audit_events-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(enterprise__name="Paper Application Co.")
    assert event.action == AuditEvent.Action.CREATED and event.by == a["user"]
    with translation.override("en"):
        assert ("employees", "—", "12") in event.readable_changes()
