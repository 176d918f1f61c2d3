"""Batched reads for GitHubForge: many repositories per GraphQL request.

A rollout plan over an org reads, for every dependent, its default branch head, the paths of its
tree, and the texts of the few files that can hold references. One REST request per repository
(plus one per file) makes a 5,000-repository org cost tens of thousands of requests; GraphQL
answers any number of aliased ``repository(...)`` fields in one request. Three batched requests
kinds, each a GraphQL query (no mutation, so never content-creating):

* **heads** (``read_snapshots(..., trees=False)``): ``defaultBranchRef { name target { oid } }``
  and the open PR on the rollout branch (``pullRequests(headRefName:, states: OPEN, first: 1)``),
  ``HEADS_PER_QUERY`` repositories a request;
* **trees** (``trees=True``): the same plus the tree of the head, ``TREE_DEPTH`` directory levels
  deep in one go (``Tree.entries { name type size object { ... on Tree { entries ... } } }``); deeper
  directories are read in follow-up batches (``object(expression: "<oid>:<dir>")``);
* **blobs** (``read_blobs``): ``object(expression: "<commit>:<path>") { ... on Blob { text
  byteSize isBinary isTruncated } }``, up to ``BLOBS_PER_QUERY`` files or ``BLOB_BYTES_PER_QUERY``
  bytes (from the tree entry sizes) a request. Binary or truncated blobs are read through REST.

Costs (GitHub docs, https://docs.github.com/en/graphql/overview/rate-limits-and-query-limits-for-the-graphql-api):
the primary-limit score of a query counts only *connections* (``Tree.entries`` is a plain list),
so each of these requests scores 1 point (heads: ``HEADS_PER_QUERY`` ``first: 1`` connections,
100/100 = 1); for the secondary limits each counts as one request worth 1 point of the 2,000
GraphQL points a minute. A repository GitHub cannot resolve (missing, no access) comes back as
``None`` with a ``NOT_FOUND`` error for its alias only; the other aliases are answered.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from catalog_ops.forge.base import (
    MERGE_METHOD_FIELDS_GRAPHQL,
    PullRequest,
    PullState,
    head_age,
    merge_methods,
)
from catalog_ops.forge.github.graphql import GitHubGraphQL, GraphQLFailure
from catalog_ops.forge.github.transport import TransientError

HEADS_PER_QUERY = 100
TREES_PER_QUERY = 100
TREE_DEPTH = 4
BLOBS_PER_QUERY = 250
BLOB_BYTES_PER_QUERY = 1_000_000


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """One repository as a batched read saw it.

    Attributes:
        repo: ``owner/name``; default_branch: its default branch ("" when empty/unknown).
        head: commit id of the default branch head (None: empty repository or not readable).
        paths: ``{path: blob size in bytes}`` of the head's tree (files and submodules; None
            when the tree was not asked for).
        open_pr: number of the open PR on the asked rollout branch, or None.
        closed_pr: the newest closed or merged PR on that branch (number, state, body, author,
            head, url; what ``Pulls.find_closed_pull`` returns), or None.
        error: why the repository could not be read (None when it could).
    """

    repo: str
    default_branch: str = ""
    head: str | None = None
    paths: Mapping[str, int] | None = None
    open_pr: int | None = None
    closed_pr: PullRequest | None = None
    error: str | None = None


def _lit(text: str) -> str:
    """A GraphQL string literal (JSON string syntax is GraphQL's)."""
    return json.dumps(text)


def _tree_fields(depth: int) -> str:
    inner = "name type size"
    if depth > 1:
        inner += " object { ... on Tree { oid " + _tree_fields(depth - 1) + " } }"
    else:
        inner += " oid"
    return "entries { " + inner + " }"


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class GitHubBatchReads(GitHubGraphQL):
    """``read_snapshots`` and ``read_blobs``: the batched reads of the module docstring."""

    def _batch_query(self, fields: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
        """One query with the aliased ``fields``; returns (data, {alias: error message}).

        A batch that times out or fails with a 5xx is split in halves (GitHub stops queries that
        run too long: https://docs.github.com/en/graphql/overview/rate-limits-and-query-limits-for-the-graphql-api#timeouts);
        a single alias is retried like any idempotent request."""
        if len(fields) > 1:
            try:
                return self._batch_query_once(fields, retry=False)
            except TransientError:
                self._count("batch_split")
                items = list(fields.items())
                half = len(items) // 2
                d1, e1 = self._batch_query(dict(items[:half]))
                d2, e2 = self._batch_query(dict(items[half:]))
                return {**d1, **d2}, {**e1, **e2}
        return self._batch_query_once(fields, retry=True)

    def _batch_query_once(
        self, fields: Mapping[str, str], *, retry: bool
    ) -> tuple[dict[str, Any], dict[str, str]]:
        query = "query {\n" + "\n".join(f"  {alias}: {body}" for alias, body in fields.items()) + "\n}"
        try:
            data = self._graphql(query, {}, mutation=False, idempotent=retry)
            return data, {}
        except GraphQLFailure as exc:
            # Per-alias errors (NOT_FOUND for one repository) come with the other aliases' data.
            errors: dict[str, str] = {}
            for err in exc.errors:
                path = err.get("path") or []
                if path:
                    errors[str(path[0])] = str(err.get("message") or "GraphQL error")
            partial = getattr(exc, "data", None)
            if not errors or partial is None:
                raise
            return dict(partial), errors

    def read_snapshots(
        self, repos: Sequence[str], *, trees: bool, pr_branch: str | None = None
    ) -> dict[str, Snapshot]:
        """Heads (and with ``trees`` the tree paths) of ``repos``, batched (module docstring).

        Args:
            repos: ``owner/name`` names.
            trees: also read the head's tree.
            pr_branch: also look up the open PR whose head is this branch.

        Returns:
            ``{repo: Snapshot}`` for every name (``error`` set for one that could not be read).

        Raises:
            ForgeError: a whole request failed (auth, rate limit after the transport's waits).
        """
        out: dict[str, Snapshot] = {}
        per = TREES_PER_QUERY if trees else HEADS_PER_QUERY
        # The open rollout PR, and the newest closed/merged one (a PR closed by a person is not
        # proposed again; commands on it are read): "pullRequests" of
        # https://docs.github.com/en/graphql/reference/objects#repository, ordered by
        # IssueOrder CREATED_AT DESC, one node each.
        pr_field = (
            f" pullRequests(headRefName: {_lit(pr_branch)}, states: OPEN, first: 1) {{ nodes {{ number"
            " isCrossRepository } }"
            f" closedPulls: pullRequests(headRefName: {_lit(pr_branch)}, states: [CLOSED, MERGED], first: 1,"
            " orderBy: {field: CREATED_AT, direction: DESC})"
            " { nodes { number state body url headRefName baseRefName headRefOid title author { login }"
            " isCrossRepository } }"
            if pr_branch
            else ""
        )
        tree = f" ... on Commit {{ tree {{ oid {_tree_fields(TREE_DEPTH)} }} }}" if trees else ""
        for chunk in _chunks(list(repos), per):
            fields = {}
            for i, name in enumerate(chunk):
                owner, _, short = name.partition("/")
                fields[f"r{i}"] = (
                    f"repository(owner: {_lit(owner)}, name: {_lit(short)}) {{ "
                    f"defaultBranchRef {{ name target {{ oid{tree} }} }}{pr_field} }}"
                )
            data, errors = self._batch_query(fields)
            pending: list[tuple[str, str, str]] = []  # (repo, dir path, tree oid) to expand
            for i, name in enumerate(chunk):
                node = data.get(f"r{i}")
                if node is None:
                    out[name] = Snapshot(repo=name, error=errors.get(f"r{i}", "not found"))
                    continue
                ref = node.get("defaultBranchRef")
                prs = (node.get("pullRequests") or {}).get("nodes") or []
                open_pr = int(prs[0]["number"]) if prs else None
                closed = (node.get("closedPulls") or {}).get("nodes") or []
                closed_pr = pull_from_graphql(name, closed[0]) if closed else None
                # headRefName is the branch name only: a fork's PR from a branch of that name
                # matches too and may hide the rollout PR; then REST's head=owner:branch decides
                if pr_branch and prs and prs[0].get("isCrossRepository") is not False:
                    own = self.find_open_pull(name, pr_branch)  # type: ignore[attr-defined]
                    open_pr = own.number if own is not None else None
                if pr_branch and closed and closed[0].get("isCrossRepository") is not False:
                    closed_pr = self.find_closed_pull(name, pr_branch)  # type: ignore[attr-defined]
                if ref is None:
                    out[name] = Snapshot(
                        repo=name, paths={} if trees else None, open_pr=open_pr, closed_pr=closed_pr
                    )
                    continue
                target = ref.get("target") or {}
                paths: dict[str, int] | None = None
                if trees:
                    paths = {}
                    self._collect(name, "", (target.get("tree") or {}).get("entries") or [], paths, pending)
                out[name] = Snapshot(
                    repo=name,
                    default_branch=str(ref.get("name") or ""),
                    head=str(target.get("oid") or "") or None,
                    paths=paths,
                    open_pr=open_pr,
                    closed_pr=closed_pr,
                )
            self._expand(pending, out)
        return out

    def _collect(
        self,
        repo: str,
        prefix: str,
        entries: Sequence[Mapping[str, Any]],
        paths: dict[str, int],
        pending: list[tuple[str, str, str]],
    ) -> None:
        """Add the files of ``entries`` (a tree at ``prefix``) to ``paths``; directories the
        query did not expand go to ``pending`` as ``(repo, dir path, tree oid)``."""
        for e in entries:
            path = f"{prefix}{e['name']}"
            if e.get("type") == "tree":
                obj = e.get("object") or {}
                if "entries" in obj:
                    self._collect(repo, path + "/", obj["entries"], paths, pending)
                else:
                    pending.append((repo, path, str(obj.get("oid") or e.get("oid") or "")))
            else:
                paths[path] = int(e.get("size") or 0)

    def _expand(self, pending: list[tuple[str, str, str]], out: dict[str, Snapshot]) -> None:
        """Read directories deeper than ``TREE_DEPTH`` in batches, until none is left."""
        while pending:
            batch, pending = pending[:TREES_PER_QUERY], pending[TREES_PER_QUERY:]
            fields = {}
            for i, (repo, _path, oid) in enumerate(batch):
                owner, _, short = repo.partition("/")
                fields[f"t{i}"] = (
                    f"repository(owner: {_lit(owner)}, name: {_lit(short)}) {{ "
                    f"object(oid: {_lit(oid)}) {{ ... on Tree {{ oid {_tree_fields(TREE_DEPTH)} }} }} }}"
                )
            data, _errors = self._batch_query(fields)
            for i, (repo, path, _oid) in enumerate(batch):
                obj = ((data.get(f"t{i}") or {}).get("object")) or {}
                snap = out[repo]
                paths = dict(snap.paths or {})
                self._collect(repo, path + "/", obj.get("entries") or [], paths, pending)
                out[repo] = dataclasses.replace(snap, paths=paths)

    def read_rollout_states(
        self, wanted: Sequence[tuple[str, str, str | None, Sequence[str]]], branch: str
    ) -> dict[str, Any]:
        """See the module function ``read_rollout_states`` (the freshness check of apply)."""
        return read_rollout_states(self, wanted, branch)

    def read_tip_and_pull(self, repo: str, branch: str, number: int) -> tuple[str | None, PullRequest]:
        """The tip of ``branch`` and PR ``number`` in one GraphQL query (not content-creating, 1
        point): ``Repository.ref(qualifiedName:) { target { oid } }`` and
        ``Repository.pullRequest(number:)``
        (https://docs.github.com/en/graphql/reference/objects#repository). The re-read after a
        PR text is written (``rollout.apply``), instead of ``GET git/ref`` plus ``GET pulls/{n}``.

        Raises:
            NotFound: no such PR (GitHub's ``NOT_FOUND`` error for ``pullRequest``).
        """
        owner, _, short = repo.partition("/")
        fields = {
            "r": (
                f"repository(owner: {_lit(owner)}, name: {_lit(short)}) {{ "
                f"tip: ref(qualifiedName: {_lit('refs/heads/' + branch)}) {{ target {{ oid }} }} "
                f"pullRequest(number: {int(number)}) {{ {_PULL_FIELDS} }} }}"
            )
        }
        data, errors = self._batch_query(fields)
        node = data.get("r") or {}
        if node.get("pullRequest") is None:
            from catalog_ops.errors import NotFound

            raise NotFound(f"pull request #{number} not found in {repo}: {errors.get('r', 'not found')}")
        tip = str(((node.get("tip") or {}).get("target") or {}).get("oid") or "") or None
        return tip, pull_from_graphql(repo, node["pullRequest"])

    def update_pull_text(
        self, repo: str, number: int, *, title: str, body: str, base: str, labels: Sequence[str]
    ) -> PullRequest:
        """Set PR ``number``'s title, body and base and add ``labels`` (labels it carries already,
        its others included, are kept) in one content-creating request where GitHub allows it:
        GraphQL ``updatePullRequest`` with ``title``, ``body``, ``baseRefName``
        (https://docs.github.com/en/graphql/reference/mutations#updatepullrequest,
        https://docs.github.com/en/graphql/reference/input-objects#updatepullrequestinput), then
        ``addLabelsToLabelable`` in the same request (``UPDATE_PULL_MUTATION``). It
        needs the PR's node id and the id of every label, which the freshness check read
        (``read_rollout_states``: the open PR's ``id``, the repository's ``labels``); a label the
        repository does not have yet (GraphQL cannot create one) or an unknown id falls back to
        REST: ``PATCH /pulls/{n}`` and, when labels are missing, ``POST /issues/{n}/labels``
        (which creates them).

        Raises:
            NotFound: unknown PR or base branch.
        """
        node_id = self.__dict__.get("_pull_node_ids", {}).get((repo, number))
        ids = self.__dict__.get("_label_ids", {}).get(repo)
        wanted = list(dict.fromkeys(labels))
        if node_id is not None and ids is not None and all(x in ids for x in wanted):
            try:
                data = self._graphql(
                    UPDATE_PULL_MUTATION,
                    {
                        "input": {
                            "pullRequestId": node_id,
                            "title": title,
                            "body": body,
                            "baseRefName": base,
                        },
                        "labels": {"labelableId": node_id, "labelIds": [ids[x] for x in wanted]},
                    },
                    mutation=True,
                    idempotent=True,  # the same input sets the same state
                )
                return pull_from_graphql(repo, data["addLabelsToLabelable"]["labelable"])
            except GraphQLFailure:
                self._count("fallback_rest_pull_text")  # e.g. a label deleted since it was read
        updated = self.update_pull(repo, number, title=title, body=body, base=base)  # type: ignore[attr-defined]
        missing = [x for x in wanted if x not in updated.labels]
        if missing:
            self.add_labels(repo, number, missing)  # type: ignore[attr-defined]
            updated = dataclasses.replace(updated, labels=tuple(dict.fromkeys([*updated.labels, *missing])))
        return updated

    def read_blobs(
        self, wanted: Sequence[tuple[str, str, str]], sizes: Mapping[tuple[str, str], int] | None = None
    ) -> dict[tuple[str, str], bytes | None]:
        """Texts of files, batched: ``wanted`` is ``(repo, commit, path)``; returns
        ``{(repo, path): bytes or None (absent)}``. Binary or truncated blobs (GitHub's
        ``Blob.text`` is null or cut for them) are read through ``read_file`` (REST).

        Args:
            sizes: ``{(repo, path): bytes}`` from the tree, to keep each request under
                ``BLOB_BYTES_PER_QUERY``.
        """
        out: dict[tuple[str, str], bytes | None] = {}
        batches: list[list[tuple[str, str, str]]] = [[]]
        weight = 0
        for item in wanted:
            size = (sizes or {}).get((item[0], item[2]), 0)
            if batches[-1] and (len(batches[-1]) >= BLOBS_PER_QUERY or weight + size > BLOB_BYTES_PER_QUERY):
                batches.append([])
                weight = 0
            batches[-1].append(item)
            weight += size
        for batch in batches:
            if not batch:
                continue
            fields = {}
            for i, (repo, commit, path) in enumerate(batch):
                owner, _, short = repo.partition("/")
                fields[f"b{i}"] = (
                    f"repository(owner: {_lit(owner)}, name: {_lit(short)}) {{ "
                    f"object(expression: {_lit(f'{commit}:{path}')}) {{ ... on Blob {{ text isBinary isTruncated }} }} }}"
                )
            data, _errors = self._batch_query(fields)
            for i, (repo, commit, path) in enumerate(batch):
                obj = (data.get(f"b{i}") or {}).get("object")
                if obj is None:
                    out[(repo, path)] = None
                elif obj.get("isBinary") or obj.get("isTruncated") or obj.get("text") is None:
                    out[(repo, path)] = self.read_file(repo, path, commit)  # type: ignore[attr-defined]
                else:
                    out[(repo, path)] = str(obj["text"]).encode("utf-8")
        return out


STATES_PER_QUERY = 50
"""Dependents per freshness-check request: each carries its PR bodies (up to 65,536 characters,
GitHub's body limit) and the texts of its input files, so a request stays well under GitHub's
10-second query timeout; the primary-limit score is ~5 points (ten ``first:`` connections a
repository — the two PRs with their labels and review requests, the tip's parents and checks,
the base's rules, the repository's labels — 50 x 10 / 100)."""

UPDATE_PULL_MUTATION = (
    "mutation($input: UpdatePullRequestInput!, $labels: AddLabelsToLabelableInput!) { "
    "updatePullRequest(input: $input) { clientMutationId } "
    "addLabelsToLabelable(input: $labels) { labelable { ... on PullRequest { "
    + "id number title body url headRefName headRefOid baseRefName state merged "
    + "mergeCommit { oid } author { __typename login } autoMergeRequest { mergeMethod } "
    + "labels(first: 100) { nodes { name } } "
    + "reviewRequests(first: 50) { nodes { requestedReviewer { __typename ... on User { login } "
    + "... on Team { slug } } } } } } } }"
)
"""One request, two mutations run in order (GraphQL spec, "Mutation operations": top-level
fields are executed serially): the text, then the labels *added*
(``addLabelsToLabelable``: https://docs.github.com/en/graphql/reference/mutations#addlabelstolabelable).
``updatePullRequest(labelIds:)`` would *replace* the labels with a set read earlier, dropping a
label a person added since (``do-not-merge``)."""

_PULL_FIELDS = (
    "id number title body url headRefName headRefOid baseRefName state merged "
    "mergeCommit { oid } author { __typename login } autoMergeRequest { mergeMethod } "
    "labels(first: 100) { nodes { name } } "
    "reviewRequests(first: 50) { nodes { requestedReviewer { __typename ... on User { login } "
    "... on Team { slug } } } }"
)


def _login(author: Mapping[str, Any] | None) -> str | None:
    """The REST form of a GraphQL ``author``: GraphQL's ``Bot.login`` may lack the ``[bot]``
    suffix REST's ``user.login`` carries (both are accepted)."""
    if not author or not author.get("login"):
        return None
    login = str(author["login"])
    if author.get("__typename") == "Bot" and not login.endswith("[bot]"):
        login += "[bot]"
    return login


def pull_from_graphql(repo: str, node: Mapping[str, Any]) -> Any:
    """A ``forge.base.PullRequest`` from a GraphQL ``PullRequest`` node of ``_PULL_FIELDS``
    (https://docs.github.com/en/graphql/reference/objects#pullrequest)."""
    from catalog_ops.forge.base import PullRequest

    owner = repo.split("/")[0]
    auto = node.get("autoMergeRequest")
    merged = bool(node.get("merged"))
    state = PullState.MERGED if merged else PullState(str(node.get("state") or "OPEN").lower())
    reviewers: list[str] = []
    for item in (node.get("reviewRequests") or {}).get("nodes") or ():
        who = (item or {}).get("requestedReviewer") or {}
        if who.get("login"):
            reviewers.append(str(who["login"]))
        elif who.get("slug"):
            reviewers.append(f"{owner}/{who['slug']}")
    return PullRequest(
        repo=repo,
        number=int(node["number"]),
        title=str(node.get("title") or ""),
        body=str(node.get("body") or ""),
        head=str(node.get("headRefName") or ""),
        base=str(node.get("baseRefName") or ""),
        head_sha=str(node.get("headRefOid") or ""),
        state=state,
        url=str(node.get("url") or ""),
        labels=tuple(str(x["name"]) for x in ((node.get("labels") or {}).get("nodes") or ())),
        reviewers=tuple(reviewers),
        auto_merge=auto is not None,
        merge_method=str(auto["mergeMethod"]).lower() if auto else None,
        merged_sha=str((node.get("mergeCommit") or {}).get("oid") or "") or None if merged else None,
        author=_login(node.get("author")),
    )


def read_rollout_states(
    forge: GitHubBatchReads,
    wanted: Sequence[tuple[str, str, str | None, Sequence[str]]],
    branch: str,
) -> dict[str, Any]:
    """The freshness check of a rollout apply, batched (``STATES_PER_QUERY`` dependents a
    GraphQL request; a query, so not content-creating: 1 secondary point).

    Args:
        forge: the GitHub forge.
        wanted: ``(repo, base branch, planned head commit or None, input paths)`` per dependent.
        branch: the rollout branch.

    Returns:
        ``{repo: forge.base.RolloutState}``: base head (``Repository.ref(qualifiedName:)``), the
        rollout branch tip with message and parents, the open PR and the newest closed/merged
        PR on the branch (``pullRequests(headRefName:, states:)``; that filter is the branch name
        only, so a fork's PR from a branch of the same name matches too: a dependent where one
        of those is ``isCrossRepository`` is left out), and the input files'
        texts at the planned head (``object(expression: "<head>:<path>")``). A repository that
        could not be read, or a binary/truncated file, is left out: the caller reads that
        dependent the per-repository way.
    """
    from catalog_ops.forge.base import Commit, RolloutState

    out: dict[str, Any] = {}
    b = _lit(branch)
    for chunk in _chunks(list(wanted), STATES_PER_QUERY):
        fields = {}
        for i, (name, base, head, paths) in enumerate(chunk):
            owner, _, short = name.partition("/")
            files = "".join(
                f" f{j}: object(expression: {_lit(f'{head}:{path}')}) {{ ... on Blob {{ text isBinary isTruncated }} }}"
                for j, path in enumerate(paths if head else ())
            )
            fields[f"r{i}"] = (
                f"repository(owner: {_lit(owner)}, name: {_lit(short)}) {{ id {_MERGE_SETTINGS} {_LABELS} "
                f"base: ref(qualifiedName: {_lit('refs/heads/' + base)}) {{ target {{ oid }} {_BASE_RULES} }} "
                f"tip: ref(qualifiedName: {_lit('refs/heads/' + branch)}) {{ target {{ oid ... on Commit {{ "
                f"message parents(first: 2) {{ nodes {{ oid }} }} {_HEAD_CHECKS} }} }} }} "
                f"open: pullRequests(headRefName: {b}, states: OPEN, first: 1) {{ nodes {{ isCrossRepository "
                f"{_PULL_FIELDS} }} }} "
                f"closed: pullRequests(headRefName: {b}, states: [CLOSED, MERGED], first: 1, "
                f"orderBy: {{field: CREATED_AT, direction: DESC}}) {{ nodes {{ isCrossRepository {_PULL_FIELDS} }} }}"
                f"{files} }}"
            )
        data, _errors = forge._batch_query(fields)
        for i, (name, _base, head, paths) in enumerate(chunk):
            node = data.get(f"r{i}")
            if node is None:
                continue
            if node.get("id"):  # the node id createRef / updateRefs need (forge.github.repos)
                forge.__dict__.setdefault("_node_ids", {})[name] = str(node["id"])
            labels = node.get("labels") or {}
            if labels.get("nodes") is not None and int(labels.get("totalCount") or 0) <= len(labels["nodes"]):
                forge.__dict__.setdefault("_label_ids", {})[name] = {
                    str(x["name"]): str(x["id"]) for x in labels["nodes"] if x and x.get("id")
                }
            texts: dict[str, bytes | None] = {}
            complete = True
            for j, path in enumerate(paths if head else ()):
                obj = node.get(f"f{j}")
                if obj is None:
                    texts[path] = None
                elif obj.get("isBinary") or obj.get("isTruncated") or obj.get("text") is None:
                    complete = False
                else:
                    texts[path] = str(obj["text"]).encode("utf-8")
            if not complete:
                continue
            tip_target = (node.get("tip") or {}).get("target") or None
            tip = None
            if tip_target and tip_target.get("oid"):
                tip = Commit(
                    sha=str(tip_target["oid"]),
                    message=str(tip_target.get("message") or ""),
                    parents=tuple(
                        str(p["oid"]) for p in ((tip_target.get("parents") or {}).get("nodes") or ())
                    ),
                )
            opened = ((node.get("open") or {}).get("nodes")) or []
            closed = ((node.get("closed") or {}).get("nodes")) or []
            if any((n or {}).get("isCrossRepository") is not False for n in (*opened[:1], *closed[:1])):
                # headRefName matches a fork's branch of that name too: a PR from another
                # repository (or one whose origin is unknown) is never the rollout PR, and may
                # hide it: this dependent is read the per-repository way (REST ``head=owner:branch``)
                continue
            open_pr = pull_from_graphql(name, opened[0]) if opened else None
            if open_pr is not None and opened[0].get("id"):  # enablePullRequestAutoMerge needs no GET for it
                forge.__dict__.setdefault("_pull_node_ids", {})[(name, open_pr.number)] = str(opened[0]["id"])
            policy = merge_policy(node)
            out[name] = RolloutState(
                repo=name,
                base_head=str(((node.get("base") or {}).get("target") or {}).get("oid") or "") or None,
                tip=tip,
                open_pr=open_pr,
                last_closed=pull_from_graphql(name, closed[0]) if closed else None,
                files=texts,
                merge_policy=policy,
                merge=open_merge_facts(open_pr, tip_target, policy),
            )
    return out


_LABELS = "labels(first: 100) { totalCount nodes { id name } }"
"""The repository's labels with their node ids (``Repository.labels``: "A list of labels
associated with the repository", https://docs.github.com/en/graphql/reference/objects#repository),
so an updated PR's text and labels are one ``updatePullRequest`` (``update_pull_text``)."""

_MERGE_SETTINGS = "mergeCommitAllowed squashMergeAllowed rebaseMergeAllowed autoMergeAllowed"
"""The repository's merge settings (``Repository``: "Whether or not PRs are merged with a merge
commit / squash-merged / rebase-merged on this repository", "Whether or not Auto-merge can be
enabled on pull requests in this repository",
https://docs.github.com/en/graphql/reference/objects#repository)."""

_BASE_RULES = (
    "branchProtectionRule { requiredStatusCheckContexts } "
    "rules(first: 50) { totalCount nodes { type parameters { ... on RequiredStatusChecksParameters "
    "{ requiredStatusChecks { context } } } } }"
)
"""The checks required to merge into the base branch: classic protection
(``Ref.branchProtectionRule.requiredStatusCheckContexts``: "List of required status check
contexts that must pass for commits to be accepted to matching branches") and rulesets
(``Ref.rules``: "Branch protection rules that are viewable by non-admins", a
``REQUIRED_STATUS_CHECKS`` rule's ``RequiredStatusChecksParameters.requiredStatusChecks``):
https://docs.github.com/en/graphql/reference/objects#ref,
https://docs.github.com/en/graphql/reference/objects#branchprotectionrule,
https://docs.github.com/en/graphql/reference/objects#requiredstatuschecksparameters. The REST
reads they replace: ``GitHubForge.required_checks``."""

CONTEXTS_PER_HEAD = 100
_HEAD_CHECKS = (
    f"committedDate statusCheckRollup {{ contexts(first: {CONTEXTS_PER_HEAD}) {{ totalCount nodes {{ __typename "
    "... on CheckRun { name status conclusion } ... on StatusContext { context state } } } }"
)
"""The checks reported on the rollout branch tip (``Commit.statusCheckRollup``: "Check and
Status rollup information for this commit", null when nothing was reported; its ``contexts``
are ``CheckRun`` and ``StatusContext`` nodes:
https://docs.github.com/en/graphql/reference/objects#commit,
https://docs.github.com/en/graphql/reference/objects#statuscheckrollup,
https://docs.github.com/en/graphql/reference/objects#checkrun,
https://docs.github.com/en/graphql/reference/objects#statuscontext) and the commit's
``committedDate`` (the gate's grace period). The REST reads they replace:
``GitHubForge.commit_checks`` and ``GET /git/commits/{sha}``."""


def merge_policy(node: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...], bool] | None:
    """``(required check names, allowed merge methods, auto-merge allowed)`` from a freshness
    check node (``_MERGE_SETTINGS``, ``_BASE_RULES``); None when the base branch was not read or
    its rules were cut off (more than the ``first`` read)."""
    base = node.get("base")
    if base is None or "mergeCommitAllowed" not in node:
        return None
    names: list[str] = []
    protection = base.get("branchProtectionRule") or {}
    names.extend(str(c) for c in protection.get("requiredStatusCheckContexts") or ())
    rules = base.get("rules") or {}
    nodes = rules.get("nodes") or []
    if int(rules.get("totalCount") or 0) > len(nodes):
        return None
    for rule in nodes:
        if (rule or {}).get("type") == "REQUIRED_STATUS_CHECKS":
            for item in ((rule.get("parameters") or {}).get("requiredStatusChecks")) or ():
                names.append(str(item.get("context")))
    methods = merge_methods(node, MERGE_METHOD_FIELDS_GRAPHQL)
    return tuple(dict.fromkeys(n for n in names if n)), methods, node.get("autoMergeAllowed") is not False


def checks_from_rollup(rollup: Mapping[str, Any] | None) -> tuple[Any, ...] | None:
    """``CheckResult``s (sorted by name) from a ``statusCheckRollup``, reduced as
    ``GitHubForge.commit_checks`` reduces REST's: a check run not ``COMPLETED`` is pending,
    conclusions ``SUCCESS``/``NEUTRAL``/``SKIPPED`` pass and every other fails; a status
    ``ERROR``/``FAILURE`` fails, ``PENDING``/``EXPECTED`` is pending
    (https://docs.github.com/en/graphql/reference/enums#checkstatusstate,
    https://docs.github.com/en/graphql/reference/enums#checkconclusionstate,
    https://docs.github.com/en/graphql/reference/enums#statusstate). None when the contexts were
    cut off (more than ``CONTEXTS_PER_HEAD``): the caller reads them the REST way."""
    from catalog_ops.forge.base import CheckResult, add_check, check_run_state, status_state

    if rollup is None:
        return ()
    contexts = rollup.get("contexts") or {}
    nodes = contexts.get("nodes") or []
    if int(contexts.get("totalCount") or 0) > len(nodes):
        return None
    out: dict[str, CheckResult] = {}
    for n in nodes:
        n = n or {}
        if n.get("__typename") == "StatusContext":
            add_check(out, str(n.get("context") or "default"), status_state(n.get("state")))
        elif n.get("__typename") == "CheckRun":
            add_check(out, str(n.get("name")), check_run_state(n.get("status"), n.get("conclusion")))
    return tuple(out[k] for k in sorted(out))


def open_merge_facts(
    pr: PullRequest | None,
    tip: Mapping[str, Any] | None,
    policy: tuple[tuple[str, ...], tuple[str, ...], bool] | None,
) -> Any:
    """The merge gate's ``MergeFacts`` of the open rollout PR from the freshness check, or None
    when they are not all there: no open PR, no policy, the branch tip read is not the PR's head
    (a push in between: the gate reads ``merge_facts``), or the checks were cut off."""
    from catalog_ops.forge.base import MergeFacts

    if pr is None or policy is None or not tip or str(tip.get("oid") or "") != pr.head_sha:
        return None
    checks = checks_from_rollup(tip.get("statusCheckRollup"))
    if checks is None:
        return None
    age = head_age(tip.get("committedDate"), time.time())
    required, methods, auto_allowed = policy
    return MergeFacts(
        head_sha=pr.head_sha,
        state=pr.state,
        auto_merge=pr.auto_merge,
        checks=checks,
        required=required,
        merge_methods=methods,
        head_age=age,
        native_auto_merge=auto_allowed,
    )
