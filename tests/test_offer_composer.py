"""The offer composer (issue 22, point 1): the officer picks the deal's shape first and sees that
shape's terms only, grouped; a milestone is dated or an event, never both; the officer sees the
SME's page before publishing; an offer live licenses keep closed is refused with those licenses
listed, or published as opening when they end; the patent picker says which patents are licensed."""

import datetime as dt
import re
from decimal import Decimal as D

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from licensing import services
from licensing.models import AuditEvent, FeeShape, Offer, OfferMilestone, OfferShape
from licensing.roles import TTO_STAFF_GROUP

from .factories import EnterpriseFactory, OfferFactory, PatentFactory

ZH = {"accept-language": "zh-hans"}
EN = {"accept-language": "en"}


@pytest.fixture
def officer(staff, client, clock):
    clock("2026-12-07")
    staff.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))
    client.force_login(staff)
    return staff


def _form_data(patent, **terms):
    """What the browser posts for a new offer: the fields the shape shows, and the empty inline."""
    data = {
        "patent": patent.pk,
        "name": "",
        "license_type": "sole",
        "trial_months": "6",
        "trial_fee": "0",
        "grace_days": "90",
        "equity_max_share": "0",
        "coverage_ratio": "0.8",
        "milestones-TOTAL_FORMS": "0",
        "milestones-INITIAL_FORMS": "0",
    }
    data.update(terms)
    return data


def test_a_new_offer_starts_with_the_shape_of_the_deal(client, officer):
    page = client.get(reverse("admin:licensing_offer_add"), headers=ZH).content.decode()

    for shape in OfferShape:
        assert f'href="?shape={shape.value}"' in page
    assert "提成" in page and "开放许可" in page  # the royalty and open-licence shapes, in Chinese
    assert "adminform" not in page  # no form before a shape is picked


@pytest.mark.parametrize(
    ("shape", "shown", "hidden"),
    [
        (OfferShape.FREE, {"trial_months", "license_type"}, {"price", "entry_fee", "royalty_rates", "equity_allowed"}),
        (OfferShape.FIXED, {"price", "installment_count", "entry_fee"}, {"royalty_rates", "deferred_until_revenue"}),
        (
            OfferShape.ROYALTY,
            {"entry_fee", "royalty_rates", "royalty_minimum", "deferred_until_revenue"},
            {"price", "lump_sum_allowed", "installment_count", "first_due_months"},
        ),
        (OfferShape.MIXED, {"price", "royalty_rates", "installment_count"}, set()),
        (OfferShape.OPEN, {"price", "royalty_rates"}, {"license_type"}),
    ],
)
def test_each_shape_shows_its_own_terms(client, officer, shape, shown, hidden):
    response = client.get(reverse("admin:licensing_offer_add") + f"?shape={shape.value}", headers=EN)

    fields = set(response.context["adminform"].form.fields)
    assert shown <= fields
    assert not hidden & fields
    has_milestones = bool(response.context["inline_admin_formsets"])
    assert has_milestones == (shape != OfferShape.FREE)


def test_a_royalty_offer_typed_in_chinese_keeps_no_price_and_no_installments(client, officer, institution):
    patent = PatentFactory(owner=institution)
    data = _form_data(
        patent,
        entry_fee="0",
        royalty_base="net_sales",
        royalty_rates="1000万元以内3%，以上2%",
        reporting_period="quarter",
        report_due_days="30",
        deferred_months="12",
        deferred_until_revenue="on",
        royalty_minimum="20000",
        # what a browser would still send if the fields had been there: the shape drops them
        price="50000",
        installment_count="4",
    )

    response = client.post(reverse("admin:licensing_offer_add") + "?shape=royalty", data, headers=ZH)

    assert response.status_code == 302, response.context["adminform"].form.errors
    offer = Offer.objects.get()
    assert offer.price == D("0") and offer.installment_count == 0
    assert offer.royalty_rates == "3% up to 10,000,000; 2%"  # stored in the one form
    assert offer.fee_shape == FeeShape.ROYALTY
    assert offer.title == patent.title


