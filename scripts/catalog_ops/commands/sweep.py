"""`catalog-ops sweep`: find the catalog's outdated dependencies and open/update update PRs.

See docs/sweep.md. Reads the catalog through the forge (default branch), asks the registry
protocol / forge releases / ``git ls-remote`` for newer versions, and opens one grouped PR plus
one PR per major update (deterministic branches, so reruns update them).

Environment: ``TF_TOKEN_<host>`` registry credentials (Terraform's encoding), git credentials
for private git modules (credential helpers, ``GIT_CONFIG_*`` ``insteadOf`` rewrites), plus the
forge settings (``GITHUB_TOKEN`` ...). Exit status: 0 when every dependency was checked and
every PR written; 1 (PartialFailure) when an upstream failed, a file could not be parsed or a PR
could not be written (the rest still ran).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from typing import Any

from catalog_ops.errors import NotFound, PartialFailure, UsageError
from catalog_ops.settings import Settings


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``sweep`` and its options."""
    p = sub.add_parser(
        "sweep",
        help="find newer Terraform/OpenTofu, provider and module versions; open update PRs",
        description="Sweep the catalog's dependencies (CLI, providers, third-party modules) and open or "
        "update PRs: majors alone, the rest grouped. Config: the sweep: section of .catalog-ops.yml.",
    )
    p.add_argument("--repo", required=True, metavar="OWNER/REPO", help="the catalog repository on the forge")
    p.add_argument("--base", help="base branch (default: the repository's default branch)")
    p.add_argument("--dry-run", action="store_true", help="report and plan, but push and open nothing")
    p.add_argument("--json", action="store_true", help="print the JSON report on stdout")
    p.add_argument(
        "--registry",
        action="append",
        default=[],
        metavar="HOST=URL",
        help="reach registry HOST at base URL (overrides sweep.registries; repeatable)",
    )
    p.add_argument("--timeout", type=float, default=20.0, help="seconds per registry request (default 20)")
    p.add_argument("--retries", type=int, default=2, help="retries after 5xx/429/timeouts (default 2)")
    p.set_defaults(func=run)


