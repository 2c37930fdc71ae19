"""How `aims validate` grows with the number of steps of one workflow.

    .venv/bin/python bench/validate_scale.py [steps ...]     # default: 1000 2500 10000

Each size runs in a fresh process (peak memory is the process's own) on a generated workflow:
a chain of record steps, each reading the previous step's field, with a decision every 50 steps
that can loop back (so the graph has loops). Prints seconds and peak RSS per size, and the
growth of each against the smallest size (linear growth: the ratio of step counts).
"""

from __future__ import annotations

import json
import subprocess
import sys

_CHILD = r"""
import json, resource, sys, time
from aims_workflows.spec import parse_spec
n = int(sys.argv[1])
lines = ["id: big", "version: 1", "title: Big", "subject: ai_system", "steps:"]
for i in range(n):
    lines += [f"  - id: s{i}", "    kind: record", "    artefact: note", "    fields:"]
    lines.append(f'      n: "{f"s{i - 1}.n + 1" if i else "1"}"')
    if i and i % 50 == 0:
        nxt = f"s{i + 1}" if i + 1 < n else "end"
        lines += [f"  - id: d{i}", "    kind: decision", "    cases:",
                  f'      - when: "s{i}.n > 1000000"', f"        goto: s{i - 49}",
                  f"    otherwise: {nxt}"]
text = "\n".join(lines) + "\n"
started = time.perf_counter()
parse_spec(text, "big.yaml")
seconds = time.perf_counter() - started
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"steps": n, "seconds": seconds, "rss_mb": rss}))
"""


def main(sizes: list[int]) -> None:
    rows = []
    for n in sizes:
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, str(n)], check=True, capture_output=True, text=True
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    first = rows[0]
    print(f"{'steps':>8} {'seconds':>9} {'peak MB':>9} {'x steps':>8} {'x time':>7} {'x MB':>6}")
    for r in rows:
        print(
            f"{r['steps']:>8,} {r['seconds']:>9.1f} {r['rss_mb']:>9.0f} "
            f"{r['steps'] / first['steps']:>8.1f} {r['seconds'] / first['seconds']:>7.1f} "
            f"{r['rss_mb'] / first['rss_mb']:>6.1f}"
        )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1000, 2500, 10000])
