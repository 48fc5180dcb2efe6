"""After `mutmut run` (make mutate): the mutation score, per module and in all, and the survivors.

A mutant is killed when a test fails with it; it survives when every test it reaches passes; it
has no tests when no selected test reaches the code it changed. The score is killed / (killed +
survived + no tests): a mutant nothing reaches counts against it, as a survivor does.
"""

import subprocess
import sys
from collections import Counter, defaultdict

BIN = sys.argv[1] if len(sys.argv) > 1 else ".venv/bin"


def main() -> int:
    listing = subprocess.run([f"{BIN}/mutmut", "results", "--all", "true"], capture_output=True, text=True)
    outcomes: dict[str, Counter] = defaultdict(Counter)
    left = []
    for line in listing.stdout.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if not name:
            continue
        module = name.split(".x", 1)[0].split(".x_", 1)[0]
        outcomes[module][status] += 1
        if status not in ("killed", "not checked"):
            left.append((name, status))
    total = Counter()
    print(f"{'module':55} {'killed':>7} {'survived':>9} {'no tests':>9} {'score':>7} {'not run':>8}")
    for module in sorted(outcomes):
        counts = outcomes[module]
        total.update(counts)
        print(f"{module:55} {_row(counts)}")
    print(f"{'all':55} {_row(total)}")
    print("\nNot killed (survived, or reached by no test; 'not run': mutmut was stopped before them):")
    for name, status in left:
        print(f"  {status:9} {name}")
    return 0


def _row(counts: Counter) -> str:
    judged = counts["killed"] + counts["survived"] + counts["no tests"]
    score = f"{100 * counts['killed'] / judged:.1f}%" if judged else "—"
    return f"{counts['killed']:7} {counts['survived']:9} {counts['no tests']:9} {score:>7} {counts['not checked']:8}"


if __name__ == "__main__":
    sys.exit(main())
