"""Rollout plan time against the number of catalog tags (local forge, synthetic catalogs).

Usage: ``.venv/bin/python benchmarks/tags.py [--tags 30,240,1000] [--json] [--plans DIR]``

World, per tag count N: the catalog ``acme/modules`` has a root module and ``modules/m00`` ..
``modules/m09`` (``m01`` uses ``m00`` through a local path, ``examples/complete`` uses the root)
and N commits, each changing one module (every 7th an example, every 11th the README) and
tagged ``v<1 + i // 100>.<i // 10 % 10>.<i % 10>`` (every 3rd tag annotated). The history is
written with one ``git fast-import``. One dependent ``acme/app`` pins ``modules/m00`` at
``v1.0.0``, so the plan moves it across every tag.

Printed per N: the wall time of ``rollout.gather.build_plan`` (what ``catalog-ops rollout
plan`` does: clone the catalog, compute what every tag changed, plan the dependent), the git
processes it started (``gitutil.run_git`` calls: what used to grow with N) and the releases in
the plan. A benchmark, not a test: figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from catalog_ops import gitutil
from catalog_ops.fanout.dependents import DependentSelection
from catalog_ops.forge.local import LocalForge
from catalog_ops.rollout.gather import build_plan

CATALOG = "acme/modules"
MODULES = [f"modules/m{i:02d}" for i in range(10)]


def _version(i: int) -> str:
    return f"v{1 + i // 100}.{i // 10 % 10}.{i % 10}"


def catalog_stream(n: int) -> bytes:
    """A ``git fast-import`` stream: ``n`` tagged commits on ``main`` (module docstring)."""
    out: list[bytes] = []

    def data(text: str) -> bytes:
        raw = text.encode()
        return f"data {len(raw)}\n".encode() + raw

    def blob(path: str, text: str) -> bytes:
        return f"M 100644 inline {path}\n".encode() + data(text)

    for i in range(n):
        out.append(f"commit refs/heads/main\nmark :{i + 1}\n".encode())
        out.append(f"committer Bench <bench@example.com> {1_700_000_000 + i * 60} +0000\n".encode())
        if i == 0:
            out.append(data("feat: initial catalog\n"))
            out.append(blob("main.tf", 'variable "name" {\n  type = string\n}\n'))
            out.append(blob("README.md", "# modules\n"))
            out.append(blob("examples/complete/main.tf", 'module "root" {\n  source = "../../"\n}\n'))
            for m in MODULES:
                body = 'module "base" {\n  source = "../m00"\n}\n' if m == "modules/m01" else f"# {m}\n"
                out.append(blob(f"{m}/main.tf", body))
        elif i % 11 == 0:
            out.append(data(f"docs: readme {i}\n"))
            out.append(blob("README.md", f"# modules {i}\n"))
        elif i % 7 == 0:
            out.append(data(f"test: example {i}\n"))
            out.append(blob("examples/complete/extra.tf", f"# {i}\n"))
        else:
            m = MODULES[i % len(MODULES)]
            out.append(data(f"fix({m.rsplit('/', 1)[1]}): change {i}\n"))
            out.append(blob(f"{m}/variables.tf", f'variable "v{i}" {{\n  default = {i}\n}}\n'))
        tag = _version(i)
        if i % 3 == 0:
            out.append(f"tag {tag}\nfrom :{i + 1}\n".encode())
            out.append(f"tagger Bench <bench@example.com> {1_700_000_000 + i * 60} +0000\n".encode())
            out.append(data(f"{tag}\n"))
        else:
            out.append(f"reset refs/tags/{tag}\nfrom :{i + 1}\n\n".encode())
    return b"".join(out)


def measure(n: int, plans: Path | None = None) -> dict[str, Any]:
    """Build the world for ``n`` tags and time one plan (module docstring); with ``plans``, the
    plan JSON (without ``generated_at``) is written to ``plans/plan-<n>.json`` (to diff two
    versions of the code)."""
    with tempfile.TemporaryDirectory(prefix="catalog-ops-bench-tags-") as tmp:
        forge = LocalForge(Path(tmp) / "forge")
        forge.create_repo(CATALOG)
        git_dir = Path(tmp) / "forge" / CATALOG
        gitutil.run_git(["fast-import", "--quiet"], git_dir=git_dir, input=catalog_stream(n))
        source = f"git::https://github.com/{CATALOG}.git//modules/m00?ref=v1.0.0"
        forge.create_repo("acme/app", files={"main.tf": f'module "m00" {{\n  source = "{source}"\n}}\n'})
        calls = 0
        real = gitutil.run_git

        def counting(*args: Any, **kwargs: Any) -> Any:
            nonlocal calls
            calls += 1
            return real(*args, **kwargs)

        gitutil.run_git = counting  # type: ignore[assignment]
        try:
            start = time.perf_counter()
            plan = build_plan(forge, catalog=CATALOG, selection=DependentSelection(org="acme"))
            seconds = time.perf_counter() - start
        finally:
            gitutil.run_git = real  # type: ignore[assignment]
        (dep,) = [d for d in plan.dependents if d.repo == "acme/app"]
        if plans is not None:
            data = plan.to_json()
            data.pop("generated_at", None)
            text = json.dumps(data, indent=1, sort_keys=True).replace(tmp, "<tmp>")
            (plans / f"plan-{n}.json").write_text(text + "\n", encoding="utf-8")
        return {
            "tags": n,
            "seconds": round(seconds, 2),
            "git_processes": calls,
            "releases": len(plan.releases),
            "action": dep.action.value,
            "release": plan.release.tag,
        }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; prints a table (or JSON with ``--json``)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--tags", default="30,240,1000", help="comma-separated tag counts (default 30,240,1000)")
    ap.add_argument("--json", action="store_true", help="print JSON")
    ap.add_argument("--plans", type=Path, help="write each plan's JSON to this directory (plan-<N>.json)")
    args = ap.parse_args(argv)
    rows = []
    for n in (int(x) for x in args.tags.split(",") if x.strip()):
        rows.append(measure(n, args.plans))
        if not args.json:
            r = rows[-1]
            print(
                f"{r['tags']:>6} tags  {r['seconds']:>7.2f} s  {r['git_processes']:>4} git processes  "
                f"{r['releases']} releases  ({r['action']} to {r['release']})",
                flush=True,
            )
    if args.json:
        print(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
