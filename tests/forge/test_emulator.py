"""The emulator speaks GitHub, not a private dialect: response key sets match GitHub responses
recorded in PyGithub's public replay data (tests/emulator/reference_shapes.json), and auth,
pagination, rate-limit headers, error bodies and faults behave like GitHub's."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests

from catalog_ops.forge import FileChange
from catalog_ops.forge.github import GitHubForge
from emulator import GitHubEmulator, Limits

SHAPES = json.loads((Path(__file__).parents[1] / "emulator" / "reference_shapes.json").read_text())["shapes"]


class Client:
    def __init__(self, emu: GitHubEmulator) -> None:
        self.emu = emu
        self.s = requests.Session()
        self.s.headers["Authorization"] = f"token {emu.token}"

    def call(self, method: str, path: str, **kw: Any) -> requests.Response:
        url = path if path.startswith("http") else f"{self.emu.api_url}{path}"
        return self.s.request(method, url, timeout=10, **kw)


def _missing(name: str, obj: Any) -> set[str]:
    assert isinstance(obj, dict), (name, obj)
    return set(SHAPES[name]["keys"]) - set(obj)


@pytest.fixture
def populated(github_emulator: GitHubEmulator, github_forge: GitHubForge) -> GitHubEmulator:
    emu = github_emulator
    emu.create_repo(
        "acme/app", files={"main.tf": b"# x\n", "modules/a/main.tf": b"# a\n"}, topics=["terraform"]
    )
    tip = github_forge.branch_sha("acme/app", "main")
    assert tip
    github_forge.commit_files(
        "acme/app", "feat", parent_sha=tip, message="feat", changes=[FileChange("b.tf", b"b")]
    )
    pr = github_forge.open_pull(
        "acme/app", head="feat", base="main", title="t", body="b", labels=["x"], reviewers=["al"]
    )
    github_forge.upsert_comment("acme/app", pr.number, marker="<!--m-->", body="<!--m--> hi")
    github_forge.upsert_issue("acme/app", marker="<!--d-->", title="Dash", body="<!--d-->")
    github_forge.create_tag("acme/app", name="v1.0.0", sha=tip, message="v1")
    github_forge.create_release("acme/app", tag="v1.0.0", name="v1.0.0", body="notes")
    return emu


def test_response_shapes_match_recorded_github(populated: GitHubEmulator) -> None:
    c = Client(populated)
    repo = c.call("GET", "/repos/acme/app").json()
    assert not _missing("repo", repo)
    assert not _missing("repo.owner", repo["owner"])
    assert not _missing("org_repos[]", c.call("GET", "/orgs/acme/repos").json()[0])
    pull = c.call("GET", "/repos/acme/app/pulls/1").json()
    assert not _missing("pull", pull)
    assert not _missing("pull.head", pull["head"])
    ref = c.call("GET", "/repos/acme/app/git/ref/heads/feat").json()
    assert not _missing("ref", ref) and not _missing("ref.object", ref["object"])
    tree = c.call("GET", "/repos/acme/app/git/trees/main", params={"recursive": "1"}).json()
    assert not _missing("tree", tree) and not _missing(
        "tree.tree[]", next(e for e in tree["tree"] if e["type"] == "blob")
    )
    assert not _missing("contents", c.call("GET", "/repos/acme/app/contents/main.tf").json())
    assert not _missing("release", c.call("GET", "/repos/acme/app/releases/tags/v1.0.0").json())
    assert not _missing("issue", c.call("GET", "/repos/acme/app/issues/2").json())
    assert not _missing("issue_comment", c.call("GET", "/repos/acme/app/issues/1/comments").json()[0])
    sha = pull["head"]["sha"]
    assert not _missing("git_commit", c.call("GET", f"/repos/acme/app/git/commits/{sha}").json())
    assert not _missing("combined_status", c.call("GET", f"/repos/acme/app/commits/{sha}/status").json())
    assert not _missing("check_runs", c.call("GET", f"/repos/acme/app/commits/{sha}/check-runs").json())
    created = c.call("POST", "/repos/acme/app/git/refs", json={"ref": "refs/heads/new", "sha": sha})
    assert created.status_code == SHAPES["created_ref"]["status"] and not _missing(
        "created_ref", created.json()
    )
    tag = c.call(
        "POST", "/repos/acme/app/git/tags", json={"tag": "t", "message": "m", "object": sha, "type": "commit"}
    )
    assert tag.status_code == SHAPES["git_tag"]["status"] and not _missing("git_tag", tag.json())
    merged = c.call("PUT", "/repos/acme/app/pulls/1/merge", json={"merge_method": "merge"})
    assert merged.status_code == 200 and not _missing("merge", merged.json())
    assert not _missing("commit_pulls[]", c.call("GET", f"/repos/acme/app/commits/{sha}/pulls").json()[0])
    dup = c.call("POST", "/repos/acme/app/releases", json={"tag_name": "v1.0.0"})
    assert dup.status_code == 422 and not _missing("error_422", dup.json())
    assert not _missing("error_422.errors[]", {**dup.json()["errors"][0], "message": ""})
    bad = requests.get(
        f"{populated.api_url}/repos/acme/app", headers={"Authorization": "token nope"}, timeout=10
    )
    assert (
        bad.status_code == 401
        and bad.json()["message"] == "Bad credentials"
        and not _missing("error_401", bad.json())
    )
    gql = c.call(
        "POST",
        f"{populated.base_url}/graphql",
        json={
            "query": "mutation M($input: EnablePullRequestAutoMergeInput!) { enablePullRequestAutoMerge(input: $input) { clientMutationId } }",
            "variables": {"input": {"pullRequestId": "nope", "mergeMethod": "SQUASH"}},
        },
    ).json()
    assert not _missing("graphql_error", gql) and not _missing("graphql_error.errors[]", gql["errors"][0])
    assert not populated.internal_errors


def test_auth_pagination_and_rate_limit_headers(github_emulator: GitHubEmulator) -> None:
    for i in range(5):
        github_emulator.create_repo(f"acme/r{i}", files={"a": b"a"})
    anon = requests.get(f"{github_emulator.api_url}/repos/acme/r0", timeout=10)
    assert anon.status_code == 401 and anon.json()["message"] == "Requires authentication"
    c = Client(github_emulator)
    first = c.call("GET", "/orgs/acme/repos", params={"per_page": 2})
    assert [r["name"] for r in first.json()] == ["r0", "r1"]
    assert 'rel="next"' in first.headers["Link"] and 'rel="last"' in first.headers["Link"]
    names = [r["name"] for r in first.json()]
    nxt = first.links.get("next", {}).get("url")
    while nxt:
        page = c.call("GET", nxt)
        names += [r["name"] for r in page.json()]
        nxt = page.links.get("next", {}).get("url")
    assert names == [f"r{i}" for i in range(5)]
    h1 = c.call("GET", "/repos/acme/r0").headers
    h2 = c.call("GET", "/repos/acme/r0").headers
    assert (
        h1["X-RateLimit-Limit"] == "5000"
        and int(h2["X-RateLimit-Remaining"]) == int(h1["X-RateLimit-Remaining"]) - 1
    )
    assert h1["X-RateLimit-Resource"] == "core" and int(h1["X-RateLimit-Reset"]) > 0
    assert c.call("GET", "/orgs/nobody/repos").status_code == 404
    assert c.call("GET", "/users/nobody/repos").json() == []


def test_faults_and_validation(github_emulator: GitHubEmulator) -> None:
    emu = github_emulator
    emu.create_repo("acme/app", files={"a": b"a"})
    c = Client(emu)
    emu.faults.secondary_limit(method="GET", times=1, retry_after=2)
    limited = c.call("GET", "/repos/acme/app")
    assert limited.status_code == 403 and limited.headers["Retry-After"] == "2"
    assert "secondary rate limit" in limited.json()["message"]
    emu.faults.primary_limit(times=1, reset_in=30)
    primary = c.call("GET", "/repos/acme/app")
    assert primary.status_code == 403 and primary.headers["X-RateLimit-Remaining"] == "0"
    emu.faults.fail(502, times=1)
    assert c.call("GET", "/repos/acme/app").status_code == 502
    emu.faults.drop(times=1)
    with pytest.raises(requests.ConnectionError):
        c.call("GET", "/repos/acme/app")
    assert c.call("GET", "/repos/acme/app").status_code == 200
    missing = c.call("POST", "/repos/acme/app/pulls", json={"head": "nope", "base": "main", "title": "t"})
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "head"
    emu.limits = Limits(per_minute=2)  # a fresh window: the 422 above counted as content-creating
    codes = [c.call("POST", "/repos/acme/app/issues", json={"title": f"i{i}"}).status_code for i in range(3)]
    assert codes == [201, 201, 403]
    assert [e.fault for e in emu.request_log[-3:]] == [None, None, "burst"]


def test_clone_urls_are_real_git(
    github_emulator: GitHubEmulator, github_forge: GitHubForge, tmp_path: Path
) -> None:
    github_emulator.create_repo("acme/app", files={"main.tf": b"# x\n"})
    url = github_forge.clone_url("acme/app")
    assert url.startswith("file://")
    dest = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", url, str(dest)], check=True)
    assert (dest / "main.tf").read_bytes() == b"# x\n"


def test_force_moving_a_head_onto_its_base_closes_the_pr(
    github_emulator: GitHubEmulator, github_forge: GitHubForge
) -> None:
    emu = github_emulator
    emu.create_repo("acme/app", files={"a": b"a"})
    tip = github_forge.branch_sha("acme/app", "main")
    assert tip
    github_forge.commit_files(
        "acme/app", "feat", parent_sha=tip, message="m", changes=[FileChange("b", b"b")]
    )
    github_forge.open_pull("acme/app", head="feat", base="main", title="t", body="")
    moved = Client(emu).call("PATCH", "/repos/acme/app/git/refs/heads/feat", json={"sha": tip, "force": True})
    assert moved.status_code == 200
    assert emu.pulls("acme/app")[0]["state"] == "closed"
