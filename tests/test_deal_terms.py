"""Deal structure (issue 13): license types, territory, field of use and term, free licenses, terms
fixed when applied for, and new versions of a published offer."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from licensing import services, tasks
from licensing.models import DealTerms, Installment, License, LicenseType, Offer, Patent
from licensing.roles import TTO_STAFF_GROUP
from licensing.selectors import audit_trail

from .factories import EnterpriseFactory, OfferFactory, PatentFactory, enterprise_of_size


def draft_terms(institution) -> dict:
    """A draft offer's fields as the admin form would give them."""
    return {"patent": PatentFactory(owner=institution), "trial_months": 6, "price": Decimal("1000.00")}


def test_the_term_groups_are_every_term(db):
    """The admin shows the terms by group and a license copies them by name: no field is left out."""
    assert sorted(DealTerms.term_names()) == sorted(f.name for f in DealTerms._meta.fields)


# -- license types -------------------------------------------------------------------------------

ALLOWED = {  # (type of the live license on the patent, type of the new offer) -> may apply
    ("ordinary", "ordinary"): True,
    ("ordinary", "sole"): False,
    ("ordinary", "exclusive"): False,
    ("sole", "ordinary"): False,
    ("sole", "sole"): False,
    ("exclusive", "ordinary"): False,
    ("exclusive", "exclusive"): False,
}


@pytest.mark.parametrize(("live_type", "new_type"), list(ALLOWED))
def test_exclusive_and_sole_licenses_keep_every_other_licensee_out(institution, live_type, new_type):
    patent = PatentFactory(owner=institution)
    services.apply_for_trial(
        offer_id=OfferFactory(patent=patent, license_type=live_type).pk, enterprise=EnterpriseFactory()
    )
    offer = OfferFactory(patent=patent, license_type=new_type)

    assert Offer.objects.with_availability().get(pk=offer.pk).available is ALLOWED[(live_type, new_type)]
    if ALLOWED[(live_type, new_type)]:
        services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory())
    else:
        with pytest.raises(ValidationError, match=r"licensed exclusively|under a sole license|exclusive or sole"):
            services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory())
        assert License.objects.filter(offer=offer).count() == 0


def test_a_live_license_is_judged_by_its_own_type_not_its_offers(institution):
    """A license applied for as exclusive keeps the patent to itself, whatever its offer says later."""
    patent = PatentFactory(owner=institution)
    first = OfferFactory(patent=patent, license_type="exclusive")
    services.apply_for_trial(offer_id=first.pk, enterprise=EnterpriseFactory())
    Offer.objects.filter(pk=first.pk).update(license_type="ordinary")  # what no form can do to a published offer

    with pytest.raises(ValidationError, match="licensed exclusively to another enterprise"):
        services.apply_for_trial(offer_id=OfferFactory(patent=patent).pk, enterprise=EnterpriseFactory())


# -- terms fixed when applied for ----------------------------------------------------------------


def test_the_license_lives_by_the_terms_it_applied_on(institution, staff, clock):
    clock("2026-01-31")
    offer = OfferFactory(
        patent__owner=institution, trial_months=6, grace_days=30, territory="广东省", field_of_use="LED lighting"
    )
    lic = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory())
    Offer.objects.filter(pk=offer.pk).update(trial_months=24, grace_days=365, price=Decimal("1"))

    lic = services.approve_trial(license_id=lic.pk, by=staff, start=dt.date(2026, 1, 31))

    assert lic.trial_end == dt.date(2026, 7, 31)  # its own 6 months, not the offer's 24
    assert (lic.grace_days, lic.price, lic.territory, lic.field_of_use) == (
        30,
        Decimal("100000.00"),
        "广东省",
        "LED lighting",
    )
    assert lic.term_end == offer.patent.expiry_date  # no end agreed: the patent's own


