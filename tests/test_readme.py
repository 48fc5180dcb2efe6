"""The README's state table is generated from the code; this keeps it from going stale."""

from pathlib import Path

from django.conf import settings

from licensing.management.commands.state_table import license_state_table


def test_readme_shows_the_current_license_state_table():
    readme = (Path(settings.BASE_DIR) / "README.md").read_text(encoding="utf-8")
    assert license_state_table() in readme, "run `python manage.py state_table` and paste it into the README"
