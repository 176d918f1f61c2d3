"""One behaviour suite for every Forge: LocalForge and GitHubForge over the GitHub emulator.

Each test gets a ``world``: the forge plus the few forge-specific levers a test needs (create a
repo, make checks pass/fail, list comments). Git results are checked through real ``git clone``
of ``forge.clone_url(repo)``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from catalog_ops.core.codeowners import owners_for
from catalog_ops.errors import AutoMergeUnavailable, Conflict, NotFound
from catalog_ops.forge import ChecksState, FileChange, Forge, PullState
from catalog_ops.forge.github import GitHubForge
from catalog_ops.forge.local import LocalForge
from emulator import GitHubEmulator


class World:
    """Forge-specific levers behind one interface."""

    def __init__(self, forge: Forge, tmp_path: Path, emulator: GitHubEmulator | None = None) -> None:
        self.forge = forge
        self.tmp = tmp_path
        self.emu = emulator

    def create_repo(self, full_name: str, files: dict[str, bytes] | None = None, **kw: Any) -> None:
        if self.emu is not None:
            self.emu.create_repo(full_name, files=files, **kw)
        else:
            assert isinstance(self.forge, LocalForge)
            self.forge.create_repo(full_name, files=files, **kw)

    def allow_reviewers(self, repo: str, users: list[str], teams: list[str]) -> None:
        """GitHub requests reviews only from collaborators and teams with access (422 else);
        the local forge accepts anyone."""
        if self.emu is not None:
            with self.emu.state.lock:
                self.emu.state.repos[repo].collaborators.update(users)
                org = repo.split("/")[0]
                self.emu.state.teams.setdefault(org, set()).update(t.split("/")[-1] for t in teams)

    def require_checks(self, repo: str, *contexts: str) -> None:
        """Branch protection on main requiring ``contexts`` (GitHub); the local forge's CI is
        its one check, ``local-checks``, required instead."""
        if self.emu is not None:
            from emulator.state import Protection

            with self.emu.state.lock:
                self.emu.state.repos[repo].protection["main"] = Protection(contexts=list(contexts))
        else:
            assert isinstance(self.forge, LocalForge)
            self.forge.set_repo_settings(repo, protection={"main": {"contexts": ["local-checks"]}})

    def fail_checks(self, repo: str, branch: str) -> None:
        """The checks of ``branch``'s head failed (GitHub: status ``ci/test``; local: its CI)."""
        sha = self.forge.branch_sha(repo, branch)
        assert sha
        if self.emu is not None:
            self.emu.set_status(repo, sha, "failure")
        else:
            self.block_checks(repo, branch)

    def block_checks(self, repo: str, branch: str) -> None:
        sha = self.forge.branch_sha(repo, branch)
        assert sha
        if self.emu is not None:
            self.emu.set_status(repo, sha, "pending")
        else:
            self.forge.commit_files(
                repo, branch, parent_sha=sha, message="wip", changes=[FileChange("FAIL_CHECKS", b"")]
            )

    def pass_checks(self, repo: str, branch: str) -> None:
        sha = self.forge.branch_sha(repo, branch)
        assert sha
        if self.emu is not None:
            self.emu.set_status(repo, sha, "success")
        else:
            assert isinstance(self.forge, LocalForge)
            self.forge.commit_files(
                repo, branch, parent_sha=sha, message="fix", changes=[FileChange("FAIL_CHECKS", None)]
            )
            self.forge.process_auto_merges(repo)

    def person_comment(self, repo: str, number: int, body: str, login: str) -> int:
        """A comment posted by the person ``login`` (the web UI); returns its id."""
        if self.emu is not None:
            return int(self.emu.comment(repo, number, body, login=login)["id"])
        assert isinstance(self.forge, LocalForge)
        return self.forge.add_comment(repo, number, body, author=login).id

    def set_roles(self, repo: str, roles: dict[str, str]) -> None:
        """Repository roles (``admin``/``maintain``/``write``/``triage``/``read``) of people."""
        if self.emu is not None:
            with self.emu.state.lock:
                self.emu.state.repos[repo].roles.update(roles)
        else:
            assert isinstance(self.forge, LocalForge)
            self.forge.set_repo_settings(repo, collaborators=roles)

    def reaction_count(self, repo: str, comment_id: int, content: str) -> int:
        if self.emu is not None:
            return sum(1 for r in self.emu.reactions(repo, comment_id) if r["content"] == content)
        assert isinstance(self.forge, LocalForge)
        return sum(1 for c, _u in self.forge.reactions(repo, comment_id) if c == content)

    def comment_bodies(self, repo: str, number: int) -> list[str]:
        if self.emu is not None:
            return [c["body"] for c in self.emu.comments(repo, number)]
        assert isinstance(self.forge, LocalForge)
        return [c.body for c in self.forge.list_comments(repo, number)]

    def open_issue_count(self, repo: str) -> int:
        if self.emu is not None:
            return sum(1 for i in self.emu.issues(repo) if i["state"] == "open")
        assert isinstance(self.forge, LocalForge)
        return sum(1 for i in self.forge.list_issues(repo) if i.state == "open")

    def clone(self, repo: str) -> Path:
        dest = self.tmp / f"clone-{repo.replace('/', '-')}-{len(list(self.tmp.iterdir()))}"
        subprocess.run(
            ["git", "clone", "-q", "--no-checkout", self.forge.clone_url(repo), str(dest)], check=True
        )
        return dest


