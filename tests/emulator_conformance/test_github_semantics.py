"""The emulator behaves like GitHub where catalog-ops depends on it — each case cites GitHub's docs.

Driven over plain HTTP (``requests``) and PyGithub, never through product code, with every
``Semantics`` switch on GitHub's documented behaviour (``emu.use_github_semantics()``). The
``github_emulator`` fixture also validates every request and response against GitHub's OpenAPI
description, so these tests double as a check that the emulator's answers fit it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import github
import pytest
import requests

from catalog_ops import gitutil
from emulator import GitHubEmulator
from emulator.state import CiJob, Protection, Ruleset

MAIN_TF = 'module "vpc" {\n  source = "acme/vpc/aws"\n  version = "1.0.0"\n}\n'


@pytest.fixture
def emu(github_emulator: GitHubEmulator) -> GitHubEmulator:
    github_emulator.use_github_semantics()
    return github_emulator


@pytest.fixture
def http(emu: GitHubEmulator) -> Iterator[Callable[..., requests.Response]]:
    """``call(method, path, json=None, token=None, **kw) -> Response`` against the emulator."""
    session = requests.Session()

    def call(
        method: str, path: str, json: Any = None, token: str | None = None, **kw: Any
    ) -> requests.Response:
        url = path if path.startswith("http") else f"{emu.api_url}{path}"
        headers = {"Authorization": f"token {token or emu.token}", "Accept": "application/vnd.github+json"}
        return session.request(method, url, json=json, headers=headers, timeout=30, **kw)

    yield call
    session.close()


def gql(
    http: Callable[..., requests.Response], query: str, token: str | None = None, **variables: Any
) -> Any:
    resp = http("POST", "/graphql", json={"query": query, "variables": variables}, token=token)
    assert resp.status_code == 200, resp.text
    return resp.json()


def branch(emu: GitHubEmulator, full_name: str, name: str, files: dict[str, str], base: str = "main") -> str:
    """Create ``name`` from ``base`` with ``files`` committed (as a push would)."""
    with emu.state.lock:
        repo = emu.repo(full_name)
        parent = emu.state.branch_sha(repo, base)
        sha = emu.state.commit_changes(
            repo, parent, "change\n", [(k, v.encode()) for k, v in files.items()], author="dev"
        )
        gitutil.update_ref(repo.path, f"refs/heads/{name}", sha)
        emu.state.branch_moved(repo, name)
        return sha


def open_pr(
    http: Callable[..., requests.Response], full_name: str, head: str, token: str | None = None
) -> dict[str, Any]:
    resp = http(
        "POST", f"/repos/{full_name}/pulls", json={"title": "bump", "head": head, "base": "main"}, token=token
    )
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def pull(http: Callable[..., requests.Response], full_name: str, number: int) -> dict[str, Any]:
    resp = http("GET", f"/repos/{full_name}/pulls/{number}")
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def settled(http: Callable[..., requests.Response], full_name: str, number: int) -> dict[str, Any]:
    """Read until ``mergeable`` is computed (GitHub: "After giving the job time to complete,
    resubmit the request")."""
    for _ in range(5):
        data = pull(http, full_name, number)
        if data["mergeable"] is not None:
            return data
    raise AssertionError("mergeable never computed")


MERGE_STATE_QUERY = """query($owner: String!, $name: String!, $number: Int!) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      id mergeable mergeStateStatus headRefOid
      autoMergeRequest { enabledAt mergeMethod enabledBy { login } }
    }
  }
}"""

ENABLE = """mutation($id: ID!, $method: PullRequestMergeMethod!) {
  enablePullRequestAutoMerge(input: {pullRequestId: $id, mergeMethod: $method}) {
    pullRequest { number autoMergeRequest { mergeMethod } }
  }
}"""

DISABLE = """mutation($id: ID!) {
  disablePullRequestAutoMerge(input: {pullRequestId: $id}) { pullRequest { number autoMergeRequest { enabledAt } } }
}"""


# --- mergeability life cycle ------------------------------------------------------------------------
def test_mergeable_is_null_on_first_read_then_computed(emu: GitHubEmulator, http: Any) -> None:
    """https://docs.github.com/en/rest/pulls/pulls#get-a-pull-request : "If the value is null,
    then GitHub has started a background job to compute the mergeability. After giving the job
    time to complete, resubmit the request." A PR on a repo without any check is CLEAN then."""
    emu.create_repo("acme/app", files={"main.tf": MAIN_TF})
    branch(emu, "acme/app", "bump", {"main.tf": MAIN_TF.replace("1.0.0", "1.1.0")})
    pr = open_pr(http, "acme/app", "bump")
    first = pull(http, "acme/app", pr["number"])
    assert (first["mergeable"], first["mergeable_state"]) == (None, "unknown")
    second = pull(http, "acme/app", pr["number"])
    assert (second["mergeable"], second["mergeable_state"]) == (True, "clean")


def test_graphql_merge_state_status_starts_unknown(emu: GitHubEmulator, http: Any) -> None:
    """MergeStateStatus UNKNOWN "The state cannot currently be determined"
    (https://docs.github.com/en/graphql/reference/enums#mergestatestatus), then computed."""
    emu.create_repo("acme/app", files={"main.tf": MAIN_TF})
    branch(emu, "acme/app", "bump", {"main.tf": "x"})
    pr = open_pr(http, "acme/app", "bump")
    reads = [
        gql(http, MERGE_STATE_QUERY, owner="acme", name="app", number=pr["number"])["data"]["repository"][
            "pullRequest"
        ]
        for _ in range(2)
    ]
    assert [(r["mergeable"], r["mergeStateStatus"]) for r in reads] == [
        ("UNKNOWN", "UNKNOWN"),
        ("MERGEABLE", "CLEAN"),
    ]


def _scenario(emu: GitHubEmulator, name: str) -> None:
    """Set up ``acme/app`` + PR branch ``bump`` for one merge-state scenario."""
    kwargs: dict[str, Any] = {}
    if name in ("required_missing", "required_failing", "required_passed", "strict_behind"):
        kwargs["protection"] = {"main": Protection(contexts=["test"], strict=name == "strict_behind")}
    if name == "reviews_missing":
        kwargs["protection"] = {"main": Protection(required_approving_review_count=1)}
    if name == "ruleset_missing":
        kwargs["rulesets"] = [Ruleset(id=7, name="main", required_checks=["test"])]
    emu.create_repo("acme/app", files={"main.tf": MAIN_TF, "other.tf": "# x\n"}, **kwargs)
    head = branch(emu, "acme/app", "bump", {"main.tf": MAIN_TF.replace("1.0.0", "1.1.0")})
    if name == "required_failing":
        emu.add_check_run("acme/app", head, "test", conclusion="failure")
    if name in ("required_passed", "strict_behind"):
        emu.add_check_run("acme/app", head, "test")
    if name == "optional_pending":
        emu.add_check_run("acme/app", head, "lint", status="in_progress", conclusion=None)
    if name == "optional_failing":
        emu.set_status("acme/app", head, "failure", context="lint")
    if name == "strict_behind":
        branch(emu, "acme/app", "main", {"other.tf": "# moved\n"})
    if name == "dirty":
        branch(emu, "acme/app", "main", {"main.tf": "conflict\n"})


@pytest.mark.parametrize(
    ("scenario", "status"),
    [
        # "Mergeable and passing commit status" — also when nothing was ever reported.
        ("no_checks", "CLEAN"),
        # Required status checks (branch protection): missing or failing blocks the merge —
        # https://docs.github.com/en/repositories/configuring-branches-and-merges-in-your-repository/managing-protected-branches/about-protected-branches#require-status-checks-before-merging
        ("required_missing", "BLOCKED"),
        ("required_failing", "BLOCKED"),
        ("required_passed", "CLEAN"),
        # Rulesets "Require status checks to pass" —
        # https://docs.github.com/en/repositories/configuring-branches-and-merges-in-your-repository/managing-rulesets/available-rules-for-rulesets#require-status-checks-to-pass-before-merging
        ("ruleset_missing", "BLOCKED"),
        # "Require approvals" — required reviews missing.
        ("reviews_missing", "BLOCKED"),
        # UNSTABLE "Mergeable with non-passing commit status" (non-required checks).
        ("optional_pending", "UNSTABLE"),
        ("optional_failing", "UNSTABLE"),
        # BEHIND "The head ref is out of date" ("Require branches to be up to date").
        ("strict_behind", "BEHIND"),
        # DIRTY "The merge commit cannot be cleanly created".
        ("dirty", "DIRTY"),
    ],
)
def test_merge_state_status(emu: GitHubEmulator, http: Any, scenario: str, status: str) -> None:
    """https://docs.github.com/en/graphql/reference/enums#mergestatestatus and REST
    ``mergeable_state`` (same values, lower case)."""
    _scenario(emu, scenario)
    pr = open_pr(http, "acme/app", "bump")
    data = settled(http, "acme/app", pr["number"])
    assert data["mergeable_state"] == status.lower()
    assert data["mergeable"] is (status != "DIRTY")
    got = gql(http, MERGE_STATE_QUERY, owner="acme", name="app", number=pr["number"])
    assert got["data"]["repository"]["pullRequest"]["mergeStateStatus"] == status


# --- checks that register late -------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["check_run", "status"])
def test_ci_posts_pending_then_result_after_a_delay(emu: GitHubEmulator, http: Any, kind: str) -> None:
    """Check runs (https://docs.github.com/en/rest/checks/runs#list-check-runs-for-a-git-reference)
    and commit statuses (https://docs.github.com/en/rest/commits/statuses#get-the-combined-status-for-a-specific-reference)
    appear when the dependent's CI gets to them, not when the PR opens: "nothing reported yet" is
    a real state and reads CLEAN."""
    emu.create_repo(
        "acme/app", files={"main.tf": MAIN_TF}, ci=[CiJob("test", after=3, run=3, unit="reads", kind=kind)]
    )
    head = branch(emu, "acme/app", "bump", {"main.tf": "x"})
    pr = open_pr(http, "acme/app", "bump")  # the PR event: reads start counting here

    def reported() -> list[tuple[str, str]]:
        if kind == "check_run":
            runs = http("GET", f"/repos/acme/app/commits/{head}/check-runs").json()["check_runs"]
            return [(r["status"], r["conclusion"]) for r in runs]
        return [
            (s["state"], "") for s in http("GET", f"/repos/acme/app/commits/{head}/status").json()["statuses"]
        ]

    seen = [reported() for _ in range(7)]
    assert seen[0] == []  # nothing yet: GitHub's state right after opening
    pending = ("in_progress", None) if kind == "check_run" else ("pending", "")
    done = ("completed", "success") if kind == "check_run" else ("success", "")
    assert [pending] in seen and seen[-1] == [done]
    assert settled(http, "acme/app", pr["number"])["mergeable_state"] == "clean"


def test_ci_delay_in_seconds_and_a_repo_that_never_reports(emu: GitHubEmulator, http: Any) -> None:
    emu.create_repo("acme/app", files={"main.tf": MAIN_TF}, ci=[CiJob("test", after=0.2, run=0.2)])
    emu.create_repo("acme/quiet", files={"main.tf": MAIN_TF})  # no CI at all
    head = branch(emu, "acme/app", "bump", {"main.tf": "x"})
    quiet = branch(emu, "acme/quiet", "bump", {"main.tf": "x"})
    open_pr(http, "acme/app", "bump")
    open_pr(http, "acme/quiet", "bump")
    import time

    time.sleep(0.5)
    runs = http("GET", f"/repos/acme/app/commits/{head}/check-runs").json()["check_runs"]
    assert [(r["name"], r["conclusion"]) for r in runs] == [("test", "success")]
    assert http("GET", f"/repos/acme/quiet/commits/{quiet}/check-runs").json()["total_count"] == 0


# --- protection and rulesets ----------------------------------------------------------------------------
def test_required_status_checks_endpoints(emu: GitHubEmulator, http: Any) -> None:
    """GET .../branches/{b}/protection/required_status_checks
    (https://docs.github.com/en/rest/branches/branch-protection#get-status-checks-protection):
    ``strict``, ``contexts``, ``checks``; 404 "Branch not protected" without protection. GET
    .../rules/branches/{b} (https://docs.github.com/en/rest/repos/rules#get-rules-for-a-branch):
    active rules only."""
    emu.create_repo(
        "acme/app",
        files={"main.tf": MAIN_TF},
        protection={"main": Protection(contexts=["ci/test"], strict=True)},
        rulesets=[
            Ruleset(id=1, name="checks", required_checks=["plan"]),
            Ruleset(id=2, name="trial", required_checks=["never"], enforcement="evaluate"),
        ],
    )
    got = http("GET", "/repos/acme/app/branches/main/protection/required_status_checks").json()
    assert (got["strict"], got["contexts"], [c["context"] for c in got["checks"]]) == (
        True,
        ["ci/test"],
        ["ci/test"],
    )
    missing = http("GET", "/repos/acme/app/branches/other/protection/required_status_checks")
    assert (missing.status_code, missing.json()["message"]) == (404, "Branch not protected")
    rules = http("GET", "/repos/acme/app/rules/branches/main").json()
    assert [
        (r["type"], [c["context"] for c in r["parameters"]["required_status_checks"]]) for r in rules
    ] == [("required_status_checks", ["plan"])]


# --- merge settings and the merge endpoint ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("setting", "method", "message"),
    [
        ("allow_merge_commit", "merge", "Merge commits are not allowed on this repository."),
        ("allow_squash_merge", "squash", "Squash merges are not allowed on this repository."),
        ("allow_rebase_merge", "rebase", "Rebase merges are not allowed on this repository."),
    ],
)
def test_disallowed_merge_method_is_405(
    emu: GitHubEmulator, http: Any, setting: str, method: str, message: str
) -> None:
    """Repository settings returned by GET /repos/{o}/{r}
    (https://docs.github.com/en/rest/repos/repos#get-a-repository) and enforced by PUT
    .../pulls/{n}/merge: 405 "Method Not Allowed if merge cannot be performed"
    (https://docs.github.com/en/rest/pulls/pulls#merge-a-pull-request)."""
    settings: dict[str, Any] = {setting: False}
    emu.create_repo("acme/app", files={"main.tf": MAIN_TF}, **settings)
    assert http("GET", "/repos/acme/app").json()[setting] is False
    branch(emu, "acme/app", "bump", {"main.tf": "x"})
    pr = open_pr(http, "acme/app", "bump")
    resp = http("PUT", f"/repos/acme/app/pulls/{pr['number']}/merge", json={"merge_method": method})
    assert (resp.status_code, resp.json()["message"]) == (405, message)


