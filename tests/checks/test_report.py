"""`catalog-ops check report`: Markdown step summary and one sticky PR comment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from catalog_ops.checks.report import MARKER, Links, build_context, render_report
from catalog_ops.forge import FileChange
from catalog_ops.forge.local import LocalForge

LINT = {
    "schema": 1,
    "check": "lint",
    "status": "failed",
    "findings": [],
    "artifacts": {},
    "messages": [],
    "modules": {
        "modules/naming": {"status": "passed", "summary": "no findings", "findings": []},
        "modules/network": {
            "status": "failed",
            "summary": "1 finding",
            "findings": [
                {
                    "tool": "terraform-validate",
                    "rule": "validate",
                    "level": "error",
                    "message": "Unclosed configuration block",
                    "path": "modules/network/broken.tf",
                    "line": 1,
                    "col": 36,
                    "module": "modules/network",
                },
            ],
        },
    },
}
TEST = {
    "schema": 1,
    "check": "test",
    "status": "failed",
    "findings": [],
    "artifacts": {},
    "messages": ["go test timed out after 4s; still running: TestNetwork"],
    "modules": {
        "modules/naming": {
            "status": "passed",
            "summary": "1 passed",
            "tests": [{"name": "TestNaming", "status": "passed", "duration": 1.5, "log": "x"}],
        },
        "modules/network": {
            "status": "failed",
            "summary": "1 timeout",
            "tests": [{"name": "TestNetwork", "status": "timeout", "duration": 4.0, "log": "y"}],
        },
    },
}
POLICY = {
    "schema": 1,
    "check": "policy",
    "status": "passed",
    "findings": [],
    "artifacts": {},
    "messages": [],
    "modules": {
        "modules/naming": {"status": "passed", "summary": "1 example(s) compliant", "findings": []},
        "modules/network": {"status": "passed", "summary": "1 example(s) compliant", "findings": []},
    },
}


@pytest.fixture
def results_dir(tmp_path: Path) -> Path:
    d = tmp_path / "results"
    d.mkdir()
    for name, doc in (("lint", LINT), ("test", TEST), ("policy", POLICY)):
        (d / f"{name}.json").write_text(json.dumps(doc))
    (d / "other.json").write_text('{"unrelated": true}')  # ignored when found by directory scan
    return d


def test_render_per_module_with_links():
    links = Links(server="https://github.com", repo="acme/infrastructure-modules", sha="abc123", run_id="77")
    text = render_report(build_context([LINT, TEST, POLICY], links))
    assert text.startswith(MARKER + "\n## ❌ Catalog checks: failed")
    assert "| module | lint | test | policy | " in text
    assert (
        "| [`modules/naming`](https://github.com/acme/infrastructure-modules/blob/abc123/modules/naming) | ✅ no findings | ✅ 1 passed | ✅ 1 example(s) compliant | "
        in text
    )
    assert (
        "| [`modules/network`](https://github.com/acme/infrastructure-modules/blob/abc123/modules/network) | ❌ 1 finding | ❌ 1 timeout | ✅ 1 example(s) compliant | "
        in text
    )
    assert "<details open><summary><b>modules/network</b>: 2 items</summary>" in text
    assert (
        "- ❌ **lint** [`modules/network/broken.tf:1`](https://github.com/acme/infrastructure-modules/blob/abc123/modules/network/broken.tf#L1): Unclosed configuration block [validate]"
        in text
    )
    assert (
        "- ⏱️ **test** `TestNetwork`: TestNetwork timeout after 4.0s ([log](https://github.com/acme/infrastructure-modules/actions/runs/77))"
        in text
    )
    assert "- test: go test timed out after 4s; still running: TestNetwork" in text
    assert "modules/naming</b>" not in text  # nothing to list for a clean module


def test_cli_sticky_comment_updated_in_place(results_dir: Path, run_check, tmp_path: Path):
    forge = LocalForge(tmp_path / "forge", checks_command="true")
    repo = "acme/infrastructure-modules"
    forge.create_repo(repo, files={"README.md": "x\n"})
    base = forge.branch_sha(repo, "main")
    assert base
    forge.commit_files(
        repo, "feature", parent_sha=base, message="feat: x", changes=[FileChange("a.txt", b"a\n")]
    )
    pr = forge.open_pull(repo, head="feature", base="main", title="feat: x", body="")
    argv = [
        "--local-root",
        str(tmp_path / "forge"),
        "check",
        "report",
        str(results_dir),
        "--pr",
        str(pr.number),
        "--repo",
        repo,
        "--sha",
        "abc",
    ]
    first = run_check(argv, env={"GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "9"})
    assert first.code == 1  # a check failed
    assert MARKER in first.summary and "❌ Catalog checks: failed" in first.summary
    (results_dir / "lint.json").write_text(
        json.dumps(
            {
                **LINT,
                "status": "passed",
                "modules": {
                    m: {"status": "passed", "summary": "no findings", "findings": []} for m in LINT["modules"]
                },
            }
        )
    )
    (results_dir / "test.json").write_text(
        json.dumps(
            {
                **TEST,
                "status": "passed",
                "messages": [],
                "modules": {"modules/naming": TEST["modules"]["modules/naming"]},
            }
        )
    )
    second = run_check(argv)
    assert second.code == 0
    comments = forge.list_comments(repo, pr.number)
    assert len(comments) == 1
    assert comments[0].body.startswith(MARKER) and "✅ Catalog checks: passed" in comments[0].body
    assert (
        "/blob/abc/modules/network) | ✅ no findings | – | ✅ 1 example(s) compliant | " in comments[0].body
    )


def test_bad_results_file_and_custom_template(tmp_path: Path, run_check):
    bad = tmp_path / "bad.json"
    bad.write_text('{"check": "lint",\n  oops}')
    run = run_check(["check", "report", str(bad)])
    assert run.code == 2 and f"{bad}:2:3: invalid JSON" in run.err
    good = tmp_path / "policy.json"
    good.write_text(json.dumps(POLICY))
    tpl = tmp_path / "t.md.j2"
    tpl.write_text("{% for m in modules %}{{ m.name }}={{ m.cells.policy.status }}\n{% endfor %}")
    out = tmp_path / "report.md"
    run = run_check(["check", "report", str(good), "--template", str(tpl), "--output", str(out)])
    assert run.code == 0
    assert out.read_text() == f"{MARKER}\nmodules/naming=passed\nmodules/network=passed\n"
    tpl.write_text("{% for m in modules %}")
    run = run_check(["check", "report", str(good), "--template", str(tpl)])
    assert run.code == 2 and f"{tpl}:1: template error" in run.err


def test_report_markdown_is_not_html_escaped(tmp_path: Path, run_check):
    doc = json.loads(json.dumps(LINT))
    finding = doc["modules"]["modules/network"]["findings"][0]
    finding["message"] = 'Unsupported argument: An argument named "cidr" & <details> is not expected'
    doc["modules"]["modules/network"]["summary"] = "1 finding | see below"
    doc["messages"] = ['plugin "aws" isn\'t installed']
    results = tmp_path / "lint.json"
    results.write_text(json.dumps(doc))
    out = tmp_path / "report.md"
    run = run_check(["check", "report", str(results), "--output", str(out)])
    assert run.code == 1
    text = out.read_text(encoding="utf-8")
    assert "&#34;" not in text and "&#39;" not in text and "&amp;" not in text
    assert 'An argument named "cidr" & &lt;details> is not expected [validate]' in text
    assert "❌ 1 finding \\| see below |" in text
    assert '- lint: plugin "aws" isn\'t installed' in text
    assert run.summary == text


def test_cli_no_results_allow_empty_reports_no_modules_affected(tmp_path: Path, run_check):
    """module-ci's Report job on a README-only PR: no results files at all."""
    empty = tmp_path / "catalog-ops-results"
    empty.mkdir()
    strict = run_check(["check", "report", str(empty)])
    assert strict.code == 2 and "--allow-empty" in strict.err
    out = tmp_path / "report.md"
    run = run_check(["check", "report", str(empty), "--allow-empty", "--output", str(out)])
    assert run.code == 0
    assert run.summary.startswith(MARKER) and "No modules affected by this change" in run.summary
    assert out.read_text(encoding="utf-8") == run.summary


