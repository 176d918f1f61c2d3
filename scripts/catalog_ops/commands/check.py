"""`catalog-ops check`: catalog PR checks (affected, lint, test, policy, report).

Every subcommand works on the catalog checked out at ``--root`` (default: the current directory)
and reads ``checks:`` from its ``.catalog-ops.yml``. ``lint``/``test``/``policy`` write a results
file (``--results``) that ``report`` combines. Exit status: 0 when everything passed, 1 when a
check failed (details were printed/annotated), 2 for usage/config errors, 3 for forge errors
(``report --pr``: e.g. an unknown PR; a read-only token only skips the comment), 4 for missing tools.
See docs/checks.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from catalog_ops import gha
from catalog_ops.checks import layout
from catalog_ops.checks.results import Finding, annotate_findings, load_config, write_results
from catalog_ops.errors import CatalogOpsError, UsageError
from catalog_ops.settings import Settings

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|m|s|ms)")


def parse_duration(text: str) -> float:
    """Seconds from a Go-style duration (``90s``, ``30m``, ``1h30m``, ``500ms``) or plain seconds.

    Raises:
        UsageError: not a duration.
    """
    text = text.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    pos, total = 0, 0.0
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[m.group(2)]
        pos = m.end()
    if pos != len(text) or not text or total <= 0:
        raise UsageError(f"invalid duration {text!r} (examples: 90s, 30m, 1h30m)")
    return total


def _ports(text: str) -> list[int]:
    try:
        ports = [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise UsageError(f"--allowed-ports: {text!r} is not a comma-separated list of port numbers") from None
    if any(not 0 <= p <= 65535 for p in ports):
        raise UsageError(f"--allowed-ports: ports must be 0-65535, got {text!r}")
    return ports


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``check`` and its subcommands."""
    p = sub.add_parser("check", help="catalog PR checks: affected, lint, test, policy, report")
    p.set_defaults(func=run)
    csub = p.add_subparsers(dest="check_command", metavar="CHECK", required=True)

    def common(sp: argparse.ArgumentParser, *, modules: bool = True) -> None:
        sp.add_argument("--root", default=".", help="catalog checkout (default: current directory)")
        sp.add_argument("--json", action="store_true", help="print the results document as JSON")
        if modules:
            sp.add_argument("modules", nargs="*", metavar="MODULE", help="modules to check (default: all)")
            sp.add_argument("--results", help="write the results JSON file here (input of `check report`)")
            sp.add_argument(
                "--results-dir",
                metavar="DIR",
                help="write the results (and SARIF) files into DIR as <check>-<modules>.json/.sarif "
                "and set the step outputs results-file (and sarif-file)",
            )
            sp.add_argument(
                "--path-prefix",
                help="catalog path inside the repository for annotations/SARIF (default: from git)",
            )

    a = csub.add_parser("affected", help="modules affected by a diff, as a CI matrix")
    common(a, modules=False)
    a.add_argument("--base", required=True, help="base ref/commit of the pull request")
    a.add_argument("--head", default="HEAD", help="head ref/commit (default: HEAD)")

    lint = csub.add_parser("lint", help="fmt -check, validate, tflint; annotations + SARIF")
    common(lint)
    lint.add_argument("--sarif", help="write findings as SARIF 2.1.0 here")
    lint.add_argument("--jobs", type=int, help="directories linted in parallel (default: CPUs)")

    test = csub.add_parser("test", help="run the Terratest tests mapped to the modules")
    common(test)
    test.add_argument(
        "--timeout", default="30m", help="go test -timeout (default 30m); hung tests are killed"
    )
    test.add_argument("--parallel", type=int, help="go test -parallel N")
    test.add_argument(
        "--out-dir",
        default="catalog-ops-test",
        help="JUnit XML and per-test logs (default: catalog-ops-test)",
    )

    pol = csub.add_parser("policy", help="plan examples and evaluate Rego policies with OPA")
    common(pol)
    pol.add_argument(
        "--policy", action="append", default=[], metavar="DIR", help="extra policy directory (repeatable)"
    )
    pol.add_argument("--no-bundled", action="store_true", help="do not load the bundled policy pack")
    pol.add_argument("--allowed-ports", help="ports that may be open to 0.0.0.0/0 and ::/0 (default 80,443)")
    pol.add_argument("--sarif", help="write violations as SARIF 2.1.0 here")
    pol.add_argument("--out-dir", help="keep plan JSON files under DIR/plans/")
    pol.add_argument("--timeout", default="10m", help="per terraform/opa call (default 10m)")

    mig = csub.add_parser(
        "migrations", help="migration patches: schema, and a dry application to the modules' examples"
    )
    common(mig)
    mig.add_argument(
        "--base",
        metavar="REF",
        help="apply the patches to the examples as they are at this git ref (e.g. the previous "
        "release tag) instead of the work tree",
    )

    rep = csub.add_parser("report", help="combine results into a step summary and a sticky PR comment")
    rep.add_argument("results", nargs="+", help="results files or directories of them")
    rep.add_argument("--pr", type=int, help="pull request number to comment on")
    rep.add_argument("--repo", help="owner/name (default: $GITHUB_REPOSITORY)")
    rep.add_argument("--sha", help="commit for file links (default: $GITHUB_SHA)")
    rep.add_argument("--path-prefix", default="", help="catalog path inside the repository, for links")
    rep.add_argument("--template", help="Jinja2 template overriding the bundled one")
    rep.add_argument("--output", help="also write the Markdown here")
    rep.add_argument("--json", action="store_true", help="print the report context as JSON")
    rep.add_argument(
        "--allow-empty",
        action="store_true",
        help="no results files (no module affected) is a success: report 'No modules affected' "
        "and exit 0 instead of 2",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Dispatch to the chosen subcommand; returns the exit status."""
    handler = {
        "affected": _affected,
        "lint": _lint,
        "test": _test,
        "policy": _policy,
        "migrations": _migrations,
        "report": _report,
    }[args.check_command]
    if getattr(args, "results_dir", None):
        _name_results_files(args)
    return handler(args, settings)


_SLUG_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")


def results_stem(results_dir: str, check: str, modules: list[str]) -> str:
    """``DIR/<check>-<slug>``: the slug is the space-joined module list (``all`` when empty) with
    every byte outside ``A-Za-z0-9._-`` replaced by ``_``, so each matrix job's files differ."""
    text = " ".join(modules) or "all"
    slug = "".join(chr(b) if b in _SLUG_BYTES else "_" for b in text.encode("utf-8"))
    return f"{results_dir}/{check}-{slug}"


def _name_results_files(args: argparse.Namespace) -> None:
    """``--results-dir``: create DIR, default ``--results``/``--sarif`` to the files named by
    ``results_stem`` and set the step outputs ``results-file`` (and ``sarif-file`` for lint and
    policy) before the check runs, so they are set even when it fails."""
    stem = results_stem(args.results_dir, args.check_command, args.modules)
    Path(args.results_dir).mkdir(parents=True, exist_ok=True)
    outputs = {"results-file": f"{stem}.json"}
    args.results = args.results or outputs["results-file"]
    if hasattr(args, "sarif"):
        outputs["sarif-file"] = f"{stem}.sarif"
        args.sarif = args.sarif or outputs["sarif-file"]
    gha.set_outputs(outputs)


def _root(args: argparse.Namespace) -> Path:
    root = Path(args.root).resolve()
    if not root.is_dir():
        raise UsageError(f"--root {args.root}: not a directory")
    return root


def _modules(root: Path, args: argparse.Namespace, config: Mapping[str, Any]) -> list[str]:
    """The modules ``lint``/``test``/``policy`` check (``layout.select_modules``); ``config`` is
    the ``checks:`` mapping (``load_config``), whose ``module_patterns`` decide what a module is.

    Raises:
        UsageError: a requested module does not exist.
        CatalogOpsError: the catalog has no module at all (exit 1: an empty catalog is a
            misconfiguration, e.g. a wrong ``--root`` or ``checks.module_patterns``).
    """
    from catalog_ops.catalog.layout import DEFAULT_PATTERNS

    patterns = config.get("module_patterns") or DEFAULT_PATTERNS
    modules = layout.select_modules(root, args.modules, patterns)
    if not modules:
        raise CatalogOpsError(
            f"no modules found under {root} (patterns: {', '.join(patterns)}); "
            "check --root and checks.module_patterns in .catalog-ops.yml"
        )
    return modules


# ---------------------------------------------------------------------------------- affected
def _affected(args: argparse.Namespace, settings: Settings) -> int:
    from catalog_ops.checks.affected import affected_document, changed_paths
    from catalog_ops.toolchain import tool_env, which

    root = _root(args)
    env = tool_env()
    paths = changed_paths(root, args.base, args.head, git=which("git", env), env=env)
    doc = affected_document(root, paths, config=load_config(root), base=args.base, head=args.head)
    gha.set_outputs(
        {
            "modules": json.dumps(doc["modules"]),
            "matrix": json.dumps(doc["matrix"]),
            "count": str(doc["count"]),
            "any": "true" if doc["count"] else "false",
        }
    )
    for err in doc["errors"]:
        print(err, file=sys.stderr)
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        why = {m: "changed" for m in doc["changed"]}
        why.update({m: "uses a changed module" for m in doc["via_dependency"]})
        why.update({m: "examples/tests changed" for m in doc["tests_only"]})
        for m in doc["modules"]:
            print(f"{m}\t{why.get(m, 'shared configuration changed')}")
        if not doc["modules"]:
            print("no module affected" if not doc["unowned_terraform"] else "no known module affected")
    if doc["unowned_terraform"]:
        return 1
    return 0


# ---------------------------------------------------------------------------------- helpers
def path_prefix(args: argparse.Namespace) -> str:
    """Path of the catalog root inside its git repository (``""`` at the top or outside git).

    ``--path-prefix`` wins; else ``git rev-parse --show-prefix`` in ``--root``. Annotations and
    SARIF need repository-relative paths.
    """
    if getattr(args, "path_prefix", None) is not None:
        return str(args.path_prefix).strip("/")
    from catalog_ops.gitutil import show_prefix

    return show_prefix(_root(args))


def _prefixed(findings: list[Finding], prefix: str) -> list[Finding]:
    if not prefix:
        return findings
    return [
        dataclasses.replace(f, path=f"{prefix}/{f.path}" if f.path else f.module and f"{prefix}/{f.module}")
        for f in findings
    ]


def _finish(args: argparse.Namespace, title: str, doc: dict[str, Any], findings: list[Finding]) -> int:
    from catalog_ops.checks.report import check_summary_markdown, print_check_result

    # with --json, stdout is the document; the runner reads workflow commands on stderr too
    annotate_findings(_prefixed(findings, path_prefix(args)), stream=sys.stderr if args.json else None)
    gha.write_summary(check_summary_markdown(title, doc, findings))
    if getattr(args, "results", None):
        write_results(Path(args.results), doc)
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        print_check_result(doc, findings)
    return 0 if doc["status"] == "passed" else 1


def _finish_with_sarif(args: argparse.Namespace, title: str, doc: dict[str, Any]) -> int:
    """``_finish`` for lint/policy documents, writing ``--sarif`` (SARIF 2.1.0) first when asked."""
    from catalog_ops.checks.lint import all_findings
    from catalog_ops.checks.sarif import write_sarif

    findings = all_findings(doc)
    if args.sarif:
        write_sarif(Path(args.sarif), findings, uri_prefix=path_prefix(args))
        doc["artifacts"]["sarif"] = args.sarif
    return _finish(args, title, doc, findings)


# ---------------------------------------------------------------------------------- lint
def _lint(args: argparse.Namespace, settings: Settings) -> int:
    from catalog_ops.checks.lint import LintTools, lint_catalog
    from catalog_ops.toolchain import tf_cli, tool_env, which

    root = _root(args)
    modules = _modules(root, args, load_config(root))
    env = tool_env()
    tools = LintTools(tf=tf_cli(settings.tf_binary, env), tflint=which("tflint", env))
    doc = lint_catalog(root, modules, tools=tools, env=env, jobs=args.jobs)
    return _finish_with_sarif(args, "Lint", doc)


# ---------------------------------------------------------------------------------- migrations
def _migrations(args: argparse.Namespace, settings: Settings) -> int:
    from catalog_ops.catalog.layout import DEFAULT_PATTERNS, discover_modules
    from catalog_ops.checks.lint import all_findings
    from catalog_ops.checks.migrations import check_migrations

    root = _root(args)
    config = load_config(root)
    modules = _modules(root, args, config)
    every = discover_modules(root, config.get("module_patterns") or DEFAULT_PATTERNS)
    doc = check_migrations(root, modules, base=args.base, all_modules=every)
    return _finish(args, "Migration patches", doc, all_findings(doc))


# ---------------------------------------------------------------------------------- test
def _test(args: argparse.Namespace, settings: Settings) -> int:
    from catalog_ops.checks.terratest import test_catalog
    from catalog_ops.toolchain import tf_cli, tool_env, which

    root = _root(args)
    config = load_config(root)
    modules = _modules(root, args, config)
    timeout = parse_duration(args.timeout)
    env = tool_env()
    env["TERRATEST_TERRAFORM_BINARY"] = str(tf_cli(settings.tf_binary, env))
    env.setdefault("TF_IN_AUTOMATION", "1")
    if env.get("TF_CLI_CONFIG_FILE") and not Path(env["TF_CLI_CONFIG_FILE"]).is_file():
        del env["TF_CLI_CONFIG_FILE"]  # the CLI would warn about it on every call
    doc = test_catalog(
        root,
        modules,
        config=config,
        go=which("go", env),
        env=env,
        out_dir=Path(args.out_dir).resolve(),
        timeout=timeout,
        parallel=args.parallel,
    )
    findings: list[Finding] = []
    for m, e in doc["modules"].items():
        for t in e.get("tests", []):
            if t["status"] in ("failed", "timeout", "missing"):
                findings.append(
                    Finding(
                        tool="go-test",
                        rule=t["status"],
                        level="error",
                        message=f"{t['name']} {t['status']} ({t['duration']:.1f}s); log: {t.get('log') or 'n/a'}",
                        module=m,
                    )
                )
    for msg in doc.get("messages", []):
        if doc["status"] == "failed":
            gha.annotate(
                "error", msg, title="catalog-ops check test", stream=sys.stderr if args.json else None
            )
    return _finish(args, "Terratest", doc, findings)


# ---------------------------------------------------------------------------------- policy
def _policy(args: argparse.Namespace, settings: Settings) -> int:
    from catalog_ops.checks.policy import PolicyTools, policy_catalog
    from catalog_ops.toolchain import tf_cli, tool_env, which

    root = _root(args)
    config = load_config(root)
    modules = _modules(root, args, config)
    env = tool_env()
    tools = PolicyTools(tf=tf_cli(settings.tf_binary, env), opa=which("opa", env))
    for d in args.policy:
        if not Path(d).is_dir():
            raise UsageError(f"--policy {d}: not a directory")
    doc = policy_catalog(
        root,
        modules,
        config=config,
        tools=tools,
        env=env,
        extra_policy_dirs=[Path(d) for d in args.policy],
        allowed_ports=_ports(args.allowed_ports) if args.allowed_ports else None,
        timeout=parse_duration(args.timeout),
        out_dir=Path(args.out_dir) if args.out_dir else None,
        bundled=not args.no_bundled,
    )
    return _finish_with_sarif(args, "Policy", doc)


# ---------------------------------------------------------------------------------- report
def _report(args: argparse.Namespace, settings: Settings) -> int:
    from catalog_ops.checks.report import (
        MARKER,
        Links,
        build_context,
        empty_report,
        load_results,
        render_report,
    )

    paths = [Path(p) for p in args.results]
    if args.allow_empty:  # a results directory nothing was downloaded into may not exist
        paths = [p for p in paths if p.exists()]
    docs = load_results(paths)
    if not docs and not args.allow_empty:
        raise UsageError(
            "no results files found in "
            + ", ".join(args.results)
            + " (use --allow-empty when no module is affected)"
        )
    links = Links.from_env(os.environ, repo=args.repo, sha=args.sha, prefix=args.path_prefix)
    if docs:
        context = build_context(docs, links)
        text = render_report(context, Path(args.template) if args.template else None)
    else:
        context = build_context([], links)  # overall: "skipped"
        text = empty_report()
    gha.write_summary(text)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    if args.pr is not None:
        _comment(args, settings, text, MARKER)
    if args.json:
        print(json.dumps({k: v for k, v in context.items() if k != "icons"}, indent=2))
    elif not args.output or args.pr is None:
        print(text, end="")
    return 0 if context["overall"] != "failed" else 1


def _comment(args: argparse.Namespace, settings: Settings, text: str, marker: str) -> None:
    """Create/update the sticky PR comment; a read-only token only skips it (with a warning).

    Pull requests from forks get a read-only ``GITHUB_TOKEN`` (GitHub docs: "Permissions for the
    GITHUB_TOKEN"), so ``PermissionDenied`` (HTTP 403) from the forge is a ``::warning::``, not a
    failed job; the step summary was already written and the exit status stays the checks' result.
    An invalid or expired token (HTTP 401, ``AuthError``) is a configuration error, not a fork:
    it fails the run (exit 3).

    Raises:
        UsageError: no repository given.
        AuthError: the token is invalid (exit 3).
        ForgeError: any other forge failure (e.g. ``NotFound`` for an unknown PR, exit 3).
    """
    from catalog_ops.errors import PermissionDenied
    from catalog_ops.forge import make_forge

    repo = args.repo or os.environ.get("GITHUB_REPOSITORY")
    if not repo:
        raise UsageError("--pr needs --repo owner/name (or $GITHUB_REPOSITORY)")
    try:
        comment = make_forge(settings).upsert_comment(repo, args.pr, marker=marker, body=text)
    except PermissionDenied as exc:
        msg = (
            f"PR comment on {repo}#{args.pr} skipped: the token cannot write pull-request comments "
            f"(fork pull request or read-only token): {exc}. The report is in the step summary."
        )
        if os.environ.get("GITHUB_ACTIONS") == "true":
            gha.annotate(
                "warning", msg, title="catalog-ops check report", stream=sys.stderr if args.json else None
            )
        else:
            print(f"warning: {msg}", file=sys.stderr)
        return
    print(f"comment: {comment.url}", file=sys.stderr)