def _parse_registry_flags(values: list[str]) -> dict[str, str]:
    out = {}
    for value in values:
        host, sep, url = value.partition("=")
        if not sep or not host or not url.startswith(("http://", "https://")):
            raise UsageError(f"--registry {value!r}: expected HOST=http(s)://BASE/")
        out[host] = url
    return out


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the sweep; prints a table (stderr), JSON (``--json``, stdout) and the step summary.

    Raises:
        UsageError: bad flags. ConfigError: invalid ``sweep:`` config. ForgeError: repo unreadable.
        PartialFailure: some dependency unknown / PR failed (after everything else was done).
    """
    from catalog_ops import gha
    from catalog_ops.forge import make_forge
    from catalog_ops.sweep import run as sweep
    from catalog_ops.sweep.registry import RegistryClient, git_remote_tags

    if args.repo.count("/") != 1:
        raise UsageError(f"--repo {args.repo!r}: expected OWNER/REPO")
    if args.retries < 0 or args.timeout <= 0:
        raise UsageError("--retries must be >= 0 and --timeout > 0")
    forge = make_forge(settings)
    info = forge.get_repo(args.repo)
    base = args.base or info.default_branch
    base_sha = forge.branch_sha(args.repo, base)
    if base_sha is None:
        raise UsageError(f"{args.repo}: branch {base!r} does not exist")
    files = sweep.read_repo_files(forge, args.repo, base_sha)
    config = sweep.load_sweep_config(files)
    env = dict(os.environ)  # TF_TOKEN_* and git settings are read from the process environment
    client = RegistryClient(
        env=env,
        base_urls={**config.registries, **_parse_registry_flags(args.registry)},
        timeout=args.timeout,
        retries=args.retries,
    )
    result = sweep.run_sweep(
        _UpstreamHints(forge, settings, config.upstreams),
        args.repo,
        registry=client,
        git_tags=lambda url: git_remote_tags(url, env=env),
        default_cli="opentofu" if settings.tf_binary == "tofu" else "terraform",
        base=base,
        dry_run=args.dry_run,
        config=config,
        base_sha=base_sha,
        files=files,
    )
    _print_table(result)
    if args.json:
        json.dump(result.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    gha.write_summary(result.to_markdown())
    gha.set_outputs(
        {
            "pull-requests": "\n".join(p["url"] for p in result.pulls if p.get("url")),
            "unknown": str(sum(1 for r in result.results if r.status is sweep.Status.UNKNOWN)),
        }
    )
    for r in result.results:
        if r.status is sweep.Status.UNKNOWN:
            gha.annotate(
                "warning", f"{r.dependency.id}: {r.reason}", title="dependency sweep: upstream failed"
            )
    if result.failed:
        problems = [
            f"{r.dependency.id}: {r.reason}" for r in result.results if r.status is sweep.Status.UNKNOWN
        ]
        problems += [f"{p['branch']}: {p['error']}" for p in result.pulls if p["outcome"] == "failed"]
        problems += result.errors
        raise PartialFailure("sweep incomplete:\n  " + "\n  ".join(problems))
    return 0


class _UpstreamHints:
    """The forge, with ``list_releases`` errors for the CLI upstreams made actionable.

    The Terraform/OpenTofu versions come from the releases of ``sweep.upstreams`` repositories
    (``hashicorp/terraform``, ``opentofu/opentofu``) on the same forge, which a local forge does
    not have unless someone creates them. A missing or release-less upstream repository gets a
    message naming the repository and how to create or configure it. Everything else is passed
    through unchanged.
    """

    def __init__(self, forge: Any, settings: Settings, upstreams: Mapping[str, str]) -> None:
        self._forge = forge
        self._settings = settings
        self._clis = {repo: cli for cli, repo in upstreams.items()}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._forge, name)

    def _where(self) -> str:
        if self._settings.forge == "local":
            return f"the local forge ({self._settings.local_root})"
        return f"the forge ({self._settings.github_api_url})"

    def _fixes(self, repo: str, cli: str) -> str:
        create = ""
        if self._settings.forge == "local":
            create = (
                f"create it with `catalog-ops forge init-repo {repo}` and add one release per version, "
                f"e.g. `catalog-ops forge create-release {repo} v1.11.4` (docs/sweep.md, "
                '"Sweeping on the local forge"); or '
            )
        return (
            f"{create}set sweep.upstreams.{cli} in .catalog-ops.yml to a repository whose releases are "
            f"the {cli} versions; or stop checking it with `sweep: {{ignore: [{cli}]}}`"
        )

    def list_releases(self, repo: str) -> Any:
        cli = self._clis.get(repo)
        if cli is None:
            return self._forge.list_releases(repo)
        try:
            releases = self._forge.list_releases(repo)
        except NotFound:
            raise NotFound(
                f"upstream repository {repo} (the {cli} versions are its releases) does not exist on "
                f"{self._where()}: {self._fixes(repo, cli)}"
            ) from None
        if not any(not r.draft for r in releases):
            raise NotFound(
                f"upstream repository {repo} (the {cli} versions are its releases) has no releases on "
                f"{self._where()}: {self._fixes(repo, cli)}"
            )
        return releases


def _print_table(result: object) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from catalog_ops.sweep.run import Status, SweepRun, summary_line

    assert isinstance(result, SweepRun)
    table = Table(
        title=escape(f"Dependency sweep of {result.repo} ({result.base})"),
        caption=escape(summary_line(result.results)),
    )
    for column in ("Dependency", "Kind", "Status", "Current", "Latest", "Proposed", "Details"):
        table.add_column(column, overflow="fold")
    styles = {
        Status.UNKNOWN: "bold red",
        Status.UPDATE: "green",
        Status.IGNORED: "yellow",
        Status.SKIPPED: "dim",
    }
    for r in result.results:
        style = styles.get(r.status)
        status = f"[{style}]{r.status.value}[/]" if style else r.status.value
        table.add_row(
            escape(r.dependency.id),
            escape(r.dependency.kind.value),
            status,
            escape(", ".join(r.current)),
            escape(r.latest or ""),
            escape(", ".join(r.new)),
            escape(r.reason or ""),
        )
    console = Console(stderr=True, width=160)
    console.print(table)
    for p in result.pulls:
        console.print(
            escape(f"{p['outcome']}: {p['title']} [{p['branch']}] {p.get('url') or p.get('error') or ''}")
        )
