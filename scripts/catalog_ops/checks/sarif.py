"""SARIF 2.1.0 output for code scanning upload (``github/codeql-action/upload-sarif``).

Follows the OASIS SARIF 2.1.0 schema and GitHub's "SARIF support for code scanning" page:
one ``run`` per tool, ``tool.driver.rules`` listing every rule id used, results with
``ruleId``, ``level``, ``message.text`` and a ``physicalLocation`` whose ``artifactLocation.uri``
is relative to the repository root (``uriBaseId: %SRCROOT%``) and whose region lines/columns are
1-based. A finding without a file is attached to the module directory's path (GitHub requires a
location for every result).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from catalog_ops import __version__
from catalog_ops.checks.results import Finding

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVELS = {"error": "error", "warning": "warning", "note": "note", "notice": "note"}


def _result(f: Finding, prefix: str) -> dict[str, Any]:
    uri = f.path or (f.module or ".")
    uri = (prefix.rstrip("/") + "/" + uri) if prefix else uri
    region: dict[str, int] = {"startLine": f.line or 1}
    if f.col:
        region["startColumn"] = f.col
    if f.end_line:
        region["endLine"] = f.end_line
    fingerprint = hashlib.sha256(f"{f.rule}\0{uri}\0{f.message}".encode()).hexdigest()
    return {
        "ruleId": f.rule,
        "level": _LEVELS.get(f.level, "warning"),
        "message": {"text": f.message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"},
                    "region": region,
                }
            }
        ],
        "partialFingerprints": {"catalogOps/v1": fingerprint},
    }


def build_sarif(findings: Sequence[Finding], *, uri_prefix: str = "") -> dict[str, Any]:
    """A SARIF 2.1.0 log with one run per tool in ``findings`` (an empty run when none).

    Args:
        findings: findings with catalog-relative paths.
        uri_prefix: path of the catalog inside the repository (``""`` when it is the repo root),
            prepended to every artifact URI.
    """
    by_tool: dict[str, list[Finding]] = {}
    for f in findings:
        by_tool.setdefault(f.tool, []).append(f)
    if not by_tool:
        by_tool["catalog-ops"] = []
    runs = []
    for tool, items in sorted(by_tool.items()):
        rules: dict[str, dict[str, Any]] = {}
        for f in items:
            rule = rules.setdefault(f.rule, {"id": f.rule, "shortDescription": {"text": f.rule}})
            if f.help_uri:
                rule["helpUri"] = f.help_uri
        runs.append(
            {
                "tool": {
                    "driver": {
                        "name": tool,
                        "informationUri": "https://github.com/acme/catalog-ops",
                        "version": __version__,
                        "rules": [rules[k] for k in sorted(rules)],
                    }
                },
                "results": [_result(f, uri_prefix) for f in items],
            }
        )
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": runs}


def write_sarif(path: Path, findings: Sequence[Finding], *, uri_prefix: str = "") -> None:
    """Write ``build_sarif(findings)`` to ``path`` (parents created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(build_sarif(findings, uri_prefix=uri_prefix), indent=2) + "\n", encoding="utf-8"
    )
