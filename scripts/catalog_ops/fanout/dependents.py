"""Which repositories are a catalog's dependents: the selection options and the loader.

One home for what ``rollout plan`` and ``dashboard`` (and their actions) accept:

* ``--org ORG`` lists an org's (or user's) repositories through the forge
  (``Forge.list_repos``: archived, disabled and forked repositories are left out with a reason),
  or ``--dependents FILE`` names them (``load_dependents_file``);
* ``--topic`` keeps repositories having any of the topics (org listing only), ``--include`` /
  ``--exclude`` are fnmatch globs on the repository name without the owner;
* ``--catalog-address`` is the module source address dependents use for the catalog
  (default ``github.com/OWNER/REPO``), ``--registry-module ADDRESS=MODULE`` maps a module
  registry address (Terraform docs, "Module Registry Protocol") to the catalog module dir it is
  published from;
* ``--concurrency`` is how many dependents are scanned in parallel (read-only requests).

``add_selection_arguments`` registers them on an argparse parser, ``selection_from_args`` turns
the parsed namespace into a ``DependentSelection``, ``list_dependents`` resolves it through the
forge. The catalog itself is never its own dependent.
"""

from __future__ import annotations

import argparse
import dataclasses
import fnmatch
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from catalog_ops.catalog.layout import module_key
from catalog_ops.core.edits import utf8_error_position
from catalog_ops.errors import ForgeError, UsageError
from catalog_ops.forge.base import Repo, Repos


@dataclasses.dataclass(frozen=True, kw_only=True)
class DependentSelection:
    """How to find the dependents of a catalog.

    Attributes:
        org: org or user whose repositories are listed; or
        dependents: explicit ``owner/name`` names (``--dependents FILE``); exactly one is set.
        topics: keep repositories having any of these topics (org listing only).
        include / exclude: fnmatch globs on the repository name (not the owner).
        catalog_address: module source address dependents use for the catalog; None: the
            forge's ``Repos.module_address(catalog)``.
        registry_modules: registry module address -> catalog module dir (``"."``: the root
            module); empty: derived from the catalog's name (``registry_modules_for``).
        concurrency: dependents scanned in parallel (>= 1).
    """

    org: str | None = None
    dependents: tuple[str, ...] | None = None
    topics: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    catalog_address: str | None = None
    registry_modules: Mapping[str, str] = dataclasses.field(default_factory=dict)
    concurrency: int = 8


@dataclasses.dataclass(frozen=True)
class DependentListing:
    """``list_dependents``' answer: repositories to scan, and ``(name, default branch, reason)``
    for the ones left out (archived, disabled, a forge error, ...; default branch ``""`` when
    unknown)."""

    repos: tuple[Repo, ...]
    skipped: tuple[tuple[str, str, str], ...] = ()


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (usage error, exit 2, otherwise)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {value})")
    return value