def test_merge_pinned_to_a_stale_sha_is_409(emu: GitHubEmulator, http: Any) -> None:
    """409 "Conflict if sha was provided and pull request head did not match": "Head branch was
    modified. Review and try the merge again." (https://docs.github.com/en/rest/pulls/pulls#merge-a-pull-request)."""
    emu.create_repo("acme/app", files={"main.tf": MAIN_TF})
    old = branch(emu, "acme/app", "bump", {"main.tf": "x"})
    pr = open_pr(http, "acme/app", "bump")
    emu.push("acme/app", "bump", {"extra.tf": "# y\n"})
    resp = http(
        "PUT", f"/repos/acme/app/pulls/{pr['number']}/merge", json={"sha": old, "merge_method": "squash"}
    )
    assert (resp.status_code, resp.json()["message"]) == (
        409,
        "Head branch was modified. Review and try the merge again.",
    )


def test_merge_refused_while_a_required_check_is_missing(emu: GitHubEmulator, http: Any) -> None:
    emu.create_repo(
        "acme/app", files={"main.tf": MAIN_TF}, protection={"main": Protection(contexts=["test"])}
    )
    head = branch(emu, "acme/app", "bump", {"main.tf": "x"})
    pr = open_pr(http, "acme/app", "bump")
    resp = http("PUT", f"/repos/acme/app/pulls/{pr['number']}/merge", json={"sha": head})
    assert (resp.status_code, resp.json()["message"]) == (405, 'Required status check "test" is expected.')
    emu.add_check_run("acme/app", head, "test")
    assert (
        http("PUT", f"/repos/acme/app/pulls/{pr['number']}/merge", json={"sha": head}).json()["merged"]
        is True
    )


