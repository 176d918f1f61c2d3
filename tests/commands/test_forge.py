"""`catalog-ops forge show|create-release` and `tools list` as a new user meets them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from catalog_ops import cli
from catalog_ops.forge import FileChange
from catalog_ops.forge.local import LocalForge


def _forge_cli(forge: LocalForge, *args: str) -> int:
    return cli.main(["--forge", "local", "--local-root", str(forge.root), "forge", *args])


def test_forge_show_prints_titles_with_brackets_verbatim(
    local_forge: LocalForge, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "300")  # no wrapping of the table cells
    local_forge.create_repo("acme/app", files={"README.md": "app\n"})
    main = local_forge.branch_sha("acme/app", "main")
    assert main is not None
    local_forge.commit_files(
        "acme/app", "deps", parent_sha=main, message="deps", changes=[FileChange("x.tf", b"#\n")]
    )
    local_forge.open_pull(
        "acme/app",
        head="deps",
        base="main",
        title="[security] bump vpc [breaking] :warning:",
        body="",
        labels=["[wip]"],
    )
    # what `dashboard --title 'Deps [/oops]'` stores
    local_forge.upsert_issue("acme/app", marker="<!-- d -->", title="Deps [/oops]", body="<!-- d -->\n")
    local_forge.create_release("acme/app", tag="v1.0.0", name="[bold]v1[/bold]", body="")

    assert _forge_cli(local_forge, "show", "acme/app") == 0
    out = capsys.readouterr().out
    assert "Deps [/oops]" in out
    assert "[security] bump vpc [breaking] :warning:" in out
    assert "[wip]" in out
    assert "[bold]v1[/bold]" in out

    assert _forge_cli(local_forge, "show") == 0
    assert "acme/app" in capsys.readouterr().out


def test_forge_create_release_makes_an_upstream_repo_usable(
    local_forge: LocalForge, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _forge_cli(local_forge, "init-repo", "hashicorp/terraform") == 0
    assert local_forge.branch_sha("hashicorp/terraform", "main") is None  # empty repository
    assert _forge_cli(local_forge, "create-release", "hashicorp/terraform", "v1.11.4") == 0
    assert (
        _forge_cli(local_forge, "create-release", "hashicorp/terraform", "v1.12.0-rc1", "--prerelease") == 0
    )
    out = capsys.readouterr().out
    assert "created release v1.11.4 in hashicorp/terraform" in out
    assert "created pre-release v1.12.0-rc1 in hashicorp/terraform" in out
    releases = {r.tag: r.prerelease for r in local_forge.list_releases("hashicorp/terraform")}
    assert releases == {"v1.11.4": False, "v1.12.0-rc1": True}
    tags = {t.name: t.sha for t in local_forge.list_tags("hashicorp/terraform")}
    assert tags["v1.11.4"] == local_forge.branch_sha("hashicorp/terraform", "main")
    # a second release for the same tag is a forge conflict (exit 3), not a traceback
    assert _forge_cli(local_forge, "create-release", "hashicorp/terraform", "v1.11.4") == 3


def test_tools_list_unknown_name_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["tools", "list", "nosuchtool"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "unknown tool: nosuchtool (known: terraform, tofu, tflint" in captured.err
    assert cli.main(["tools", "install", "nosuchtool", "alsonot"]) == 2
    assert "unknown tools: nosuchtool, alsonot" in capsys.readouterr().err


def test_tools_list_names_filter_the_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["tools", "list", "terraform", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["tool"] for r in rows] == ["terraform"]
    assert cli.main(["tools", "list", "tflint", "terraform"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split()[0] for ln in lines] == ["terraform", "tflint"]


def test_review_rerun_approve_merge_and_close_by_hand(
    local_forge: LocalForge, capsys: pytest.CaptureFixture[str]
) -> None:
    """ "Wait for the owners' review" played out locally: opening requests the CODEOWNERS (like
    GitHub), the checks are re-run by hand, an owner approves, and the PR is merged by hand,
    pinned to its head; another PR is closed by hand."""
    local_forge.create_repo(
        "acme/app", files={"main.tf": "# app\n", ".github/CODEOWNERS": "*.tf @carol @acme/sre\n"}
    )
    main = local_forge.branch_sha("acme/app", "main")
    assert main is not None
    for branch in ("deps", "other"):
        local_forge.commit_files(
            "acme/app", branch, parent_sha=main, message=branch, changes=[FileChange(f"{branch}.tf", b"#\n")]
        )
    pr = local_forge.open_pull("acme/app", head="deps", base="main", title="deps", body="")
    other = local_forge.open_pull("acme/app", head="other", base="main", title="other", body="")
    assert set(pr.reviewers) == {"carol", "acme/sre"}  # requested by the forge itself
    assert _forge_cli(local_forge, "checks", "acme/app", str(pr.number), "--rerun") == 0
    assert _forge_cli(local_forge, "approve", "acme/app", str(pr.number), "--as", "carol") == 0
    assert _forge_cli(local_forge, "merge", "acme/app", str(pr.number), "--method", "merge") == 0
    out = capsys.readouterr().out
    assert "success" in out and "approved acme/app#1 as carol" in out
    assert f"merged acme/app#1 at head {pr.head_sha[:12]} (merge;" in out
    record = next(p for p in local_forge.load_record("acme/app")["pulls"] if p["number"] == pr.number)
    assert record["state"] == "merged" and record["approvals"] == ["carol"]
    assert local_forge.read_file("acme/app", "deps.tf", "main") == b"#\n"
    assert _forge_cli(local_forge, "close", "acme/app", str(other.number), "--comment", "not needed") == 0
    assert local_forge.get_pull("acme/app", other.number).state.value == "closed"
    assert (
        _forge_cli(local_forge, "approve", "acme/app", str(other.number)) == 3
    )  # closed: a conflict (exit 3)
    assert "is closed; cannot approve" in capsys.readouterr().err


def test_forge_show_piped_is_not_cut_at_80_columns(
    local_forge: LocalForge, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Piped (not a terminal, no COLUMNS), every row keeps its full text on one line."""
    monkeypatch.delenv("COLUMNS", raising=False)
    title = "deps: bump the network module " + "x" * 120 + " END"
    local_forge.create_repo("acme/app", files={"README.md": "app\n"})
    main = local_forge.branch_sha("acme/app", "main")
    assert main is not None
    local_forge.commit_files(
        "acme/app", "deps", parent_sha=main, message="deps", changes=[FileChange("x.tf", b"#\n")]
    )
    local_forge.open_pull("acme/app", head="deps", base="main", title=title, body="")
    assert _forge_cli(local_forge, "show", "acme/app") == 0
    out = capsys.readouterr().out
    assert any(title in line for line in out.splitlines()), out
    path_line = next(line for line in out.splitlines() if line.startswith("acme/app"))
    assert str(local_forge.repo_path("acme/app")) in path_line