def add_selection_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the dependent-selection options (module docstring) on ``parser``."""
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--org", help="list the dependents from this org/user")
    src.add_argument("--dependents", type=Path, help="file with one OWNER/REPO per line (or a JSON list)")
    parser.add_argument(
        "--topic", action="append", default=[], help="keep repos having this topic (repeatable)"
    )
    parser.add_argument(
        "--include", action="append", default=[], help="keep repo names matching this glob (repeatable)"
    )
    parser.add_argument(
        "--exclude", action="append", default=[], help="drop repo names matching this glob (repeatable)"
    )
    parser.add_argument(
        "--catalog-address", help="module address dependents use (default: github.com/OWNER/REPO)"
    )
    parser.add_argument(
        "--registry-module",
        action="append",
        default=[],
        metavar="ADDRESS=MODULE",
        help="registry module address published from catalog module dir, e.g. "
        "app.terraform.io/acme/naming/generic=modules/naming (repeatable)",
    )
    parser.add_argument(
        "--concurrency", type=positive_int, default=8, help="dependents scanned in parallel (default 8)"
    )


def selection_from_args(args: argparse.Namespace) -> DependentSelection:
    """The ``DependentSelection`` of parsed ``add_selection_arguments`` options; reads the
    ``--dependents`` file. Raises UsageError (unreadable or non-UTF-8 file, bad line, bad
    ``--registry-module``)."""
    names = None
    if args.dependents is not None:
        try:
            data = Path(args.dependents).read_bytes()
        except OSError as exc:
            raise UsageError(f"{args.dependents}: {exc.strerror}") from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line, col = utf8_error_position(data, exc)
            raise UsageError(f"{args.dependents}:{line}:{col}: not UTF-8 ({exc.reason})") from None
        names = tuple(load_dependents_file(text, str(args.dependents)))
    return DependentSelection(
        org=args.org,
        dependents=names,
        topics=tuple(args.topic),
        include=tuple(args.include),
        exclude=tuple(args.exclude),
        catalog_address=args.catalog_address,
        registry_modules=parse_registry_modules(args.registry_module),
        concurrency=args.concurrency,
    )


def parse_registry_modules(items: Sequence[str]) -> dict[str, str]:
    """``{registry address: catalog module dir}`` from ``ADDRESS=MODULE`` items (the module dir
    without surrounding ``/``). Raises UsageError naming the bad item."""
    out = {}
    for item in items:
        address, sep, module = item.partition("=")
        if not sep or not address.strip() or not module.strip():
            raise UsageError(f"--registry-module must be ADDRESS=MODULE, not {item!r}")
        out[address.strip()] = module_key(module)
    return out


def registry_address_for(catalog: str) -> str | None:
    """The public registry address a catalog repository publishes its root module under, by the
    registry's naming rule: a repository ``terraform-<PROVIDER>-<NAME>`` of ``OWNER`` is
    ``OWNER/<NAME>/<PROVIDER>`` (Terraform docs, "Publishing Modules": "Module repositories must
    use this three-part name format, terraform-<PROVIDER>-<NAME>"); submodules are addressed as
    ``OWNER/<NAME>/<PROVIDER>//modules/x``. None when the name does not follow the rule.

    ``terraform-aws-modules/terraform-aws-security-group`` ->
    ``terraform-aws-modules/security-group/aws``.
    """
    owner, _, name = catalog.partition("/")
    parts = name.split("-", 2)
    if not owner or len(parts) != 3 or parts[0].lower() != "terraform" or not parts[1] or not parts[2]:
        return None
    return f"{owner}/{parts[2]}/{parts[1]}".lower()


def registry_modules_for(catalog: str, selection: DependentSelection) -> dict[str, str]:
    """``{registry address: catalog module dir}`` of a run: ``--registry-module`` when given
    (overrides), else the address derived by ``registry_address_for`` mapped to the root module
    (``"."``); empty when neither applies."""
    if selection.registry_modules:
        return {a: module_key(m) for a, m in selection.registry_modules.items()}
    derived = registry_address_for(catalog)
    return {derived: module_key(".")} if derived else {}


def load_dependents_file(text: str, path: str = "dependents") -> list[str]:
    """Repository names from a ``--dependents`` file: one ``owner/name`` per line (``#``
    comments, blank lines ignored), or a JSON list of names. Duplicates are dropped (first
    kept). Raises UsageError naming the file, line and column."""
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
        names = [str(x) for x in data]
    else:
        names = []
        for lineno, line in enumerate(text.splitlines(), 1):
            item = line.split("#", 1)[0].strip()
            if not item:
                continue
            if item.count("/") != 1:
                raise UsageError(f"{path}:{lineno}:1: expected owner/name, got {item!r}")
            names.append(item)
    return list(dict.fromkeys(names))


def list_dependents(forge: Repos, catalog: str, selection: DependentSelection) -> DependentListing:
    """The repositories ``selection`` names, minus the catalog itself.

    Explicit names are filtered by ``include``/``exclude`` here and read one by one (a forge
    error, an archived or disabled repository becomes a skip with the reason); an org listing is
    filtered by the forge.

    Raises:
        UsageError: neither ``org`` nor ``dependents`` is set.
        ForgeError: the org listing cannot be read.
    """
    catalog_key = catalog.lower()
    repos: list[Repo] = []
    skipped: list[tuple[str, str, str]] = []
    if selection.dependents is not None:
        for name in selection.dependents:
            if name.lower() == catalog_key:
                continue
            short = name.split("/", 1)[1]
            if selection.include and not any(fnmatch.fnmatchcase(short, g) for g in selection.include):
                continue
            if any(fnmatch.fnmatchcase(short, g) for g in selection.exclude):
                continue
            try:
                repo = forge.get_repo(name)
            except ForgeError as exc:
                skipped.append((name, "", f"forge error: {exc}"))
                continue
            why = "archived" if repo.archived else "disabled" if repo.disabled else None
            if why:
                skipped.append((name, repo.default_branch, why))
            else:
                repos.append(repo)
    elif selection.org:
        listing = forge.list_repos(
            selection.org, include=selection.include, exclude=selection.exclude, topics=selection.topics
        )
        repos = [r for r in listing.repos if r.full_name.lower() != catalog_key]
        skipped = [
            (r.full_name, r.default_branch, why)
            for r, why in listing.skipped
            if r.full_name.lower() != catalog_key
        ]
    else:
        raise UsageError("give --org ORG or --dependents FILE")
    return DependentListing(tuple(repos), tuple(skipped))