# --- auto-merge -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("scenario", "repo_kwargs", "error"),
    [
        # Nothing to wait for: GitHub refuses (peter-evans/enable-pull-request-automerge#343).
        ("no_checks", {}, "Pull request Pull request is in clean status"),
        # Only non-required checks pending: refused as unstable (Linuxfabrik/kickstart#48).
        ("optional_pending", {}, "Pull request Pull request is in unstable status"),
        # Repository setting off (indexable-inc/index#2948).
        ("required_missing", {"allow_auto_merge": False}, "Auto merge is not allowed for this repository"),
        # Disallowed method (coder/coder#16297).
        (
            "required_missing",
            {"allow_squash_merge": False},
            "Merge method squash merges are not allowed on this repository",
        ),
        # Something required is still missing: accepted.
        ("required_missing", {}, None),
    ],
)
def test_enable_auto_merge_answers(
    emu: GitHubEmulator, http: Any, scenario: str, repo_kwargs: dict[str, Any], error: str | None
) -> None:
    """``enablePullRequestAutoMerge`` (https://docs.github.com/en/graphql/reference/mutations#enablepullrequestautomerge;
    https://docs.github.com/en/pull-requests/collaborating-with-pull-requests/incorporating-changes-from-a-pull-request/automatically-merging-a-pull-request)."""
    kwargs: dict[str, Any] = dict(repo_kwargs)
    if scenario == "required_missing":
        kwargs["protection"] = {"main": Protection(contexts=["test"])}
    emu.create_repo("acme/app", files={"main.tf": MAIN_TF}, **kwargs)
    head = branch(emu, "acme/app", "bump", {"main.tf": "x"})
    if scenario == "optional_pending":
        emu.add_check_run("acme/app", head, "lint", status="queued", conclusion=None)
    pr = open_pr(http, "acme/app", "bump")
    out = gql(http, ENABLE, id=pr["node_id"], method="SQUASH")
    if error is None:
        assert "errors" not in out, out
        assert out["data"]["enablePullRequestAutoMerge"]["pullRequest"]["autoMergeRequest"] == {
            "mergeMethod": "SQUASH"
        }
    else:
        assert [(e.get("type"), e["message"]) for e in out["errors"]] == [("UNPROCESSABLE", error)]


