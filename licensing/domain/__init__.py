"""Pure rules with no database: money and its splits, calendar months and working days, Chinese
identifiers, SME size classes, the business date, text and date bounds. Everything above imports
these; they import nothing of the app."""
