"""Amounts as Chinese bank statements and invoices write them: 1,200,000.00 (Django's zh_Hans
locale has no thousands separator), and dates as the forms, emails and exports write them
(2026-08-01, not 2026年8月1日: as short in a list column as in English). Everything else comes
from Django's own zh_Hans formats."""

DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