def test_the_term_ends_no_later_than_the_patent(institution):
    patent = PatentFactory(owner=institution)
    late = OfferFactory(patent=patent, term_end=patent.expiry_date + dt.timedelta(days=400))
    early = OfferFactory(patent=PatentFactory(owner=institution), term_end=dt.date(2030, 6, 30))

    assert services.apply_for_trial(offer_id=late.pk, enterprise=EnterpriseFactory()).term_end == patent.expiry_date
    assert services.apply_for_trial(offer_id=early.pk, enterprise=EnterpriseFactory()).term_end == dt.date(2030, 6, 30)


def test_an_offer_whose_term_ends_before_it_starts_is_refused(institution):
    offer = Offer(**draft_terms(institution), term_start=dt.date(2027, 1, 1), term_end=dt.date(2026, 1, 1))
    with pytest.raises(ValidationError) as excinfo:
        offer.full_clean(exclude=["state"])  # the FSM field is protected, as in publish_offer
    assert "term_end" in excinfo.value.message_dict


# -- new versions of a published offer -----------------------------------------------------------


def test_revising_a_published_offer_drafts_a_new_version_that_replaces_it_when_published(
    institution, staff, make_license, clock
):
    clock("2026-01-31")
    offer = OfferFactory(patent__owner=institution, price=Decimal("100000.00"))
    lic = make_license(offer, "trial")

    draft = services.revise_offer(offer_id=offer.pk, by=staff)
    assert (draft.version, draft.replaces, draft.state, draft.price) == (2, offer, "draft", offer.price)
    with pytest.raises(ValidationError, match="already drafted"):
        services.revise_offer(offer_id=offer.pk, by=staff)
    Offer.objects.filter(pk=draft.pk).update(price=Decimal("150000.00"))  # edited in the draft's form

    services.publish_offer(offer_id=draft.pk, by=staff)

    offer.refresh_from_db()
    assert offer.state == Offer.State.WITHDRAWN  # the old version is off the catalogue
    lic = services.purchase(license_id=lic.pk, plan="lump_sum", by=staff, on=dt.date(2026, 7, 31))
    assert lic.price == Decimal("100000.00") and lic.offer_id == offer.pk  # its terms did not move
    assert sum(i.amount for i in lic.installments.all()) == Decimal("100000.00")


def test_the_revise_button_opens_the_new_draft(client, staff, institution):
    staff.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))
    client.force_login(staff)
    offer = OfferFactory(patent__owner=institution)

    response = client.post(reverse("admin:licensing_offer_act", args=[offer.pk, "revise"]))

    draft = Offer.objects.get(replaces=offer)
    assert response.url == reverse("admin:licensing_offer_change", args=[draft.pk])
    page = client.get(response.url, headers={"accept-language": "en"}).content.decode()
    assert 'name="price"' in page  # the draft's terms are editable
    assert 'name="price"' not in client.get(reverse("admin:licensing_offer_change", args=[offer.pk])).content.decode()


# -- free licenses -------------------------------------------------------------------------------


def test_a_free_license_runs_its_lifecycle_with_nothing_to_pay(institution, staff, make_license, clock):
    clock("2026-01-31")
    offer = OfferFactory(patent__owner=institution, price=Decimal("0"), use_reports_required=True)
    lic = make_license(offer, "trial")

    lic = services.purchase(license_id=lic.pk, plan="lump_sum", by=staff, on=dt.date(2026, 7, 31))

    assert lic.state == License.State.PAID_UP and lic.use_reports_required
    assert not Installment.objects.filter(license=lic).exists()
    assert lic.term_start == dt.date(2026, 7, 31)
    with pytest.raises(ValidationError, match="cannot be recorded"):
        services.record_payment(
            license_id=lic.pk, amount="1.00", paid_on=dt.date(2026, 8, 1), reference="X", idempotency_key="k", by=staff
        )


def test_a_free_license_can_be_returned_too(institution, staff, make_license):
    lic = make_license(OfferFactory(patent__owner=institution, price=Decimal("0")), "trial")
    assert services.return_patent(license_id=lic.pk, by=staff).state == License.State.RETURNED


