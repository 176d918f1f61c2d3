"""`catalog-ops forge`: inspect and administer the forge (mostly the local one).

Sub-commands:

* ``forge show [OWNER/REPO] [--json]`` — without a repo: every local repository with counts of
  open PRs, issues and releases; with a repo: its settings, branches, tags, PRs (state, checks,
  auto-merge), issues, comments and releases. With ``--forge github`` only repository data.
* ``forge list OWNER [--include GLOB] [--exclude GLOB] [--topic T] [--include-archived]
  [--include-forks] [--json]`` — ``Forge.list_repos`` with the reasons for skipped repos.
* ``forge init-repo OWNER/REPO [--from DIR] [--default-branch B] [--topic T] [--archived]
  [--fork] [--no-auto-merge]`` — create a local repository (importing DIR).
* ``forge create-release OWNER/REPO TAG [--name N] [--body TEXT] [--prerelease]`` — local: a
  release (the tag is made at the default branch when missing; an empty repo gets a first commit).
* ``forge checks OWNER/REPO NUMBER [--rerun]`` — local: run a PR's checks unless they ran on its
  head (``--rerun``: again, keeping the earlier run), may auto-merge; github: read them.
* ``forge protect OWNER/REPO BRANCH [--require-check NAME]...`` — local: the checks branch
  protection requires before a PR into BRANCH merges (none: unprotected).
* ``forge process-auto-merges [OWNER/REPO]`` — local: merge auto-merge PRs whose checks pass.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from catalog_ops import gitutil
from catalog_ops.errors import UsageError
from catalog_ops.forge import FileChange, Repo, make_forge
from catalog_ops.forge.local import LocalForge
from catalog_ops.render.report import print_wide
from catalog_ops.render.terminal import printable
from catalog_ops.settings import Settings


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``forge`` and its sub-commands."""
    p = sub.add_parser("forge", help="inspect and administer the forge (local repos, PR records)")
    fsub = p.add_subparsers(dest="forge_command", metavar="ACTION", required=True)

    show = fsub.add_parser("show", help="show local repos, or one repo's PRs, issues and releases")
    show.add_argument("repo", nargs="?", help="OWNER/REPO (default: list every local repo)")
    show.add_argument("--json", action="store_true", help="print JSON instead of tables")

    lst = fsub.add_parser("list", help="list an owner's repos with the rollout filters")
    lst.add_argument("owner")
    lst.add_argument("--include", action="append", default=[], metavar="GLOB")
    lst.add_argument("--exclude", action="append", default=[], metavar="GLOB")
    lst.add_argument("--topic", action="append", default=[], metavar="TOPIC")
    lst.add_argument("--include-archived", action="store_true")
    lst.add_argument("--include-forks", action="store_true")
    lst.add_argument("--json", action="store_true")

    init = fsub.add_parser("init-repo", help="create a local forge repository")
    init.add_argument("repo", help="OWNER/REPO")
    init.add_argument("--from", dest="source", help="directory or git work tree to import")
    init.add_argument("--default-branch", default="main")
    init.add_argument("--topic", action="append", default=[], metavar="TOPIC")
    init.add_argument("--archived", action="store_true")
    init.add_argument("--fork", action="store_true")
    init.add_argument("--no-auto-merge", action="store_true", help="disallow auto-merge in this repo")

    rel = fsub.add_parser(
        "create-release",
        help="local forge: create a release (tagging the default branch when the tag is missing)",
    )
    rel.add_argument("repo", help="OWNER/REPO")
    rel.add_argument("tag", help="tag of the release, e.g. v1.11.4")
    rel.add_argument("--name", help="release name (default: the tag)")
    rel.add_argument("--body", default="", help="release notes (default: empty)")
    rel.add_argument("--prerelease", action="store_true", help="mark it as a pre-release")

    checks = fsub.add_parser("checks", help="run or read the checks of a pull request")
    checks.add_argument("repo")
    checks.add_argument("number", type=int)
    checks.add_argument(
        "--rerun", action="store_true", help="local forge: run the checks again on the PR head (after a fix)"
    )

    protect = fsub.add_parser(
        "protect",
        help="local forge: require checks before PRs into a branch merge (branch protection)",
    )
    protect.add_argument("repo")
    protect.add_argument("branch")
    protect.add_argument(
        "--require-check",
        action="append",
        default=[],
        metavar="NAME",
        help="a required check (the local CI reports 'local-checks'); none: remove the protection",
    )

    approve = fsub.add_parser("approve", help="local forge: approve a pull request (a review by hand)")
    approve.add_argument("repo")
    approve.add_argument("number", type=int)
    approve.add_argument(
        "--as", dest="user", default="reviewer", help="login of the reviewer (default reviewer)"
    )

    merge = fsub.add_parser(
        "merge", help="local forge: merge a pull request by hand, pinned to its current head"
    )
    merge.add_argument("repo")
    merge.add_argument("number", type=int)
    merge.add_argument("--method", choices=("squash", "merge", "rebase"), default="squash")

    close = fsub.add_parser("close", help="local forge: close a pull request without merging")
    close.add_argument("repo")
    close.add_argument("number", type=int)
    close.add_argument("--comment", help="comment to post first")

    comment = fsub.add_parser(
        "comment",
        help="local forge: comment on a pull request or issue as a person (e.g. a /catalog-ops command)",
    )
    comment.add_argument("repo")
    comment.add_argument("number", type=int)
    comment.add_argument("text", help="the comment body")
    comment.add_argument("--as", dest="user", required=True, help="login of the person commenting")

    collab = fsub.add_parser(
        "collaborator", help="local forge: set a person's role on a repository (what commands check)"
    )
    collab.add_argument("repo")
    collab.add_argument("user")
    collab.add_argument("role", choices=("admin", "maintain", "write", "triage", "read", "none"))

    pam = fsub.add_parser("process-auto-merges", help="local forge: merge auto-merge PRs whose checks pass")
    pam.add_argument("repo", nargs="?")
    p.set_defaults(func=run)


