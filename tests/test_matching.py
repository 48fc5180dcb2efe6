"""Matching (issue 26): an SME's needs and push consent, the engine's ranking and its reasons in
both directions, the index kept in step with the catalogue, and who may see what."""

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.urls import reverse

from licensing import selectors, services
from licensing.domain import industries, relevance
from licensing.models import AuditEvent, EnterpriseNeeds, NeedsTerm, Offer, OfferTerm, PushConsent
from licensing.roles import TTO_STAFF_GROUP
from licensing.services.records import save_record
from tests.factories import EnterpriseFactory, OfferFactory, PatentFactory, StaffProfileFactory

pytestmark = pytest.mark.django_db

BATTERY = {
    "title": "一种锂离子电池热管理装置",
    "ipc_class": "H01M 10/613",
    "keywords": "锂电池, 热管理, 储能",
    "abstract": "本发明公开了一种锂离子电池包的液冷热管理结构，降低储能电站电芯温差。",
}
NOODLES = {
    "title": "一种速冻面条的制备方法",
    "ipc_class": "A23L 7/109",
    "keywords": "面条, 速冻",
    "abstract": "通过预糊化和速冻工艺，使面条复煮后保持口感。",
}
SEARCH = {
    "title": "一种基于知识图谱的专利检索方法",
    "ipc_class": "G06F 16/33",
    "keywords": "知识图谱, 检索",
    "abstract": "构建专利知识图谱，以语义相似度排序检索结果。",
}


@pytest.fixture
def publish(staff, institution):
    """publish(fields, **offer): a patent of the staff's institution, offered and published by
    the services (which index it), as a TTO would."""

    def make(fields, **offer_fields):
        patent = PatentFactory(owner=institution, **fields)
        offer = OfferFactory(patent=patent, state=Offer.State.DRAFT, **offer_fields)
        return services.publish_offer(offer_id=offer.pk, by=staff)

    return make


@pytest.fixture
def catalogue(publish):
    return {name: publish(fields) for name, fields in (("battery", BATTERY), ("noodles", NOODLES), ("search", SEARCH))}


def needs_of(member, **changes):
    return services.update_needs(enterprise_id=member.enterprise_id, by=member.user, changes=changes)


# -- the engine -------------------------------------------------------------------------------------


def test_an_sme_gets_the_patent_that_fits_its_words_first_and_is_told_why(catalogue, make_member):
    member = make_member()
    needs_of(member, products="储能电池包", problems="电芯温差大，需要更好的热管理", keywords="锂电池")
    matches = selectors.recommended_offers(member.enterprise)
    assert [m.item for m in matches] == [catalogue["battery"]]  # the others share no word and no industry
    assert {"储能", "锂电池"} <= set(matches[0].terms)
    assert matches[0].links == []  # no industry given


def test_the_industry_alone_links_a_patent_through_its_ipc_class(catalogue, make_member):
    member = make_member()
    needs_of(member, divisions=["13"])  # 农副食品加工业: no words at all
    matches = selectors.recommended_offers(member.enterprise)
    assert [m.item for m in matches] == [catalogue["noodles"]]
    assert matches[0].terms == []
    assert matches[0].links == ["A23 → 13 Processing of food from agricultural products"]


def test_words_and_industry_together_outrank_either_alone(publish, make_member):
    words_only = publish({**SEARCH, "ipc_class": "A01B 1/00"})  # the words, another industry
    both = publish(SEARCH)
    member = make_member()
    needs_of(member, problems="专利检索 知识图谱", divisions=["65"])
    assert [m.item for m in selectors.recommended_offers(member.enterprise)] == [both, words_only]


def test_rare_words_count_more_than_common_ones(publish, make_member):
    """BM25's idf: a word in every offer says little; a word in one says much."""
    for n in range(6):
        publish({"title": f"一种电池外壳 {n}", "ipc_class": "B65D 1/00"})
    rare = publish({"title": "一种固态电解质", "ipc_class": "B65D 1/00"})
    member = make_member()
    needs_of(member, problems="电池 固态电解质")
    assert selectors.recommended_offers(member.enterprise)[0].item == rare