@pytest.mark.parametrize("field", ["equity_allowed", "insurance_required"])
def test_a_free_offer_with_equity_or_insurance_is_refused(institution, field):
    terms = {**draft_terms(institution), "price": Decimal("0"), "equity_max_share": Decimal("0.3"), field: True}
    offer = Offer(**terms)
    with pytest.raises(ValidationError) as excinfo:
        offer.full_clean(exclude=["state"])  # the FSM field is protected, as in publish_offer
    assert field in excinfo.value.message_dict


def test_the_sme_takes_a_free_license_in_the_portal(sme_client, institution, make_license, clock):
    clock("2026-03-02")
    lic = make_license(OfferFactory(patent__owner=institution, price=Decimal("0")), "trial", start="2026-03-02")
    page = sme_client.get(f"/licenses/{lic.pk}/", headers={"accept-language": "en"}).content.decode()
    assert "Take the license" in page and "Free" in page

    preview = sme_client.get(f"/licenses/{lic.pk}/buy/").content.decode()  # nothing to choose: the terms at once
    assert "the license is free. There is no payment plan." in preview and "Due today" not in preview
    assert "payee" not in preview.lower()
    sme_client.post(f"/licenses/{lic.pk}/buy/", {"plan": "lump_sum", "seen_state": "trial", "confirmed": "on"})

    lic.refresh_from_db()
    assert lic.state == License.State.PAID_UP


def test_the_catalogue_and_offer_page_say_the_type_territory_field_and_term(client, institution):
    offer = OfferFactory(
        patent__owner=institution,
        license_type=LicenseType.SOLE,
        territory="Zhejiang",
        field_of_use="marine coatings",
        term_end=dt.date(2031, 12, 31),
        price=Decimal("0"),
    )
    catalogue = client.get("/", headers={"accept-language": "en"}).content.decode()
    page = client.get(f"/patents/{offer.pk}/", headers={"accept-language": "en"}).content.decode()

    assert "then free" in catalogue and "Sole" in catalogue
    assert "Sole: while your license is live" in page and "Territory: Zhejiang." in page
    assert "Field of use: marine coatings." in page and "until 2031-12-31 at the latest" in page
    assert "The license is free" in page


# -- the migration -------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_migration_turns_the_exclusive_flag_into_a_type_and_copies_terms_to_licenses(transactional_db):
    executor = MigrationExecutor(connection)
    executor.migrate([("licensing", "0012_deal_terms")])
    old = executor.loader.project_state([("licensing", "0012_deal_terms")]).apps
    institution = old.get_model("licensing", "Institution").objects.create(name="Old U", kind="university")
    patent = old.get_model("licensing", "Patent").objects.create(
        number="ZL201910100001.1",
        title="Old",
        ipc_class="H01M",
        owner=institution,
        patent_type="invention",
        filing_date=dt.date(2019, 1, 1),
        expiry_date=dt.date(2039, 1, 1),
    )
    Offer0 = old.get_model("licensing", "Offer")
    exclusive = Offer0.objects.create(patent=patent, trial_months=9, price=1000, exclusive=True, grace_days=45)
    ordinary = Offer0.objects.create(patent=patent, trial_months=6, price=1000, exclusive=False)
    enterprise = old.get_model("licensing", "Enterprise").objects.create(
        name="Old SME",
        uscc="91310000MA1FL0000X",
        industry="industry",
        employees=5,
        annual_revenue=1,
        size_class="micro",
    )
    License0 = old.get_model("licensing", "License")
    lic = License0.objects.create(offer=exclusive, enterprise=enterprise, price=1000, trial_fee=0, trial_months=12)

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert Offer.objects.get(pk=exclusive.pk).license_type == "exclusive"
    assert Offer.objects.get(pk=ordinary.pk).license_type == "ordinary"
    lic = License.objects.get(pk=lic.pk)
    assert (lic.license_type, lic.trial_months, lic.grace_days, lic.term_end) == (
        "exclusive",
        9,
        45,
        dt.date(2039, 1, 1),
    )


