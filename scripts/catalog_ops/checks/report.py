"""``check report``: one Markdown report (step summary + sticky PR comment) from results files.

Inputs are the results documents written by ``check lint|test|policy --results FILE`` (see
``catalog_ops.checks.results``). The report is rendered with the Jinja2 template
``templates/check_report.md.j2`` (or a user's ``--template``), starts with the HTML-comment
``MARKER`` so ``Forge.upsert_comment`` updates the same PR comment on every push, and links each
finding to ``{server}/{repo}/blob/{sha}/{path}#L{line}`` and each test log to the workflow run.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2

from catalog_ops.checks.results import Finding
from catalog_ops.errors import ConfigError
from catalog_ops.render.markdown import code_cell, md_cell, md_text
from catalog_ops.render.templates import BUNDLED_DIR, CHECK_REPORT, Overrides, environment

MARKER = "<!-- catalog-ops:check-report -->"
CHECK_ORDER = ("lint", "test", "policy")
ICONS = {
    "passed": "✅",
    "failed": "❌",
    "skipped": "⚪",
    "timeout": "⏱️",
    "missing": "❓",
    "error": "❌",
    "warning": "⚠️",
    "note": "ℹ️",
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Links:
    """Where links point: ``server`` (``https://github.com``), ``repo`` (``owner/name``), ``sha``,
    ``run_id``, and ``prefix`` (path of the catalog inside the repository, ``""`` at the root)."""

    server: str = ""
    repo: str = ""
    sha: str = ""
    run_id: str = ""
    prefix: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str], **overrides: str | None) -> Links:
        """From ``GITHUB_SERVER_URL``, ``GITHUB_REPOSITORY``, ``GITHUB_SHA``, ``GITHUB_RUN_ID``."""
        values = {
            "server": env.get("GITHUB_SERVER_URL", ""),
            "repo": env.get("GITHUB_REPOSITORY", ""),
            "sha": env.get("GITHUB_SHA", ""),
            "run_id": env.get("GITHUB_RUN_ID", ""),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def file(self, path: str | None, line: int | None = None) -> str | None:
        """Blob link for a catalog-relative path (None when server/repo/sha are unknown)."""
        if not (self.server and self.repo and self.sha and path):
            return None
        full = f"{self.prefix.strip('/')}/{path}" if self.prefix.strip("/") else path
        anchor = f"#L{line}" if line else ""
        return f"{self.server.rstrip('/')}/{self.repo}/blob/{self.sha}/{full}{anchor}"

    def run(self) -> str | None:
        """Workflow run link (logs and uploaded artifacts)."""
        if not (self.server and self.repo and self.run_id):
            return None
        return f"{self.server.rstrip('/')}/{self.repo}/actions/runs/{self.run_id}"


def load_results(paths: Sequence[Path]) -> list[dict[str, Any]]:
    """Read results files; a directory contributes every ``*.json`` under it (recursively, sorted).

    Raises:
        ConfigError: a file is not JSON or not a results document (``path:line:col: ...``).
    """
    files: list[Path] = []
    for p in paths:
        files.extend(sorted(p.glob("**/*.json")) if p.is_dir() else [p])
    docs = []
    for f in files:
        try:
            doc = json.loads(f.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"{f}: cannot read: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{f}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
        if isinstance(doc, dict) and "check" in doc and "modules" in doc:
            docs.append(doc)
        elif f in paths:  # named explicitly; non-results JSON found in a directory is skipped
            raise ConfigError(f"{f}:1:1: not a catalog-ops results file (no 'check'/'modules' keys)")
    return docs


_RANK = {"failed": 3, "timeout": 3, "error": 3, "passed": 1, "skipped": 0}


def _merge_cell(a: dict[str, Any] | None, b: dict[str, Any]) -> dict[str, Any]:
    if a is None:
        return b
    status = a["status"] if _RANK.get(a["status"], 0) >= _RANK.get(b["status"], 0) else b["status"]
    return {"status": status, "summary": "; ".join(s for s in (a["summary"], b["summary"]) if s)}


def build_context(docs: Sequence[Mapping[str, Any]], links: Links, *, max_items: int = 30) -> dict[str, Any]:
    """Template context: ``modules`` (rows with per-check cells and problem lists), ``checks``,
    ``overall``, ``messages``, ``run_url``, ``marker``, ``icons``, ``max_items``."""
    checks = [c for c in CHECK_ORDER if any(d["check"] == c for d in docs)]
    checks += sorted({d["check"] for d in docs} - set(checks))
    rows: dict[str, dict[str, Any]] = {}
    messages: list[str] = []
    run_url = links.run()
    for doc in docs:
        check = doc["check"]
        messages += [f"{check}: {m}" for m in doc.get("messages", [])]
        for name, entry in doc.get("modules", {}).items():
            row = rows.setdefault(name, {"name": name, "link": links.file(name), "cells": {}, "problems": []})
            status = entry.get("status", "skipped")
            row["cells"][check] = _merge_cell(
                row["cells"].get(check), {"status": status, "summary": entry.get("summary", "")}
            )
            for f in entry.get("findings", []):
                where = ":".join(str(x) for x in (f.get("path"), f.get("line")) if x)
                row["problems"].append(
                    {
                        "check": check,
                        "status": f.get("level", "error"),
                        "where": where,
                        "link": links.file(f.get("path"), f.get("line")),
                        "message": f"{f.get('message', '')} [{f.get('rule', '')}]",
                        "log": None,
                    }
                )
            for t in entry.get("tests", []):
                if t.get("status") in ("failed", "timeout", "missing"):
                    row["problems"].append(
                        {
                            "check": check,
                            "status": t["status"],
                            "where": t["name"],
                            "link": None,
                            "message": f"{t['name']} {t['status']} after {t.get('duration', 0):.1f}s",
                            "log": run_url,
                        }
                    )
    modules = []
    for name in sorted(rows):
        row = rows[name]
        row["failed"] = any(c["status"] in ("failed", "timeout") for c in row["cells"].values())
        modules.append(row)
    statuses = [d.get("status", "passed") for d in docs]
    overall = "failed" if "failed" in statuses else ("passed" if statuses else "skipped")
    return {
        "marker": MARKER,
        "overall": overall,
        "checks": checks,
        "modules": modules,
        "messages": messages,
        "run_url": run_url,
        "artifacts": [],
        "icons": ICONS,
        "max_items": max_items,
    }


def render_report(context: Mapping[str, Any], template: Path | None = None) -> str:
    """Render the report Markdown. ``template``: a user's Jinja2 file (default: the bundled one).

    Raises:
        ConfigError: the template cannot be read or has a syntax error (``path:line: message``).
    """
    overrides = Overrides.file(CHECK_REPORT, template)
    path = template or BUNDLED_DIR / CHECK_REPORT
    try:
        text = environment(overrides).get_template(CHECK_REPORT).render(**context)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read template: {exc.strerror}") from None
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: template error: {exc.message}") from None
    except jinja2.UndefinedError as exc:
        raise ConfigError(f"{path}: template error: {exc.message}") from None
    if MARKER not in text:
        text = f"{MARKER}\n{text}"
    return text.rstrip() + "\n"


NO_MODULES = "No modules affected by this change"


def empty_report() -> str:
    """The report when no results file exists (``check report --allow-empty``)."""
    return f"{MARKER}\n## {NO_MODULES}\n\nNo module, example or test changed; lint, test and policy did not run.\n"


# ------------------------------------------------------------ one check's step summary / terminal
def check_summary_markdown(title: str, doc: dict[str, Any], findings: list[Finding], limit: int = 200) -> str:
    """Step-summary Markdown of one ``lint``/``test``/``policy`` results document: a status
    table per module, then up to ``limit`` findings, then the document's messages."""
    icon = {"passed": "✅", "failed": "❌", "skipped": "⚪"}
    lines = [
        f"### {icon.get(doc['status'], '')} {title}: {doc['status']}",
        "",
        "| module | status | summary |",
        "|---|---|---|",
    ]
    for m, e in doc["modules"].items():
        lines.append(
            f"| {code_cell(m)} | {icon.get(e['status'], '')} {e['status']} | {md_cell(e.get('summary', ''))} |"
        )
    if findings:
        lines += ["", "| location | level | tool | rule | message |", "|---|---|---|---|---|"]
        for f in findings[:limit]:
            msg = md_cell(f.message)
            lines.append(
                f"| {code_cell(f.location())} | {f.level} | {md_cell(f.tool)} | {md_cell(f.rule)} | {msg} |"
            )
        if len(findings) > limit:
            lines.append(f"| … | | | | {len(findings) - limit} more |")
    for m in doc.get("messages", []):
        lines += ["", f"> {md_text(m)}"]
    return "\n".join(lines) + "\n"


def print_check_result(doc: dict[str, Any], findings: list[Finding]) -> None:
    """The terminal form of a results document: findings and module statuses on stdout,
    messages as ``note:`` lines on stderr."""
    for f in findings:
        print(f"{f.location()}: {f.level}: {f.message} [{f.tool}/{f.rule}]")
    for m, e in doc["modules"].items():
        print(f"{e['status']:8} {m}  {e.get('summary', '')}")
        for t in e.get("tests", []):
            print(f"         {t['status']:8} {t['name']} ({t['duration']:.1f}s)")
    for msg in doc.get("messages", []):
        print(f"note: {msg}", file=sys.stderr)
