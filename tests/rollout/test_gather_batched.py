"""rollout.gather: batched plan reads on GitHub and reuse of the previous plan."""

from __future__ import annotations

from collections import Counter
from typing import Any

from catalog_ops import gitutil
from catalog_ops.core.metadata import ModuleChange, ReleaseMetadata, render_release_metadata
from catalog_ops.fanout.dependents import DependentSelection
from catalog_ops.forge.github import GitHubForge
from catalog_ops.rollout.gather import build_plan

CATALOG = "acme/infrastructure-modules"
SRC = "git::https://github.com/acme/infrastructure-modules.git//modules/network?ref=v1.0.0"


def _world(emu: Any, n: int) -> GitHubForge:
    emu.create_repo(CATALOG, files={"modules/network/main.tf": b"# n\n"})
    forge = GitHubForge(api_url=emu.api_url, token=emu.token, write_interval=0.0)
    for tag in ("v1.0.0", "v1.1.0"):
        if tag == "v1.1.0":  # history is git: the module changes between the tags
            emu.push(CATALOG, "main", {"modules/network/main.tf": "# n 2\n"}, message="fix: network")
        sha = forge.branch_sha(CATALOG, "main")
        assert sha
        forge.create_tag(CATALOG, name=tag, sha=sha, message=tag)
        meta = ReleaseMetadata(
            version=tag[1:],
            tag=tag,
            previous=None,
            urgency="normal",
            modules={"modules/network": ModuleChange(path="modules/network", notes=("x",))},
        )
        forge.create_release(CATALOG, tag=tag, name=tag, body=f"{tag}\n\n{render_release_metadata(meta)}\n")
    for i in range(n):
        files = {"main.tf": b'module "x" {\n  source = "./x"\n}\n', "deep/a/b/c/d/e.tf": b"# nothing\n"}
        if i % 4 == 0:
            files["deep/a/b/c/d/net.tf"] = f'module "n" {{\n  source = "{SRC}"\n}}\n'.encode()
        emu.create_repo(f"acme/dep-{i:02d}", files=files)
    return forge


def test_batched_plan_reads_many_repositories_per_request_and_reuses_unchanged_heads(
    github_emulator: Any,
) -> None:
    emu = github_emulator
    forge = _world(emu, 12)
    mark = len(emu.request_log)
    plan = build_plan(forge, catalog=CATALOG, selection=DependentSelection(org="acme"))
    first = emu.request_log[mark:]
    opened = [d for d in plan.dependents if d.action.value == "open"]
    assert [d.repo for d in opened] == [f"acme/dep-{i:02d}" for i in range(0, 12, 4)]
    assert opened[0].files == ("deep/a/b/c/d/net.tf",) and opened[0].head
    assert len(first) < 12  # per-repository reads would take at least 2 requests per dependent
    mark = len(emu.request_log)
    same = build_plan(forge, catalog=CATALOG, selection=DependentSelection(org="acme"), previous=plan)
    unchanged = emu.request_log[mark:]
    assert [d.to_json() for d in same.dependents] == [d.to_json() for d in plan.dependents]

    # the catalog's tags are read once per plan (its versions are its tags: "history is git");
    # every other GraphQL request is about the dependents
    def dependent_reads(log: list[Any]) -> int:
        return sum(e.kind == "graphql" and e.operation != "graphql:refs" for e in log)

    assert dependent_reads(unchanged) == 1  # the heads only
    emu.push("acme/dep-04", "main", {"deep/a/b/c/d/net.tf": "# gone\n"}, message="drop")
    mark = len(emu.request_log)
    again = build_plan(forge, catalog=CATALOG, selection=DependentSelection(org="acme"), previous=plan)
    second = emu.request_log[mark:]
    by = {d.repo: d for d in again.dependents}
    assert by["acme/dep-04"].action.value == "nothing"  # its head moved: read again
    assert by["acme/dep-00"] == next(d for d in plan.dependents if d.repo == "acme/dep-00")
    # heads; then dep-04 alone: its tree, the directory below four levels, its files
    assert dependent_reads(second) == 4


