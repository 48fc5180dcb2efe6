"""The admin's search on the tables that grow with the book (licenses, payments, ...): it finds
exactly what Django's own search finds, matching related rows by key, and never reaches past the
staff member's institution."""

import pytest
from django.contrib import admin
from django.db import connection
from django.test import RequestFactory
from django.urls import reverse

from licensing import selectors
from licensing.models import License, Payment
from licensing.selectors import admin_search

from .factories import EnterpriseFactory, OfferFactory


@pytest.fixture
def book(offer, make_license):
    """Four licenses whose enterprises and patents share some words and not others."""
    licenses = [make_license(offer, "trial", enterprise=EnterpriseFactory(name="Huake New Materials Co."))]
    for enterprise, title in [
        ("Huake Robotics Co.", "Gripper for soft fruit"),
        ("Nanling Optics Ltd", "Lens coating for night vision"),
        ("Nanling Robotics Ltd", "Method for catalytic cracking"),
    ]:
        other = OfferFactory(patent__owner=offer.patent.owner, patent__title=title)
        licenses.append(make_license(other, "applied", enterprise=EnterpriseFactory(name=enterprise)))
    return licenses


def terms(licenses):
    first = licenses[0]
    return [
        "Huake",  # two enterprises
        "huake robotics",  # words on one enterprise, in another case
        "Nanling coating",  # one word on the enterprise, one on the patent title
        '"Robotics Co."',  # a quoted phrase is one word
        "for",  # patent titles of three licenses
        first.offer.patent.number,
        first.enterprise.uscc.lower(),
        first.offer.patent.number[:6] + " Huake",
        "Huake Lens",  # words that never meet on one license
        "no-such-thing",
        "",
    ]


def test_finds_exactly_what_djangos_search_finds(book, superuser):
    model_admin = admin.site._registry[License]
    request = RequestFactory().get("/")
    request.user = superuser
    fields = model_admin.get_search_fields(request)

    for term in terms(book):
        by_key = selectors.search(License.objects.all(), term, fields)
        djangos, _ = admin.ModelAdmin.get_search_results(model_admin, request, License.objects.all(), term)
        assert sorted(by_key.values_list("pk", flat=True)) == sorted(djangos.values_list("pk", flat=True)), term


@pytest.mark.parametrize(
    ("term", "expected"),
    [("Nanling", ["Nanling Optics Ltd", "Nanling Robotics Ltd"]), ("Nanling cracking", ["Nanling Robotics Ltd"])],
)
def test_license_list_search(admin_client, book, term, expected):
    response = admin_client.get(reverse("admin:licensing_license_changelist"), {"q": term})

    assert sorted(lic.enterprise.name for lic in response.context["cl"].result_list) == expected


@pytest.mark.parametrize("term", ["REF-B", "SME of B", "{number_of_b}"])
def test_payment_search_by_reference_enterprise_or_patent_stays_in_the_institution(client, two_institutions, term):
    b_payment = two_institutions["B"]["payment"]
    term = term.format(number_of_b=two_institutions["B"]["patent"].number)
    url = reverse("admin:licensing_payment_changelist")

    client.force_login(two_institutions["B"]["user"])
    assert list(client.get(url, {"q": term}).context["cl"].result_list) == [b_payment]
    client.force_login(two_institutions["A"]["user"])
    assert list(client.get(url, {"q": term}).context["cl"].result_list) == []


def test_search_goes_through_to_one_relations_only(db):
    with pytest.raises(AssertionError, match="to-one only"):
        selectors.search(License.objects.all(), "x", ["payments__reference"])