def test_armed_pr_merges_itself_only_when_required_checks_pass(emu: GitHubEmulator, http: Any) -> None:
    """ "the pull request will merge automatically when all required reviews are met and all
    required status checks have passed" — and can be disarmed
    (https://docs.github.com/en/graphql/reference/mutations#disablepullrequestautomerge)."""
    emu.create_repo(
        "acme/app",
        files={"main.tf": MAIN_TF},
        protection={"main": Protection(contexts=["test"])},
        ci=[CiJob("test", after=2, run=2, unit="reads")],
    )
    branch(emu, "acme/app", "bump", {"main.tf": "x"})
    pr = open_pr(http, "acme/app", "bump")
    assert "errors" not in gql(http, ENABLE, id=pr["node_id"], method="SQUASH")
    armed = gql(http, MERGE_STATE_QUERY, owner="acme", name="app", number=pr["number"])
    auto = armed["data"]["repository"]["pullRequest"]["autoMergeRequest"]
    assert auto["mergeMethod"] == "SQUASH" and auto["enabledBy"]["login"] == "catalog-bot"
    states = [pull(http, "acme/app", pr["number"])["state"] for _ in range(6)]
    assert states[0] == "open" and states[-1] == "closed"
    assert emu.pulls("acme/app")[0]["merged"] is True

    # A second PR whose check fails never merges; disarming clears autoMergeRequest.
    emu.set_ci("acme/app", CiJob("test", after=0, run=1, unit="reads", conclusion="failure"))
    branch(emu, "acme/app", "bump2", {"main.tf": "y"})
    pr2 = open_pr(http, "acme/app", "bump2")
    assert "errors" not in gql(http, ENABLE, id=pr2["node_id"], method="SQUASH")
    assert [pull(http, "acme/app", pr2["number"])["state"] for _ in range(4)][-1] == "open"
    assert settled(http, "acme/app", pr2["number"])["mergeable_state"] == "blocked"
    out = gql(http, DISABLE, id=pr2["node_id"])
    assert out["data"]["disablePullRequestAutoMerge"]["pullRequest"]["autoMergeRequest"] is None
    assert pull(http, "acme/app", pr2["number"])["auto_merge"] is None


