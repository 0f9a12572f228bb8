"""Print the mutation score of the last `mutmut run` (used by `make mutation`).

Killed (including timeouts: the mutant made the tests hang) over every mutant generated;
mutants no test reaches count as survivors, so the score is not flattered.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> int:
    stats = json.loads(Path("mutants/mutmut-cicd-stats.json").read_text(encoding="utf-8"))
    killed = stats["killed"] + stats["timeout"]
    total = stats["total"]
    print(  # noqa: T201 - this script's output is its result
        f"mutation score: {killed} of {total} mutants killed ({killed / total:.1%}); "
        f"survived {stats['survived']}, no test {stats['no_tests']}, timeout {stats['timeout']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
