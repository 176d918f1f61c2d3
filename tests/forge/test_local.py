"""LocalForge specifics: on-disk layout, record file, checks command, merges, CLI."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from catalog_ops.cli import main
from catalog_ops.errors import AutoMergeUnavailable, Conflict, NotFound
from catalog_ops.forge import ChecksState, FileChange, PullState, make_forge
from catalog_ops.forge.local import LocalForge
from catalog_ops.settings import Settings


def _git(path: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(path), *args], check=True, capture_output=True, text=True).stdout


def test_layout_is_inspectable_by_hand(local_forge: LocalForge) -> None:
    local_forge.create_repo("acme/app", files={"main.tf": b'variable "x" {}\n'})
    tip = local_forge.branch_sha("acme/app", "main")
    assert tip
    local_forge.commit_files(
        "acme/app", "bump", parent_sha=tip, message="chore: bump", changes=[FileChange("main.tf", b"# new\n")]
    )
    pr = local_forge.open_pull("acme/app", head="bump", base="main", title="Bump", body="body")
    repo_dir = local_forge.root / "acme" / "app"
    assert "chore: bump" in _git(repo_dir, "log", "--format=%s", "bump")
    assert _git(repo_dir, "show", "bump:main.tf") == "# new\n"
    record = json.loads((local_forge.root / "acme" / "app.forge.json").read_text())
    assert record["schema"] == 1
    assert record["pulls"][0]["number"] == pr.number
    assert record["pulls"][0]["head"] == "bump"


def test_import_plain_directory_and_git_repo(tmp_path: Path, local_forge: LocalForge) -> None:
    src = tmp_path / "src"
    (src / "modules" / "vpc").mkdir(parents=True)
    (src / "modules" / "vpc" / "main.tf").write_text("# vpc\n")
    (src / ".terraform").mkdir()
    (src / ".terraform" / "junk").write_text("x")
    local_forge.create_repo("acme/plain", source_dir=src, topics=["terraform"])
    assert local_forge.list_tree("acme/plain", "main") == ["modules/vpc/main.tf"]

    work = tmp_path / "work"
    work.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "trunk", str(work)], check=True)
    (work / "a.txt").write_text("a")
    env_args = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "-C", str(work), "add", "."], check=True)
    subprocess.run(["git", "-C", str(work), *env_args, "commit", "-qm", "first"], check=True)
    subprocess.run(["git", "-C", str(work), *env_args, "tag", "-a", "v1.0.0", "-m", "one"], check=True)
    repo = local_forge.create_repo("acme/imported", source_dir=work, default_branch="trunk")
    assert repo.default_branch == "trunk"
    assert local_forge.read_file("acme/imported", "a.txt", "v1.0.0") == b"a"
    assert [t.name for t in local_forge.list_tags("acme/imported")] == ["v1.0.0"]
    with pytest.raises(Conflict):
        local_forge.create_repo("acme/imported")


def test_empty_repo_root_commit(local_forge: LocalForge) -> None:
    local_forge.create_repo("acme/empty")
    assert local_forge.branch_sha("acme/empty", "main") is None
    sha = local_forge.commit_files(
        "acme/empty", "main", parent_sha="", message="root", changes=[FileChange("README.md", b"hi\n")]
    )
    assert local_forge.branch_sha("acme/empty", "main") == sha


def test_failing_checks_block_auto_merge_then_pass(local_forge: LocalForge) -> None:
    local_forge.create_repo("acme/app", files={"a.txt": b"a"})
    tip = local_forge.branch_sha("acme/app", "main")
    assert tip
    bad = local_forge.commit_files(
        "acme/app", "feat", parent_sha=tip, message="bad", changes=[FileChange("FAIL_CHECKS", b"")]
    )
    pr = local_forge.open_pull("acme/app", head="feat", base="main", title="t", body="b")
    local_forge.enable_auto_merge("acme/app", pr.number, method="merge")
    assert local_forge.checks_state("acme/app", pr.number) is ChecksState.FAILURE
    assert local_forge.get_pull("acme/app", pr.number).state is PullState.OPEN
    local_forge.commit_files(
        "acme/app", "feat", parent_sha=bad, message="fix", changes=[FileChange("FAIL_CHECKS", None)]
    )
    assert local_forge.process_auto_merges("acme/app")[0].number == pr.number
    merged = local_forge.get_pull("acme/app", pr.number)
    assert merged.state is PullState.MERGED
    parents = _git(local_forge.root / "acme/app", "log", "-1", "--format=%P", "main").split()
    assert len(parents) == 2  # merge method "merge" made a merge commit
    record = local_forge.load_record("acme/app")
    assert record["pulls"][0]["checks"]["state"] == "success"


def test_merge_with_diverged_base_and_conflict(local_forge: LocalForge) -> None:
    local_forge.create_repo("acme/app", files={"a.txt": b"a\n", "b.txt": b"b\n"})
    tip = local_forge.branch_sha("acme/app", "main")
    assert tip
    local_forge.commit_files(
        "acme/app", "one", parent_sha=tip, message="one", changes=[FileChange("a.txt", b"A\n")]
    )
    local_forge.commit_files(
        "acme/app", "two", parent_sha=tip, message="two", changes=[FileChange("b.txt", b"B\n")]
    )
    local_forge.commit_files(
        "acme/app", "three", parent_sha=tip, message="3", changes=[FileChange("a.txt", b"X\n")]
    )
    p1 = local_forge.open_pull("acme/app", head="one", base="main", title="one", body="")
    p2 = local_forge.open_pull("acme/app", head="two", base="main", title="two", body="")
    p3 = local_forge.open_pull("acme/app", head="three", base="main", title="three", body="")
    local_forge.merge_pull("acme/app", p1.number, method="squash")
    local_forge.merge_pull("acme/app", p2.number, method="rebase")
    assert local_forge.read_file("acme/app", "a.txt", "main") == b"A\n"
    assert local_forge.read_file("acme/app", "b.txt", "main") == b"B\n"
    with pytest.raises(Conflict):
        local_forge.merge_pull("acme/app", p3.number)
    assert local_forge.get_pull("acme/app", p3.number).state is PullState.OPEN
    squash = _git(local_forge.root / "acme/app", "log", "--format=%s", "main")
    assert "one (#1)" in squash


def test_auto_merge_disallowed(local_forge: LocalForge) -> None:
    local_forge.create_repo("acme/app", files={"a.txt": b"a"}, allow_auto_merge=False)
    tip = local_forge.branch_sha("acme/app", "main")
    assert tip
    local_forge.commit_files("acme/app", "x", parent_sha=tip, message="x", changes=[FileChange("b", b"b")])
    pr = local_forge.open_pull("acme/app", head="x", base="main", title="t", body="")
    with pytest.raises(AutoMergeUnavailable, match="not allowed"):
        local_forge.enable_auto_merge("acme/app", pr.number)


def test_default_terraform_checks(tmp_path: Path) -> None:
    forge = LocalForge(tmp_path / "root")  # built-in: terraform fmt -check + validate
    forge.create_repo("acme/mods", files={"modules/a/main.tf": b'variable "x" {\n  type = string\n}\n'})
    tip = forge.branch_sha("acme/mods", "main")
    assert tip
    forge.commit_files(
        "acme/mods",
        "ok",
        parent_sha=tip,
        message="ok",
        changes=[FileChange("modules/a/out.tf", b'output "y" {\n  value = var.x\n}\n')],
    )
    forge.commit_files(
        "acme/mods",
        "badfmt",
        parent_sha=tip,
        message="bad",
        changes=[FileChange("modules/a/out.tf", b'output "y" {\nvalue=var.x\n}\n')],
    )
    ok = forge.open_pull("acme/mods", head="ok", base="main", title="ok", body="")
    bad = forge.open_pull("acme/mods", head="badfmt", base="main", title="bad", body="")
    assert forge.run_checks("acme/mods", ok.number) is ChecksState.SUCCESS
    assert forge.run_checks("acme/mods", bad.number) is ChecksState.FAILURE
    output = forge.load_record("acme/mods")["pulls"][1]["checks"]["output"]
    assert "fmt -check" in output


def test_unknown_repo_and_pull(local_forge: LocalForge) -> None:
    with pytest.raises(NotFound):
        local_forge.get_repo("acme/nope")
    local_forge.create_repo("acme/app", files={"a": b"a"})
    with pytest.raises(NotFound):
        local_forge.get_pull("acme/app", 42)


def test_concurrent_writers_do_not_lose_records(local_forge: LocalForge) -> None:
    from concurrent.futures import ThreadPoolExecutor

    local_forge.create_repo("acme/app", files={"a": b"a"})
    tip = local_forge.branch_sha("acme/app", "main")
    assert tip

    def one(i: int) -> int:
        local_forge.commit_files(
            "acme/app", f"b{i}", parent_sha=tip, message=f"{i}", changes=[FileChange(f"f{i}", b"x")]
        )
        return local_forge.open_pull("acme/app", head=f"b{i}", base="main", title=f"{i}", body="").number

    with ThreadPoolExecutor(8) as pool:
        numbers = list(pool.map(one, range(20)))
    assert sorted(numbers) == list(range(1, 21))
    assert len(local_forge.load_record("acme/app")["pulls"]) == 20


def test_cli_show_and_init(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "root"
    src = tmp_path / "src"
    src.mkdir()
    (src / "main.tf").write_text("# x\n")
    monkeypatch.setenv("CATALOG_OPS_LOCAL_ROOT", str(root))
    assert main(["forge", "init-repo", "acme/mods", "--from", str(src), "--topic", "terraform"]) == 0
    forge = make_forge(Settings.from_env({"CATALOG_OPS_LOCAL_ROOT": str(root)}))
    assert isinstance(forge, LocalForge)
    capsys.readouterr()
    assert main(["forge", "show", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["repos"][0]["repo"] == "acme/mods"
    assert out["repos"][0]["archived"] is False and out["repos"][0]["protected"] == {}
    assert main(["forge", "init-repo", "acme/old", "--from", str(src), "--archived"]) == 0
    assert main(["forge", "protect", "acme/mods", "main", "--require-check", "local-checks"]) == 0
    capsys.readouterr()
    assert main(["forge", "show", "--json"]) == 0
    repos = {r["repo"]: r for r in json.loads(capsys.readouterr().out)["repos"]}
    assert repos["acme/old"]["archived"] is True
    assert repos["acme/mods"]["protected"] == {"main": ["local-checks"]}
    assert main(["forge", "show"]) == 0
    table = capsys.readouterr().out
    assert "main: local-checks" in table and "archived" in table.split("acme/old")[1].splitlines()[0]
    assert main(["forge", "show", "acme/mods", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["repo"]["topics"] == ["terraform"]
    assert set(out["branches"]) == {"main"}
    assert main(["forge", "list", "acme", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["repos"][0]["full_name"] == "acme/mods"
    assert main(["forge", "show", "acme/mods"]) == 0
    assert "pull requests" in capsys.readouterr().out
    assert main(["forge", "show", "acme/none"]) == 3


def test_cli_checks_and_process_auto_merges(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "root"
    root.mkdir()  # only `forge init-repo` creates a missing root
    monkeypatch.setenv("CATALOG_OPS_LOCAL_ROOT", str(root))
    monkeypatch.setenv(
        "CATALOG_OPS_LOCAL_CHECKS",
        "echo checking; test ! -e FAIL_CHECKS || { echo 'FAIL_CHECKS is here\033[31m'; exit 3; }",
    )
    forge = make_forge(Settings.from_env())
    assert isinstance(forge, LocalForge)
    forge.create_repo("acme/app", files={"a": b"a"})
    tip = forge.branch_sha("acme/app", "main")
    assert tip
    bad = forge.commit_files(
        "acme/app", "f", parent_sha=tip, message="m", changes=[FileChange("FAIL_CHECKS", b"")]
    )
    pr = forge.open_pull("acme/app", head="f", base="main", title="t", body="")
    forge.enable_auto_merge("acme/app", pr.number)
    capsys.readouterr()
    assert main(["forge", "checks", "acme/app", str(pr.number)]) == 1
    out, err = capsys.readouterr()
    assert out.strip() == "failure"
    # why, on stderr: the exit code and the output's last lines (control characters escaped)
    assert f"acme/app#{pr.number}: " in err and " exited 3; last 2 lines of its output" in err
    assert "  checking\n  FAIL_CHECKS is here\\x1b[31m\n" in err
    forge.commit_files(
        "acme/app", "f", parent_sha=bad, message="fix", changes=[FileChange("FAIL_CHECKS", None)]
    )
    assert main(["forge", "process-auto-merges"]) == 0
    assert f"merged acme/app#{pr.number}" in capsys.readouterr().out
    assert forge.get_pull("acme/app", pr.number).state is PullState.MERGED


def test_compare_url_is_a_git_diff_command(local_forge) -> None:
    local_forge.create_repo("acme/cat", files={"main.tf": "#\n"})
    hint = local_forge.compare_url("acme/cat", "v1.0.0", "v1.1.0")
    assert hint.startswith("git --git-dir ") and hint.endswith(" diff v1.0.0 v1.1.0")
    assert str(local_forge.repo_path("acme/cat")) in hint


def test_checks_state_is_a_read_that_never_runs_the_checks(tmp_path: Path) -> None:
    """Reading a PR's checks (what `rollout plan` does) starts no run and writes nothing: a
    head the CI has not run on is pending; `run_checks` runs them, and then the read sees it."""
    marker = tmp_path / "runs"
    forge = LocalForge(tmp_path / "forge", checks_command=f"echo run >> {marker}")
    forge.create_repo("acme/app", files={"a": b"a"})
    tip = forge.branch_sha("acme/app", "main")
    assert tip
    forge.commit_files("acme/app", "f", parent_sha=tip, message="m", changes=[FileChange("b", b"b")])
    pr = forge.open_pull("acme/app", head="f", base="main", title="t", body="")
    record = forge.record_path("acme/app").read_bytes()
    assert forge.checks_state("acme/app", pr.number) is ChecksState.PENDING
    assert not marker.exists() and forge.record_path("acme/app").read_bytes() == record
    assert forge.run_checks("acme/app", pr.number) is ChecksState.SUCCESS
    assert forge.checks_state("acme/app", pr.number) is ChecksState.SUCCESS
    assert marker.read_text() == "run\n"


def test_rerun_keeps_earlier_runs_and_stops_at_githubs_limit(local_forge: LocalForge) -> None:
    local_forge.create_repo("acme/app", files={"a": b"a"})
    tip = local_forge.branch_sha("acme/app", "main")
    assert tip
    local_forge.commit_files("acme/app", "f", parent_sha=tip, message="m", changes=[FileChange("b", b"b")])
    pr = local_forge.open_pull("acme/app", head="f", base="main", title="t", body="")
    assert local_forge.run_checks("acme/app", pr.number) is ChecksState.SUCCESS
    assert local_forge.rerun_checks("acme/app", pr.number) is ChecksState.SUCCESS
    rec = local_forge.load_record("acme/app")["pulls"][0]
    assert rec["checks"]["attempt"] == 2 and [h["attempt"] for h in rec["checks_history"]] == [1]
    with local_forge._edit("acme/app") as data:  # as if re-run up to GitHub's limit
        data["pulls"][0]["checks"]["attempt"] = 50
    with pytest.raises(Conflict, match=r"acme/app#1: the checks already ran 50 times"):
        local_forge.rerun_checks("acme/app", pr.number)
