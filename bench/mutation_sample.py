"""Not a benchmark: draws the seeded random sample of mutants that docs/testing.md reports.

A full mutmut run of every configured module (~9,400 mutants) does not fit 2 shared cores,
so the score is measured on a sample: per module, `--per` mutants (`--priority` for the
modules issue 18 names first) drawn with a fixed seed among the mutants a fast test
covers (mutmut runs nothing for the others: it reports them as "no tests"). Run after
`mutmut run` has generated `mutants/` and its stats (any run does; a name that matches
nothing stops it right after), from the repository root:

    python bench/mutation_sample.py --seed 18 --per 6 --priority 12 > /tmp/sample.txt
    nice -n 10 .venv/bin/mutmut run --max-children 1 $(cat /tmp/sample.txt)
"""

import argparse
import glob
import json
import random
from pathlib import Path

PRIORITY = {
    "lse_assets/defs/sensors/check_failures.py",
    "lse_assets/defs/sensors/retention_alarm.py",
    "lse_assets/defs/status.py",
    "lse_assets/cli/selection.py",
    "lse_assets/settings.py",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--per", type=int, default=6)
    parser.add_argument("--priority", type=int, default=12)
    args = parser.parse_args()
    tests = json.loads(Path("mutants/mutmut-stats.json").read_text())[
        "tests_by_mangled_function_name"
    ]
    rng = random.Random(args.seed)
    for meta in sorted(glob.glob("mutants/**/*.py.meta", recursive=True)):
        module = meta[len("mutants/") : -len(".meta")]
        names = sorted(json.loads(Path(meta).read_text()).get("exit_code_by_key", {}))
        covered = [n for n in names if tests.get(n.rsplit("__mutmut_", 1)[0])]
        size = args.priority if module in PRIORITY else args.per
        for name in rng.sample(covered, min(len(covered), size)):
            print(name)


if __name__ == "__main__":
    main()