# --- reviewers ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"reviewers": ["stranger"]}, "Reviews may only be requested from collaborators."),
        ({"team_reviewers": ["ghosts"]}, "Reviews may only be requested from collaborators."),
        ({"reviewers": ["catalog-bot"]}, "Review cannot be requested from pull request author."),
        ({"reviewers": ["alice"], "team_reviewers": ["platform"]}, None),
    ],
)
def test_request_reviewers_422(
    emu: GitHubEmulator, http: Any, body: dict[str, Any], message: str | None
) -> None:
    """ "422 Unprocessable Entity if user is not a collaborator"
    (https://docs.github.com/en/rest/pulls/review-requests#request-reviewers-for-a-pull-request);
    message as clients quote it (peter-evans/create-pull-request#4138)."""
    emu.create_repo("acme/app", files={"main.tf": MAIN_TF}, collaborators=["alice"])
    emu.state.teams["acme"] = {"platform"}
    branch(emu, "acme/app", "bump", {"main.tf": "x"})
    pr = open_pr(http, "acme/app", "bump")
    resp = http("POST", f"/repos/acme/app/pulls/{pr['number']}/requested_reviewers", json=body)
    if message is None:
        assert resp.status_code == 201
        assert [u["login"] for u in resp.json()["requested_reviewers"]] == ["alice"]
    else:
        assert resp.status_code == 422 and resp.json()["message"].startswith(message)
        assert pull(http, "acme/app", pr["number"])["requested_reviewers"] == []


def test_codeowners_requested_by_github_on_open(emu: GitHubEmulator, http: Any) -> None:
    """ "Code owners are automatically requested for review when someone opens a pull request
    that modifies code that they own"; the CODEOWNERS file of the *base* branch counts
    (https://docs.github.com/en/repositories/managing-your-repositorys-settings-and-features/customizing-your-repository/about-code-owners)."""
    emu.create_repo(
        "acme/app",
        files={"main.tf": MAIN_TF, ".github/CODEOWNERS": "*.tf @alice @acme/platform\ndocs/ @bob\n"},
        collaborators=["alice", "bob"],
    )
    emu.state.teams["acme"] = {"platform"}
    branch(emu, "acme/app", "bump", {"main.tf": "x"})
    pr = open_pr(http, "acme/app", "bump")
    assert [u["login"] for u in pr["requested_reviewers"]] == ["alice"]
    assert [t["slug"] for t in pr["requested_teams"]] == ["platform"]


# --- GraphQL limits ----------------------------------------------------------------------------------------------------
def test_graphql_rate_limited_is_http_200(emu: GitHubEmulator, http: Any) -> None:
    """ "you will receive a response with a 200 status code and an error message"
    (https://docs.github.com/en/graphql/overview/rate-limits-and-query-limits-for-the-graphql-api#exceeding-the-rate-limit);
    the error carries ``type: RATE_LIMITED`` (github/docs#22607). Secondary limits likewise,
    with ``retry-after``. ``rateLimit`` is queryable."""
    emu.faults.graphql_rate_limit(times=1, reset_in=5)
    emu.faults.graphql_secondary_limit(times=1, retry_after=3)
    q = {"query": "query { rateLimit { limit remaining used resetAt cost } viewer { login } }"}
    first = http("POST", "/graphql", json=q)
    assert first.status_code == 200 and first.headers["X-RateLimit-Remaining"] == "0"
    err = first.json()["errors"][0]
    assert err["type"] == "RATE_LIMITED" and err["message"].startswith("API rate limit exceeded for user ID")
    second = http("POST", "/graphql", json=q)
    assert second.status_code == 200 and second.headers["Retry-After"] == "3"
    assert "secondary rate limit" in second.json()["errors"][0]["message"]
    third = http("POST", "/graphql", json=q).json()
    assert third["data"]["rateLimit"]["limit"] == 5000 and third["data"]["viewer"]["login"] == "catalog-bot"


