#!/usr/bin/env python3
"""Pin the reusable workflows' references to this project's own actions when cutting a release.

In the development tree the reusable workflows (``.github/workflows/*.yml``) call this project's
actions by the moving major tag: ``uses: acme/catalog-ops/actions/setup@v1``. A caller that pins
``acme/catalog-ops/.github/workflows/rollout.yml@<sha>`` would still run whatever ``v1`` points at
when the job starts, and those actions receive the rollout's token. So a release of catalog-ops
itself is cut in two commits:

1. ``C``: the commit to release (actions, package, workflows with ``@v1``);
2. ``R``: a child of ``C`` in which every ``uses: <repo>/actions/<x>@<ref>`` and
   ``uses: <repo>/.github/workflows/<x>@<ref>`` in ``.github/workflows/`` reads ``@<C's SHA>``
   followed by ``# <tag>``. Nothing else changes: same bytes elsewhere, line endings kept, the
   ``# zizmor: ignore[unpinned-uses]`` comment of the line dropped (the pin makes it moot).

The release tag (``v1.4.0``) and the moving major tag (``v1``) then point at ``R``. A workflow
called at ``R`` (by tag or SHA) runs the actions of ``C``, which are byte-identical to ``R``'s, and
a later move of ``v1`` changes nothing for it. The examples under ``examples/workflows/`` are
left alone: they are templates that users copy and pin themselves.

Usage::

    python scripts/pin_release_refs.py --tag v1.4.0 [--repo acme/catalog-ops] [--root .] [--commit]
    python scripts/pin_release_refs.py --check [--root .]

``--commit`` makes the commit ``R`` and the annotated tag in the repository at ``--root``
(without it the files are only rewritten). ``--check`` exits 1 listing every own reference that
is not a full commit SHA (run it on a release tag's tree). Exit 2 for a usage error (a dirty
tree with ``--commit``, an unknown tag format). Only the standard library and ``git`` are needed.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

DEFAULT_REPO = "acme/catalog-ops"
TAG = re.compile(r"v\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?")
SHA = re.compile(r"[0-9a-f]{40}")


def own_ref_pattern(repo: str) -> re.Pattern[str]:
    """``uses: <repo>/(actions/<x>|.github/workflows/<x>.yml)@<ref>`` plus an optional comment,
    to the end of the line (the line ending is not part of the match)."""
    return re.compile(
        r"(?P<head>^[ \t]*(?:-[ \t]+)?uses:[ \t]*"
        + re.escape(repo)
        + r"/(?:actions/[A-Za-z0-9_.-]+|\.github/workflows/[A-Za-z0-9_.-]+\.ya?ml))"
        + r"@(?P<ref>[^\s#]+)(?P<tail>[ \t]*(?:#[^\r\n]*)?)(?=\r?$)",
        re.M,
    )


def pin_text(text: str, *, repo: str, sha: str, tag: str) -> tuple[str, int]:
    """``text`` with every own reference pinned to ``sha`` (comment ``# tag``) and the count.

    Raises ValueError when ``sha`` is not a full lower-case commit id.
    """
    if not SHA.fullmatch(sha):
        raise ValueError(f"not a full commit SHA: {sha!r}")
    pattern = own_ref_pattern(repo)
    return pattern.subn(lambda m: f"{m.group('head')}@{sha} # {tag}", text)


def unpinned(text: str, *, repo: str) -> list[str]:
    """The own references in ``text`` whose ref is not a full commit SHA (``"<line>: <uses>"``)."""
    out = []
    for m in own_ref_pattern(repo).finditer(text):
        if not SHA.fullmatch(m.group("ref")):
            line = text.count("\n", 0, m.start()) + 1
            out.append(f"{line}: {m.group(0).strip()}")
    return out


def workflow_files(root: Path) -> list[Path]:
    """The reusable workflows this project publishes (``.github/workflows/*.yml|*.yaml``)."""
    d = root / ".github" / "workflows"
    return sorted([*d.glob("*.yml"), *d.glob("*.yaml")])


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout.strip()


def pin_tree(root: Path, *, repo: str, sha: str, tag: str) -> dict[Path, int]:
    """Rewrite every workflow file under ``root`` in place; returns ``{path: references pinned}``
    for the files that changed (bytes are read and written unchanged apart from the refs)."""
    changed = {}
    for path in workflow_files(root):
        raw = path.read_bytes()
        text = raw.decode("utf-8")
        new, count = pin_text(text, repo=repo, sha=sha, tag=tag)
        if new != text:
            path.write_bytes(new.encode("utf-8"))
            changed[path] = count
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; returns the exit status (0 ok, 1 unpinned refs with --check, 2 usage)."""
    parser = argparse.ArgumentParser(prog="pin_release_refs", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tag", help="the release tag being cut, e.g. v1.4.0")
    parser.add_argument(
        "--repo", default=DEFAULT_REPO, help=f"this project's owner/name (default {DEFAULT_REPO})"
    )
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="repository work tree (default: .)")
    parser.add_argument("--sha", help="commit the refs point at (default: HEAD of --root)")
    parser.add_argument(
        "--commit", action="store_true", help="commit the rewrite and create the annotated tag"
    )
    parser.add_argument("--check", action="store_true", help="fail when an own reference is not a commit SHA")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if args.check:
        problems = [
            f"{path.relative_to(root)}:{line}"
            for path in workflow_files(root)
            for line in unpinned(path.read_text(encoding="utf-8"), repo=args.repo)
        ]
        for problem in problems:
            print(f"pin_release_refs: unpinned: {problem}", file=sys.stderr)
        return 1 if problems else 0
    if not args.tag or not TAG.fullmatch(args.tag):
        print("pin_release_refs: error: --tag vMAJOR.MINOR.PATCH is required", file=sys.stderr)
        return 2
    if args.commit and _git(root, "status", "--porcelain"):
        print("pin_release_refs: error: the work tree has uncommitted changes", file=sys.stderr)
        return 2
    sha = args.sha or _git(root, "rev-parse", "HEAD")
    try:
        changed = pin_tree(root, repo=args.repo, sha=sha, tag=args.tag)
    except ValueError as exc:
        print(f"pin_release_refs: error: {exc}", file=sys.stderr)
        return 2
    for path, count in changed.items():
        print(f"pin_release_refs: {path.relative_to(root)}: {count} reference(s) -> {sha[:12]} ({args.tag})")
    if args.commit:
        if changed:
            _git(root, "add", "--", *[str(p) for p in changed])
            _git(root, "commit", "-q", "-m", f"Release {args.tag}: pin own actions to {sha}")
        _git(root, "tag", "-a", args.tag, "-m", f"Release {args.tag}")
        print(f"pin_release_refs: tagged {args.tag} at {_git(root, 'rev-parse', 'HEAD')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
