from django.core.management.base import BaseCommand

from licensing.models import License, transition_label


def license_state_table() -> str:
    """The License lifecycle as a Markdown table, read from the @transition declarations."""
    labels = dict(License.State.choices)
    rows = []
    for t in License._meta.get_field("state").get_all_transitions(License):
        conditions = ", ".join(f"`{c.__name__}`" for c in t.conditions) or "-"
        rows.append((str(labels[t.source]), str(labels[t.target]), t.name, str(transition_label(t.method)), conditions))
    order = {state: i for i, state in enumerate(labels.values())}
    rows.sort(key=lambda r: (order[r[0]], order[r[1]]))
    lines = ["| from | to | transition | button | only if |", "|---|---|---|---|---|"]
    lines += [f"| {a} | {b} | `{name}` | {label} | {cond} |" for a, b, name, label, cond in rows]
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Print the license lifecycle as a Markdown table (the README embeds it)."

    def handle(self, *args, **options):
        from django.utils import translation

        with translation.override("en"):
            self.stdout.write(license_state_table())
