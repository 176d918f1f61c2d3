"""The reusable workflows, run for real with act against the GitHub emulator and local git repos.

module-ci on a PR with one failing module (and a fixing push), release by dispatch, rollout from a
release to three dependents, and the nightly dependency sweep with its dashboard.

act runs in host mode (``-P ubuntu-latest=-self-hosted``), offline: our actions and workflows
(``acme/catalog-ops@v1``) come from this working tree, third-party actions from local stand-ins
(``--local-repository``), and ``github.api_url`` points at the emulator. Each test asserts what the
workflow produced on the forge (comments, tags, releases, PRs) and in the step summaries, not only
act's exit code.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from catalog_ops.core.metadata import parse_release_metadata
from fixtures.workflows import REPO, ActWorld

pytestmark = pytest.mark.slow

CATALOG = "acme/catalog"
EXAMPLE_CATALOG = REPO / "examples" / "catalog"


def _git(cwd: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "Dev",
        "GIT_AUTHOR_EMAIL": "dev@example.com",
        "GIT_COMMITTER_NAME": "Dev",
        "GIT_COMMITTER_EMAIL": "dev@example.com",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "PATH": "/usr/local/bin:/usr/bin:/bin",
    }
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def _clone(emulator: Any, full_name: str, dest: Path) -> Path:
    """Clone an emulator repository and point ``origin`` at github.com so act names the repository."""
    _git(dest.parent, "clone", "-q", emulator.state.clone_url(emulator.repo(full_name)), dest.name)
    _git(dest, "remote", "add", "emulator", emulator.state.clone_url(emulator.repo(full_name)))
    _git(dest, "remote", "set-url", "origin", f"https://github.com/{full_name}.git")
    return dest


def _api(emulator: Any, method: str, path: str, **kwargs: Any) -> Any:
    resp = requests.request(
        method,
        f"{emulator.api_url}{path}",
        headers={"Authorization": f"token {emulator.token}", "Accept": "application/vnd.github+json"},
        timeout=30,
        **kwargs,
    )
    assert resp.status_code < 300, f"{method} {path}: {resp.status_code} {resp.text}"
    return resp.json()


def _caller(repo_dir: Path, name: str, text: str) -> Path:
    path = repo_dir / ".github" / "workflows" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_module_ci_on_a_pull_request_with_one_failing_module(
    act_world: ActWorld, github_emulator: Any, tmp_path: Path
) -> None:
    github_emulator.create_repo(CATALOG, source_dir=EXAMPLE_CATALOG)
    work = _clone(github_emulator, CATALOG, tmp_path / "catalog")
    base = _git(work, "rev-parse", "HEAD")
    _git(work, "checkout", "-q", "-b", "feature")
    # naming changes (fine; service uses it, so it is affected too); network gets a syntax error.
    outputs = work / "modules" / "naming" / "outputs.tf"
    outputs.write_text(outputs.read_text() + "\n# documented\n")
    (work / "modules" / "network" / "broken.tf").write_text('resource "terraform_data" {\n')
    _git(work, "add", "-A")
    _git(work, "commit", "-q", "-m", "fix: tweak naming, break network")
    head = _git(work, "rev-parse", "HEAD")
    _git(work, "push", "-q", "emulator", "feature")
    pr = _api(
        github_emulator,
        "POST",
        f"/repos/{CATALOG}/pulls",
        json={"title": "t", "head": "feature", "base": "main"},
    )
    caller = _caller(
        work,
        "pr.yml",
        """\
name: Catalog PR checks
on:
  pull_request:
permissions: {}
jobs:
  checks:
    permissions:
      contents: read
      pull-requests: write
    uses: acme/catalog-ops/.github/workflows/module-ci.yml@v1
    with:
      run-tests: false
      go-version: ""
