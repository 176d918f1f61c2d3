"""GraphQL queries and mutations run against GitHub's public schema (graphql-core).

The schema is GitHub's published GraphQL schema from the npm package ``@octokit/graphql-schema``
(installed under ``tests/openapi/node_modules`` by ``make venv``). The emulator's older handlers
(``createCommitOnBranch``, ``enablePullRequestAutoMerge``, the tags query) answer first; anything
else is executed here with resolvers over the emulator state:

* ``repository(owner:, name:) { pullRequest(number:) { id number state merged mergeable
  mergeStateStatus autoMergeRequest { enabledAt mergeMethod enabledBy { login } } headRefOid
  headRefName baseRefName title url isDraft } autoMergeAllowed mergeCommitAllowed
  squashMergeAllowed rebaseMergeAllowed isArchived isPrivate nameWithOwner }``
  (https://docs.github.com/en/graphql/reference/objects#pullrequest);
* ``node(id:)`` for pull requests;
* ``rateLimit { limit cost remaining used resetAt nodeCount }``
  (https://docs.github.com/en/graphql/overview/rate-limits-and-query-limits-for-the-graphql-api#returning-the-status-of-the-primary-rate-limit);
* ``viewer { login }``;
* ``disablePullRequestAutoMerge(input: {pullRequestId})``
  (https://docs.github.com/en/graphql/reference/mutations#disablepullrequestautomerge).
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emulator.state import EmuRepo, GraphQLError, TokenInfo

if TYPE_CHECKING:
    from emulator.server import GitHubEmulator

NODE_MODULES = Path(__file__).resolve().parent.parent / "openapi" / "node_modules" / "@octokit"
SCHEMA_JSON = NODE_MODULES / "graphql-schema" / "schema.json"


@functools.lru_cache(maxsize=1)
def schema() -> Any:
    """GitHub's GraphQL schema (graphql-core ``GraphQLSchema``), or None when not installed."""
    if not SCHEMA_JSON.is_file():
        return None
    from graphql import build_client_schema

    data = json.loads(SCHEMA_JSON.read_text())
    built = build_client_schema(data.get("data", data))
    # GitHub's published schema trips graphql-core 3.3's stricter interface-deprecation rules;
    # it is GitHub's own schema, so it is taken as valid.
    built._validation_errors = []
    return built


def _pull_object(emu: GitHubEmulator, r: EmuRepo, pr: dict[str, Any]) -> dict[str, Any]:
    state = emu.state
    merged = bool(pr["merged"])
    status = "UNKNOWN" if pr["state"] != "open" else state.read_merge_state(r, pr)
    am = pr.get("auto_merge")
    auto = None
    if am:
        login = am["enabled_by"]["login"]
        auto = {
            "enabledAt": pr.get("auto_merge_enabled_at"),
            "mergeMethod": str(am["merge_method"]).upper(),
            "enabledBy": {"__typename": "Bot" if login.endswith("[bot]") else "User", "login": login},
            "commitHeadline": None,
            "commitBody": None,
            "authorEmail": None,
        }
    return {
        "__typename": "PullRequest",
        "id": pr["node_id"],
        "number": pr["number"],
        "title": pr["title"],
        "url": f"{state.html_url}/{r.full_name}/pull/{pr['number']}",
        "state": "MERGED" if merged else pr["state"].upper(),
        "merged": merged,
        "isDraft": False,
        "mergeable": "UNKNOWN"
        if status == "UNKNOWN"
        else ("CONFLICTING" if status == "DIRTY" else "MERGEABLE"),
        "mergeStateStatus": status,
        "autoMergeRequest": auto,
        "headRefOid": state.pull_sha(r, pr),
        "headRefName": pr["head"],
        "baseRefName": pr["base"],
    }


def _repo_object(emu: GitHubEmulator, r: EmuRepo, who: TokenInfo) -> dict[str, Any]:
    def pull_request(_info: Any, number: int) -> dict[str, Any] | None:
        pr = r.pulls.get(int(number))
        if pr is None:
            raise GraphQLError(
                "NOT_FOUND", f"Could not resolve to a PullRequest with the number of {number}.", "pullRequest"
            )
        return _pull_object(emu, r, pr)

    return {
        "__typename": "Repository",
        "id": f"R_{r.id}",
        "name": r.name,
        "nameWithOwner": r.full_name,
        "isArchived": r.archived,
        "isPrivate": r.private,
        "autoMergeAllowed": r.allow_auto_merge,
        "mergeCommitAllowed": r.allow_merge_commit,
        "squashMergeAllowed": r.allow_squash_merge,
        "rebaseMergeAllowed": r.allow_rebase_merge,
        "pullRequest": pull_request,
    }


def execute(
    emu: GitHubEmulator, query: str, variables: dict[str, Any], who: TokenInfo
) -> dict[str, Any] | None:
    """Run ``query`` against GitHub's schema; None when the schema is not installed."""
    sch = schema()
    if sch is None:
        return None
    from graphql import graphql_sync

    state = emu.state

    def repository(_info: Any, owner: str, name: str, **_: Any) -> dict[str, Any]:
        r = state.repos.get(f"{owner}/{name}")
        if r is None or (r.private and who.repositories is not None and r.full_name not in who.repositories):
            raise GraphQLError(
                "NOT_FOUND",
                f"Could not resolve to a Repository with the name '{owner}/{name}'.",
                "repository",
            )
        return _repo_object(emu, r, who)

    def node(_info: Any, id: str) -> dict[str, Any] | None:
        target = state.nodes.get(id)
        if target is None:
            raise GraphQLError(
                "NOT_FOUND", f"Could not resolve to a node with the global id of '{id}'", "node"
            )
        _kind, full_name, number = target
        r = state.repos[full_name]
        return _pull_object(emu, r, r.pulls[number])

    def rate_limit(_info: Any, **_: Any) -> dict[str, Any]:
        used = emu._rate_used.get((who.login, "graphql"), 0)
        reset = _dt.datetime.fromtimestamp(emu._rate_reset, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "limit": emu.rate_limit,
            "cost": 1,
            "remaining": max(0, emu.rate_limit - used),
            "used": used,
            "resetAt": reset,
            "nodeCount": 1,
        }

    def disable(_info: Any, input: dict[str, Any]) -> dict[str, Any]:
        r, pr, _n = emu._gql_pull(input, "disablePullRequestAutoMerge")
        pr["auto_merge"] = None
        pr.pop("auto_merge_enabled_at", None)
        return {"clientMutationId": input.get("clientMutationId"), "pullRequest": _pull_object(emu, r, pr)}

    def enable(_info: Any, input: dict[str, Any]) -> dict[str, Any]:
        emu._gql_auto_merge(input, who)
        r, pr, _n = emu._gql_pull(input, "enablePullRequestAutoMerge")
        return {"clientMutationId": input.get("clientMutationId"), "pullRequest": _pull_object(emu, r, pr)}

    root = {
        "repository": repository,
        "node": node,
        "rateLimit": rate_limit,
        "viewer": {"__typename": "User", "login": who.login},
        "disablePullRequestAutoMerge": disable,
        "enablePullRequestAutoMerge": enable,
    }
    result = graphql_sync(sch, query, root_value=root, variable_values=variables or None)
    out: dict[str, Any] = {"data": result.data}
    if result.errors:
        errors = []
        for err in result.errors:
            item = dict(err.formatted)
            orig = err.original_error
            if isinstance(orig, GraphQLError):
                item["type"] = orig.type
                item["message"] = orig.message
            errors.append(item)
        out["errors"] = errors
        if result.data is None:
            out.pop("data")
    return out