# --- token permissions and repository lists ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("permissions", "method", "path", "status"),
    [
        ({"contents": "write"}, "POST", "/repos/acme/app/pulls", 403),
        ({"contents": "write", "pull_requests": "write"}, "POST", "/repos/acme/app/pulls", 201),
        ({"pull_requests": "write"}, "GET", "/repos/acme/app/git/ref/heads/main", 403),
        ({"contents": "read"}, "GET", "/repos/acme/app/git/ref/heads/main", 200),
        ({"contents": "read"}, "GET", "/repos/acme/app", 200),  # metadata: read is implicit
        ({"contents": "read"}, "GET", "/repos/acme/app/commits/main/status", 403),
        ({"statuses": "read"}, "GET", "/repos/acme/app/commits/main/status", 200),
        ({"checks": "read"}, "GET", "/repos/acme/app/commits/main/check-runs", 200),
        ({"contents": "read"}, "GET", "/repos/acme/app/branches/main/protection", 403),
    ],
)
def test_token_permissions(
    emu: GitHubEmulator,
    http: Any,
    scoped_token: Any,
    permissions: dict[str, str],
    method: str,
    path: str,
    status: int,
) -> None:
    """Each endpoint needs the permission GitHub lists for it
    (https://docs.github.com/en/rest/authentication/permissions-required-for-fine-grained-personal-access-tokens);
    without it: 403 "Resource not accessible by integration" and ``X-Accepted-GitHub-Permissions``
    (https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api)."""
    emu.create_repo("acme/app", files={"main.tf": MAIN_TF}, protection={"main": Protection(contexts=["t"])})
    branch(emu, "acme/app", "bump", {"main.tf": "x"})
    token = scoped_token(permissions)
    body = {"title": "t", "head": "bump", "base": "main"} if method == "POST" else None
    resp = http(method, path, json=body, token=token)
    assert resp.status_code == status, resp.text
    if status == 403:
        assert resp.json()["message"] == "Resource not accessible by integration"
        assert resp.headers["X-Accepted-GitHub-Permissions"]


def test_graphql_mutation_needs_its_permission(emu: GitHubEmulator, http: Any, scoped_token: Any) -> None:
    emu.create_repo("acme/app", files={"main.tf": MAIN_TF}, protection={"main": Protection(contexts=["t"])})
    branch(emu, "acme/app", "bump", {"main.tf": "x"})
    pr = open_pr(http, "acme/app", "bump")
    resp = http(
        "POST",
        "/graphql",
        json={"query": ENABLE, "variables": {"id": pr["node_id"], "method": "SQUASH"}},
        token=scoped_token({"contents": "write"}),
    )
    assert resp.status_code == 403 and resp.json()["message"] == "Resource not accessible by integration"


def test_token_repository_list(emu: GitHubEmulator, http: Any, scoped_token: Any) -> None:
    """A token limited to some repositories: a private one outside the list is invisible (404);
    a public one is readable but not writable."""
    emu.create_repo("acme/app", files={"main.tf": MAIN_TF})
    emu.create_repo("acme/secret", files={"main.tf": MAIN_TF}, private=True)
    emu.create_repo("acme/open", files={"main.tf": MAIN_TF})
    token = scoped_token({"contents": "write", "pull_requests": "write"}, repositories=["acme/app"])
    assert http("GET", "/repos/acme/app", token=token).status_code == 200
    assert http("GET", "/repos/acme/secret", token=token).status_code == 404
    assert http("GET", "/repos/acme/open", token=token).status_code == 200
    write = http(
        "POST", "/repos/acme/open/git/refs", json={"ref": "refs/heads/x", "sha": "0" * 40}, token=token
    )
    assert write.status_code == 403


# --- archived repositories and listing ---------------------------------------------------------------------------------------
def test_archived_repository_is_read_only(emu: GitHubEmulator, http: Any) -> None:
    """ "Archived repositories are read-only"
    (https://docs.github.com/en/repositories/archiving-a-github-repository/archiving-repositories):
    403 "Repository was archived so is read-only." on writes, reads still work."""
    emu.create_repo("acme/old", files={"main.tf": MAIN_TF}, archived=True)
    sha = http("GET", "/repos/acme/old/git/ref/heads/main").json()["object"]["sha"]
    resp = http("POST", "/repos/acme/old/git/refs", json={"ref": "refs/heads/x", "sha": sha})
    assert (resp.status_code, resp.json()["message"]) == (403, "Repository was archived so is read-only.")
    resp = http("POST", "/repos/acme/old/issues", json={"title": "x"})
    assert resp.status_code == 403


