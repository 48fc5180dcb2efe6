"""The catalogue: open offers on patents in force, searchable by title, number, IPC, institution
and keyword, filterable, paginated, with availability now."""

import pytest

from licensing.models import Offer

from .factories import EnterpriseFactory, InstitutionFactory, OfferFactory


def titles(response):
    return [offer.patent.title for offer in response.context["page"]]


@pytest.fixture
def book(institution):
    other = InstitutionFactory(name="Zhejiang Institute of Optics")
    return {
        "solar": OfferFactory(
            patent__owner=institution,
            patent__title="Perovskite solar cell",
            patent__ipc_class="H01L 31/04",
            patent__keywords="photovoltaic, thin film",
        ),
        "pump": OfferFactory(
            patent__owner=other,
            patent__title="Peristaltic pump",
            patent__ipc_class="F04B 43/12",
            name="Fluid handling package",
        ),
        "draft": OfferFactory(patent__owner=institution, patent__title="Draft offer", state=Offer.State.DRAFT),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"q": "perovskite"}, ["Perovskite solar cell"]),
        ({"q": "photovoltaic"}, ["Perovskite solar cell"]),
        ({"q": "F04B"}, ["Peristaltic pump"]),
        ({"q": "optics"}, ["Peristaltic pump"]),
        ({"q": "fluid handling"}, ["Peristaltic pump"]),  # the offer's title (a package's name)
        ({"ipc": "H"}, ["Perovskite solar cell"]),
        ({}, ["Peristaltic pump", "Perovskite solar cell"]),
    ],
)
def test_search_and_filters(client, book, query, expected):
    assert sorted(titles(client.get("/", query))) == expected


def test_search_by_number_and_institution_filter(client, book):
    number = book["pump"].patent.number
    assert titles(client.get("/", {"q": number})) == ["Peristaltic pump"]
    assert titles(client.get("/", {"institution": book["solar"].patent.owner_id})) == ["Perovskite solar cell"]


def test_exclusively_licensed_patent_shows_as_unavailable(client, institution, make_license):
    offer = OfferFactory(patent__owner=institution, license_type="exclusive", patent__title="Taken")
    make_license(offer, "trial", enterprise=EnterpriseFactory())

    assert client.get("/", {"available": "1"}).context["page"].paginator.count == 0
    page = client.get(f"/patents/{offer.pk}/", headers={"accept-language": "en"}).content.decode()
    assert "Licensed exclusively to another enterprise" in page and "/apply/" not in page


def test_paginated_by_twenty(client, institution):
    OfferFactory.create_batch(25, patent__owner=institution)
    assert len(client.get("/").context["page"]) == 20
    assert len(client.get("/", {"page": 2}).context["page"]) == 5


def test_offer_terms_in_plain_words(client, institution):
    offer = OfferFactory(
        patent__owner=institution, trial_fee="5000.00", license_type="exclusive", insurance_required=True
    )
    page = client.get(f"/patents/{offer.pk}/", headers={"accept-language": "en"}).content.decode()
    assert "for a trial fee of CNY 5,000.00" in page
    assert "in 3 equal installments, one every 6 months" in page
    assert "Exclusive: while your license is live" in page
    assert "insurance or a financing guarantee is required" in page


def _badges(client, offer):
    """The badge on the offer's card in the catalogue, and on its own page."""
    card = client.get("/").content.decode()
    page = client.get(f"/patents/{offer.pk}/").content.decode()
    return card, page


@pytest.mark.parametrize(
    ("held_as", "offered_as", "holder_reads", "others_read"),
    [
        ("exclusive", "ordinary", "already has a live license", "Licensed exclusively to another enterprise"),
        ("sole", "ordinary", "already has a live license", "Licensed under a sole license to another enterprise"),
        ("ordinary", "exclusive", "already has a live license", "an exclusive or sole license is possible only when"),
    ],
)
def test_each_reader_is_told_the_true_reason_an_offer_is_closed(
    client, make_member, institution, held_as, offered_as, holder_reads, others_read
):
    """Issue 21, point 2: one badge ('licensed exclusively') stood for every reason, also before
    the SME that holds the license and for a patent held under an ordinary one."""
    from licensing import services

    from .factories import PatentFactory

    patent = PatentFactory(owner=institution)
    holder = make_member()
    services.apply_for_trial(
        offer_id=OfferFactory(patent=patent, license_type=held_as).pk, enterprise=holder.enterprise
    )
    offer = OfferFactory(patent=patent, license_type=offered_as, patent__title="x")

    for who, reads in ((holder, holder_reads), (make_member(), others_read), (None, others_read)):
        client.logout()
        if who is not None:
            client.force_login(who.user)
        client.cookies["django_language"] = "en"
        card, page = _badges(client, offer)
        assert reads in card and reads in page, who
        assert "Apply for a trial" not in page


def test_an_exclusive_offer_beside_an_open_licence_says_so(client, institution, staff):
    from licensing import services

    standing = OfferFactory(patent__owner=institution, open_licence=True, price=0, installment_count=0, state="draft")
    services.publish_offer(offer_id=standing.pk, by=staff)
    exclusive = OfferFactory(patent=standing.patent, license_type="exclusive")
    client.cookies["django_language"] = "en"
    card, page = _badges(client, exclusive)
    assert "An open licence stands on this patent" in card and "An open licence stands on this patent" in page
