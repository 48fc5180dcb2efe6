"""Spreadsheets of the book built in the background, with their progress; restarted when their
worker died, deleted a week after they were built."""

import logging
import tempfile
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext as _

from .. import queue
from ..domain import clock
from ..models import (
    Export,
)
from . import exports, tables

log = logging.getLogger(__name__)


EXPORT_STALE_AFTER = timedelta(minutes=10)
# A spreadsheet is a snapshot of the book: kept this long after it is built, then deleted.
EXPORT_KEPT_FOR = timedelta(days=7)


@transaction.atomic
def request_export(*, kind: str, book, by, language: str) -> Export:
    """Queue a spreadsheet of the book, scoped as the dashboard that asked for it; a worker builds
    it (build_export) and the requester follows its progress."""
    if kind not in Export.Kind.values:
        raise ValidationError({"kind": _("Unknown export.")})
    export = Export.objects.create(
        kind=kind,
        requested_by=by,
        institution=book.institution,
        ipc_section=book.ipc_section,
        date_from=book.date_from,
        date_to=book.date_to,
        language=language,
    )

    transaction.on_commit(lambda: queue.enqueue("licensing.build_export", export.pk))
    return export


def _claim_export(export_id: int) -> Export | None:
    """Mark the export running, unless it is finished or another worker is still building it."""
    with transaction.atomic():
        export = Export.objects.select_for_update(skip_locked=True).filter(pk=export_id).first()
        if export is None or export.state in (Export.State.DONE, Export.State.FAILED):
            return None
        now = clock.wall_clock()
        if export.state == Export.State.RUNNING and export.heartbeat_at > now - EXPORT_STALE_AFTER:
            return None
        with translation.override(export.language):
            total = exports.export_row_count(export.kind, exports.book_of(export))
        export.start(total, now)
        export.save()
        return export


def build_export(*, export_id: int) -> str:
    """Write the export's XLSX, reporting progress as it goes. Safe to run twice: a finished
    export, or one another worker is building, is left alone. Returns the outcome."""
    export = _claim_export(export_id)
    if export is None:
        return "skipped"

    def progress(rows: int) -> None:  # autocommit: the requester's page sees it at once
        Export.objects.filter(pk=export.pk).update(rows_done=rows, heartbeat_at=clock.wall_clock())

    try:
        with translation.override(export.language), tempfile.NamedTemporaryFile(suffix=".xlsx") as tmp:
            tables.write_xlsx([exports.export_table(export.kind, exports.book_of(export))], tmp.name, progress)
            with transaction.atomic():
                export = Export.objects.select_for_update().get(pk=export.pk)
                export.file.save(f"{export.kind}.xlsx", File(tmp), save=False)
                export.finish(clock.wall_clock())
                export.save()
    except Exception as exc:
        log.exception("Export %s failed", export_id)
        with transaction.atomic():
            export = Export.objects.select_for_update().get(pk=export_id)
            if export.file:
                export.file.delete(save=False)
            export.fail(f"{type(exc).__name__}: {exc}", clock.wall_clock())
            export.save()
        return "failed"
    return "done"


def stale_export_ids() -> list[int]:
    """Exports no worker is building: queued while the broker was down, or whose worker died."""
    cutoff = clock.wall_clock() - EXPORT_STALE_AFTER
    return list(
        Export.objects.filter(
            Q(state=Export.State.QUEUED, created_at__lt=cutoff) | Q(state=Export.State.RUNNING, heartbeat_at__lt=cutoff)
        ).values_list("pk", flat=True)
    )


def purge_exports() -> int:
    """Delete exports (rows and files) finished more than EXPORT_KEPT_FOR ago. Returns how many."""
    old = list(Export.objects.filter(finished_at__lt=clock.wall_clock() - EXPORT_KEPT_FOR))
    for export in old:
        if export.file:
            export.file.delete(save=False)
        export.delete()
    return len(old)
