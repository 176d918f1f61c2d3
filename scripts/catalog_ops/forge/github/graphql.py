"""GraphQL for GitHubForge: the queries and mutations it sends, and their error type.

GitHub GraphQL API: ``createCommitOnBranch``, ``updateRefs``, ``enablePullRequestAutoMerge`` and the
``repository.refs`` connection (https://docs.github.com/en/graphql/reference).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from catalog_ops.errors import ForgeError
from catalog_ops.forge.github.transport import GitHubTransport

COMMIT_MUTATION = """mutation CreateCommit($input: CreateCommitOnBranchInput!) {
  createCommitOnBranch(input: $input) { commit { oid url } }
}"""

# One request, two mutations, executed one after the other (GraphQL spec, "Mutation": top-level
# mutation fields execute serially): the new branch at the parent, then the commit on it. GitHub
# counts content-generating *requests* (80 a minute, 500 an hour) and charges a request with
# mutations 5 secondary points however many it carries
# (https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits,
# "Calculating points for the secondary rate limit"): one content-creating request, not two.
REF_AND_COMMIT_MUTATION = """mutation CreateRefAndCommit($ref: CreateRefInput!, $input: CreateCommitOnBranchInput!) {
  createRef(input: $ref) { ref { name } }
  createCommitOnBranch(input: $input) { commit { oid url } }
}"""

UPDATE_REFS_MUTATION = """mutation UpdateRefs($input: UpdateRefsInput!) {
  updateRefs(input: $input) { clientMutationId }
}"""

AUTO_MERGE_MUTATION = """mutation EnableAutoMerge($input: EnablePullRequestAutoMergeInput!) {
  enablePullRequestAutoMerge(input: $input) { pullRequest { id number autoMergeRequest { mergeMethod } } }
}"""

DISABLE_AUTO_MERGE_MUTATION = """mutation DisableAutoMerge($input: DisablePullRequestAutoMergeInput!) {
  disablePullRequestAutoMerge(input: $input) { pullRequest { id number } }
}"""

TAGS_QUERY = """query Tags($owner: String!, $name: String!, $first: Int!, $after: String) {
  repository(owner: $owner, name: $name) {
    refs(refPrefix: "refs/tags/", first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { name target { __typename oid ... on Tag { message target { oid } } } }
    }
  }
}"""


class GraphQLFailure(ForgeError):
    """A GraphQL response carried ``errors``; ``types`` holds their ``type`` codes (e.g. ``NOT_FOUND``)."""

    def __init__(self, errors: list[dict[str, Any]], data: dict[str, Any] | None = None) -> None:
        self.errors = errors
        self.data = data  # the partial ``data`` GitHub sent beside the errors, if any
        self.types = {str(e["type"]) for e in errors if e.get("type")}
        super().__init__("; ".join(str(e.get("message", "")) for e in errors) or "GraphQL error")


VIEWER_QUERY = "query Viewer { viewer { login } }"
"""Who the token authenticates as: ``Query.viewer`` is "The currently authenticated user"
(https://docs.github.com/en/graphql/reference/queries#viewer); it answers for PATs and for App
installation tokens, where the login is ``<app-slug>[bot]`` (``GET /user`` answers 403 "Resource
not accessible by integration" to those: actions/create-github-app-token#258,
fullsend-ai/fullsend#1953)."""


def login_of(user: Any) -> str | None:
    """``user.login`` of a REST object's ``user``/``author`` field (None when absent)."""
    return str(user["login"]) if isinstance(user, Mapping) and user.get("login") else None


class GitHubGraphQL(GitHubTransport):
    """``_graphql``: one GraphQL request through the transport (paced when a mutation);
    ``identity``: who the token is (asked once, then cached)."""

    _identity: str | None = None

    def identity(self) -> str:
        """See ``forge.base.Identity``: ``viewer.login`` (``VIEWER_QUERY``), asked once.

        Raises ForgeError when GitHub does not say (the product then trusts no block it reads).
        """
        if self._identity is None:
            data = self._graphql(VIEWER_QUERY, {}, mutation=False, idempotent=True)
            login = login_of((data or {}).get("viewer"))
            if not login:
                raise ForgeError("GitHub did not say who the token authenticates as (GraphQL viewer.login)")
            self._identity = login
        return self._identity

    def _graphql(
        self, query: str, variables: Mapping[str, Any], *, mutation: bool, idempotent: bool
    ) -> dict[str, Any]:
        _h, data = self._request(
            "POST",
            self._req.graphql_url,
            body={"query": query, "variables": dict(variables)},
            graphql=True,
            mutation=mutation,
            idempotent=idempotent,
        )
        if isinstance(data, dict) and data.get("errors"):
            raise GraphQLFailure(list(data["errors"]), data.get("data"))
        return dict(data.get("data") or {}) if isinstance(data, dict) else {}