class _StdoutConsole(Console):
    """A rich ``Console`` that lets a closed stdout surface as ``BrokenPipeError``.

    rich's default ``on_broken_pipe`` raises ``SystemExit(1)``; ``cli.main`` maps the
    ``BrokenPipeError`` to exit 141 like every other command.
    """

    def on_broken_pipe(self) -> None:
        """Re-raise as ``BrokenPipeError`` (see ``catalog_ops.cli.EXIT_BROKEN_PIPE``)."""
        self.quiet = True
        raise BrokenPipeError(32, "Broken pipe")


def _local(settings: Settings, what: str, *, create: bool = False) -> LocalForge:
    if settings.forge != "local":
        raise UsageError(f"'forge {what}' works on the local forge only")
    return LocalForge.from_settings(settings, create=create)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Dispatch ``forge`` sub-commands; returns the exit code.

    Raises UsageError for local-only actions under ``--forge github`` and bad arguments.
    """
    action = args.forge_command
    console = _StdoutConsole(emoji=False)  # user text such as ':warning:' is printed as written
    if action == "show":
        return _show(args, settings, console)
    if action == "list":
        forge = make_forge(settings)
        listing = forge.list_repos(
            args.owner,
            include=args.include,
            exclude=args.exclude,
            topics=args.topic,
            skip_archived=not args.include_archived,
            skip_forks=not args.include_forks,
        )
        if args.json:
            out = {
                "repos": [_repo_json(r) for r in listing.repos],
                "skipped": [{**_repo_json(r), "reason": why} for r, why in listing.skipped],
            }
            print(json.dumps(out, indent=2))
            return 0
        table = Table("repository", "default branch", "topics", "status")
        for r in listing.repos:
            table.add_row(*_esc(r.full_name, r.default_branch, ", ".join(r.topics), "selected"))
        for r, why in listing.skipped:
            table.add_row(*_esc(r.full_name, r.default_branch, ", ".join(r.topics), f"skipped: {why}"))
        print_wide(console, table)
        return 0
    if action == "init-repo":
        forge = _local(settings, "init-repo", create=True)  # the one command that may make the root
        repo = forge.create_repo(
            args.repo,
            default_branch=args.default_branch,
            topics=args.topic,
            archived=args.archived,
            fork=args.fork,
            allow_auto_merge=not args.no_auto_merge,
            source_dir=Path(args.source) if args.source else None,
        )
        print(
            f"created {repo.full_name} at {forge.repo_path(repo.full_name)} (record {forge.record_path(repo.full_name)})"
        )
        return 0
    if action == "create-release":
        forge = _local(settings, "create-release")
        branch = forge.get_repo(args.repo).default_branch
        if forge.branch_sha(args.repo, branch) is None:  # `init-repo` without --from: nothing to tag yet
            forge.commit_files(
                args.repo,
                branch,
                parent_sha="",
                message="Initial commit",
                changes=[FileChange("README.md", f"# {args.repo}\n".encode())],
            )
            print(f"{args.repo} had no commits: committed README.md on {branch} to have something to tag")
        release = forge.create_release(
            args.repo, tag=args.tag, name=args.name or args.tag, body=args.body, prerelease=args.prerelease
        )
        kind = "pre-release" if release.prerelease else "release"
        print(f"created {kind} {release.tag} in {args.repo} ({release.url})")
        return 0
    if action == "checks":
        local = None
        if args.rerun:
            local = _local(settings, "checks --rerun")
            state = local.rerun_checks(args.repo, args.number)
        elif settings.forge == "local":
            local = LocalForge.from_settings(settings)
            state = local.run_checks(args.repo, args.number)
        else:
            state = make_forge(settings).checks_state(args.repo, args.number)
        print(state.value)
        if local is not None and state.value == "failure":
            _print_checks_tail(local, args.repo, args.number)
        return 0 if state.value == "success" else 1
    if action == "protect":
        local = _local(settings, "protect")
        if local.branch_sha(args.repo, args.branch) is None:
            raise UsageError(f"branch {args.branch!r} not found in {args.repo}")
        rules = dict(local.load_record(args.repo)["repo"].get("protection") or {})
        if args.require_check:
            rules[args.branch] = {"contexts": args.require_check}
        else:
            rules.pop(args.branch, None)
        local.set_repo_settings(args.repo, protection=rules)
        required = ", ".join(dict.fromkeys(args.require_check)) or "nothing (unprotected)"
        print(f"{args.repo} {args.branch}: PRs merge only after required checks pass: {required}")
        return 0
    if action == "approve":
        local = _local(settings, "approve")
        local.approve(args.repo, args.number, user=args.user)
        print(f"approved {args.repo}#{args.number} as {args.user}")
        return 0
    if action == "merge":
        local = _local(settings, "merge")
        pr = local.get_pull(args.repo, args.number)
        sha = local.merge_pull(args.repo, args.number, method=args.method, sha=pr.head_sha)
        print(
            f"merged {args.repo}#{args.number} at head {pr.head_sha[:12]} ({args.method}; {pr.base} is now {sha[:12]})"
        )
        return 0
    if action == "close":
        local = _local(settings, "close")
        local.close_pull(args.repo, args.number, comment=args.comment)
        print(f"closed {args.repo}#{args.number}")
        return 0
    if action == "comment":
        local = _local(settings, "comment")
        made = local.add_comment(args.repo, args.number, args.text, author=args.user)
        print(f"commented on {args.repo}#{args.number} as {args.user} (comment {made.id})")
        return 0
    if action == "collaborator":
        local = _local(settings, "collaborator")
        roles = dict(local.load_record(args.repo)["repo"].get("collaborators") or {})
        if args.role == "none":
            roles.pop(args.user, None)
        else:
            roles[args.user] = args.role
        local.set_repo_settings(args.repo, collaborators=roles)
        print(
            f"{args.user} is {args.role} on {args.repo} (permission: {local.permission(args.repo, args.user)})"
        )
        return 0
    if action == "process-auto-merges":
        merged = _local(settings, "process-auto-merges").process_auto_merges(args.repo)
        for pr in merged:
            print(f"merged {pr.repo}#{pr.number} ({pr.merged_sha})")
        if not merged:
            print("nothing to merge")
        return 0
    raise UsageError(f"unknown forge action {action!r}")  # pragma: no cover


def _esc(*cells: str) -> list[str]:
    """Cells with rich markup escaped: titles, labels and names are user text (``[security]``
    must print as-is, ``[/oops]`` must not raise ``MarkupError``)."""
    return [escape(c) for c in cells]


def _repo_json(r: Repo) -> dict[str, Any]:
    """``forge show --json`` fields of a repository (clone URL credentials redacted)."""
    return {
        "full_name": r.full_name,
        "default_branch": r.default_branch,
        "clone_url": gitutil.redact(r.clone_url),
        "archived": r.archived,
        "fork": r.fork,
        "disabled": r.disabled,
        "topics": list(r.topics),
    }


# Lines of a failed local check run shown on stderr by ``forge checks`` (all is in ``forge show --json``).
CHECKS_TAIL_LINES = 15


def _print_checks_tail(local: LocalForge, repo: str, number: int) -> None:
    """Why the local checks of ``repo#number`` failed: their command's exit code and the last
    ``CHECKS_TAIL_LINES`` lines of its output, on stderr (control characters escaped)."""
    pull = next((p for p in local.load_record(repo)["pulls"] if p.get("number") == number), None)
    run = (pull or {}).get("checks") or {}
    lines = str(run.get("output") or "").splitlines()[-CHECKS_TAIL_LINES:]
    print(
        f"{repo}#{number}: {run.get('command') or 'checks'} exited {run.get('exit_code')}; "
        f"last {len(lines)} lines of its output (all of it: catalog-ops forge show {repo} --json):",
        file=sys.stderr,
    )
    for line in lines:
        print("  " + printable(line), file=sys.stderr)


def _show(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    if settings.forge != "local":
        if not args.repo:
            raise UsageError(f"'forge show' needs OWNER/REPO with --forge {settings.forge}")
        repo = make_forge(settings).get_repo(args.repo)
        if args.json:
            print(json.dumps(_repo_json(repo), indent=2))
        else:
            for key, value in _repo_json(repo).items():
                print(f"{key}: {value}")
        return 0
    forge = LocalForge.from_settings(settings)
    if not args.repo:
        rows = []
        for name in forge.all_repos():
            rec = forge.load_record(name)
            rows.append(
                {
                    "repo": name,
                    "path": str(forge.repo_path(name)),
                    "default_branch": rec["repo"]["default_branch"],
                    "open_pulls": sum(1 for p in rec["pulls"] if p["state"] == "open"),
                    "pulls": len(rec["pulls"]),
                    "open_issues": sum(1 for i in rec["issues"] if i["state"] == "open"),
                    "releases": len(rec["releases"]),
                    "archived": bool(rec["repo"].get("archived")),
                    "protected": {
                        branch: list(rule.get("contexts") or [])
                        for branch, rule in sorted((rec["repo"].get("protection") or {}).items())
                    },
                }
            )
        if args.json:
            print(json.dumps({"root": str(forge.root), "repos": rows}, indent=2))
            return 0
        table = Table(
            "repository",
            "default branch",
            "open PRs",
            "PRs",
            "open issues",
            "releases",
            "archived",
            "protected branches (required checks)",
            title=escape(str(forge.root)),
        )
        for row in rows:
            table.add_row(
                escape(row["repo"]),
                escape(row["default_branch"]),
                str(row["open_pulls"]),
                str(row["pulls"]),
                str(row["open_issues"]),
                str(row["releases"]),
                "archived" if row["archived"] else "",
                escape("; ".join(f"{b}: {', '.join(c) or '-'}" for b, c in row["protected"].items())),
            )
        print_wide(console, table)
        return 0
    record = forge.load_record(args.repo)
    gd = gitutil.resolve_git_dir(forge.repo_path(args.repo))
    branches = gitutil.git_out(
        ["for-each-ref", "--format=%(refname:strip=2) %(objectname)", "refs/heads"], git_dir=gd
    )
    tags = forge.list_tags(args.repo)
    payload = {
        "path": str(forge.repo_path(args.repo)),
        "record": str(forge.record_path(args.repo)),
        "branches": dict(line.split(" ", 1) for line in branches.splitlines() if line),
        "tags": {t.name: t.sha for t in tags},
        **record,
    }
    for pr in payload["pulls"]:
        if pr["state"] == "open":
            pr["head_sha"] = payload["branches"].get(pr["head"], pr["head_sha"])
    if args.json:
        json.dump(payload, sys.stdout, indent=2)
        print()
        return 0
    meta = record["repo"]
    print_wide(console, f"[bold]{escape(args.repo)}[/bold]  {escape(payload['path'])}")
    print_wide(
        console,
        escape(
            f"default branch {meta['default_branch']}; topics: {', '.join(meta['topics']) or '-'}; "
            f"archived={meta['archived']} fork={meta['fork']} auto-merge allowed={meta['allow_auto_merge']}"
        ),
    )
    print_wide(
        console,
        escape(
            f"record: {payload['record']}  (inspect branches with: git -C {payload['path']} log <branch>)"
        ),
    )
    bt = Table("branch", "sha", title="branches")
    for name, sha in payload["branches"].items():
        bt.add_row(*_esc(name, sha[:12]))
    print_wide(console, bt)
    pt = Table(
        "#",
        "state",
        "head → base",
        "title",
        "checks",
        "auto-merge",
        "labels",
        "reviewers",
        title="pull requests",
    )
    for pr in record["pulls"]:
        checks = pr.get("checks") or {}
        head_now = payload["branches"].get(pr["head"]) if pr["state"] == "open" else pr.get("head_sha")
        ran = f"{checks.get('state', '-')}" + (f" @{checks['sha'][:7]}" if checks else "")
        if checks and head_now and checks.get("sha") != head_now:
            # checks of an earlier head say nothing about this one (GitHub shows a PR's checks
            # for its head commit only)
            ran += f" (stale: head is {head_now[:7]})"
        pt.add_row(
            *_esc(
                str(pr["number"]),
                pr["state"],
                f"{pr['head']} → {pr['base']}",
                pr["title"],
                ran,
                (pr.get("merge_method") or "on") if pr["auto_merge"] else "-",
                ", ".join(pr["labels"]),
                ", ".join(pr["reviewers"] + pr["team_reviewers"])
                + (f" (approved: {', '.join(pr['approvals'])})" if pr.get("approvals") else ""),
            )
        )
    print_wide(console, pt)
    it = Table("#", "state", "title", "labels", title="issues")
    for issue in record["issues"]:
        it.add_row(*_esc(str(issue["number"]), issue["state"], issue["title"], ", ".join(issue["labels"])))
    print_wide(console, it)
    rt = Table("tag", "name", "created", "prerelease", title="releases")
    for rel in reversed(record["releases"]):
        rt.add_row(*_esc(rel["tag"], rel["name"], rel["created_at"], str(rel["prerelease"])))
    print_wide(console, rt)
    tt = Table("tag", "sha", "annotated", title="tags")
    for t in tags:
        tt.add_row(*_esc(t.name, t.sha[:12], "yes" if t.message is not None else "no"))
    print_wide(console, tt)
    print_wide(
        console,
        escape(f"{len(record['comments'])} comment(s); full text: catalog-ops forge show {args.repo} --json"),
    )
    return 0
