"""Reporting: the dashboard's figures and charts, typed tables and their CSV/XLSX writers, the data
exports' columns and rows, and export jobs built in the background. It reads through the
selectors and never changes the book (it never imports the services)."""