def test_a_drafts_shape_changes_and_the_terms_it_no_longer_uses_are_cleared(client, officer, institution):
    offer = OfferFactory(
        patent__owner=institution,
        state=Offer.State.DRAFT,
        price=D("80000"),
        installment_count=4,
        royalty_base="net_sales",
        royalty_rates="2%",
    )
    url = reverse("admin:licensing_offer_change", args=[offer.pk])
    assert client.get(url).context["shape"] == OfferShape.MIXED

    form = client.get(url + "?shape=royalty").context["adminform"].form
    data = {name: form.initial.get(name) for name in form.fields if name != "package"}
    data = {k: ("" if v is None else v) for k, v in data.items() if v is not False}
    data.update({"milestones-TOTAL_FORMS": "0", "milestones-INITIAL_FORMS": "0"})
    response = client.post(url + "?shape=royalty", data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    offer.refresh_from_db()
    assert (offer.price, offer.installment_count, offer.royalty_rates) == (D("0"), 0, "2%")
    assert offer.offer_shape == OfferShape.ROYALTY
    event = AuditEvent.objects.filter(object_id=offer.pk, action=AuditEvent.Action.CHANGED).latest("pk")
    assert event.changes["price"] == ["80000.00", "0.00"]  # the history says what the new shape cleared
    assert event.changes["installment_count"] == [4, 0]


@pytest.mark.parametrize(
    ("shape", "terms", "field", "message"),
    [
        ("royalty", {"royalty_base": "", "entry_fee": "0"}, "royalty_base", "提成要约需要"),
        ("fixed", {"price": "0", "lump_sum_allowed": "on", "installment_count": "0"}, "price", "固定价格要约需要"),
    ],
)
def test_a_shape_without_its_essential_term_is_refused_and_nothing_is_saved(
    client, officer, institution, shape, terms, field, message
):
    data = _form_data(PatentFactory(owner=institution), reporting_period="quarter", report_due_days="30", **terms)

    response = client.post(reverse("admin:licensing_offer_add") + f"?shape={shape}", data, headers=ZH)

    assert response.status_code == 200
    assert message in " ".join(response.context["adminform"].form.errors[field])
    assert not Offer.objects.exists()


def test_a_free_offer_keeps_no_milestone(officer, institution):
    offer = OfferFactory(patent__owner=institution, state=Offer.State.DRAFT, price=D("0"), installment_count=0)
    offer.milestones.create(name="First sale", amount=D("1000"), due_days=30)
    offer.take_shape(OfferShape.FREE)
    with pytest.raises(ValidationError, match="no milestone"):
        offer.check_shape(OfferShape.FREE)


# -- milestones: dated or an event, never both ---------------------------------------------------


@pytest.mark.parametrize(
    ("due_days", "due_months", "message"),
    [("30", "18", "两者只填其一"), ("", "", "两者只填其一")],
)
def test_a_milestone_is_dated_or_an_event_never_both_nor_neither(
    client, officer, institution, due_days, due_months, message
):
    data = _form_data(
        PatentFactory(owner=institution),
        entry_fee="0",
        royalty_base="net_sales",
        royalty_rates="2%",
        reporting_period="quarter",
        report_due_days="30",
        **{
            "milestones-TOTAL_FORMS": "1",
            "milestones-0-name": "首次商业销售",
            "milestones-0-amount": "50000",
            "milestones-0-due_days": due_days,
            "milestones-0-due_months": due_months,
        },
    )

    response = client.post(reverse("admin:licensing_offer_add") + "?shape=royalty", data, headers=ZH)

    assert response.status_code == 200
    inline = response.context["inline_admin_formsets"][0].formset
    assert message in " ".join(inline.forms[0].non_field_errors())
    assert not Offer.objects.exists()


def test_the_database_refuses_a_milestone_with_both_ways_to_fall_due(db, institution):
    offer = OfferFactory(patent__owner=institution)
    with pytest.raises(IntegrityError), transaction.atomic():
        OfferMilestone.objects.create(offer=offer, name="both", amount=D("1"), due_days=30, due_months=18)
    with pytest.raises(IntegrityError), transaction.atomic():
        OfferMilestone.objects.create(offer=offer, name="neither", amount=D("1"))


# -- preview and publishing ----------------------------------------------------------------------


def _sole_draft_on_a_licensed_patent(institution):
    ordinary = OfferFactory(patent__owner=institution, patent__title="石墨烯导热膜")
    lic = services.apply_for_trial(offer_id=ordinary.pk, enterprise=EnterpriseFactory(name="苏州石墨烯"))
    services.approve_trial(license_id=lic.pk, by=None, start=dt.date(2026, 12, 7))
    sole = OfferFactory(patent=ordinary.patent, state=Offer.State.DRAFT, license_type="sole", name="独占包")
    return sole, lic


def test_the_officer_sees_the_smes_page_before_publishing(client, officer, institution):
    offer = OfferFactory(
        patent__owner=institution, state=Offer.State.DRAFT, price=D("0"), installment_count=0, royalty_base="net_sales"
    )
    Offer.objects.filter(pk=offer.pk).update(royalty_rates="2%")

    preview = client.get(reverse("admin:licensing_offer_preview", args=[offer.pk]), headers=ZH).content.decode()
    assert 'id="preview"' in preview
    assert "提成" in preview and "2%" in preview  # the plain-language terms
    assert reverse("portal:apply", args=[offer.pk]) not in preview  # nothing to apply for yet

    publish = client.get(reverse("admin:licensing_offer_act", args=[offer.pk, "publish"]), headers=ZH)
    page = publish.content.decode()
    assert 'id="offer-preview"' in page and "2%" in page
    assert 'id="holders"' not in page  # nothing keeps it closed


def test_publishing_a_sole_offer_on_a_licensed_patent_is_refused_with_the_licenses(client, officer, institution):
    sole, lic = _sole_draft_on_a_licensed_patent(institution)
    url = reverse("admin:licensing_offer_act", args=[sole.pk, "publish"])

    page = client.get(url, headers=ZH).content.decode()
    assert 'id="holders"' in page and "苏州石墨烯" in page and "2027-06-07" in page  # the trial's end

    refused = client.post(url, {}, headers=ZH)
    assert refused.status_code == 200
    assert "苏州石墨烯" in refused.content.decode()
    sole.refresh_from_db()
    assert sole.state == Offer.State.DRAFT

    published = client.post(url, {"opens_when_free": "on"}, headers=ZH)
    assert published.status_code == 302
    sole.refresh_from_db()
    assert sole.state == Offer.State.PUBLISHED
    event = AuditEvent.objects.filter(object_id=sole.pk, state="published").get()
    assert str(lic) in event.why and "苏州石墨烯" in event.why
    assert Offer.objects.with_availability().get(pk=sole.pk).closed_because == "licensed"


def test_the_service_refuses_it_too_in_the_readers_language(officer, institution):
    from django.utils import translation

    sole, _lic = _sole_draft_on_a_licensed_patent(institution)
    with translation.override("en"), pytest.raises(ValidationError, match="Live licenses keep this offer closed"):
        services.publish_offer(offer_id=sole.pk, by=officer)
    sole.refresh_from_db()
    assert sole.state == Offer.State.DRAFT


def test_an_ordinary_offer_beside_an_ordinary_license_publishes_without_a_word(officer, institution):
    ordinary = OfferFactory(patent__owner=institution)
    services.apply_for_trial(offer_id=ordinary.pk, enterprise=EnterpriseFactory())
    second = OfferFactory(patent=ordinary.patent, state=Offer.State.DRAFT, license_type="ordinary")

    services.publish_offer(offer_id=second.pk, by=officer)

    assert AuditEvent.objects.get(object_id=second.pk, state="published").why == ""


def test_another_institutions_offer_has_no_preview_nor_publish_page(client, two_institutions):
    client.force_login(two_institutions["A"]["user"])
    other = two_institutions["B"]["offer"]
    Offer.objects.filter(pk=other.pk).update(state=Offer.State.DRAFT)

    assert client.get(reverse("admin:licensing_offer_preview", args=[other.pk])).status_code == 404
    assert client.get(reverse("admin:licensing_offer_act", args=[other.pk, "publish"])).status_code == 404
    assert client.post(reverse("admin:licensing_offer_act", args=[other.pk, "publish"])).status_code == 404
    other.refresh_from_db()
    assert other.state == Offer.State.DRAFT


# -- the patent picker ---------------------------------------------------------------------------


def test_the_patent_picker_shows_each_patents_status_and_live_licenses(client, officer, institution):
    _sole_draft_on_a_licensed_patent(institution)  # 石墨烯导热膜: one ordinary license in trial
    PatentFactory(owner=institution, title="石墨烯涂层")

    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "licensing", "model_name": "offer", "field_name": "patent", "term": "石墨烯"},
        headers=EN,
    )

    texts = sorted(r["text"] for r in response.json()["results"])
    licensed = next(t for t in texts if "导热膜" in t)
    free = next(t for t in texts if "涂层" in t)
    assert "in force until" in licensed and "live: 1 ordinary license" in licensed
    assert "no live license" in free


