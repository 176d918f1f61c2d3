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
import dataclasses
import json
import os
import sys
from collections.abc import Mapping

from catalog_ops.errors import NotFound, PartialFailure, UsageError
from catalog_ops.forge.base import Release, Releases
from catalog_ops.settings import Settings


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg,unused-ignore]
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


@dataclasses.dataclass(frozen=True, kw_only=True)
class SweepOptions:
    """The ``sweep`` command's options, checked.

    Attributes:
        repo: the catalog, ``OWNER/REPO``.
        base: base branch (None: the repository's default branch).
        dry_run: plan and report, write nothing.
        json: print the JSON report on stdout.
        registries: registry host -> base URL (``--registry HOST=URL``; wins over
            ``sweep.registries``).
        timeout: seconds per registry request (> 0).
        retries: retries after 5xx/429/timeouts (>= 0).
    """

    repo: str
    base: str | None = None
    dry_run: bool = False
    json: bool = False
    registries: Mapping[str, str] = dataclasses.field(default_factory=dict)
    timeout: float = 20.0
    retries: int = 2

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> SweepOptions:
        """Options from parsed arguments. Raises UsageError for a bad value."""
        if args.repo.count("/") != 1:
            raise UsageError(f"--repo {args.repo!r}: expected OWNER/REPO")
        if args.retries < 0 or args.timeout <= 0:
            raise UsageError("--retries must be >= 0 and --timeout > 0")
        return cls(
            repo=args.repo,
            base=args.base,
            dry_run=args.dry_run,
            json=args.json,
            registries=_parse_registry_flags(args.registry),
            timeout=args.timeout,
            retries=args.retries,
        )


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
    from catalog_ops.sweep.apply import read_repo_files, run_sweep
    from catalog_ops.sweep.config import load_sweep_config
    from catalog_ops.sweep.model import Status
    from catalog_ops.sweep.registry import RegistryClient, git_remote_tags
    from catalog_ops.sweep.report import print_table

    options = SweepOptions.from_args(args)
    forge = make_forge(settings)
    info = forge.get_repo(options.repo)
    base = options.base or info.default_branch
    base_sha = forge.branch_sha(options.repo, base)
    if base_sha is None:
        raise UsageError(f"{options.repo}: branch {base!r} does not exist")
    files = read_repo_files(forge, options.repo, base_sha)
    config = load_sweep_config(files)
    env = dict(os.environ)  # TF_TOKEN_* and git settings are read from the process environment
    client = RegistryClient(
        env=env,
        base_urls={**config.registries, **options.registries},
        timeout=options.timeout,
        retries=options.retries,
    )
    result = run_sweep(
        forge,
        options.repo,
        registry=client,
        # the forge's token for module repositories on the forge's own host only (git_auth_env)
        git_tags=lambda url: git_remote_tags(url, env=env, auth=forge.git_auth_env),
        default_cli="opentofu" if settings.tf_binary == "tofu" else "terraform",
        base=base,
        dry_run=options.dry_run,
        config=config,
        base_sha=base_sha,
        files=files,
        releases=_UpstreamHints(forge, settings, config.upstreams),
    )
    print_table(result)
    if options.json:
        json.dump(result.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    gha.write_summary(result.to_markdown())
    unknown = [r for r in result.results if r.status is Status.UNKNOWN]
    gha.set_outputs(
        {
            "pull-requests": "\n".join(p["url"] for p in result.pulls if p.get("url")),
            "unknown": str(len(unknown)),
        }
    )
    for r in unknown:
        gha.annotate("warning", f"{r.dependency.id}: {r.reason}", title="dependency sweep: upstream failed")
    if result.failed:
        raise PartialFailure("sweep incomplete:\n  " + "\n  ".join(result.problems()))
    return 0


class _UpstreamHints:
    """The forge's ``Releases`` role, with ``list_releases`` errors for the CLI upstreams made
    actionable.

    The Terraform/OpenTofu versions come from the releases of ``sweep.upstreams`` repositories
    (``hashicorp/terraform``, ``opentofu/opentofu``) on the same forge, which a local forge does
    not have unless someone creates them. A missing or release-less upstream repository gets a
    message naming the repository and how to create or configure it. Everything else is passed
    through unchanged.
    """

    def __init__(self, forge: Releases, settings: Settings, upstreams: Mapping[str, str]) -> None:
        self._forge = forge
        self._settings = settings
        self._clis = {repo: cli for cli, repo in upstreams.items()}

    def create_release(
        self, repo: str, *, tag: str, name: str, body: str, prerelease: bool = False
    ) -> Release:
        """Passed through to the forge."""
        return self._forge.create_release(repo, tag=tag, name=name, body=body, prerelease=prerelease)

    def get_release(self, repo: str, tag: str) -> Release | None:
        """Passed through to the forge."""
        return self._forge.get_release(repo, tag)

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

    def list_releases(self, repo: str) -> list[Release]:
        """The forge's releases of ``repo``; for a CLI upstream, NotFound with a hint when the
        repository is missing or has no published release."""
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