def test_offers_closed_to_the_sme_or_already_applied_for_are_left_out(
    catalogue, make_member, make_license, staff, enterprise
):
    member = make_member(enterprise)
    needs_of(member, problems="锂电池 热管理 面条 速冻")
    assert {m.item for m in selectors.recommended_offers(enterprise)} == {catalogue["battery"], catalogue["noodles"]}
    make_license(catalogue["battery"])  # it applied for this one
    assert [m.item for m in selectors.recommended_offers(enterprise)] == [catalogue["noodles"]]


def test_an_open_licence_ranks_higher_for_a_small_firm_and_says_so(publish, make_member):
    from tests.factories import enterprise_of_size

    closed = publish({**BATTERY, "title": "一种锂离子电池热管理装置A"})
    opened = publish({**BATTERY, "title": "一种锂离子电池热管理装置B"}, open_licence=True, price=0, installment_count=0)
    small = make_member(enterprise_of_size("micro"))
    needs_of(small, problems="锂离子电池 热管理")
    first = selectors.recommended_offers(small.enterprise)[0]
    assert first.item == opened and first.fit == ["open_licence"]
    large = make_member(enterprise_of_size("large"))
    needs_of(large, problems="锂离子电池 热管理")
    assert all(m.fit == [] for m in selectors.recommended_offers(large.enterprise))
    assert closed in [m.item for m in selectors.recommended_offers(large.enterprise)]


def test_the_index_follows_the_catalogue(catalogue, staff, make_member):
    member = make_member()
    needs_of(member, problems="锂电池 热管理")
    battery = catalogue["battery"]
    services.withdraw_offer(offer_id=battery.pk, by=staff, reason="Re-pricing")
    assert not OfferTerm.objects.filter(offer=battery).exists()
    assert selectors.recommended_offers(member.enterprise) == []
    # A patent's new words reach its published offers at once.
    noodles = catalogue["noodles"]
    patent = noodles.patent
    patent.title = "一种锂电池热管理用冷却面板"
    save_record(obj=patent, by=staff)
    assert [m.item for m in selectors.recommended_offers(member.enterprise)] == [noodles]


def test_a_new_version_replaces_the_old_in_the_index(catalogue, staff):
    battery = catalogue["battery"]
    draft = services.revise_offer(offer_id=battery.pk, by=staff)
    assert not OfferTerm.objects.filter(offer=draft).exists()  # drafts are not offered
    services.publish_offer(offer_id=draft.pk, by=staff)
    assert not OfferTerm.objects.filter(offer=battery).exists()
    assert OfferTerm.objects.filter(offer=draft, term="热管理").exists()


def test_a_rebuild_ranks_as_the_one_by_one_index_does(catalogue, make_member):
    member = make_member()
    needs_of(member, problems="锂电池 检索 面条", divisions=["39"])
    before = [m.item.pk for m in selectors.recommended_offers(member.enterprise)]
    assert services.rebuild_matching() == {"offers": 3, "needs": 1}
    assert [m.item.pk for m in selectors.recommended_offers(member.enterprise)] == before
    assert len(before) == 3


def test_fitting_enterprises_only_those_who_asked_and_not_the_holders(catalogue, make_member, make_license, enterprise):
    battery = catalogue["battery"]
    asked, silent, holder = make_member(), make_member(), make_member(enterprise)
    for member in (asked, silent, holder):
        needs_of(member, problems="锂电池 热管理", divisions=["38"])
    for member in (asked, holder):
        services.set_push_consent(enterprise_id=member.enterprise_id, by=member.user, given=True)
    make_license(battery)  # `enterprise` (the holder) applied
    matches = selectors.fitting_enterprises(battery)
    assert [m.item for m in matches] == [asked.enterprise]
    assert "锂电池" in matches[0].terms
    assert matches[0].links == ["H01 → 38 Manufacture of electrical machinery and equipment"]


