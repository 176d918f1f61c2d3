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
* ``repository { defaultBranchRef { name target { oid ... on Commit { tree { entries { name
  path type mode oid object { ... } } } } } } object(expression:) { ... on Blob { oid text
  byteSize isBinary isTruncated } ... on Tree { entries } ... on Commit { oid tree } }
  pullRequests(headRefName:, states:, first:) { totalCount nodes { ...pull fields, body,
  labels(first:) { nodes { name } } author { login } mergeCommit { oid } reviewRequests(first:)
  { nodes { requestedReviewer { ... on User { login } ... on Team { slug } } } } } }
  ref(qualifiedName:) { target { oid ... on Commit { message parents(first:) { nodes { oid } } } } } }``:
  the reads of a batched rollout plan and of apply's freshness check, any number of
  repositories per request through aliases
  (https://docs.github.com/en/graphql/reference/objects#tree,
  https://docs.github.com/en/graphql/reference/objects#blob,
  https://docs.github.com/en/graphql/reference/objects#repository);
* ``disablePullRequestAutoMerge(input: {pullRequestId})``
  (https://docs.github.com/en/graphql/reference/mutations#disablepullrequestautomerge).
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emulator.state import EmuRepo, GraphQLError, TokenInfo, node_id

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


def query_cost(query: str) -> int:
    """GitHub's primary-limit point value of a GraphQL request, computed as its docs say
    (https://docs.github.com/en/graphql/overview/rate-limits-and-query-limits-for-the-graphql-api#calculating-a-rate-limit-score-before-running-the-call):
    add up the requests needed to fulfil each connection (a connection field with ``first`` or
    ``last`` N inside connections of sizes A, B costs A*B requests, assuming every one reaches its
    limit), divide by 100 and round; at least 1. An unparsable query costs 1."""
    from graphql import parse
    from graphql.language import FieldNode, InlineFragmentNode, IntValueNode

    try:
        doc = parse(query)
    except Exception:
        return 1
    total = 0

    def walk(selection_set: Any, mult: int) -> None:
        nonlocal total
        if selection_set is None:
            return
        for sel in selection_set.selections:
            if isinstance(sel, InlineFragmentNode):
                walk(sel.selection_set, mult)
                continue
            if not isinstance(sel, FieldNode):
                continue
            size = None
            for arg in sel.arguments or ():
                if arg.name.value in ("first", "last") and isinstance(arg.value, IntValueNode):
                    size = int(arg.value.value)
            if size is not None:
                total += mult
                walk(sel.selection_set, mult * size)
            else:
                walk(sel.selection_set, mult)

    for definition in doc.definitions:
        walk(getattr(definition, "selection_set", None), 1)
    return max(1, round(total / 100))


_OBJ_CACHE: dict[tuple[str, str], Any] = {}


def _git(r: EmuRepo, *args: str) -> bytes | None:
    from catalog_ops import gitutil

    proc = gitutil.run_git(list(args), git_dir=r.path, check=False)
    return proc.stdout if proc.returncode == 0 else None


def _tree_entries(r: EmuRepo, oid: str, prefix: str) -> list[dict[str, Any]]:
    key = (str(r.path), f"tree:{oid}")
    raw = _OBJ_CACHE.get(key)
    if raw is None:
        raw = _git(r, "ls-tree", "-l", "-z", oid) or b""
        _OBJ_CACHE[key] = raw
    out = []
    for rec in raw.decode("utf-8", errors="replace").split("\0"):
        if not rec:
            continue
        meta, _, name = rec.partition("\t")
        mode, otype, eoid, size = meta.split()
        path = f"{prefix}{name}"
        out.append(
            {
                "name": name,
                "path": path,
                "type": otype,
                "mode": int(mode, 8),
                "oid": eoid,
                "size": int(size) if size.isdigit() else 0,
                "object": functools.partial(_object_value, r, eoid, otype, path + "/"),
            }
        )
    return out


def _object_value(
    r: EmuRepo, oid: str, otype: str, prefix: str, *_a: Any, **_k: Any
) -> dict[str, Any] | None:
    if otype == "tree":
        return {
            "__typename": "Tree",
            "oid": oid,
            "entries": lambda *_a, **_k: _tree_entries(r, oid, prefix),
        }
    if otype == "blob":
        key = (str(r.path), f"blob:{oid}")
        data = _OBJ_CACHE.get(key)
        if data is None:
            data = _git(r, "cat-file", "blob", oid) or b""
            _OBJ_CACHE[key] = data
        binary = b"\0" in data[:8000]
        try:
            text = None if binary else data.decode("utf-8")
        except UnicodeDecodeError:
            text, binary = None, True
        return {
            "__typename": "Blob",
            "oid": oid,
            "byteSize": len(data),
            "isBinary": binary,
            "isTruncated": False,
            "text": text,
        }
    if otype == "commit":
        tree = (_git(r, "rev-parse", f"{oid}^{{tree}}") or b"").decode().strip()
        return {
            "__typename": "Commit",
            "oid": oid,
            "tree": _object_value(r, tree, "tree", ""),
            "message": lambda *_a, **_k: (
                (_git(r, "log", "-1", "--format=%B", oid) or b"").decode().rstrip("\n")
            ),
            "parents": lambda *_a, **_k: {
                "totalCount": len(ps := (_git(r, "log", "-1", "--format=%P", oid) or b"").decode().split()),
                "nodes": [{"__typename": "Commit", "oid": p} for p in ps[: int(_k.get("first") or 100)]],
            },
            # Commit.committedDate: "The datetime when this commit was committed."
            "committedDate": lambda *_a, **_k: (
                (_git(r, "log", "-1", "--format=%cI", oid) or b"").decode().strip()
            ),
            "statusCheckRollup": lambda *_a, **_k: _status_check_rollup(r, oid),
        }
    return None


def _status_check_rollup(r: EmuRepo, oid: str) -> dict[str, Any] | None:
    """GitHub's ``Commit.statusCheckRollup`` ("Check and Status rollup information for this
    commit", https://docs.github.com/en/graphql/reference/objects#commit): null when nothing was
    reported on the commit; ``contexts`` lists the latest commit status per context
    (``StatusContext``: ``context``, ``state``) and the latest check run per name (``CheckRun``:
    ``name``, ``status``, ``conclusion``, null until completed), the same data as REST's combined
    status and check runs (https://docs.github.com/en/graphql/reference/objects#statuscheckrollup)."""
    latest: dict[str, dict[str, Any]] = {}
    for st in r.statuses.get(oid, []):
        latest[st["context"]] = st
    runs: dict[str, dict[str, Any]] = {}
    for run in r.check_runs.get(oid, []):
        runs[run["name"]] = run
    if not latest and not runs:
        return None
    nodes: list[dict[str, Any]] = [
        {"__typename": "StatusContext", "context": c, "state": str(st["state"]).upper()}
        for c, st in latest.items()
    ] + [
        {
            "__typename": "CheckRun",
            "name": name,
            "status": str(run["status"]).upper(),
            "conclusion": str(run["conclusion"]).upper() if run.get("conclusion") else None,
        }
        for name, run in runs.items()
    ]
    states = [n["state"] for n in nodes if n["__typename"] == "StatusContext"] + [
        "PENDING"
        if n["status"] != "COMPLETED"
        else "SUCCESS"
        if n["conclusion"] in ("SUCCESS", "NEUTRAL", "SKIPPED")
        else "FAILURE"
        for n in nodes
        if n["__typename"] == "CheckRun"
    ]
    combined = (
        "FAILURE"
        if any(x in ("FAILURE", "ERROR") for x in states)
        else "PENDING"
        if any(x in ("PENDING", "EXPECTED") for x in states)
        else "SUCCESS"
    )

    def contexts(*_a: Any, **k: Any) -> dict[str, Any]:
        first = int(k.get("first") or k.get("last") or 100)
        return {"totalCount": len(nodes), "nodes": nodes[:first]}

    return {"__typename": "StatusCheckRollup", "state": combined, "contexts": contexts}


def _resolve_expression(r: EmuRepo, expression: str) -> dict[str, Any] | None:
    """GitHub's ``Repository.object(expression:)``: a git revision expression (``HEAD:path``,
    ``<oid>:path``, ``branch:path``, an oid)."""
    expr = expression
    rev, sep, path = expression.partition(":")
    if sep and rev == "HEAD":
        expr = f"HEAD:{path}"
    oid = (_git(r, "rev-parse", "--verify", "--quiet", expr) or b"").decode().strip()
    if not oid:
        return None
    otype = (_git(r, "cat-file", "-t", oid) or b"").decode().strip()
    prefix = (path.strip("/") + "/") if sep and path.strip("/") else ""
    return _object_value(r, oid, otype, prefix)


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
        "isCrossRepository": bool(pr.get("cross_repository")),
        "baseRefName": pr["base"],
        "body": pr.get("body") or "",
        "mergeCommit": {"__typename": "Commit", "oid": pr["merge_commit_sha"]}
        if merged and pr.get("merge_commit_sha")
        else None,
        "author": {
            "__typename": "Bot" if str(pr.get("user") or "").endswith("[bot]") else "User",
            "login": pr.get("user"),
        }
        if pr.get("user")
        else None,
        "reviewRequests": lambda *_a, **_k: {
            "totalCount": len(pr.get("requested_reviewers", [])) + len(pr.get("requested_teams", [])),
            "nodes": [
                {"__typename": "ReviewRequest", "requestedReviewer": {"__typename": "User", "login": u}}
                for u in pr.get("requested_reviewers", [])
            ]
            + [
                {"__typename": "ReviewRequest", "requestedReviewer": {"__typename": "Team", "slug": t}}
                for t in pr.get("requested_teams", [])
            ],
        },
        "labels": lambda *_a, **_k: {
            "totalCount": len(pr.get("labels", [])),
            "nodes": [
                {"__typename": "Label", "name": n, "id": state.label_json(r, n)["node_id"]}
                for n in pr.get("labels", [])
            ],
        },
    }


def _repo_labels(state: Any, r: EmuRepo) -> list[tuple[str, str]]:
    """``(name, node id)`` of the labels the repository has (the emulator creates a label the
    first time it is used, as REST's "Add labels to an issue" does), in creation order."""
    prefix = f"label:{r.full_name}:"
    return [
        (key[len(prefix) :], state.label_json(r, key[len(prefix) :])["node_id"])
        for key in list(state.users)
        if isinstance(key, str) and key.startswith(prefix)
    ]


def _label_names(state: Any, r: Any, ids: Any, path: str) -> list[str]:
    """The names of the label node ids ``ids`` in repository ``r``; an id that resolves to no label
    of it is GraphQL's NOT_FOUND ("Could not resolve to a node with the global id of ...")."""
    names: list[str] = []
    for lid in ids:
        name = _label_name(state, r, str(lid))
        if name is None:
            raise GraphQLError(
                "NOT_FOUND", f"Could not resolve to a node with the global id of '{lid}'", path
            )
        names.append(name)
    return names


def _label_name(state: Any, r: EmuRepo, lid: str) -> str | None:
    return next((name for name, nid in _repo_labels(state, r) if nid == lid), None)


def _protection_rule(emu: GitHubEmulator, r: EmuRepo, branch: str) -> dict[str, Any] | None:
    """``Ref.branchProtectionRule`` ("The ref's branch protection rules",
    https://docs.github.com/en/graphql/reference/objects#ref): the classic protection of the
    branch with ``requiredStatusCheckContexts`` ("List of required status check contexts that
    must pass for commits to be accepted to matching branches",
    https://docs.github.com/en/graphql/reference/objects#branchprotectionrule); null when the
    branch is not protected. The same contexts as REST's ``required_status_checks``."""
    prot = emu.state.protection_for(r, branch)
    if prot is None:
        return None
    return {
        "__typename": "BranchProtectionRule",
        "pattern": branch,
        "requiresStatusChecks": bool(prot.contexts),
        "requiredStatusCheckContexts": list(prot.contexts),
        "requiresStrictStatusChecks": prot.strict,
        "requiresApprovingReviews": bool(prot.required_approving_review_count),
        "requiredApprovingReviewCount": prot.required_approving_review_count,
        "requiresCodeOwnerReviews": prot.require_code_owner_reviews,
    }


def _ref_rules(emu: GitHubEmulator, r: EmuRepo, branch: str, first: int) -> dict[str, Any]:
    """``Ref.rules`` ("Branch protection rules that are viewable by non-admins",
    https://docs.github.com/en/graphql/reference/objects#ref): the rules of the active rulesets
    that apply to the branch, as REST's ``GET /rules/branches/{branch}`` lists them; a
    ``REQUIRED_STATUS_CHECKS`` rule carries ``RequiredStatusChecksParameters``
    (``requiredStatusChecks { context }``, ``strictRequiredStatusChecksPolicy``)."""
    nodes: list[dict[str, Any]] = []
    for rs in emu.state.rulesets_for(r, branch):
        if rs.required_checks:
            nodes.append(
                {
                    "__typename": "RepositoryRule",
                    "id": node_id("RRS", rs.id),
                    "type": "REQUIRED_STATUS_CHECKS",
                    "parameters": {
                        "__typename": "RequiredStatusChecksParameters",
                        "strictRequiredStatusChecksPolicy": rs.strict,
                        "requiredStatusChecks": [
                            {"__typename": "StatusCheckConfiguration", "context": c, "integrationId": None}
                            for c in rs.required_checks
                        ],
                    },
                }
            )
        if rs.required_approving_review_count:
            nodes.append(
                {
                    "__typename": "RepositoryRule",
                    "id": node_id("RRP", rs.id),
                    "type": "PULL_REQUEST",
                    "parameters": {
                        "__typename": "PullRequestParameters",
                        "requiredApprovingReviewCount": rs.required_approving_review_count,
                        "dismissStaleReviewsOnPush": False,
                        "requireCodeOwnerReview": False,
                        "requireLastPushApproval": False,
                        "requiredReviewThreadResolution": False,
                    },
                }
            )
    return {"totalCount": len(nodes), "nodes": nodes[:first]}


def _repo_object(emu: GitHubEmulator, r: EmuRepo, who: TokenInfo) -> dict[str, Any]:
    def pull_request(_info: Any, number: int) -> dict[str, Any] | None:
        pr = r.pulls.get(int(number))
        if pr is None:
            raise GraphQLError(
                "NOT_FOUND", f"Could not resolve to a PullRequest with the number of {number}.", "pullRequest"
            )
        return _pull_object(emu, r, pr)

    def default_branch_ref(*_a: Any, **_k: Any) -> dict[str, Any] | None:
        sha = emu.state.branch_sha(r, r.default_branch)
        if sha is None:
            return None
        return {
            "__typename": "Ref",
            "name": r.default_branch,
            "prefix": "refs/heads/",
            "target": _object_value(r, sha, "commit", ""),
        }

    def ref(_info: Any, qualifiedName: str) -> dict[str, Any] | None:
        # Repository.ref(qualifiedName:): "Fetch a given ref from the repository"
        # (https://docs.github.com/en/graphql/reference/objects#repository); null when absent.
        name = qualifiedName if qualifiedName.startswith("refs/") else f"refs/heads/{qualifiedName}"
        if not name.startswith("refs/heads/"):
            return None
        branch = name[len("refs/heads/") :]
        sha = emu.state.branch_sha(r, branch)
        if sha is None:
            return None
        return {
            "__typename": "Ref",
            "name": branch,
            "prefix": "refs/heads/",
            "target": _object_value(r, sha, "commit", ""),
            "branchProtectionRule": lambda *_a, **_k: _protection_rule(emu, r, branch),
            "rules": lambda *_a, **_k: _ref_rules(
                emu, r, branch, int(_k.get("first") or _k.get("last") or 100)
            ),
        }

    def object_(_info: Any, expression: str | None = None, oid: str | None = None) -> dict[str, Any] | None:
        return _resolve_expression(r, expression or oid or "")

    def pull_requests(
        _info: Any, headRefName: str | None = None, states: list[str] | None = None, **_k: Any
    ) -> dict[str, Any]:
        found = []
        for pr in sorted(r.pulls.values(), key=lambda p: -int(p["number"])):
            state = "MERGED" if pr["merged"] else str(pr["state"]).upper()
            if headRefName is not None and pr["head"] != headRefName:
                continue
            if states and state not in {str(x) for x in states}:
                continue
            found.append(_pull_object(emu, r, pr))
        first = _k.get("first") or 100
        return {"totalCount": len(found), "nodes": found[: int(first)]}

    return {
        "__typename": "Repository",
        "id": node_id("R", r.id),  # the same id as REST node_id (GitHub: one global node id)
        "defaultBranchRef": default_branch_ref,
        "ref": ref,
        "object": object_,
        "pullRequests": pull_requests,
        "name": r.name,
        "nameWithOwner": r.full_name,
        "isArchived": r.archived,
        "isPrivate": r.private,
        "autoMergeAllowed": r.allow_auto_merge,
        "mergeCommitAllowed": r.allow_merge_commit,
        "squashMergeAllowed": r.allow_squash_merge,
        "rebaseMergeAllowed": r.allow_rebase_merge,
        "pullRequest": pull_request,
        # Repository.labels(first:): "A list of labels associated with the repository."
        # (https://docs.github.com/en/graphql/reference/objects#repository)
        "labels": lambda *_a, **_k: {
            "totalCount": len(found := _repo_labels(emu.state, r)),
            "nodes": [
                {"__typename": "Label", "id": nid, "name": name}
                for name, nid in found[: int(_k.get("first") or _k.get("last") or 100)]
            ],
        },
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

    def update_pull(_info: Any, input: dict[str, Any]) -> dict[str, Any]:
        # updatePullRequest (https://docs.github.com/en/graphql/reference/mutations#updatepullrequest):
        # title, body, baseRefName ("The name of the branch you want your changes pulled into.
        # This should be an existing branch on the current repository.") and labelIds ("An
        # array of Node IDs of labels for this pull request": the PR's labels become these).
        r, pr, _n = emu._gql_pull(input, "updatePullRequest")
        base = input.get("baseRefName")
        if base is not None and state.branch_sha(r, base) is None:
            raise GraphQLError("UNPROCESSABLE", f"Base ref {base!r} does not exist", "updatePullRequest")
        names = _label_names(state, r, input.get("labelIds") or (), "updatePullRequest")
        for key, field in (("title", "title"), ("body", "body"), ("baseRefName", "base")):
            if input.get(key) is not None:
                pr[field] = input[key]
        if base is not None:
            pr["mergeability_pending"] = True
        if input.get("labelIds") is not None:
            pr["labels"] = list(dict.fromkeys(names))
        pr["updated_at"] = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"clientMutationId": input.get("clientMutationId"), "pullRequest": _pull_object(emu, r, pr)}

    def add_labels(_info: Any, input: dict[str, Any]) -> dict[str, Any]:
        # addLabelsToLabelable (https://docs.github.com/en/graphql/reference/mutations#addlabelstolabelable):
        # "Adds labels to a labelable object"; the labels it has are kept.
        r, pr, _n = emu._gql_pull({"pullRequestId": input.get("labelableId")}, "addLabelsToLabelable")
        names = _label_names(state, r, input.get("labelIds") or (), "addLabelsToLabelable")
        pr["labels"] = list(dict.fromkeys([*pr.get("labels", []), *names]))
        return {"clientMutationId": input.get("clientMutationId"), "labelable": _pull_object(emu, r, pr)}

    root = {
        "addLabelsToLabelable": add_labels,
        "updatePullRequest": update_pull,
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
