"""The mutation score, per module and in all, and the mutants not killed.

    python bench/mutation_score.py [.venv/bin]          after `mutmut run` (make mutate)
    python bench/mutation_score.py --from FILE          from a kept listing (bench/mutation_runs/)
    ... --judged FILE                                   and each survivor's judgement

A judgement file has one line per mutant not killed, `name: equivalent: why` or
`name: killed since: tests/file.py::test` (a test written after the run and checked against that
mutant with MUTANT_UNDER_TEST=name in mutants/). Survivors without one are listed as unjudged.

A mutant is killed when a test fails with it; it times out when the tests cannot finish with it
(an endless loop: noticed, so counted with the killed); it survives when every test it reaches
passes; it has no tests when no selected test reaches the code it changed. The score is
(killed + timed out) / run: a mutant nothing reaches counts against it, as a survivor does.
"""

import subprocess
import sys
from collections import Counter, defaultdict

KILLED = ("killed", "timeout")


def main(argv: list[str]) -> int:
    judged = {}
    if "--judged" in argv:
        at = argv.index("--judged")
        with open(argv[at + 1], encoding="utf-8") as judgements:
            for line in judgements:
                if line.strip() and not line.startswith("#"):
                    name, _, verdict = line.strip().partition(": ")
                    judged[name] = verdict
        del argv[at : at + 2]
    if argv[:1] == ["--from"]:
        with open(argv[1], encoding="utf-8") as kept:
            listing = kept.read()
    else:
        mutmut = f"{argv[0] if argv else '.venv/bin'}/mutmut"
        listing = subprocess.run([mutmut, "results", "--all", "true"], capture_output=True, text=True).stdout
    outcomes: dict[str, Counter] = defaultdict(Counter)
    left = []
    for line in listing.splitlines():
        if line.startswith("#"):
            continue
        name, _, status = line.strip().rpartition(": ")
        if not name:
            continue
        module = name.split(".x", 1)[0].split(".x_", 1)[0]
        outcomes[module][status] += 1
        if status not in (*KILLED, "not checked"):
            left.append((name, status))
    total: Counter = Counter()
    print(f"{'module':40} {'killed':>7} {'timeout':>8} {'survived':>9} {'no tests':>9} {'score':>7} {'not run':>8}")
    for module in sorted(outcomes):
        counts = outcomes[module]
        total.update(counts)
        print(f"{module:40} {_row(counts)}")
    print(f"{'all':40} {_row(total)}")
    if judged:
        return _judgements(left, judged, total)
    print("\nNot killed (survived, or reached by no test):")
    for name, status in sorted(left):
        print(f"  {status:9} {name}")
    return 0


def _judgements(left: list[tuple[str, str]], judged: dict[str, str], total: Counter) -> int:
    verdicts = Counter(judged.get(name, "unjudged").split(":")[0] for name, _status in left)
    run = sum(total[s] for s in (*KILLED, "survived", "no tests"))
    noticed = total["killed"] + total["timeout"] + verdicts["killed since"]
    print(
        f"\nNot killed: {len(left)}: {verdicts['equivalent']} equivalent, {verdicts['killed since']} killed since "
        f"by tests written after the run, {verdicts['unjudged']} unjudged."
    )
    if run:
        print(
            f"Score counting those killed since: {100 * noticed / run:.1f}%; "
            f"of the mutants that are not equivalent: {100 * noticed / (run - verdicts['equivalent']):.1f}%."
        )
    for name, status in sorted(left):
        print(f"  {status:9} {name}: {judged.get(name, 'UNJUDGED')}")
    return 1 if verdicts["unjudged"] else 0


def _row(counts: Counter) -> str:
    noticed = counts["killed"] + counts["timeout"]
    run = noticed + counts["survived"] + counts["no tests"]
    score = f"{100 * noticed / run:.1f}%" if run else "—"
    return (
        f"{counts['killed']:7} {counts['timeout']:8} {counts['survived']:9} {counts['no tests']:9} "
        f"{score:>7} {counts['not checked']:8}"
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