def _tag_history(emu: Any, n: int) -> None:
    """``n`` commits on the catalog's main, each changing ``modules/network`` and tagged
    ``v1.0.<i>``, written with one ``git fast-import`` (a push per commit would dominate the test)."""
    repo = emu.repo(CATALOG)
    parent = gitutil.rev_parse(repo.path, "refs/heads/main")
    chunks: list[bytes] = []
    for i in range(n):
        message, content = f"fix: network {i}\n".encode(), f"# n {i}\n".encode()
        chunks += [
            f"commit refs/heads/main\nmark :{i + 1}\ncommitter T <t@example.com> {1_700_000_000 + i} +0000\n".encode(),
            f"data {len(message)}\n".encode() + message,
            f"from {parent}\n".encode() if i == 0 else b"",
            f"M 100644 inline modules/network/main.tf\ndata {len(content)}\n".encode() + content,
            f"reset refs/tags/v1.0.{i}\nfrom :{i + 1}\n\n".encode(),
        ]
    gitutil.run_git(["fast-import", "--quiet"], git_dir=repo.path, input=b"".join(chunks))


def test_a_catalog_with_many_tags_costs_pages_not_requests_per_tag(github_emulator: Any) -> None:
    """150 tags (101 with a release): the plan reads the tags and the releases a page of 100 at a
    time (GraphQL ``refs(first: 100)``, REST ``per_page=100``: GitHub's maximum page size,
    https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api) and
    everything else from one clone of the catalog, authenticated with the forge's token (the
    emulator's git HTTP requires it, as a private catalog on GitHub does)."""
    emu = github_emulator
    emu.serve_git_http()
    emu.create_repo(CATALOG, files={"modules/network/main.tf": b"# n\n"})
    forge = GitHubForge(api_url=emu.api_url, token=emu.token, write_interval=0.0)
    _tag_history(emu, 150)
    # 101 releases, as POST /releases makes them (more than GitHub lets a client create in a minute)
    emu.repo(CATALOG).releases.extend(
        {
            "id": 10_000 + i,
            "tag_name": f"v1.0.{i}",
            "name": f"v1.0.{i}",
            "body": "notes",
            "prerelease": False,
            "draft": False,
            "target_commitish": "main",
            "created_at": "2026-01-01T00:00:00Z",
            "author": "someone",
        }
        for i in range(101)
    )
    pinned = SRC.replace("v1.0.0", "v1.0.3")
    emu.create_repo("acme/dep", files={"main.tf": f'module "n" {{\n  source = "{pinned}"\n}}\n'.encode()})
    mark = len(emu.request_log)
    plan = build_plan(forge, catalog=CATALOG, selection=DependentSelection(org="acme"))
    log = emu.request_log[mark:]
    assert plan.warnings == ()  # the clone worked: every tag is a version
    assert len(plan.releases) == 150 and plan.release.tag == "v1.0.149"
    newest = plan.releases[0]
    assert (newest.previous, newest.changed, dict(newest.subjects)) == (
        "v1.0.148",
        ("modules/network",),
        {"modules/network": ("fix: network 149",)},
    )
    (dep,) = plan.dependents
    assert dep.action.value == "open" and plan.compares == {
        "v1.0.3...v1.0.149": f"{emu.base_url}/{CATALOG}/compare/v1.0.3...v1.0.149"
    }
    ops = Counter(e.operation for e in log)
    assert ops["graphql:refs"] == 2 and ops["GET /repos/{owner}/{repo}/releases"] == 2
    # no request per tag or per release: no release by tag, no ref, no compare, no commit
    assert not [e.path for e in log if "/tags/" in e.path or "/compare" in e.path or "/commits" in e.path]
    assert len(log) <= 14, sorted(ops.items())