""",
    )
    payload = {
        "pull_request": {
            "number": pr["number"],
            "base": {"sha": base, "ref": "main"},
            "head": {"sha": head, "ref": "feature"},
        },
        "repository": {"full_name": CATALOG, "name": "catalog", "owner": {"login": "acme"}},
    }
    result = act_world.run(
        "pull_request",
        caller,
        work,
        payload,
        env={"GITHUB_API_URL": github_emulator.api_url},
        secrets={"GITHUB_TOKEN": github_emulator.token},
    )
    assert result.returncode != 0, "the failing module must fail the workflow"

    # lint: network fails (annotated syntax error), naming and service pass
    lint = {m["module"]: r for job, m, r in result.step_results("catalog-ops check lint") if "module" in m}
    assert lint == {
        "modules/naming": "success",
        "modules/network": "failure",
        "modules/service": "success",
    }, result.explain()
    lint_summaries = "\n".join(result.summaries("Lint"))
    assert "❌ Lint: failed" in lint_summaries and "✅ Lint: passed" in lint_summaries
    assert "modules/network/broken.tf" in lint_summaries

    # one sticky report comment on the PR, naming every affected module
    comments = github_emulator.comments(CATALOG, pr["number"])
    assert len(comments) == 1, result.explain()
    body, first_id = comments[0]["body"], comments[0]["id"]
    assert "catalog-ops:check-report" in body
    for module in ("modules/naming", "modules/network", "modules/service"):
        assert module in body
    report = "\n".join(result.summaries("Report"))
    assert "modules/network" in report

    # a fixing push: the same comment is updated in place and everything passes
    (work / "modules" / "network" / "broken.tf").unlink()
    _git(work, "add", "-A")
    _git(work, "commit", "-q", "-m", "fix: repair network")
    payload["pull_request"]["head"]["sha"] = _git(work, "rev-parse", "HEAD")
    _git(work, "push", "-q", "emulator", "feature")
    result = act_world.run(
        "pull_request",
        caller,
        work,
        payload,
        env={"GITHUB_API_URL": github_emulator.api_url},
        secrets={"GITHUB_TOKEN": github_emulator.token},
    )
    assert result.returncode == 0, result.explain()
    comments = github_emulator.comments(CATALOG, pr["number"])
    assert len(comments) == 1, "the report comment must be updated in place, not added again"
    assert comments[0]["id"] == first_id
    assert comments[0]["body"] != body and "❌" not in comments[0]["body"]


def test_release_by_dispatch_creates_tag_release_and_metadata(
    act_world: ActWorld, github_emulator: Any, tmp_path: Path
) -> None:
    github_emulator.create_repo(CATALOG, source_dir=EXAMPLE_CATALOG)
    work = _clone(github_emulator, CATALOG, tmp_path / "catalog")
    _git(work, "tag", "-a", "v1.0.0", "-m", "v1.0.0")
    outputs = work / "modules" / "network" / "outputs.tf"
    outputs.write_text(outputs.read_text() + "\n# cidr documented\n")
    _git(work, "add", "-A")
    _git(work, "commit", "-q", "-m", "feat(network): document the CIDR output")
    head = _git(work, "rev-parse", "HEAD")
    _git(work, "push", "-q", "emulator", "main", "v1.0.0")
    caller = _caller(
        work, "catalog-release.yml", (REPO / "examples" / "workflows" / "catalog-release.yml").read_text()
    )
    payload = {
        "inputs": {"bump": "auto", "prerelease": "", "urgency": "security", "dry-run": False},
        "repository": {
            "full_name": CATALOG,
            "name": "catalog",
            "owner": {"login": "acme"},
            "default_branch": "main",
        },
    }
    result = act_world.run(
        "workflow_dispatch",
        caller,
        work,
        payload,
        env={"GITHUB_API_URL": github_emulator.api_url},
        secrets={"GITHUB_TOKEN": github_emulator.token},
    )
    assert result.returncode == 0, result.explain()

    tags = {t["name"]: t for t in _api(github_emulator, "GET", f"/repos/{CATALOG}/tags")}
    assert set(tags) == {"v1.0.0", "v1.1.0"}
    assert tags["v1.1.0"]["commit"]["sha"] == head
    releases = _api(github_emulator, "GET", f"/repos/{CATALOG}/releases")
    assert [r["tag_name"] for r in releases] == ["v1.1.0"]
    meta = parse_release_metadata(releases[0]["body"])
    assert meta is not None
    assert (meta.version, meta.tag, meta.previous, meta.urgency) == ("1.1.0", "v1.1.0", "v1.0.0", "security")
    assert "modules/network" in meta.modules and meta.modules["modules/network"].changed
    summary = "\n".join(result.summaries("Release"))
    assert "v1.1.0" in summary and "modules/network" in summary


DEPENDENTS = {
    "acme/app-one": (
        "main.tf",
        'module "network" {\n  source = "git::https://github.com/acme/catalog.git//modules/network?ref=v1.0.0"\n}\n',
    ),
    "acme/app-two": (
        "infra/main.tf",
        'module "net" {\n  source = "git::ssh://git@github.com/acme/catalog.git//modules/network?ref=v1.0.0"\n}\n',
    ),
    "acme/app-three": (
        "stack/network.tf",
        'module "network" {\n  source = "github.com/acme/catalog//modules/network?ref=v1.0.0"\n  cidr   = "10.0.0.0/16"\n}\n',
    ),
}


def _documented_permissions(row: str) -> dict[str, str]:
    """The permissions docs/workflows.md's token table gives the workflow/job ``row`` (e.g.
    "`rollout` `apply`"): every backticked ``name: level`` in that row, as GitHub names them."""
    import re

    text = (REPO / "docs" / "workflows.md").read_text(encoding="utf-8")
    (line,) = [x for x in text.splitlines() if x.startswith(f"| {row} |")]
    return {m[0].replace("-", "_"): m[1] for m in re.findall(r"`([a-z-]+): (read|write)`", line)}


@pytest.mark.parametrize("removed", [None, "pull_requests"])
def test_rollout_from_the_release_to_three_dependents(
    act_world: ActWorld, github_emulator: Any, scoped_token: Any, tmp_path: Path, removed: str | None
) -> None:
    """The rollout runs with a token scoped exactly as docs/workflows.md says (fine-grained PAT);
    without one of those permissions it fails (GitHub's 403)."""
    permissions = _documented_permissions("`rollout` `apply`")
    assert permissions["contents"] == "write" and permissions["pull_requests"] == "write"
    if removed:
        del permissions[removed]
    token = scoped_token(permissions, kind="fine_grained", login="catalog-bot")
    github_emulator.create_repo(CATALOG, source_dir=EXAMPLE_CATALOG)
    work = _clone(github_emulator, CATALOG, tmp_path / "catalog")
    _git(work, "tag", "-a", "v1.0.0", "-m", "v1.0.0")
    outputs = work / "modules" / "network" / "outputs.tf"
    outputs.write_text(outputs.read_text() + "\n# cidr documented\n")
    _git(work, "add", "-A")
    _git(work, "commit", "-q", "-m", "feat(network): document the CIDR output")
    _git(work, "push", "-q", "emulator", "main", "v1.0.0")
    for repo, (path, text) in DEPENDENTS.items():
        github_emulator.create_repo(repo, files={path: text, "README.md": "# app\n"})
    github_emulator.create_repo("acme/unrelated", files={"main.tf": 'resource "terraform_data" "x" {}\n'})
    # the release the rollout starts from, made by the CLI on the emulator
    release = subprocess.run(
        [sys.executable, "-m", "catalog_ops", "--forge", "github", "--github-api-url", github_emulator.api_url,
         "release", "--repo", CATALOG, "--urgency", "normal", "--no-checks-gate"],
        env={**os.environ, "GITHUB_TOKEN": github_emulator.token},
        capture_output=True, text=True,
    )  # fmt: skip
    assert release.returncode == 0, release.stdout + release.stderr
    caller = _caller(
        work,
        "catalog-rollout.yml",
        """\
name: Catalog rollout
on:
  release:
    types: [published]
permissions: {}
jobs:
  rollout:
    permissions:
      contents: read
    uses: acme/catalog-ops/.github/workflows/rollout.yml@v1
    with:
      release-tag: ${{ github.event.release.tag_name }}
      shards: 2
      max-parallel: 2
    secrets:
      token: ${{ secrets.ROLLOUT_TOKEN }}
""",
    )
    payload = {
        "action": "published",
        "release": {"tag_name": "v1.1.0", "name": "v1.1.0"},
        "repository": {"full_name": CATALOG, "name": "catalog", "owner": {"login": "acme"}},
    }
    result = act_world.run(
        "release",
        caller,
        work,
        payload,
        env={"GITHUB_API_URL": github_emulator.api_url},
        secrets={"GITHUB_TOKEN": "unused-by-the-rollout", "ROLLOUT_TOKEN": token},
    )
    if removed:
        assert result.returncode != 0, result.explain()
        for repo in DEPENDENTS:
            assert github_emulator.pulls(repo) == []
        refused = [e for e in github_emulator.request_log if e.status == 403]
        assert refused, "no request was refused"
        return
    assert result.returncode == 0, result.explain()

    for repo, (path, text) in DEPENDENTS.items():
        pulls = github_emulator.pulls(repo)
        assert len(pulls) == 1, f"{repo}: {pulls}"
        pr = pulls[0]
        assert pr["state"] == "open"
        assert "v1.1.0" in pr["title"]
        assert "modules/network" in pr["body"] and "v1.0.0" in pr["body"]
        bare = github_emulator.repo(repo).path
        bumped = _git(bare, "show", f"{pr['head']['ref']}:{path}")
        assert bumped == text.replace("ref=v1.0.0", "ref=v1.1.0").rstrip("\n")
    assert github_emulator.pulls("acme/unrelated") == []
    summary = "\n".join(result.summaries("Summary"))
    for repo in DEPENDENTS:
        assert repo in summary
    assert "opened" in summary


def test_dependency_sweep_opens_the_sweep_pr_and_refreshes_the_dashboard(
    act_world: ActWorld, github_emulator: Any, tmp_path: Path
) -> None:
    github_emulator.create_repo(CATALOG, source_dir=EXAMPLE_CATALOG, files={".terraform-version": "1.6.0\n"})
    work = _clone(github_emulator, CATALOG, tmp_path / "catalog")
    _git(work, "tag", "-a", "v1.0.0", "-m", "v1.0.0")
    _git(work, "push", "-q", "emulator", "v1.0.0")
    _api(github_emulator, "POST", f"/repos/{CATALOG}/releases", json={"tag_name": "v1.0.0", "name": "v1.0.0"})
    # the upstream whose releases give Terraform's versions
    github_emulator.create_repo("hashicorp/terraform", files={"README.md": "terraform\n"})
    for tag in ("v1.6.0", "v1.9.8", "v1.10.0-rc1"):
        _api(
            github_emulator,
            "POST",
            "/repos/hashicorp/terraform/releases",
            json={"tag_name": tag, "name": tag},
        )
    for repo, (path, text) in DEPENDENTS.items():
        github_emulator.create_repo(repo, files={path: text})
    caller = _caller(
        work,
        "catalog-nightly-sweep.yml",
        (REPO / "examples" / "workflows" / "catalog-nightly-sweep.yml").read_text(),
    )
    payload = {
        "schedule": "17 3 * * *",
        "repository": {"full_name": CATALOG, "name": "catalog", "owner": {"login": "acme"}},
    }
    result = act_world.run(
        "schedule",
        caller,
        work,
        payload,
        env={"GITHUB_API_URL": github_emulator.api_url},
        secrets={"GITHUB_TOKEN": github_emulator.token},
    )
    assert result.returncode == 0, result.explain()

    pulls = github_emulator.pulls(CATALOG)
    assert len(pulls) == 1, pulls
    bumped = _git(github_emulator.repo(CATALOG).path, "show", f"{pulls[0]['head']['ref']}:.terraform-version")
    assert bumped == "1.9.8"  # the newest stable release; never the release candidate
    issues = [i for i in github_emulator.issues(CATALOG) if "pull_request" not in i]
    assert len(issues) == 1, issues
    for repo in DEPENDENTS:
        assert repo in issues[0]["body"]
    assert "1.9.8" in "\n".join(result.summaries("Sweep"))
    assert "acme/app-one" in "\n".join(result.summaries("Dashboard"))