def test_fitting_enterprises_are_ranked_by_fit(catalogue, make_member):
    close, loose = make_member(), make_member()
    needs_of(close, problems="锂离子电池 热管理 储能 电芯温差", divisions=["38"])
    needs_of(loose, problems="储能")
    for member in (close, loose):
        services.set_push_consent(enterprise_id=member.enterprise_id, by=member.user, given=True)
    assert [m.item for m in selectors.fitting_enterprises(catalogue["battery"])] == [close.enterprise, loose.enterprise]
    assert selectors.fitting_enterprises(catalogue["search"]) == []


def test_the_concordance_names_only_divisions_of_the_standard():
    assert len(industries.DIVISIONS) == 97
    for ipc_class, divisions in industries.IPC_CLASS_DIVISIONS.items():
        assert industries.ipc_class_of(ipc_class + "1/00") == ipc_class
        assert divisions and set(divisions) <= industries.DIVISION_CODES, ipc_class
    assert industries.ipc_class_of("g06f 16/33") == "G06"
    assert industries.ipc_class_of("16/33") == ""
    assert "G06" in industries.classes_for_divisions(["65"])


def test_terms_fold_widths_and_drop_what_every_patent_says():
    assert relevance.terms("一种ＢＭＳ方法") == ["bms"]
    assert relevance.keyword_terms("锂电池，储能、BMS") == ["锂电", "电池", "锂电池", "储能", "bms"]


def test_bm25_saturates_and_weighs_length():
    short = relevance.bm25_weights({"a1": 1.0}, 10.0)["a1"]
    long = relevance.bm25_weights({"a1": 1.0, "b1": 19.0}, 10.0)["a1"]
    assert short > long  # the same word in a longer document counts less
    assert relevance.bm25_weights({"a1": 100.0}, 100.0)["a1"] < relevance.K1 + 1  # saturates
    assert relevance.idf(100, 1) > relevance.idf(100, 50) > 0


# -- needs and consent ----------------------------------------------------------------------------


def test_needs_are_kept_with_an_audit_event(make_member):
    member = make_member()
    needs_of(member, products="电池包", divisions=["38", "39"])
    needs = EnterpriseNeeds.objects.get(enterprise=member.enterprise)
    assert needs.divisions == "38,39"
    event = AuditEvent.objects.get(object_id=needs.pk, action=AuditEvent.Action.CREATED)
    assert event.by == member.user and event.enterprise_id == member.enterprise_id
    assert event.changes["products"] == ["", "电池包"]
    assert NeedsTerm.objects.filter(enterprise=member.enterprise, term="电池").exists()
    needs_of(member, products="电池包")  # nothing changed: no event
    assert AuditEvent.objects.filter(object_id=needs.pk).count() == 1


@pytest.mark.parametrize(
    "changes",
    [
        {"divisions": ["99"]},  # not a division of the standard
        {"divisions": [f"{n:02d}" for n in range(13, 23)]},  # more than eight
        {"keywords": "储能\u200b=1+1"},  # an invisible character in a single line
        {"products": "x" * 2001},
        {"size_class": "micro"},  # not a needs field
    ],
)
def test_bad_needs_are_refused_and_write_nothing(make_member, changes):
    member = make_member()
    with pytest.raises(ValidationError):
        needs_of(member, **changes)
    assert not NeedsTerm.objects.exists()
    assert not AuditEvent.objects.filter(enterprise=member.enterprise).exists()


def test_only_the_enterprises_own_members_describe_its_needs(make_member):
    member, other = make_member(), make_member()
    with pytest.raises(ValidationError):
        services.update_needs(enterprise_id=member.enterprise_id, by=other.user, changes={"products": "x"})
    with pytest.raises(ValidationError):
        services.set_push_consent(enterprise_id=member.enterprise_id, by=other.user, given=True)
    assert not EnterpriseNeeds.objects.filter(products="x").exists()


