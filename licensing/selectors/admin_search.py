"""The admin's search, bounded in the size of the book."""

from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from django.db.models import (
    Model,
    Q,
    QuerySet,
)
from django.utils.text import smart_split, unescape_string_literal

M = TypeVar("M", bound=Model)


def search(queryset: QuerySet[M], term: str, fields: Sequence[str]) -> QuerySet[M]:
    """The admin's search, bounded in the size of the book: every word of `term` must be contained
    (case-insensitively) in one of `fields`, as in Django's own search.

    The most selective word (the fewest matching rows in the tables its fields live in, counted up
    to SEARCH_BREADTH_CAP) finds the candidates: one `pk IN (SELECT … UNION SELECT …)`, a branch
    per field: the table's own fields, and for a field of a related row ("enterprise__name") the
    rows whose key is among the related rows that match, found in that row's own table. An IN at
    the top of WHERE is a semi-join, which PostgreSQL runs as a hash join whatever the number of
    matches, so no word, however common, makes the search quadratic (the OR of
    `key = ANY(ARRAY(…))` it replaces compared each of 736k payments with 100k keys one by one:
    3 minutes). The other words are then tested on those candidates only, through the to-one
    joins. When even the rarest word is common (it matches SEARCH_BREADTH_CAP rows or more), the
    search is about much of the book: every word is tested through the joins, one pass over the
    book that PostgreSQL hashes (a semi-join there would be planned for the few rows a pattern is
    estimated to match, and look each of 736k candidates up by key: 11 s instead of 1 s)."""
    words = list(dict.fromkeys(_search_words(term)))
    if not fields or not words:
        return queryset  # nothing to search in, or for: the term is ignored, as Django does
    model = queryset.model
    breadth = {word: _breadth(model, fields, word) for word in words}
    first = min(words, key=lambda word: breadth[word])
    if breadth[first] < SEARCH_BREADTH_CAP:
        candidates = _matching_keys(model, fields, first)
        words.remove(first)
        # Read first, up to a bound: a list of keys is planned for what it holds, where the
        # planner guessed 55,000 payments for a word that found 42 and scanned all 3 million.
        keys = list(candidates.values_list("pk", flat=True)[: SEARCH_KEYS_READ + 1])
        if len(keys) <= SEARCH_KEYS_READ:
            rows = model._default_manager.order_by()
            for word in words:  # each other word on those keys alone, by their to-one joins
                keys = list(
                    rows.filter(pk__in=keys).filter(_any_field_contains(fields, word)).values_list("pk", flat=True)
                )
            return queryset.filter(pk__in=keys)
        queryset = queryset.filter(pk__in=candidates)
    for word in words:
        queryset = queryset.filter(_any_field_contains(fields, word))
    return queryset


# Matches counted per field when choosing the most selective word: beyond this a word is "common".
SEARCH_BREADTH_CAP = 1000
# Candidate keys of the rarest word read into the query as a list, up to this many (else a subquery).
SEARCH_KEYS_READ = 2000


def _breadth(model: type[Model], fields: Sequence[str], word: str) -> int:
    """How many rows a word matches, field by field, each in the table the field lives in (small
    tables for related fields), each count stopped at SEARCH_BREADTH_CAP."""
    total = 0
    for field in fields:
        *path, name = field.split("__")
        table = model
        for step in path:
            table = _related_model(table, step)
        rows = table._default_manager.filter(**{f"{name}__icontains": word}).order_by().values("pk")
        total += rows[:SEARCH_BREADTH_CAP].count()
    return total


def _related_model(model: type[Model], name: str) -> type[Model]:
    related = model._meta.get_field(name).related_model
    assert isinstance(related, type), f"{model.__name__}.{name} is not a relation to a model"
    return related


def _any_field_contains(fields: Sequence[str], word: str) -> Q:
    match = Q()
    for field in fields:
        match |= Q(**{f"{field}__icontains": word})
    return match


def _search_words(term: str) -> Iterator[str]:
    """Words as the admin splits them: a quoted phrase is one word."""
    for bit in smart_split(term):
        if bit[0] in "\"'" and bit[-1] == bit[0] and len(bit) > 1:
            bit = unescape_string_literal(bit)
        if bit:
            yield bit


def _matching_keys(model: type[Model], fields: Sequence[str], word: str) -> QuerySet[Any, Any]:
    """The keys of `model`'s rows where one of `fields` contains `word`, as one subquery."""
    own, related = Q(), defaultdict[str, list[str]](list)
    for field in fields:
        head, _, rest = field.partition("__")
        if rest:
            related[head].append(rest)
        else:
            own |= Q(**{f"{field}__icontains": word})
    rows = model._default_manager.order_by()
    branches = [rows.filter(own).values("pk")] if own else []
    for head, tails in related.items():
        relation = model._meta.get_field(head)
        assert relation.many_to_one or relation.one_to_one, f"{model.__name__}.{head}: search goes through to-one only"
        keys = _matching_keys(_related_model(model, head), tails, word)
        branches.append(rows.filter(**{f"{head}__in": keys}).values("pk"))
    first, *others = branches
    return first.union(*others) if others else first
