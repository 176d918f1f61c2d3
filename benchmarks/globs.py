"""Work per untrusted glob: the linear matcher (``core.glob``) against the backtracking regex it
replaced, on the issue-15 ReDoS pattern family ``"**/a" * k + "**/b"`` and a path of ``depth``
``a`` components that never matches.

Usage: ``.venv/bin/python benchmarks/globs.py [--json] [--regex-limit SECONDS]``

Figures per (k, depth): the matcher's steps (state transitions, ``Matcher.steps``) and seconds,
and the old regex's seconds (skipped once a smaller case took longer than ``--regex-limit``, as it
grows combinatorially: C(depth, k)).
"""

from __future__ import annotations

import argparse
import json
import re
import time

from catalog_ops.core.glob import Matcher, compile_glob


def old_regex(pattern: str) -> re.Pattern[str]:
    """The regex ``catalog/config.py`` built before issue 15."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        else:
            out.append("[^/]*" if pattern[i] == "*" else re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--regex-limit", type=float, default=1.0)
    args = parser.parse_args()
    rows = []
    regex_ok = True
    for k, depth in [(4, 12), (6, 18), (8, 24), (10, 30), (12, 36)]:
        pattern = "**/a" * k + "**/b"
        path = "/".join(["a"] * depth) + "/c.tf"
        matcher = Matcher()
        start = time.perf_counter()
        matched = matcher.match(compile_glob(pattern), path, below=True)
        new_s = time.perf_counter() - start
        old_s = None
        if regex_ok:
            rx = old_regex(pattern)
            start = time.perf_counter()
            rx.fullmatch(path) or rx.match(path)
            old_s = time.perf_counter() - start
            regex_ok = old_s < args.regex_limit
        rows.append(
            {
                "k": k,
                "depth": depth,
                "matched": matched,
                "steps": matcher.steps,
                "matcher_s": new_s,
                "regex_s": old_s,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'k':>3} {'depth':>5} {'steps':>7} {'matcher s':>10} {'regex s':>10}")
    for r in rows:
        regex = f"{r['regex_s']:.4f}" if r["regex_s"] is not None else "skipped"
        print(f"{r['k']:>3} {r['depth']:>5} {r['steps']:>7} {r['matcher_s']:>10.5f} {regex:>10}")


if __name__ == "__main__":
    main()