def test_push_consent_is_its_own_record(make_member):
    member = make_member()
    consent = services.set_push_consent(enterprise_id=member.enterprise_id, by=member.user, given=True)
    assert consent.given and consent.notice_version and consent.by == member.user
    assert services.set_push_consent(enterprise_id=member.enterprise_id, by=member.user, given=True) is None
    services.set_push_consent(
        enterprise_id=member.enterprise_id, by=None, given=False, channel=PushConsent.Channel.UNSUBSCRIBE_LINK
    )
    assert EnterpriseNeeds.objects.get(enterprise=member.enterprise).push_consented_at is None
    assert list(PushConsent.objects.filter(enterprise=member.enterprise).values_list("given", "channel")) == [
        (False, "unsubscribe"),
        (True, "portal"),
    ]
    with pytest.raises(ValidationError):  # opting in takes a member
        services.set_push_consent(enterprise_id=member.enterprise_id, by=None, given=True)


# -- pages ------------------------------------------------------------------------------------------


def test_the_portal_needs_page_saves_and_the_catalogue_opens_with_recommendations(catalogue, sme_client):
    assert selectors.recommended_offers(sme_client.member.enterprise) is None
    assert "Describe your needs" in sme_client.get(reverse("portal:catalogue")).text
    page = sme_client.get(reverse("portal:needs"))
    assert page.status_code == 200 and "What your enterprise needs" in page.text
    response = sme_client.post(
        reverse("portal:needs"), {"products": "储能柜", "problems": "电池热管理", "divisions": ["38"], "keywords": ""}
    )
    assert response.status_code == 302
    home = sme_client.get(reverse("portal:catalogue"))
    assert "Recommended for you" in home.text
    assert catalogue["battery"].title in home.text and "H01 → 38" in home.text
    bad = sme_client.post(reverse("portal:needs"), {"divisions": ["99"]})
    assert bad.status_code == 200 and "is not one of the available choices" in bad.text


def test_the_needs_page_in_chinese(catalogue, sme_client):
    sme_client.cookies["django_language"] = "zh-hans"
    page = sme_client.get(reverse("portal:needs"))
    assert "贵企业的需求" in page.text and "计算机、通信和其他电子设备制造业" in page.text
    sme_client.post(reverse("portal:needs"), {"problems": "电池热管理", "divisions": ["38"]})
    home = sme_client.get(reverse("portal:catalogue"))
    assert "为您推荐" in home.text and "H01 → 38 电气机械和器材制造业" in home.text


def test_push_consent_from_the_portal(sme_client):
    sme_client.post(reverse("portal:push_consent"), {"given": "1"})
    needs = EnterpriseNeeds.objects.get(enterprise=sme_client.member.enterprise)
    assert needs.push_consented_at is not None
    assert "Stop sending offers" in sme_client.get(reverse("portal:needs")).text
    sme_client.post(reverse("portal:push_consent"), {"given": "0"})
    needs.refresh_from_db()
    assert needs.push_consented_at is None


def test_a_member_sees_only_its_own_enterprises_needs(client, make_member):
    mine, theirs = make_member(), make_member()
    needs_of(theirs, products="保密的产品线")
    client.force_login(mine.user)
    assert "保密的产品线" not in client.get(reverse("portal:needs")).text


def test_staff_see_fitting_enterprises_on_their_own_offers_only(catalogue, make_member, client, staff):
    member = make_member()
    needs_of(member, problems="锂电池 热管理", divisions=["38"])
    services.set_push_consent(enterprise_id=member.enterprise_id, by=member.user, given=True)
    url = reverse("admin:licensing_offer_change", args=[catalogue["battery"].pk])
    group = Group.objects.get(name=TTO_STAFF_GROUP)
    staff.groups.add(group)
    client.force_login(staff)
    page = client.get(url)
    assert page.status_code == 200 and member.enterprise.name in page.text and "热管理" in page.text
    other = StaffProfileFactory().user  # another institution's staff
    other.groups.add(group)
    client.force_login(other)
    assert client.get(url).status_code in (302, 403, 404)