def test_repository_listings(emu: GitHubEmulator, http: Any, scoped_token: Any) -> None:
    """``GET /users/{u}/repos`` "Lists public repositories for the specified user"
    (https://docs.github.com/en/rest/repos/repos#list-repositories-for-a-user); ``GET /user/repos``
    lists what the authenticated user can access, private included, filtered by ``affiliation``
    and ``visibility`` (https://docs.github.com/en/rest/repos/repos#list-repositories-for-the-authenticated-user);
    ``GET /installation/repositories`` what an installation can access
    (https://docs.github.com/en/rest/apps/installations#list-repositories-accessible-to-the-app-installation)."""
    emu.create_repo("dana/pub", files={"main.tf": MAIN_TF})
    emu.create_repo("dana/priv", files={"main.tf": MAIN_TF}, private=True)
    emu.create_repo("acme/app", files={"main.tf": MAIN_TF}, collaborators=["dana"])
    dana = emu.mint_token(permissions={"metadata": "read"}, kind="fine_grained", login="dana")
    names = lambda resp: [r["full_name"] for r in resp.json()]  # noqa: E731
    assert names(http("GET", "/users/dana/repos", token=dana)) == ["dana/pub"]
    assert names(http("GET", "/user/repos", token=dana)) == ["acme/app", "dana/priv", "dana/pub"]
    assert names(http("GET", "/user/repos?affiliation=owner&visibility=private", token=dana)) == ["dana/priv"]
    assert http("GET", "/user/repos?type=owner&visibility=all", token=dana).status_code == 422
    app = scoped_token({"contents": "read"}, repositories=["dana/priv", "acme/app"])
    inst = http("GET", "/installation/repositories", token=app).json()
    assert (inst["total_count"], inst["repository_selection"]) == (2, "selected")
    assert http("GET", "/installation/repositories", token=dana).status_code == 403
    # "List organization repositories" is for organizations: a user account answers 404
    # (https://docs.github.com/en/rest/repos/repos#list-organization-repositories)
    emu.state.user_accounts.add("dana")
    assert http("GET", "/orgs/dana/repos", token=dana).status_code == 404


# --- PyGithub reads the same things ------------------------------------------------------------------------------------------
def test_pygithub_sees_settings_and_merge_state(emu: GitHubEmulator, http: Any) -> None:
    emu.create_repo(
        "acme/app",
        files={"main.tf": MAIN_TF},
        allow_merge_commit=False,
        protection={"main": Protection(contexts=["test"])},
    )
    branch(emu, "acme/app", "bump", {"main.tf": "x"})
    pr = open_pr(http, "acme/app", "bump")
    gh = github.Github(auth=github.Auth.Token(emu.token), base_url=emu.api_url, retry=None)
    repo = gh.get_repo("acme/app")
    assert repo.allow_merge_commit is False and repo.allow_squash_merge is True
    got = repo.get_pull(pr["number"])
    assert got.mergeable is None and got.mergeable_state == "unknown"
    assert repo.get_pull(pr["number"]).mergeable_state == "blocked"
    gh.close()


# --- the validation itself ---------------------------------------------------------------------------------------------------
def test_openapi_validation_names_operation_and_path(emu: GitHubEmulator, http: Any) -> None:
    """Requests are checked against GitHub's OpenAPI description (@octokit/openapi): an invalid
    ``merge_method`` and an unknown endpoint are reported with the operation and JSON path."""
    emu.create_repo("acme/app", files={"main.tf": MAIN_TF})
    branch(emu, "acme/app", "bump", {"main.tf": "x"})
    pr = open_pr(http, "acme/app", "bump")
    http("PUT", f"/repos/acme/app/pulls/{pr['number']}/merge", json={"merge_method": "fast-forward"})
    http("GET", "/repos/acme/app/no-such-thing")
    gql(http, 'query { repository(owner: "acme", name: "app") { noSuchField } }')
    checker = emu.conformance
    assert checker is not None
    found = list(checker.violations)
    checker.violations.clear()
    assert any(
        v.startswith("PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge request body $.merge_method:")
        for v in found
    ), found
    assert any("no such operation" in v for v in found)
    assert any("noSuchField" in v for v in found)
    assert checker.stats["requests_failed"] >= 2 and checker.stats["graphql_failed"] == 1


def test_every_emulated_endpoint_has_its_documented_permission(emu: GitHubEmulator) -> None:
    """Each REST route maps to the fine-grained permission GitHub's docs name for it
    (https://docs.github.com/en/rest/authentication/permissions-required-for-fine-grained-personal-access-tokens);
    ``GET /rate_limit`` needs none and the App JWT route is not a token route."""
    from emulator import permissions

    routes = {fn.__name__ for _m, _p, fn in emu._routes}
    assert routes - set(permissions.REST) == {"r_rate_limit", "r_installation_token"}
    assert set(permissions.REST) <= routes