def test_cli_no_results_allow_empty_updates_sticky_comment(tmp_path: Path, run_check):
    forge = LocalForge(tmp_path / "forge", checks_command="true")
    repo = "acme/infrastructure-modules"
    forge.create_repo(repo, files={"README.md": "x\n"})
    base = forge.branch_sha(repo, "main")
    assert base
    forge.commit_files(
        repo, "docs", parent_sha=base, message="docs: x", changes=[FileChange("README.md", b"y\n")]
    )
    pr = forge.open_pull(repo, head="docs", base="main", title="docs: x", body="")
    empty = tmp_path / "results"
    empty.mkdir()
    argv = ["--local-root", str(tmp_path / "forge"), "check", "report", str(empty), "--allow-empty"]
    run = run_check([*argv, "--pr", str(pr.number), "--repo", repo])
    assert run.code == 0
    (comment,) = forge.list_comments(repo, pr.number)
    assert comment.body.startswith(MARKER) and "No modules affected by this change" in comment.body


def test_cli_read_only_token_skips_comment_with_warning(
    tmp_path: Path, run_check, github_emulator, github_forge
):
    """Fork PRs get a read-only GITHUB_TOKEN: the comment is skipped, the job keeps the checks' result."""
    repo = "acme/infrastructure-modules"
    github_emulator.create_repo(repo, files={"README.md": "x\n"})
    base = github_forge.branch_sha(repo, "main")
    assert base
    github_forge.commit_files(
        repo, "feature", parent_sha=base, message="feat: x", changes=[FileChange("a.txt", b"a\n")]
    )
    pr = github_forge.open_pull(repo, head="feature", base="main", title="feat: x", body="")
    github_emulator.add_token("ghs_forkreadonly", login="github-actions[bot]", read_only=True)
    results = tmp_path / "results"
    results.mkdir()
    (results / "policy.json").write_text(json.dumps(POLICY))
    argv = [
        "--forge",
        "github",
        "--github-api-url",
        github_emulator.api_url,
        "check",
        "report",
        str(results),
        "--pr",
        str(pr.number),
        "--repo",
        repo,
    ]
    env = {"GITHUB_TOKEN": "ghs_forkreadonly", "CATALOG_OPS_WRITE_INTERVAL": "0"}
    run = run_check(argv, env=env)
    assert run.code == 0, run.err
    assert "::warning" in run.out + run.err and "comment" in run.out + run.err
    assert "fork pull request or read-only token" in run.out + run.err
    assert "ghs_forkreadonly" not in run.out + run.err
    assert "✅ Catalog checks: passed" in run.summary
    assert github_emulator.comments(repo, pr.number) == []
    (results / "lint.json").write_text(json.dumps(LINT))
    failed = run_check(argv, env=env)
    assert failed.code == 1  # the checks' result, not the forge error's 3
    unknown = run_check(
        [*argv[:-4], "--pr", "999", "--repo", repo], env={"GITHUB_TOKEN": github_emulator.token}
    )
    assert unknown.code == 3