# -- open licences -------------------------------------------------------------------------------


def open_licence(institution, **terms):
    return OfferFactory(patent__owner=institution, open_licence=True, **terms)


def test_an_sme_applying_under_an_open_licence_gets_its_trial_with_no_staff_step(
    sme_client, institution, enterprise, clock, django_capture_on_commit_callbacks
):
    clock("2026-03-02")
    institution.contact_email, institution.language = "tto@univ.example", "en"  # staff who read English
    institution.save()
    offer = open_licence(institution)

    with django_capture_on_commit_callbacks(execute=True):
        response = sme_client.post(f"/patents/{offer.pk}/apply/", {"intended_use": "Pilot", "contact": "Li"})

    lic = License.objects.get(enterprise=enterprise)
    assert response.url == f"/licenses/{lic.pk}/"
    assert (lic.state, lic.trial_start, lic.open_licence) == (License.State.TRIAL, dt.date(2026, 3, 2), True)
    granted = audit_trail(lic).get(action="transition")
    assert granted.by is None and "open licence" in granted.why  # the system, not a staff member
    notice = mail.outbox[-1]
    assert notice.to == ["tto@univ.example"] and offer.patent.number in notice.subject
    assert f"/admin/licensing/license/{lic.pk}/change/" in notice.body
    assert f"/licenses/{lic.pk}/" not in notice.body  # not the portal, which answers staff 403
    html = notice.alternatives[0][0]
    assert '<html lang="en">' in html and "Open the license in the admin" in html


def test_a_large_enterprise_under_an_open_licence_waits_for_the_tto(institution):
    lic = services.apply_for_trial(offer_id=open_licence(institution).pk, enterprise=enterprise_of_size("large"))
    assert lic.state == License.State.APPLIED


def test_an_open_licence_is_ordinary_and_its_fee_within_the_cap(institution, settings):
    settings.OPEN_LICENCE_MAX_FIXED_FEE = Decimal("50000")
    offer = Offer(**{**draft_terms(institution), "price": Decimal("50000.01")}, open_licence=True, license_type="sole")
    with pytest.raises(ValidationError) as excinfo:
        offer.full_clean(exclude=["state"])
    assert set(excinfo.value.message_dict) == {"license_type", "price"}
    assert "50,000.00" in excinfo.value.message_dict["price"][0]


def test_no_exclusive_or_sole_license_while_an_open_licence_stands(institution, staff):
    standing = open_licence(institution)
    exclusive = OfferFactory(patent=standing.patent, license_type="exclusive")

    assert not Offer.objects.with_availability().get(pk=exclusive.pk).available
    with pytest.raises(ValidationError, match="an open licence stands on this patent"):
        services.apply_for_trial(offer_id=exclusive.pk, enterprise=EnterpriseFactory())
    draft = OfferFactory(patent=standing.patent, license_type="sole", state=Offer.State.DRAFT)
    with pytest.raises(ValidationError, match="An open licence stands on this patent"):
        services.publish_offer(offer_id=draft.pk, by=staff)


def test_no_open_licence_while_an_exclusive_or_sole_offer_stands(institution, staff):
    """Issue 21, point 4.6: an offer of an exclusive license, not yet taken, is refused too."""
    sole = OfferFactory(patent__owner=institution, license_type="sole")
    draft = OfferFactory(patent=sole.patent, open_licence=True, state=Offer.State.DRAFT)

    with pytest.raises(ValidationError, match="An exclusive or sole offer stands on this patent"):
        services.publish_offer(offer_id=draft.pk, by=staff)
    draft.refresh_from_db()
    assert draft.state == Offer.State.DRAFT
    services.withdraw_offer(offer_id=sole.pk, by=staff, reason="opening the patent to all")
    assert services.publish_offer(offer_id=draft.pk, by=staff).state == Offer.State.PUBLISHED


