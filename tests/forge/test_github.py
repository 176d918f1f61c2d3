"""GitHubForge specifics against the emulator: write budget, error mapping, auth kinds, GHES,
Git Data fallback, bounded retries and rate-limit handling."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from catalog_ops.errors import AuthError, NotFound, PermissionDenied, RateLimited, UsageError
from catalog_ops.forge import FileChange, PullState, make_forge
from catalog_ops.forge.github import GitHubForge, TransientError
from catalog_ops.settings import Settings
from emulator import GitHubEmulator

FILES = {"main.tf": b'variable "x" {}\n', "modules/vpc/main.tf": b"# vpc\n"}


def _writes(emu: GitHubEmulator, since: int) -> list[str]:
    return [e.operation for e in emu.request_log[since:] if e.content_creating]


def test_open_pr_with_two_files_labels_reviewers_in_four_writes(
    github_emulator: GitHubEmulator, github_forge: GitHubForge
) -> None:
    # Reviews may only be requested from collaborators and teams with access (GitHub 422 else).
    github_emulator.create_repo("acme/app", files=FILES, collaborators=["alice"])
    github_emulator.state.teams["acme"] = {"platform"}
    tip = github_forge.branch_sha("acme/app", "main")
    assert tip
    mark = len(github_emulator.request_log)
    github_forge.commit_files(
        "acme/app",
        "catalog-ops/bump",
        parent_sha=tip,
        message="chore: bump",
        changes=[FileChange("main.tf", b"# 1\n"), FileChange("modules/vpc/main.tf", b"# 2\n")],
    )
    pr = github_forge.open_pull(
        "acme/app",
        head="catalog-ops/bump",
        base="main",
        title="Bump",
        body="b",
        labels=["dependencies"],
        reviewers=["alice"],
        team_reviewers=["platform"],
        assignees=["bob"],
    )
    writes = _writes(github_emulator, mark)
    # The new branch and its commit are one GraphQL request (createRef + createCommitOnBranch):
    # GitHub counts content-generating requests, not mutations.
    assert writes == [
        "graphql:createCommitOnBranch",
        "POST /repos/{owner}/{repo}/pulls",
        "PATCH /repos/{owner}/{repo}/issues/{number}",
        "POST /repos/{owner}/{repo}/pulls/{number}/requested_reviewers",
    ]
    graphql = [e for e in github_emulator.request_log[mark:] if e.content_creating and e.kind == "graphql"]
    assert len(graphql) == 1 and graphql[0].status == 200
    assert (
        github_emulator.state.branch_sha(github_emulator.state.repos["acme/app"], "catalog-ops/bump")
        == pr.head_sha
    )
    assert github_forge.request_counts()["content_creating"] == 4
    stored = github_emulator.pulls("acme/app")[0]
    assert [x["name"] for x in stored["labels"]] == ["dependencies"]
    assert [t["slug"] for t in stored["requested_teams"]] == ["platform"]
    assert pr.state is PullState.OPEN


def test_errors_name_what_is_missing_without_the_token(
    github_emulator: GitHubEmulator, github_forge_factory: Callable[..., GitHubForge]
) -> None:
    github_emulator.create_repo("acme/app", files=FILES)
    bad = github_forge_factory(token="ghp_wrongwrongwrong")
    with pytest.raises(AuthError) as auth_err:
        bad.get_repo("acme/app")
    assert "ghp_wrongwrongwrong" not in str(auth_err.value) and "Bad credentials" in str(auth_err.value)
    github_emulator.add_token("ghp_readonlytoken", login="reader", read_only=True)
    reader = github_forge_factory(token="ghp_readonlytoken")
    tip = reader.branch_sha("acme/app", "main")
    assert tip
    with pytest.raises(PermissionDenied) as perm:
        reader.commit_files("acme/app", "x", parent_sha=tip, message="m", changes=[FileChange("a", b"a")])
    assert "contents=write" in str(perm.value) and "ghp_readonlytoken" not in str(perm.value)
    good = github_forge_factory()
    with pytest.raises(NotFound, match="acme/missing"):
        good.get_repo("acme/missing")
    with pytest.raises(AuthError, match="no GitHub credentials"):
        GitHubForge(api_url=github_emulator.api_url)


def test_make_forge_from_settings(github_emulator: GitHubEmulator) -> None:
    github_emulator.create_repo("acme/app", files=FILES)
    settings = Settings.from_env(
        {"GITHUB_TOKEN": github_emulator.token, "CATALOG_OPS_WRITE_INTERVAL": "0.01"},
        forge="github",
        github_api_url=github_emulator.api_url,
    )
    forge = make_forge(settings)
    assert isinstance(forge, GitHubForge) and forge.write_interval == 0.01
    assert forge.get_repo("acme/app").default_branch == "main"


def test_github_app_auth_gives_verified_commits(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    emu = GitHubEmulator(tmp_path / "gh", prefix="/api/v3").start()  # GitHub Enterprise Server layout
    try:
        emu.register_app("4242", public, slug="catalog-ops")
        emu.create_repo("acme/app", files=FILES)
        forge = GitHubForge(
            api_url=emu.api_url,
            app_id="4242",
            app_private_key=pem,
            app_installation_id="7",
            write_interval=0.001,
        )
        tip = forge.branch_sha("acme/app", "main")
        assert tip
        sha = forge.commit_files(
            "acme/app", "b", parent_sha=tip, message="m", changes=[FileChange("a", b"a")]
        )
        commit = emu.state.git_commit_json(emu.repo("acme/app"), sha)
        assert commit["verification"]["verified"] is True
        assert commit["author"]["name"] == "catalog-ops[bot]"
        assert any(e.path.startswith("/api/v3/app/installations/7/access_tokens") for e in emu.request_log)
        assert any(e.path == "/api/graphql" for e in emu.request_log)
        assert [t.name for t in forge.list_tags("acme/app")] == []
    finally:
        emu.stop()


def test_git_data_api_fallback(
    github_emulator: GitHubEmulator, github_forge_factory: Callable[..., GitHubForge]
) -> None:
    github_emulator.create_repo("acme/app", files=FILES)
    github_emulator.missing_graphql_fields.add("createCommitOnBranch")  # an older GHES
    forge = github_forge_factory()
    tip = forge.branch_sha("acme/app", "main")
    assert tip
    sha = forge.commit_files(
        "acme/app",
        "b",
        parent_sha=tip,
        message="m",
        changes=[
            FileChange("bin.dat", b"\x00\x01"),
            FileChange("main.tf", b"# new\n"),
            FileChange("modules/vpc/main.tf", None),
        ],
    )
    assert forge.request_counts()["fallback_git_data"] == 1
    assert forge.branch_sha("acme/app", "b") == sha
    assert sorted(forge.list_tree("acme/app", "b")) == ["bin.dat", "main.tf"]
    assert forge.read_file("acme/app", "bin.dat", "b") == b"\x00\x01"
    direct = github_forge_factory(commit_api="git-data")
    mark = len(github_emulator.request_log)
    direct.commit_files(
        "acme/app",
        "c",
        parent_sha=tip,
        message="m",
        changes=[FileChange("a.txt", b"a"), FileChange("b.txt", b"b")],
    )
    assert _writes(github_emulator, mark) == [
        "POST /repos/{owner}/{repo}/git/trees",
        "POST /repos/{owner}/{repo}/git/commits",
        "POST /repos/{owner}/{repo}/git/refs",
    ]


def test_retry_after_and_rate_limit_reset_are_honoured(
    github_emulator: GitHubEmulator, github_forge_factory: Callable[..., GitHubForge]
) -> None:
    github_emulator.create_repo("acme/app", files=FILES)
    forge = github_forge_factory()
    github_emulator.faults.secondary_limit(method="GET", path=r"/repos/acme/app$", times=2, retry_after=0.3)
    forge.get_repo("acme/app")
    log = [e for e in github_emulator.request_log if e.path == "/repos/acme/app"]
    assert [e.status for e in log] == [403, 403, 200]
    for prev, nxt in itertools.pairwise(log):
        assert prev.retry_after == 0.3
        assert nxt.started - prev.ended >= 0.3 - 0.01
    github_emulator.faults.primary_limit(method="GET", path=r"/repos/acme/app$", times=1, reset_in=1)
    forge.get_repo("acme/app")
    limited = [e for e in github_emulator.request_log if e.rate_reset is not None][-1]
    after = github_emulator.request_log[-1]
    assert after.status == 200 and after.wall_started >= limited.rate_reset
    assert forge.request_counts()["rate_limited"] == 3


def test_bounded_retries(
    github_emulator: GitHubEmulator, github_forge_factory: Callable[..., GitHubForge]
) -> None:
    github_emulator.create_repo("acme/app", files=FILES)
    forge = github_forge_factory(max_retries=3)
    github_emulator.faults.fail(503, method="GET", path=r"/repos/acme/app$", times=100)
    with pytest.raises(TransientError):
        forge.get_repo("acme/app")
    assert sum(1 for e in github_emulator.request_log if e.path == "/repos/acme/app") == 4
    github_emulator.faults.clear()
    github_emulator.faults.secondary_limit(
        method="GET", path=r"/repos/acme/app$", times=100, retry_after=0.01
    )
    with pytest.raises(RateLimited):
        forge.get_repo("acme/app")
    github_emulator.faults.clear()
    github_emulator.faults.secondary_limit(method="GET", path=r"/repos/acme/app$", times=1, retry_after=3600)
    slept: list[float] = []
    capped = github_forge_factory(max_wait=60, sleep=slept.append)
    with pytest.raises(RateLimited):
        capped.get_repo("acme/app")
    assert not any(seconds > 60 for seconds in slept), slept  # did not sleep an hour


def test_write_pacing(
    github_emulator: GitHubEmulator, github_forge_factory: Callable[..., GitHubForge]
) -> None:
    github_emulator.create_repo("acme/app", files=FILES)
    forge = github_forge_factory(write_interval=0.2)
    tip = forge.branch_sha("acme/app", "main")
    assert tip
    mark = len(github_emulator.request_log)
    forge.commit_files("acme/app", "b", parent_sha=tip, message="m", changes=[FileChange("a", b"a")])
    forge.open_pull("acme/app", head="b", base="main", title="t", body="b", labels=["x"])
    writes = [e for e in github_emulator.request_log[mark:] if e.content_creating]
    assert len(writes) == 3  # branch + commit (one GraphQL request), PR, labels
    for prev, nxt in itertools.pairwise(writes):
        assert nxt.started - prev.started >= 0.2 - 0.05  # start-to-start spacing (receipt jitter)


def test_burst_rejection_is_recovered(
    github_emulator: GitHubEmulator, github_forge_factory: Callable[..., GitHubForge]
) -> None:
    github_emulator.create_repo("acme/app", files=FILES)
    github_emulator.limits.per_minute = 4
    github_emulator.limits.window = 1.0
    forge = github_forge_factory()
    tip = forge.branch_sha("acme/app", "main")
    assert tip
    for i in range(3):
        forge.commit_files(
            "acme/app", f"b{i}", parent_sha=tip, message="m", changes=[FileChange(f"f{i}", b"x")]
        )
        forge.open_pull("acme/app", head=f"b{i}", base="main", title=f"t{i}", body="", labels=["l"])
    rejected = [e for e in github_emulator.request_log if e.fault == "burst"]
    assert rejected and github_emulator.limits.rejected == len(rejected)
    assert len(github_emulator.pulls("acme/app")) == 3
    log = github_emulator.request_log
    for i, entry in enumerate(log[:-1]):
        if entry.fault == "burst":
            assert entry.retry_after is not None
            assert log[i + 1].started - entry.ended >= entry.retry_after - 0.02


def test_commit_checks_combine_statuses_and_check_runs(
    github_emulator: GitHubEmulator, github_forge: GitHubForge
) -> None:
    from catalog_ops.forge import ChecksState
    from catalog_ops.forge.base import CommitChecks

    github_emulator.create_repo("acme/app", files=FILES)
    sha = github_forge.branch_sha("acme/app", "main")
    assert sha and isinstance(github_forge, CommitChecks)
    assert github_forge.commit_checks_state("acme/app", sha) is ChecksState.NONE
    github_emulator.set_status("acme/app", sha, "success", context="ci/lint")
    assert github_forge.commit_checks_state("acme/app", sha) is ChecksState.SUCCESS
    github_emulator.add_check_run("acme/app", sha, "terratest", status="in_progress", conclusion=None)
    assert github_forge.commit_checks_state("acme/app", sha) is ChecksState.PENDING
    github_emulator.add_check_run("acme/app", sha, "policy", conclusion="action_required")
    assert github_forge.commit_checks_state("acme/app", sha) is ChecksState.FAILURE


def test_cli_forge_show_and_list_on_github(
    github_emulator: GitHubEmulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from catalog_ops.cli import main

    github_emulator.create_repo("acme/app", files=FILES, topics=["terraform"])
    github_emulator.create_repo("acme/old", files=FILES, archived=True)
    monkeypatch.setenv("GITHUB_TOKEN", github_emulator.token)
    argv = ["--forge", "github", "--github-api-url", github_emulator.api_url, "forge"]
    assert main([*argv, "show", "acme/app", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["topics"] == ["terraform"]
    assert main([*argv, "list", "acme", "--json"]) == 0
    out = capsys.readouterr().out
    listing = json.loads(out)
    assert [r["full_name"] for r in listing["repos"]] == ["acme/app"]
    assert listing["skipped"][0]["reason"] == "archived"
    assert github_emulator.token not in out
    assert main([*argv, "show", "acme/missing"]) == 3
    assert github_emulator.token not in capsys.readouterr().err


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_refused_connection_fails_fast_naming_the_host() -> None:
    port = _free_port()  # nothing listens there any more: connection refused
    waits: list[float] = []
    forge = GitHubForge(api_url=f"http://127.0.0.1:{port}", token="sekrit-token", sleep=waits.append)
    with pytest.raises(TransientError) as info:
        forge.list_repos("acme")
    message = str(info.value)
    assert message.startswith(f"cannot connect to http://127.0.0.1:{port} (connection refused) after 3 tries")
    assert "sekrit" not in message
    assert forge.request_counts()["requests"] == 3
    assert sum(waits) <= 5


def test_bad_app_key_or_url_in_forge_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="CATALOG_OPS_APP_PRIVATE_KEY is not a PEM private key"):
        GitHubForge(app_id="1", app_private_key="not a key", app_installation_id="2")
    with pytest.raises(UsageError, match="CATALOG_OPS_APP_INSTALLATION_ID must be a positive integer"):
        GitHubForge(app_id="1", app_private_key="not a key", app_installation_id="x")
    with pytest.raises(UsageError, match="has no host"):
        GitHubForge(api_url="http://", token="t")


def test_make_forge_rejects_bad_app_key_before_any_request(github_emulator: GitHubEmulator) -> None:
    mark = len(github_emulator.request_log)
    env = {"CATALOG_OPS_APP_ID": "7", "CATALOG_OPS_APP_INSTALLATION_ID": "42"}
    settings = Settings.from_env(env, forge="github", github_api_url=github_emulator.api_url)
    settings = settings.replace(app_private_key="-----BEGIN RSA PRIVATE KEY-----\nnope\n")
    with pytest.raises(UsageError, match="not a PEM private key"):
        make_forge(settings)
    assert len(github_emulator.request_log) == mark


def test_graphql_rate_limited_waits_and_succeeds_without_fallback_writes(
    github_emulator: GitHubEmulator, github_forge_factory: Callable[..., GitHubForge]
) -> None:
    """GraphQL limits arrive as HTTP 200 with ``errors[].type == "RATE_LIMITED"`` (primary) or the
    secondary-limit message: the same back-off as REST, then the same mutation succeeds; no Git
    Data write is made while limited."""
    emu = github_emulator
    emu.create_repo("acme/app", files=FILES)
    forge = github_forge_factory()
    tip = forge.branch_sha("acme/app", "main")
    assert tip
    emu.faults.graphql_rate_limit(times=1, reset_in=1)
    emu.faults.graphql_secondary_limit(times=1, retry_after=0.2)
    mark = len(emu.request_log)
    sha = forge.commit_files(
        "acme/app", "b", parent_sha=tip, message="m", changes=[FileChange("main.tf", b"# new\n")]
    )
    assert forge.branch_sha("acme/app", "b") == sha
    log = emu.request_log[mark:]
    gql = [e for e in log if e.kind == "graphql"]
    assert [e.fault for e in gql] == ["graphql_primary", "graphql_secondary", None]
    assert gql[-1].wall_started >= (gql[0].rate_reset or 0)  # waited for the reset
    assert gql[2].started - gql[1].ended >= 0.2 - 0.01  # honoured Retry-After
    assert not any("/git/commits" in e.path or "/git/trees" in e.path for e in log if e.method == "POST")
    counts = forge.request_counts()
    assert counts.get("fallback_git_data", 0) == 0 and counts["rate_limited"] == 2
    # still limited after max_retries: RateLimited, never a fallback write
    emu.faults.graphql_rate_limit(times=10, reset_in=0)
    few = github_forge_factory(max_retries=2)
    with pytest.raises(RateLimited):
        few.commit_files("acme/app", "c", parent_sha=tip, message="m", changes=[FileChange("a", b"a")])
    assert few.request_counts().get("fallback_git_data", 0) == 0
    assert forge.branch_sha("acme/app", "c") in (None, tip)  # no commit was made


def test_private_user_owned_dependents_are_listed(
    github_emulator: GitHubEmulator, github_forge_factory: Callable[..., GitHubForge]
) -> None:
    """``/users/{u}/repos`` lists public repositories only; the authenticated listings find the
    private ones: ``/user/repos`` for a personal token, ``/installation/repositories`` for an App."""
    emu = github_emulator
    emu.state.user_accounts.add("alice")  # a user account: /orgs/alice/repos is a 404
    emu.create_repo("alice/public-dep", files=FILES)
    emu.create_repo("alice/private-dep", files=FILES, private=True)
    emu.create_repo("bob/other-private", files=FILES, private=True)
    pat = emu.mint_token(kind="pat", login="alice")
    names = [r.full_name for r in github_forge_factory(token=pat).list_repos("alice").repos]
    assert names == ["alice/private-dep", "alice/public-dep"]
    app = emu.mint_token(kind="app", repositories=["alice/private-dep", "bob/other-private"])
    names = [r.full_name for r in github_forge_factory(token=app).list_repos("alice").repos]
    assert names == ["alice/private-dep", "alice/public-dep"]


def test_compare_url_is_the_compare_view_without_a_request(github_forge) -> None:
    before = dict(github_forge.request_counts())
    url = github_forge.compare_url("acme/catalog", "modules/vpc/v1.0.0", "modules/vpc/v1.1.0")
    assert url.endswith("/acme/catalog/compare/modules/vpc/v1.0.0...modules/vpc/v1.1.0")
    assert "/api/v3" not in url and "api.github.com" not in url
    assert dict(github_forge.request_counts()) == before