def test_a_system_reason_is_worded_in_the_readers_language_not_the_writers(officer, institution):
    """The trail keeps the system's reason as its message and values: a Chinese reader reads it in
    Chinese, an English one in English, whoever's language was active when it was written."""
    from django.utils import translation

    sole, _lic = _sole_draft_on_a_licensed_patent(institution)
    with translation.override("en"):
        services.publish_offer(offer_id=sole.pk, by=officer, opens_when_free=True)
    event = AuditEvent.objects.get(object_id=sole.pk, state="published")
    assert event.reason == "" and event.reason_code.startswith("Published while licensed")
    with translation.override("zh-hans"):
        assert event.why.startswith("在许可有效期间发布")
    with translation.override("en"):
        assert event.why.startswith("Published while licensed: it opens when these end:")


def test_amounts_are_typed_as_people_write_them_with_a_numeric_keypad(client, officer):
    """Number boxes are text boxes (inputmode gives a phone its keypad): <input type=number> would
    refuse "20,000" in the browser before the one parser could read it or say what is wrong."""
    page = client.get(reverse("admin:licensing_offer_add") + "?shape=royalty", headers=EN).content.decode()

    assert 'type="number"' not in page
    assert re.search(r'<input type="text" name="royalty_minimum"[^>]*inputmode="decimal"', page)
    assert re.search(r'<input type="text" name="milestones-__prefix__-due_months"[^>]*inputmode="numeric"', page)
    assert re.search(r'<input type="text" name="trial_months"[^>]*inputmode="numeric"', page)
