"""Requests per forge operation for GitHubForge, measured against the GitHub emulator.

Usage: ``.venv/bin/python benchmarks/forge.py [--json] [--commit-api graphql|git-data]``

Operations (the ones a rollout repeats per dependent repository):

* ``open``:   commit a 2-file change on a new branch and open a PR with labels, a user and a team
  reviewer and an assignee;
* ``update``: commit a new 2-file change on the same branch (force-moved onto the base tip) and
  update the PR (``open_pull`` again: GitHub's 422 "already exists" is recovered);
* ``find``:   find the open PR for the branch.

Counts come from the emulator's request log (what reached the server) and are split into total,
content-creating (what GitHub's secondary limit of 80/minute and 500/hour counts), REST reads and
GraphQL calls.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from catalog_ops.forge import FileChange
from catalog_ops.forge.github import GitHubForge
from emulator import GitHubEmulator


def measure(emu: GitHubEmulator, fn: Callable[[], object]) -> dict[str, int]:
    """Run ``fn`` and count the requests the emulator logged meanwhile, by class."""
    mark = len(emu.request_log)
    fn()
    entries = emu.request_log[mark:]
    return {
        "requests": len(entries),
        "content_creating": sum(1 for e in entries if e.content_creating),
        "rest_reads": sum(1 for e in entries if e.kind == "rest" and e.method == "GET"),
        "graphql": sum(1 for e in entries if e.kind == "graphql"),
    }


def run(commit_api: str) -> dict[str, dict[str, int]]:
    """Counts per operation (see module docstring) for ``commit_api`` ``graphql``/``git-data``."""
    with tempfile.TemporaryDirectory() as tmp:
        emu = GitHubEmulator(Path(tmp)).start()
        try:
            emu.create_repo("acme/app", files={"main.tf": b"# v1\n", "modules/vpc/main.tf": b"# vpc v1\n"})
            forge = GitHubForge(
                api_url=emu.api_url, token=emu.token, write_interval=0.0, commit_api=commit_api
            )
            repo, head = "acme/app", "catalog-ops/bump-vpc"

            def push_pr(version: str) -> None:
                tip = forge.branch_sha(repo, "main")
                assert tip
                forge.commit_files(
                    repo,
                    head,
                    parent_sha=tip,
                    message=f"chore(deps): bump vpc to {version}",
                    changes=[
                        FileChange("main.tf", f"# {version}\n".encode()),
                        FileChange("modules/vpc/main.tf", f"# vpc {version}\n".encode()),
                    ],
                )
                forge.open_pull(
                    repo,
                    head=head,
                    base="main",
                    title=f"Bump vpc to {version}",
                    body="Release notes ...",
                    labels=["dependencies"],
                    reviewers=["alice"],
                    team_reviewers=["acme/platform"],
                    assignees=["bob"],
                )

            return {
                "open PR (2-file change, labels, reviewers, assignee)": measure(
                    emu, lambda: push_pr("v1.1.0")
                ),
                "update PR (new 2-file commit, same PR)": measure(emu, lambda: push_pr("v1.2.0")),
                "find existing PR": measure(emu, lambda: forge.find_open_pull(repo, head)),
            }
        finally:
            emu.stop()


def main() -> int:
    """CLI entry point: print the table (or ``--json``); returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--commit-api", choices=("graphql", "git-data", "both"), default="both")
    args = parser.parse_args()
    apis = ("graphql", "git-data") if args.commit_api == "both" else (args.commit_api,)
    results = {api: run(api) for api in apis}
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    for api, rows in results.items():
        print(f"GitHubForge, commit_api={api}")
        print(f"  {'operation':<55} {'requests':>8} {'writes':>7} {'REST GET':>8} {'GraphQL':>8}")
        for name, c in rows.items():
            print(
                f"  {name:<55} {c['requests']:>8} {c['content_creating']:>7} {c['rest_reads']:>8} {c['graphql']:>8}"
            )
        print()
    print("writes = content-creating requests (GitHub secondary limit: 80/minute, 500/hour)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