def test_graphql_answers_are_checked_against_the_schema(emu: GitHubEmulator) -> None:
    """The emulator's GraphQL answers are replayed through GitHub's schema: a value outside the
    MergeStateStatus enum is reported at its path."""
    checker = emu.conformance
    assert checker is not None
    query = {
        "query": 'query { repository(owner: "a", name: "b") { pullRequest(number: 1) { mergeStateStatus } } }'
    }
    good = {"data": {"repository": {"pullRequest": {"mergeStateStatus": "BLOCKED"}}}}
    bad = {"data": {"repository": {"pullRequest": {"mergeStateStatus": "GREEN"}}}}
    assert checker.check_graphql_response(query, good) == []
    problems = checker.check_graphql_response(query, bad)
    checker.violations.clear()
    assert problems and problems[0].startswith(
        "graphql response $.data.repository.pullRequest.mergeStateStatus:"
    )


# --- commands in rollout PRs: issue comments, reactions, collaborator permission -------------------
def test_issue_comment_reactions_are_idempotent_per_user(emu: GitHubEmulator, http: Any) -> None:
    """ "Create reaction for an issue comment": "A response with an HTTP 200 status means that you
    already added the reaction type to this issue comment"; "List reactions for an issue comment"
    filters by ``content``
    (https://docs.github.com/rest/reactions/reactions#create-reaction-for-an-issue-comment)."""
    emu.create_repo("acme/app", files={"main.tf": MAIN_TF})
    branch(emu, "acme/app", "feature", {"x.tf": "# x\n"})
    number = open_pr(http, "acme/app", "feature")["number"]
    comment = emu.comment("acme/app", number, "/catalog-ops rebase", login="alice")
    path = f"/repos/acme/app/issues/comments/{comment['id']}/reactions"
    first = http("POST", path, json={"content": "+1"})
    assert first.status_code == 201 and first.json()["user"]["login"] == "catalog-bot"
    again = http("POST", path, json={"content": "+1"})
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    other = emu.mint_token(login="bob")
    assert http("POST", path, json={"content": "+1"}, token=other).status_code == 201  # another user
    listed = http("GET", path, params={"content": "+1"}).json()
    assert sorted(r["user"]["login"] for r in listed) == ["bob", "catalog-bot"]
    # the comment's reaction rollup counts them
    (c,) = [
        c for c in http("GET", f"/repos/acme/app/issues/{number}/comments").json() if c["id"] == comment["id"]
    ]
    assert c["reactions"]["+1"] == 2 and c["reactions"]["total_count"] == 2
    assert c["user"]["login"] == "alice"


@pytest.mark.parametrize(
    ("role", "permission"),
    [("admin", "admin"), ("maintain", "write"), ("write", "write"), ("triage", "read"), ("read", "read")],
)
def test_collaborator_permission_maps_roles_to_legacy_permissions(
    emu: GitHubEmulator, http: Any, role: str, permission: str
) -> None:
    """ "Get repository permissions for a user": ``permission`` is the legacy base role (admin,
    write, read, none) "where the maintain role is mapped to write and the triage role is mapped
    to read"; ``role_name`` is the role itself
    (https://docs.github.com/rest/collaborators/collaborators#get-repository-permissions-for-a-user)."""
    emu.create_repo("acme/app", files={"main.tf": MAIN_TF}, roles={"carol": role}, private=True)
    resp = http("GET", "/repos/acme/app/collaborators/carol/permission")
    assert resp.status_code == 200, resp.text
    assert (resp.json()["permission"], resp.json()["role_name"]) == (permission, role)
    assert resp.json()["user"]["login"] == "carol"
    nobody = http("GET", "/repos/acme/app/collaborators/stranger/permission").json()
    assert nobody["permission"] == "none"  # no access to a private repository
    owner = http("GET", "/repos/acme/app/collaborators/acme/permission").json()
    assert owner["permission"] == "admin"


def test_reactions_need_issues_or_pull_requests_write(
    emu: GitHubEmulator, http: Any, scoped_token: Any
) -> None:
    """Fine-grained permissions: "Create reaction for an issue comment" needs Issues or Pull
    requests write; "Get repository permissions for a user" needs Metadata read
    (https://docs.github.com/en/rest/authentication/permissions-required-for-fine-grained-personal-access-tokens)."""
    emu.create_repo("acme/app", files={"main.tf": MAIN_TF})
    branch(emu, "acme/app", "feature", {"x.tf": "# x\n"})
    number = open_pr(http, "acme/app", "feature")["number"]
    comment = emu.comment("acme/app", number, "hi", login="alice")
    path = f"/repos/acme/app/issues/comments/{comment['id']}/reactions"
    reader = scoped_token({"pull_requests": "read"})
    assert http("POST", path, json={"content": "+1"}, token=reader).status_code == 403
    assert http("GET", "/repos/acme/app/collaborators/alice/permission", token=reader).status_code == 200
    writer = scoped_token({"pull_requests": "write"})
    assert http("POST", path, json={"content": "eyes"}, token=writer).status_code == 201
