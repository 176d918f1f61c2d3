"""The emulator's ref updates are compare-and-swap exactly as GitHub documents them (issue 15):
GraphQL ``updateRefs`` (``beforeOid``, all-zeros ``beforeOid`` = must not exist, ``force`` for a
non-fast-forward, atomic), ``createCommitOnBranch`` ``expectedHeadOid`` and REST ``PATCH
git/refs`` (``force: false`` = fast-forward only)."""

from __future__ import annotations

from typing import Any

import requests

from catalog_ops.forge.base import FileChange

ZERO = "0" * 40
UPDATE_REFS = "mutation($input: UpdateRefsInput!) { updateRefs(input: $input) { clientMutationId } }"


def _gql(emu: Any, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    r = requests.post(
        f"{emu.base_url}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"token {emu.token}"},
        timeout=10,
    )
    assert r.status_code == 200
    return dict(r.json())


def test_update_refs_is_compare_and_swap(github_emulator: Any, github_forge: Any) -> None:
    emu, forge = github_emulator, github_forge
    emu.create_repo("acme/r", files={"a": "1"})
    base = forge.branch_sha("acme/r", "main")
    one = forge.commit_files("acme/r", "b", parent_sha=base, message="one", changes=[FileChange("a", b"2")])
    side = forge.commit_files("acme/r", "c", parent_sha=base, message="side", changes=[FileChange("a", b"3")])
    node = requests.get(
        f"{emu.api_url}/repos/acme/r", headers={"Authorization": f"token {emu.token}"}, timeout=10
    ).json()["node_id"]

    def update(*updates: dict[str, Any]) -> dict[str, Any]:
        return _gql(emu, UPDATE_REFS, {"input": {"repositoryId": node, "refUpdates": list(updates)}})

    # a stale beforeOid: refused, and (atomic) the other update of the batch is not made either
    stale = update(
        {"name": "refs/heads/b", "beforeOid": base, "afterOid": side, "force": True},
        {"name": "refs/heads/new", "beforeOid": ZERO, "afterOid": side},
    )
    assert stale.get("errors") and forge.branch_sha("acme/r", "b") == one
    assert forge.branch_sha("acme/r", "new") is None
    # all zeros: the ref must not exist
    assert update({"name": "refs/heads/b", "beforeOid": ZERO, "afterOid": side}).get("errors")
    # a non-fast-forward needs force
    assert update({"name": "refs/heads/b", "beforeOid": one, "afterOid": side}).get("errors")
    assert forge.branch_sha("acme/r", "b") == one
    ok = update({"name": "refs/heads/b", "beforeOid": one, "afterOid": side, "force": True})
    assert "errors" not in ok and forge.branch_sha("acme/r", "b") == side


def test_rest_ref_update_without_force_is_fast_forward_only(github_emulator: Any, github_forge: Any) -> None:
    emu, forge = github_emulator, github_forge
    emu.create_repo("acme/r", files={"a": "1"})
    base = forge.branch_sha("acme/r", "main")
    one = forge.commit_files("acme/r", "b", parent_sha=base, message="one", changes=[FileChange("a", b"2")])
    side = forge.commit_files("acme/r", "c", parent_sha=base, message="side", changes=[FileChange("a", b"3")])
    auth = {"Authorization": f"token {emu.token}"}
    r = requests.patch(
        f"{emu.api_url}/repos/acme/r/git/refs/heads/b", json={"sha": side}, headers=auth, timeout=10
    )
    assert r.status_code == 422 and r.json()["message"] == "Update is not a fast forward"
    assert forge.branch_sha("acme/r", "b") == one
    stale = _gql(
        emu,
        "mutation($input: CreateCommitOnBranchInput!) { createCommitOnBranch(input: $input) { commit { oid } } }",
        {
            "input": {
                "branch": {"repositoryNameWithOwner": "acme/r", "branchName": "b"},
                "expectedHeadOid": base,
                "message": {"headline": "x"},
                "fileChanges": {"additions": [{"path": "a", "contents": "eA=="}]},
            }
        },
    )
    assert stale["errors"][0]["type"] == "STALE_DATA" and forge.branch_sha("acme/r", "b") == one