def git(path: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(path), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture(params=["local", "github"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> World:
    if request.param == "local":
        forge = request.getfixturevalue("local_forge")
        return World(forge, tmp_path)
    emu: GitHubEmulator = request.getfixturevalue("github_emulator")
    factory: Callable[..., GitHubForge] = request.getfixturevalue("github_forge_factory")
    return World(factory(), tmp_path, emu)


FILES = {
    "main.tf": b'module "vpc" {\n  source = "git::https://example.com/acme/modules.git//vpc?ref=v1.0.0"\n}\n',
    "modules/a/variables.tf": b'variable "x" {}\n',
}


def _branch(world: World, repo: str, branch: str, changes: list[FileChange], message: str = "change") -> str:
    tip = world.forge.branch_sha(repo, "main")
    assert tip
    return world.forge.commit_files(repo, branch, parent_sha=tip, message=message, changes=changes)


def test_protocol_and_repo_listing(world: World) -> None:
    assert isinstance(world.forge, Forge)
    world.create_repo("acme/app", FILES, topics=["terraform"])
    world.create_repo("acme/modules", FILES, topics=["terraform", "catalog"])
    world.create_repo("acme/old", FILES, archived=True)
    world.create_repo("acme/forked", FILES, fork=True)
    world.create_repo("acme/docs", FILES)
    listing = world.forge.list_repos("acme")
    assert [r.full_name for r in listing.repos] == ["acme/app", "acme/docs", "acme/modules"]
    assert dict((r.full_name, why) for r, why in listing.skipped) == {
        "acme/forked": "fork",
        "acme/old": "archived",
    }
    listing = world.forge.list_repos("acme", topics=["terraform"], exclude=["mod*"], skip_archived=False)
    assert [r.full_name for r in listing.repos] == ["acme/app"]
    reasons = dict((r.full_name, why) for r, why in listing.skipped)
    assert reasons["acme/modules"] == "excluded"
    assert reasons["acme/docs"] == "no matching topic"
    assert reasons["acme/old"] == "no matching topic"
    listing = world.forge.list_repos("acme", include=["app", "docs"])
    assert [r.full_name for r in listing.repos] == ["acme/app", "acme/docs"]
    repo = world.forge.get_repo("acme/modules")
    assert repo.default_branch == "main" and set(repo.topics) == {"terraform", "catalog"}
    with pytest.raises(NotFound):
        world.forge.get_repo("acme/missing")


def test_read_files_and_tree(world: World) -> None:
    world.create_repo("acme/app", FILES)
    assert sorted(world.forge.list_tree("acme/app", "main")) == ["main.tf", "modules/a/variables.tf"]
    assert (
        world.forge.read_file("acme/app", "modules/a/variables.tf", "main") == FILES["modules/a/variables.tf"]
    )
    assert world.forge.read_file("acme/app", "nope.tf", "main") is None
    sha = world.forge.branch_sha("acme/app", "main")
    assert sha and world.forge.read_file("acme/app", "main.tf", sha) == FILES["main.tf"]
    assert world.forge.branch_sha("acme/app", "nope") is None
    with pytest.raises(NotFound):
        world.forge.list_tree("acme/app", "no-such-ref")
    with pytest.raises(NotFound):
        world.forge.read_file("acme/app", "main.tf", "no-such-ref")


def test_commit_files_creates_and_force_moves_branch(world: World) -> None:
    world.create_repo("acme/app", FILES)
    tip = world.forge.branch_sha("acme/app", "main")
    assert tip
    binary = bytes(range(256))
    first = world.forge.commit_files(
        "acme/app",
        "catalog-ops/bump-vpc",
        parent_sha=tip,
        message="chore(deps): bump vpc to v1.1.0\n\nDetails here.",
        changes=[
            FileChange("main.tf", FILES["main.tf"].replace(b"v1.0.0", b"v1.1.0")),
            FileChange("modules/a/variables.tf", None),
            FileChange("bin/blob.dat", binary),
        ],
    )
    assert world.forge.branch_sha("acme/app", "catalog-ops/bump-vpc") == first
    clone = world.clone("acme/app")
    assert git(clone, "rev-parse", "origin/catalog-ops/bump-vpc") == first
    assert git(clone, "rev-parse", "origin/catalog-ops/bump-vpc^") == tip
    assert git(clone, "log", "-1", "--format=%s", first) == "chore(deps): bump vpc to v1.1.0"
    assert "v1.1.0" in git(clone, "show", f"{first}:main.tf")
    assert git(clone, "ls-tree", "-r", "--name-only", first).split() == ["bin/blob.dat", "main.tf"]
    assert world.forge.read_file("acme/app", "bin/blob.dat", "catalog-ops/bump-vpc") == binary
    # Re-run from the same parent: the branch is force-moved to a new commit on top of main.
    second = world.forge.commit_files(
        "acme/app",
        "catalog-ops/bump-vpc",
        parent_sha=tip,
        message="again",
        changes=[FileChange("x.txt", b"x")],
    )
    assert second != first
    assert world.forge.branch_sha("acme/app", "catalog-ops/bump-vpc") == second
    assert world.forge.list_tree("acme/app", second) == sorted(["main.tf", "modules/a/variables.tf", "x.txt"])
    world.forge.delete_branch("acme/app", "catalog-ops/bump-vpc")
    world.forge.delete_branch("acme/app", "catalog-ops/bump-vpc")
    assert world.forge.branch_sha("acme/app", "catalog-ops/bump-vpc") is None


def test_pull_request_lifecycle(world: World) -> None:
    world.create_repo("acme/app", FILES)
    world.allow_reviewers("acme/app", ["alice", "carol"], ["platform", "sre"])
    _branch(world, "acme/app", "feat", [FileChange("a.txt", b"a")])
    pr = world.forge.open_pull(
        "acme/app",
        head="feat",
        base="main",
        title="Bump vpc",
        body="body <!-- catalog-ops -->",
        labels=["dependencies", "catalog-ops"],
        reviewers=["alice"],
        team_reviewers=["acme/platform"],
        assignees=["bob"],
    )
    assert pr.state is PullState.OPEN and pr.head == "feat" and pr.base == "main"
    assert set(pr.labels) == {"dependencies", "catalog-ops"}
    assert set(pr.reviewers) == {"alice", "acme/platform"}
    assert pr.assignees == ("bob",)
    assert pr.head_sha == world.forge.branch_sha("acme/app", "feat")
    # Opening again for the same head updates the PR instead of failing (GitHub: 422 already exists).
    again = world.forge.open_pull(
        "acme/app", head="feat", base="main", title="Bump vpc v2", body="b2", labels=["extra"]
    )
    assert again.number == pr.number and again.title == "Bump vpc v2"
    assert set(again.labels) == {"dependencies", "catalog-ops", "extra"}
    found = world.forge.find_open_pull("acme/app", "feat")
    assert found is not None and found.number == pr.number
    assert world.forge.find_open_pull("acme/app", "other") is None
    updated = world.forge.update_pull("acme/app", pr.number, body="new body", labels=["only"])
    assert updated.body == "new body" and updated.labels == ("only",) and updated.title == "Bump vpc v2"
    world.forge.add_labels("acme/app", pr.number, ["more"])
    world.forge.request_reviewers("acme/app", pr.number, users=["carol"], teams=["sre"])
    world.forge.add_assignees("acme/app", pr.number, ["dave"])
    got = world.forge.get_pull("acme/app", pr.number)
    assert set(got.labels) == {"only", "more"}
    assert {"alice", "carol", "acme/platform", "acme/sre"} <= set(got.reviewers)
    assert set(got.assignees) == {"bob", "dave"}
    world.forge.close_pull("acme/app", pr.number, comment="Superseded.")
    closed = world.forge.get_pull("acme/app", pr.number)
    assert closed.state is PullState.CLOSED
    assert world.comment_bodies("acme/app", pr.number) == ["Superseded."]
    assert world.forge.find_open_pull("acme/app", "feat") is None
    closed_found = world.forge.find_closed_pull("acme/app", "feat")
    assert closed_found is not None and closed_found.number == pr.number
    assert closed_found.state is PullState.CLOSED
    assert world.forge.find_closed_pull("acme/app", "other") is None
    with pytest.raises(NotFound):
        world.forge.get_pull("acme/app", 999)


def test_open_pull_errors(world: World) -> None:
    world.create_repo("acme/app", FILES)
    with pytest.raises(NotFound):
        world.forge.open_pull("acme/app", head="missing", base="main", title="t", body="b")
    _branch(world, "acme/app", "ok", [FileChange("b", b"b")])
    with pytest.raises(NotFound):
        world.forge.open_pull("acme/app", head="ok", base="missing", title="t", body="b")
    pr = world.forge.open_pull("acme/app", head="ok", base="main", title="t", body="b")
    with pytest.raises(NotFound):
        world.forge.update_pull("acme/app", pr.number, base="missing")


def test_no_commits_between(world: World) -> None:
    world.create_repo("acme/app", FILES)
    # A head whose commits are all in the base: merge feat, then propose it again.
    _branch(world, "acme/app", "feat", [FileChange("a", b"a")])
    pr = world.forge.open_pull("acme/app", head="feat", base="main", title="t", body="b")
    world.forge.merge_pull("acme/app", pr.number, method="merge")
    with pytest.raises(Conflict, match="No commits between"):
        world.forge.open_pull("acme/app", head="feat", base="main", title="t", body="b")


def test_sticky_comment_and_dashboard_issue(world: World) -> None:
    world.create_repo("acme/app", FILES)
    _branch(world, "acme/app", "feat", [FileChange("a", b"a")])
    pr = world.forge.open_pull("acme/app", head="feat", base="main", title="t", body="b")
    marker = "<!-- catalog-ops:plan -->"
    c1 = world.forge.upsert_comment("acme/app", pr.number, marker=marker, body=f"{marker}\nfirst")
    c2 = world.forge.upsert_comment("acme/app", pr.number, marker=marker, body=f"{marker}\nsecond")
    assert c1.id == c2.id
    assert world.comment_bodies("acme/app", pr.number) == [f"{marker}\nsecond"]
    dash = "<!-- catalog-ops:dashboard -->"
    i1 = world.forge.upsert_issue(
        "acme/app", marker=dash, title="Dependency dashboard", body=f"{dash}\none", labels=["deps"]
    )
    i2 = world.forge.upsert_issue("acme/app", marker=dash, title="Dependency dashboard", body=f"{dash}\ntwo")
    assert i1.number == i2.number and i2.body == f"{dash}\ntwo"
    assert world.open_issue_count("acme/app") == 1
    assert i1.number != pr.number  # issues and PRs share one number sequence


def test_tags_and_releases(world: World) -> None:
    world.create_repo("acme/modules", FILES)
    tip = world.forge.branch_sha("acme/modules", "main")
    assert tip
    tag = world.forge.create_tag("acme/modules", name="v1.0.0", sha=tip, message="Release v1.0.0\n")
    assert tag.sha == tip
    with pytest.raises(Conflict):
        world.forge.create_tag("acme/modules", name="v1.0.0", sha=tip, message="again")
    tags = {t.name: t for t in world.forge.list_tags("acme/modules")}
    assert tags["v1.0.0"].sha == tip and tags["v1.0.0"].message == "Release v1.0.0"
    r1 = world.forge.create_release("acme/modules", tag="v1.0.0", name="v1.0.0", body="notes one")
    assert r1.tag == "v1.0.0" and r1.body == "notes one"
    # Releasing an untagged version tags the default branch (GitHub behaviour).
    world.forge.create_release(
        "acme/modules", tag="v1.1.0-rc.1", name="v1.1.0-rc.1", body="rc", prerelease=True
    )
    assert "v1.1.0-rc.1" in {t.name for t in world.forge.list_tags("acme/modules")}
    with pytest.raises(Conflict):
        world.forge.create_release("acme/modules", tag="v1.0.0", name="dup", body="dup")
    got = world.forge.get_release("acme/modules", "v1.1.0-rc.1")
    assert got is not None and got.prerelease and got.body == "rc"
    assert world.forge.get_release("acme/modules", "v9.9.9") is None
    assert [r.tag for r in world.forge.list_releases("acme/modules")] == ["v1.1.0-rc.1", "v1.0.0"]


def test_codeowners_lookup_order(world: World) -> None:
    world.create_repo(
        "acme/app",
        {
            "CODEOWNERS": b"* @acme/root\n",
            ".github/CODEOWNERS": b"* @acme/everyone\n/modules/ @acme/modules-team\n",
            "modules/a/main.tf": b"",
        },
    )
    text = world.forge.codeowners("acme/app", "main")
    assert text is not None and "@acme/everyone" in text
    assert owners_for(text, ["modules/a/main.tf"]) == ("@acme/modules-team",)
    world.create_repo("acme/none", FILES)
    assert world.forge.codeowners("acme/none", "main") is None


def test_auto_merge_when_checks_pass(world: World) -> None:
    # GitHub's auto-merge waits for *required* checks; with only non-required checks pending it
    # answers "unstable status" (see test_auto_merge_is_not_offered_when_nothing_is_required).
    world.create_repo("acme/app", FILES)
    world.require_checks("acme/app", "ci/test")
    _branch(world, "acme/app", "feat", [FileChange("a", b"a")])
    pr = world.forge.open_pull("acme/app", head="feat", base="main", title="t", body="b")
    world.block_checks("acme/app", "feat")
    assert world.forge.checks_state("acme/app", pr.number) in (ChecksState.PENDING, ChecksState.FAILURE)
    world.forge.enable_auto_merge("acme/app", pr.number, method="squash")
    waiting = world.forge.get_pull("acme/app", pr.number)
    assert waiting.state is PullState.OPEN and waiting.auto_merge and waiting.merge_method == "squash"
    world.pass_checks("acme/app", "feat")
    merged = world.forge.get_pull("acme/app", pr.number)
    assert merged.state is PullState.MERGED and merged.merged_sha
    assert world.forge.branch_sha("acme/app", "main") == merged.merged_sha
    assert world.forge.read_file("acme/app", "a", "main") == b"a"


def test_merge_is_refused_while_a_required_check_fails(world: World) -> None:
    """Branch protection requiring a check: merging a PR whose required check failed is
    refused (GitHub: 405 'Required status check "X" is failing.'), the base does not move; once
    the check passes on the head it merges. Without protection a failing check does not block
    a person's merge (GitHub merges it too)."""
    world.create_repo("acme/app", FILES)
    world.require_checks("acme/app", "ci/test")
    _branch(world, "acme/app", "feat", [FileChange("a", b"a")])
    pr = world.forge.open_pull("acme/app", head="feat", base="main", title="t", body="b")
    world.fail_checks("acme/app", "feat")
    main_before = world.forge.branch_sha("acme/app", "main")
    with pytest.raises(Conflict, match=r'Required status check "[^"]+" is failing'):
        world.forge.merge_pull("acme/app", pr.number, method="squash")
    assert world.forge.get_pull("acme/app", pr.number).state is PullState.OPEN
    assert world.forge.branch_sha("acme/app", "main") == main_before
    world.pass_checks("acme/app", "feat")
    head = world.forge.get_pull("acme/app", pr.number).head_sha
    world.forge.merge_pull("acme/app", pr.number, method="squash", sha=head)
    assert world.forge.get_pull("acme/app", pr.number).state is PullState.MERGED

    world.create_repo("acme/free", FILES)
    _branch(world, "acme/free", "feat", [FileChange("a", b"a")])
    free = world.forge.open_pull("acme/free", head="feat", base="main", title="t", body="b")
    world.fail_checks("acme/free", "feat")
    world.forge.merge_pull("acme/free", free.number, method="squash")
    assert world.forge.get_pull("acme/free", free.number).state is PullState.MERGED


def test_auto_merge_is_not_offered_when_nothing_is_required(world: World) -> None:
    """Nothing required and no check reported yet: GitHub answers "clean status" and does not
    arm auto-merge; the forge never turns that into a merge of an untested head (issue 14). The
    local forge arms it and merges only once its CI ran on the head and passed."""
    world.create_repo("acme/app", FILES)
    _branch(world, "acme/app", "feat", [FileChange("a", b"a")])
    pr = world.forge.open_pull("acme/app", head="feat", base="main", title="t", body="b")
    if world.emu is not None:
        with pytest.raises(AutoMergeUnavailable, match="clean status"):
            world.forge.enable_auto_merge("acme/app", pr.number, method="merge")
        got = world.forge.get_pull("acme/app", pr.number)
        assert got.state is PullState.OPEN and not got.auto_merge
        return
    assert isinstance(world.forge, LocalForge)
    world.forge.enable_auto_merge("acme/app", pr.number, method="merge")
    got = world.forge.get_pull("acme/app", pr.number)
    assert got.state is PullState.MERGED
    record = next(p for p in world.forge.load_record("acme/app")["pulls"] if p["number"] == pr.number)
    assert record["checks"]["sha"] == pr.head_sha and record["checks"]["state"] == "success"


def test_auto_merge_not_allowed(world: World) -> None:
    world.create_repo("acme/app", FILES, allow_auto_merge=False)
    _branch(world, "acme/app", "feat", [FileChange("a", b"a")])
    pr = world.forge.open_pull("acme/app", head="feat", base="main", title="t", body="b")
    with pytest.raises(AutoMergeUnavailable, match="not allowed"):
        world.forge.enable_auto_merge("acme/app", pr.number)
    assert world.forge.get_pull("acme/app", pr.number).state is PullState.OPEN


def test_merge_and_pulls_for_commit(world: World) -> None:
    world.create_repo("acme/app", FILES)
    sha = _branch(world, "acme/app", "feat", [FileChange("a", b"a")], message="feat: add a")
    _branch(world, "acme/app", "clash", [FileChange("main.tf", b"# other\n")])
    _branch(world, "acme/app", "clash2", [FileChange("main.tf", b"# different\n")])
    pr = world.forge.open_pull("acme/app", head="feat", base="main", title="Add a", body="")
    merge_sha = world.forge.merge_pull("acme/app", pr.number, method="squash")
    assert world.forge.branch_sha("acme/app", "main") == merge_sha
    assert [p.number for p in world.forge.pulls_for_commit("acme/app", sha)] == [pr.number]
    assert [p.number for p in world.forge.pulls_for_commit("acme/app", merge_sha)] == [pr.number]
    p1 = world.forge.open_pull("acme/app", head="clash", base="main", title="c1", body="")
    p2 = world.forge.open_pull("acme/app", head="clash2", base="main", title="c2", body="")
    world.forge.merge_pull("acme/app", p1.number, method="merge")
    with pytest.raises(Conflict):
        world.forge.merge_pull("acme/app", p2.number, method="merge")
    with pytest.raises(Conflict):
        world.forge.merge_pull("acme/app", p1.number)  # already merged
    clone = world.clone("acme/app")
    assert git(clone, "show", "origin/main:main.tf") == "# other"


def test_update_after_base_moved_keeps_the_pull_request(world: World) -> None:
    world.create_repo("acme/app", FILES)
    _branch(world, "acme/app", "bump", [FileChange("main.tf", b"# v1.1\n")])
    pr = world.forge.open_pull("acme/app", head="bump", base="main", title="Bump 1.1", body="")
    _branch(world, "acme/app", "other", [FileChange("other.txt", b"o")])
    other = world.forge.open_pull("acme/app", head="other", base="main", title="Other", body="")
    world.forge.merge_pull("acme/app", other.number, method="squash")
    new_tip = world.forge.branch_sha("acme/app", "main")
    assert new_tip
    sha = world.forge.commit_files(
        "acme/app",
        "bump",
        parent_sha=new_tip,
        message="Bump 1.2",
        changes=[FileChange("main.tf", b"# v1.2\n")],
    )
    again = world.forge.open_pull("acme/app", head="bump", base="main", title="Bump 1.2", body="")
    assert again.number == pr.number and again.state is PullState.OPEN and again.head_sha == sha
    clone = world.clone("acme/app")
    assert git(clone, "rev-list", "--count", "origin/main..origin/bump") == "1"
    assert git(clone, "show", "origin/bump:other.txt") == "o"
    # Deleting the head branch closes its PR (GitHub does this too).
    world.forge.delete_branch("acme/app", "bump")
    assert world.forge.get_pull("acme/app", pr.number).state is PullState.CLOSED


def test_conversations_comments_reactions_and_permission(world: World) -> None:
    """``Conversations``: people's comments with their author, the product's own told apart by
    ``identity()``, reactions added once, the permission of a login (maintain -> write,
    triage -> read, as GitHub reports it)."""
    from catalog_ops.rollout.commands import is_product

    # private on GitHub: a login without a role there has no access ("none")
    world.create_repo("acme/talk", FILES, **({"private": True} if world.emu else {}))
    _branch(world, "acme/talk", "feat", [FileChange("a", b"a")])
    pr = world.forge.open_pull("acme/talk", head="feat", base="main", title="t", body="b")
    marker = "<!-- catalog-ops:commands"
    cid = world.person_comment("acme/talk", pr.number, f"/catalog-ops rebase\n{marker} -->", "alice")
    ours = world.forge.upsert_comment("acme/talk", pr.number, marker=marker, body=f"{marker} ours -->")
    assert ours.id != cid  # a person's comment quoting the marker is never the product's to edit
    comments = world.forge.list_comments("acme/talk", pr.number)
    assert [c.id for c in comments] == [cid, ours.id]
    assert comments[0].author == "alice" and comments[0].body.startswith("/catalog-ops rebase")
    me = world.forge.identity()
    assert [is_product(c.author, me) for c in comments] == [False, True]
    # the first ``limit`` and the newest ``limit``, each once (both forges)
    assert [c.id for c in world.forge.list_comments("acme/talk", pr.number, limit=1)] == [cid, ours.id]
    third = world.person_comment("acme/talk", pr.number, "later", "bob")
    assert [c.id for c in world.forge.list_comments("acme/talk", pr.number, limit=1)] == [cid, third]
    world.forge.add_reaction("acme/talk", cid, "+1")
    world.forge.add_reaction("acme/talk", cid, "+1")
    assert world.reaction_count("acme/talk", cid, "+1") == 1
    world.set_roles("acme/talk", {"bob": "triage", "mia": "maintain", "ann": "admin", "rae": "write"})
    got = {login: world.forge.permission("acme/talk", login) for login in ("bob", "mia", "ann", "rae", "zed")}
    assert got == {"bob": "read", "mia": "write", "ann": "admin", "rae": "write", "zed": "none"}