def test_payment_search_reads_indexes_on_postgresql(postgres_only, two_institutions):
    """For a word that matches a few rows, both branches of "reference or license matches" are
    index reads: the reference's trigram index, and payments by license key."""
    fields = ["reference", "license__enterprise__name"]
    candidates = admin_search._matching_keys(Payment, fields, "REF-B")  # what the search reads first
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # the test book is small enough to scan
        plan = candidates.explain()

    assert "Bitmap Index Scan on payment_reference_trgm" in plan
    assert "Index Cond: (license_id = " in plan
    assert list(selectors.search(Payment.objects.all(), "REF-B", fields)) == [two_institutions["B"]["payment"]]


def test_postgresql_connections_do_not_jit_compile(postgres_only, db):
    # With JIT, PostgreSQL compiled the license search over 100k licenses for a second.
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"


def test_a_word_in_every_name_is_a_hash_semi_join_not_a_scan_per_row(postgres_only, two_institutions, monkeypatch):
    """The review's runaway search: a word matching every enterprise made PostgreSQL compare each
    payment with every matching key (`= ANY(ARRAY(…))`), minutes on a big book. A word with more
    candidates than a list holds is now one `IN (… UNION …)` at the top of WHERE: a semi-join,
    which the planner hashes however many keys match; no array, no per-row subplan."""
    monkeypatch.setattr(admin_search, "SEARCH_KEYS_READ", 0)  # more candidates than a list holds
    searched = selectors.search(
        Payment.objects.all(), "SME of", ["reference", "license__enterprise__name", "license__offer__patent__number"]
    )
    sql = str(searched.query)
    assert "ANY(" not in sql and " UNION " in sql
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_nestloop = off")  # what the planner picks for many matches
        plan = searched.explain()
    assert "SubPlan" not in plan and "Hash" in plan and "Semi Join" in plan
    assert set(searched) == {two_institutions["A"]["payment"], two_institutions["B"]["payment"]}


def test_the_most_selective_word_finds_the_candidates(two_institutions):
    """ "SME of B": "SME" and "of" are in both enterprises' names, "B" in one: the candidates come
    from the rarest word, read as a list of keys (planned for what it holds), and the common
    words are tested on those keys alone, one query each."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    fields = ["license__enterprise__name"]
    assert admin_search._breadth(Payment, fields, "B") < admin_search._breadth(Payment, fields, "SME")
    with CaptureQueriesContext(connection) as queries:
        searched = selectors.search(Payment.objects.all(), "SME of B", fields)
    *_breadths, candidates, sme, of = [q["sql"] for q in queries.captured_queries]
    assert "%B%" in candidates and "%SME%" not in candidates
    assert "%SME%" in sme and "%of%" in of and "IN (SELECT" not in sme + of
    assert list(searched) == [two_institutions["B"]["payment"]]
    assert "%" not in str(searched.query)  # the page's query reads the keys found


def test_more_candidates_than_a_list_holds_stay_a_subquery(two_institutions, monkeypatch):
    """Past SEARCH_KEYS_READ candidates the rare word's keys stay a semi-join in the page's query,
    and the other words are tested on its rows through the joins."""
    monkeypatch.setattr(admin_search, "SEARCH_KEYS_READ", 0)
    fields = ["license__enterprise__name"]
    searched = selectors.search(Payment.objects.all(), "SME of B", fields)
    sql = str(searched.query)
    candidates, tested = sql.split(" AND ", 1)
    assert "%B%" in candidates and "%SME%" not in candidates  # the semi-join is the rare word's
    assert "%SME%" in tested and "%of%" in tested and "IN (SELECT" not in tested
    assert list(searched) == [two_institutions["B"]["payment"]]


def test_when_every_word_is_common_the_words_are_tested_through_joins(two_institutions, monkeypatch):
    monkeypatch.setattr(admin_search, "SEARCH_BREADTH_CAP", 2)  # "SME" and "of" are in both names: common
    searched = selectors.search(Payment.objects.all(), "SME of", ["reference", "license__enterprise__name"])
    assert "IN (SELECT" not in str(searched.query) and "JOIN" in str(searched.query)
    assert set(searched) == {two_institutions["A"]["payment"], two_institutions["B"]["payment"]}
