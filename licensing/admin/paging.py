"""Paging the admin's lists of a national book (issue 25): a page costs what it shows, not what it
skips, and counting stops at a bound."""

from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Page, Paginator
from django.db.models import F, OrderBy
from django.utils.functional import cached_property

# The most rows a list counts: 200 pages of 50. Beyond it the list says "more than 10,000" and
# pages that far; the rest is reached by a filter, a search or the other sort order, as on any
# search engine. Counting a million rows, joined to the institution's scope, would cost seconds.
COUNT_BOUND = 10_000


class BoundedPaginator(Paginator):
    """Counts up to COUNT_BOUND (`capped` says when there are more), and reads a page in two steps:
    the keys of its rows, in the list's order, by a query that joins only what the filters and
    sort need (often an index-only scan); then those rows with everything the columns show. A
    deep page's OFFSET then skips index entries, not rows joined to five tables."""

    @cached_property
    def count(self) -> int:
        return self.object_list.order_by().values("pk")[: COUNT_BOUND + 1].count()  # any rows: no sort

    @property
    def capped(self) -> bool:
        return self.count > COUNT_BOUND

    bound_text = f"{COUNT_BOUND:,}"

    @cached_property
    def num_pages(self) -> int:
        pages = super().num_pages
        return min(pages, COUNT_BOUND // self.per_page) if self.capped else pages

    def page(self, number) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        keys = list(self.object_list.values_list("pk", flat=True)[bottom : bottom + self.per_page])
        rows = {row.pk: row for row in self.object_list.filter(pk__in=keys)}
        return self._get_page([rows[key] for key in keys if key in rows], number, self)


class IndexedChangeList(ChangeList):
    """Django's list, whose tiebreaker (the primary key, always descending) follows the direction of
    the column sorted by instead: `next_due_date, id` and `-next_due_date, -id` are both one
    index read forwards or backwards, where `next_due_date, -id` sorts every row of the book."""

    def _get_deterministic_ordering(self, ordering):
        ordering = super()._get_deterministic_ordering(ordering)
        if len(ordering) > 1 and ordering[-1] == "-pk" and not _descending(ordering[0]):
            ordering[-1] = "pk"
        return ordering


def _descending(part) -> bool:
    if isinstance(part, str):
        return part.startswith("-")
    if isinstance(part, OrderBy):
        return part.descending
    return not isinstance(part, F)  # an F() alone sorts ascending; anything else: leave it as Django does


class LongListAdmin:
    """The lists of tables that grow with the book: counted to a bound, paged by keys, sorted by an
    index (a mixin for ModelAdmin)."""

    paginator = BoundedPaginator
    show_full_result_count = False  # "(N total)" would count every row on every search

    def get_changelist(self, request, **kwargs):
        return IndexedChangeList