def test_no_open_licence_while_an_exclusive_license_is_live(institution, staff):
    exclusive = OfferFactory(patent__owner=institution, license_type="exclusive")
    services.apply_for_trial(offer_id=exclusive.pk, enterprise=EnterpriseFactory())
    draft = OfferFactory(patent=exclusive.patent, open_licence=True, state=Offer.State.DRAFT)

    with pytest.raises(ValidationError, match="no open licence can be declared"):
        services.publish_offer(offer_id=draft.pk, by=staff)


# -- packages ------------------------------------------------------------------------------------


def package(institution, size, **terms):
    offer = OfferFactory(patent__owner=institution, **terms)
    offer.patents.add(*PatentFactory.create_batch(size - 1, owner=institution))
    return offer


def test_a_license_covers_every_patent_of_its_package_as_it_was_when_applied_for(institution, staff):
    offer = package(institution, 3)
    lic = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory())
    offer.patents.add(PatentFactory(owner=institution))  # a later change of the package (never in a form)

    assert lic.patents.count() == 3
    event = audit_trail(lic).get(action="changed")
    assert sorted(event.changes["patents"][1]) == sorted(lic.patents.values_list("number", flat=True))


@pytest.mark.parametrize("license_type", ["exclusive", "sole"])
def test_an_exclusive_or_sole_package_blocks_every_patent_in_it(institution, license_type):
    held = package(institution, 3, license_type=license_type)
    services.apply_for_trial(offer_id=held.pk, enterprise=EnterpriseFactory())
    third = held.patents.exclude(pk=held.patent_id).first()
    elsewhere = OfferFactory(patent=third, license_type="ordinary")  # another offer on one of its patents

    reason = {"exclusive": "licensed exclusively", "sole": "licensed under a sole license"}[license_type]
    with pytest.raises(ValidationError, match=reason):
        services.apply_for_trial(offer_id=elsewhere.pk, enterprise=EnterpriseFactory())


def test_an_ordinary_package_blocks_none_of_its_patents(institution):
    held = package(institution, 3, license_type="ordinary")
    services.apply_for_trial(offer_id=held.pk, enterprise=EnterpriseFactory())
    second = OfferFactory(patent=held.patents.exclude(pk=held.patent_id).first(), license_type="ordinary")

    assert services.apply_for_trial(offer_id=second.pk, enterprise=EnterpriseFactory()).state == "applied"


def test_one_live_license_per_enterprise_and_patent_across_packages(institution, enterprise):
    first = package(institution, 2)
    services.apply_for_trial(offer_id=first.pk, enterprise=enterprise)
    overlapping = OfferFactory(patent__owner=institution)
    overlapping.patents.add(first.patents.exclude(pk=first.patent_id).get())

    with pytest.raises(ValidationError, match="already has a live license for a patent of this offer"):
        services.apply_for_trial(offer_id=overlapping.pk, enterprise=enterprise)


def test_a_package_is_one_institutions_patents_all_in_force(institution, staff, clock):
    clock("2026-01-31")
    draft = OfferFactory(patent__owner=institution, state=Offer.State.DRAFT)
    foreign = PatentFactory()  # another institution's
    with pytest.raises(ValidationError, match="belong to another"):
        services.set_package(offer_id=draft.pk, patents=[foreign], by=staff)
    lapsed = PatentFactory(owner=institution, legal_status="lapsed")
    with pytest.raises(ValidationError, match="not in force"):
        services.set_package(offer_id=draft.pk, patents=[lapsed], by=staff)
    assert list(draft.patents.all()) == [draft.patent]

    added = PatentFactory(owner=institution)
    services.set_package(offer_id=draft.pk, patents=[added], by=staff)
    assert set(draft.patents.all()) == {draft.patent, added}
    assert audit_trail(draft).get(action="changed").changes["patents"][1] == sorted([draft.patent.number, added.number])


