"""English pages write dates as the Chinese ones, the forms, the emails and the exports do
(2026-08-01, not "Aug. 1, 2026"): one way to read a date in a bilingual office. Amounts keep
Django's English grouping (1,200,000.00)."""

DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