def test_a_missing_forge_root_is_an_error_naming_it_not_an_empty_forge(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    typo = tmp_path / "forgee"
    for args in (["forge", "show"], ["forge", "show", "acme/app"], ["forge", "list", "acme"]):
        assert cli.main(["--forge", "local", "--local-root", str(typo), *args]) == 2, args
        err = capsys.readouterr().err
        assert f"local forge root {typo} does not exist" in err and "Traceback" not in err
    assert not typo.exists()
    # init-repo is the one command that creates the root
    assert cli.main(["--forge", "local", "--local-root", str(typo), "forge", "init-repo", "acme/app"]) == 0
    assert (typo / "acme" / "app").is_dir()
    capsys.readouterr()
    assert cli.main(["--forge", "local", "--local-root", str(typo), "forge", "show", "--json"]) == 0
    assert [r["repo"] for r in json.loads(capsys.readouterr().out)["repos"]] == ["acme/app"]


def test_tools_list_columns_line_up(capsys: pytest.CaptureFixture[str]) -> None:
    """The version and location columns start at the same offset on every row, whatever the
    longest tool name (terraform-provider-time)."""
    cli.main(["tools", "list", "--json"])
    rows = json.loads(capsys.readouterr().out)
    cli.main(["tools", "list"])
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == [r["tool"] for r in rows]
    assert "terraform-provider-time" in [r["tool"] for r in rows]
    versions = {line.index(r["version"], len(r["tool"])) for line, r in zip(lines, rows, strict=True)}
    locations = {line.rindex(r["location"]) for line, r in zip(lines, rows, strict=True)}
    assert len(versions) == 1 and len(locations) == 1, lines


def test_comment_and_collaborator_by_hand(
    local_forge: LocalForge, capsys: pytest.CaptureFixture[str]
) -> None:
    """A person's comment (a /catalog-ops command) and their role, set on the command line."""
    local_forge.create_repo("acme/app", files={"main.tf": "# app\n"})
    main = local_forge.branch_sha("acme/app", "main")
    assert main is not None
    local_forge.commit_files(
        "acme/app", "deps", parent_sha=main, message="d", changes=[FileChange("d.tf", b"#\n")]
    )
    pr = local_forge.open_pull("acme/app", head="deps", base="main", title="deps", body="")
    assert _forge_cli(local_forge, "collaborator", "acme/app", "alice", "maintain") == 0
    assert (
        _forge_cli(local_forge, "comment", "acme/app", str(pr.number), "--as", "alice", "/catalog-ops rebase")
        == 0
    )
    out = capsys.readouterr().out
    assert "alice is maintain on acme/app (permission: write)" in out
    (c,) = local_forge.list_comments("acme/app", pr.number)
    assert (c.author, c.body) == ("alice", "/catalog-ops rebase")
    assert local_forge.permission("acme/app", "alice") == "write"
    assert _forge_cli(local_forge, "collaborator", "acme/app", "alice", "none") == 0
    assert local_forge.permission("acme/app", "alice") == "none"


def test_forge_merge_refuses_a_pr_whose_required_check_failed(
    local_forge: LocalForge, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`forge protect` requires the local CI's check on main; `forge merge` of a PR whose
    required check failed exits non-zero with one line naming the repo, the PR and GitHub's
    reason, and main does not move; after a fix it merges."""
    monkeypatch.setenv("CATALOG_OPS_LOCAL_CHECKS", "test ! -e FAIL_CHECKS")
    local_forge.create_repo("acme/app", files={"main.tf": "# app\n"})
    tip = local_forge.branch_sha("acme/app", "main")
    assert tip is not None
    bad = local_forge.commit_files(
        "acme/app", "deps", parent_sha=tip, message="deps", changes=[FileChange("FAIL_CHECKS", b"")]
    )
    pr = local_forge.open_pull("acme/app", head="deps", base="main", title="deps", body="")
    assert _forge_cli(local_forge, "protect", "acme/app", "main", "--require-check", "local-checks") == 0
    assert "required checks pass: local-checks" in capsys.readouterr().out
    assert _forge_cli(local_forge, "merge", "acme/app", str(pr.number)) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f'acme/app#{pr.number}: not merged: Required status check "local-checks" is failing.' in err
    assert local_forge.branch_sha("acme/app", "main") == tip
    assert local_forge.get_pull("acme/app", pr.number).state.value == "open"
    local_forge.commit_files(
        "acme/app", "deps", parent_sha=bad, message="fix", changes=[FileChange("FAIL_CHECKS", None)]
    )
    assert _forge_cli(local_forge, "merge", "acme/app", str(pr.number)) == 0
    assert local_forge.get_pull("acme/app", pr.number).state.value == "merged"
    # unprotected again: the record no longer requires anything
    assert _forge_cli(local_forge, "protect", "acme/app", "main") == 0
    assert local_forge.load_record("acme/app")["repo"]["protection"] == {}


def test_forge_protect_names_a_missing_branch(
    local_forge: LocalForge, capsys: pytest.CaptureFixture[str]
) -> None:
    local_forge.create_repo("acme/app", files={"main.tf": "# app\n"})
    assert _forge_cli(local_forge, "protect", "acme/app", "nope", "--require-check", "local-checks") == 2
    assert "branch 'nope' not found in acme/app" in capsys.readouterr().err


def test_rerun_of_a_merged_pr_keeps_its_check_record(
    local_forge: LocalForge, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`forge checks --rerun` on a merged PR runs the checks again on the head it was merged at
    (GitHub re-runs with the original commit SHA) and keeps the earlier run."""
    monkeypatch.setenv("CATALOG_OPS_LOCAL_CHECKS", "test -e deps.tf")
    local_forge.create_repo("acme/app", files={"main.tf": "# app\n"})
    tip = local_forge.branch_sha("acme/app", "main")
    assert tip is not None
    local_forge.commit_files(
        "acme/app", "deps", parent_sha=tip, message="deps", changes=[FileChange("deps.tf", b"#\n")]
    )
    pr = local_forge.open_pull("acme/app", head="deps", base="main", title="deps", body="")
    assert _forge_cli(local_forge, "checks", "acme/app", str(pr.number)) == 0
    assert _forge_cli(local_forge, "merge", "acme/app", str(pr.number)) == 0
    first = local_forge.load_record("acme/app")["pulls"][0]["checks"]
    assert _forge_cli(local_forge, "checks", "acme/app", str(pr.number), "--rerun") == 0
    assert capsys.readouterr().out.splitlines()[-1] == "success"
    rec = local_forge.load_record("acme/app")["pulls"][0]
    assert rec["state"] == "merged"
    assert rec["checks"]["sha"] == pr.head_sha and rec["checks"]["state"] == "success"
    assert rec["checks"]["attempt"] == 2 and rec["checks"]["changed_files"] == ["deps.tf"]
    assert rec["checks_history"] == [first]


def test_forge_show_marks_checks_of_an_earlier_head_as_stale(
    local_forge: LocalForge, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checks that ran before the PR's branch moved are not the head's checks (new-user trial:
    a moved rollout PR showed "success" from its previous head)."""
    monkeypatch.setenv("CATALOG_OPS_LOCAL_CHECKS", "true")
    monkeypatch.setenv("COLUMNS", "250")
    local_forge.create_repo("acme/app", files={"main.tf": "# app\n"})
    tip = local_forge.branch_sha("acme/app", "main")
    assert tip is not None
    first = local_forge.commit_files(
        "acme/app", "deps", parent_sha=tip, message="deps", changes=[FileChange("deps.tf", b"#\n")]
    )
    pr = local_forge.open_pull("acme/app", head="deps", base="main", title="deps", body="")
    assert _forge_cli(local_forge, "checks", "acme/app", str(pr.number)) == 0
    capsys.readouterr()
    assert _forge_cli(local_forge, "show", "acme/app") == 0
    out = capsys.readouterr().out
    assert f"success @{first[:7]}" in out and "stale" not in out
    moved = local_forge.commit_files(
        "acme/app", "deps", parent_sha=first, message="more", changes=[FileChange("more.tf", b"#\n")]
    )
    assert _forge_cli(local_forge, "show", "acme/app") == 0
    out = capsys.readouterr().out
    assert f"success @{first[:7]} (stale: head is {moved[:7]})" in out