def test_a_package_with_a_patent_no_longer_in_force_is_neither_published_nor_listed(client, institution, staff):
    draft = package(institution, 2, state=Offer.State.DRAFT)
    Patent.objects.filter(pk=draft.patents.exclude(pk=draft.patent_id).get().pk).update(legal_status="invalidated")
    with pytest.raises(ValidationError, match="not in force"):
        services.publish_offer(offer_id=draft.pk, by=staff)

    listed = package(institution, 2)
    Patent.objects.filter(pk=listed.patents.exclude(pk=listed.patent_id).get().pk).update(legal_status="lapsed")
    assert client.get(f"/patents/{listed.pk}/").status_code == 404


def test_the_term_of_a_package_ends_with_its_last_patent(institution):
    offer = package(institution, 3)
    last = max(p.expiry_date for p in offer.patents.all())
    assert services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory()).term_end == last


def test_the_catalogue_finds_a_package_by_any_of_its_patents(client, institution):
    offer = package(institution, 3)
    other = offer.patents.exclude(pk=offer.patent_id).first()
    Patent.objects.filter(pk=other.pk).update(title="Sodium-ion cathode", ipc_class="H01M 4/36")

    found = client.get("/", {"q": "sodium-ion"}, headers={"accept-language": "en"}).content.decode()
    by_section = client.get("/", {"ipc": "H"}, headers={"accept-language": "en"}).content.decode()

    assert f"/patents/{offer.pk}/" in found and "and 2 more patents" in found
    assert f"/patents/{offer.pk}/" in by_section
    page = client.get(f"/patents/{offer.pk}/", headers={"accept-language": "en"}).content.decode()
    assert "A package of 3 patents" in page and "Sodium-ion cathode" in page


def test_staff_set_a_drafts_package_in_the_admin_form(client, staff, institution):
    staff.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))
    client.force_login(staff)
    draft = OfferFactory(patent__owner=institution, state=Offer.State.DRAFT)
    extra, foreign = PatentFactory(owner=institution), PatentFactory()
    url = reverse("admin:licensing_offer_change", args=[draft.pk])
    form = client.get(url).context["adminform"].form
    data = {name: form.initial.get(name) for name in form.fields if name != "package"}
    data = {k: ("" if v is None else v) for k, v in data.items()}
    data.update({"milestones-TOTAL_FORMS": 0, "milestones-INITIAL_FORMS": 0})  # the milestones inline

    refused = client.post(url, {**data, "package": [foreign.pk]})
    assert refused.status_code == 200 and "package" in refused.context["adminform"].form.errors
    assert client.post(url, {**data, "package": [extra.pk]}).status_code == 302
    assert set(draft.patents.all()) == {draft.patent, extra}


def test_when_a_patent_of_a_live_license_lapses_both_parties_are_told_once(
    institution, staff, make_license, clock, sme_client
):
    clock("2026-03-02")
    institution.contact_email = "tto@univ.example"
    institution.save()
    offer = package(institution, 2)
    lic = make_license(offer, "trial", enterprise=sme_client.member.enterprise, start="2026-03-02")
    other = lic.patents.exclude(pk=offer.patent_id).get()
    mail.outbox.clear()

    clock("2026-03-10")
    tasks.sweep()
    assert not mail.outbox  # all in force: nothing to say
    Patent.objects.filter(pk=other.pk).update(legal_status="invalidated")
    clock("2026-03-11")
    tasks.sweep()
    clock("2026-03-12")
    tasks.sweep()  # the next day: not again

    assert len(mail.outbox) == 2  # one to each party, each with the link it can open
    to_sme, to_tto = sorted(mail.outbox, key=lambda m: m.to != [lic.enterprise.contact_email])
    assert (to_sme.to, to_tto.to) == ([lic.enterprise.contact_email], ["tto@univ.example"])
    assert other.number in to_sme.subject and "Invalidated" in to_sme.body and "/licenses/" in to_sme.body
    assert f"/admin/licensing/license/{lic.pk}/change/" in to_tto.body
    page = sme_client.get(f"/licenses/{lic.pk}/", headers={"accept-language": "en"}).content.decode()
    assert "no longer in force" in page