def test_the_needs_pages_need_an_approved_member(client, make_member):
    assert client.get(reverse("portal:needs")).status_code == 302  # to the login page
    assert client.post(reverse("portal:push_consent"), {"given": "1"}).status_code == 302
    pending = make_member(state="pending")
    client.force_login(pending.user)
    assert client.get(reverse("portal:needs")).status_code == 403
    assert client.post(reverse("portal:push_consent"), {"given": "1"}).status_code == 403
    assert client.get(reverse("portal:push_consent")).status_code in (403, 405)
    assert not PushConsent.objects.exists()


def test_hostile_text_is_escaped_in_recommendations_and_fitting_enterprises(publish, make_member, client, staff):
    offer = publish({**BATTERY, "title": "<script>alert(1)</script>锂电池热管理"})
    member = make_member(EnterpriseFactory(name="<img src=x onerror=alert(1)>"))
    needs_of(member, problems="<b>锂电池</b> 热管理", divisions=["38"])
    services.set_push_consent(enterprise_id=member.enterprise_id, by=member.user, given=True)
    client.force_login(member.user)
    home = client.get(reverse("portal:catalogue")).text
    assert "<script>alert(1)" not in home and "&lt;script&gt;alert(1)" in home
    staff.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))
    client.force_login(staff)
    page = client.get(reverse("admin:licensing_offer_change", args=[offer.pk])).text
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_staff_read_an_enterprises_needs_on_its_admin_page(make_member, superuser, client):
    member = make_member()
    needs_of(member, products="储能柜", divisions=["38"])
    client.force_login(superuser)
    page = client.get(reverse("admin:licensing_enterprise_change", args=[member.enterprise_id])).text
    assert "储能柜" in page and "38 电气机械和器材制造业" in page  # the superuser reads Chinese


# the catalogue's 7, plus: offers' count, the idf, the ranking, availability, the offers, needs, reasons
RECOMMENDED_CATALOGUE_QUERIES = 14


def test_recommendations_cost_the_same_queries_for_one_match_or_many(publish, make_member, client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    member = make_member()
    needs_of(member, problems="锂电池 热管理", divisions=["38"])
    client.force_login(member.user)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("portal:catalogue")).status_code == 200
        return len(queries)

    publish(BATTERY)
    one = count()
    for n in range(7):
        publish({**BATTERY, "title": f"一种锂离子电池热管理装置 {n}", "ipc_class": f"H01M {n}/00"})
    assert len(selectors.recommended_offers(member.enterprise)) == 5
    assert one == count() <= RECOMMENDED_CATALOGUE_QUERIES, (one, count())


def kept_frequencies(side):
    from licensing.models import MatchTermStat

    return dict(MatchTermStat.objects.filter(side=side, documents__gt=0).values_list("term", "documents"))


def counted_frequencies(model):
    from django.db.models import Count

    return dict(model.objects.values("term").annotate(n=Count("pk")).values_list("term", "n"))


def test_kept_document_frequencies_equal_the_counted_ones_through_every_change(catalogue, staff, make_member):
    member, other = make_member(), make_member()
    needs_of(member, problems="锂电池 热管理", divisions=["38"])
    needs_of(other, problems="面条 速冻")
    draft = services.revise_offer(offer_id=catalogue["battery"].pk, by=staff)
    services.publish_offer(offer_id=draft.pk, by=staff)  # the old version leaves the index
    services.withdraw_offer(offer_id=catalogue["noodles"].pk, by=staff, reason="Sold")
    patent = catalogue["search"].patent
    patent.title = "一种知识图谱构建装置"
    save_record(obj=patent, by=staff)
    needs_of(member, problems="知识图谱", divisions=[])
    needs_of(other, problems="", products="", keywords="", divisions=[])  # emptied: out of the index
    assert kept_frequencies("offers") == counted_frequencies(OfferTerm)
    assert kept_frequencies("needs") == counted_frequencies(NeedsTerm)
    assert not NeedsTerm.objects.filter(enterprise=other.enterprise).exists()
    services.rebuild_matching()
    assert kept_frequencies("offers") == counted_frequencies(OfferTerm)
    assert kept_frequencies("needs") == counted_frequencies(NeedsTerm)
