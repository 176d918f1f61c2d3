"""Tags and releases on GitHub (``Tags``, ``Releases``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from catalog_ops.errors import (
    Conflict,
    ForgeError,
    NotFound,
)
from catalog_ops.forge.base import (
    Release,
    Tag,
)
from catalog_ops.forge.github.graphql import TAGS_QUERY, GitHubGraphQL, GraphQLFailure, login_of
from catalog_ops.forge.github.transport import quote_path


class GitHubReleases(GitHubGraphQL):
    """Tag (GraphQL ``refs``, Git Data tag objects) and release (REST ``releases``) operations."""

    def list_tags(self, repo: str) -> list[Tag]:
        """All tags via one GraphQL query per 100 tags (peeled commit and annotation message).

        Raises NotFound for an unknown repository, ForgeError for other GraphQL errors.
        """
        owner, name = repo.split("/", 1)
        tags: list[Tag] = []
        after: str | None = None
        while True:
            try:
                data = self._graphql(
                    TAGS_QUERY,
                    {"owner": owner, "name": name, "first": 100, "after": after},
                    mutation=False,
                    idempotent=True,
                )
            except GraphQLFailure as exc:
                if "NOT_FOUND" in exc.types:
                    raise NotFound(f"GitHub: repository {repo} not found: {exc}") from None
                raise ForgeError(f"listing tags of {repo} failed: {exc}") from None
            refs = (data.get("repository") or {}).get("refs") or {}
            for node in refs.get("nodes") or ():
                target = node["target"]
                if target.get("__typename") == "Tag":
                    tags.append(
                        Tag(
                            name=node["name"],
                            sha=(target.get("target") or {}).get("oid") or target["oid"],
                            message=(target.get("message") or "").rstrip("\n"),
                        )
                    )
                else:
                    tags.append(Tag(name=node["name"], sha=target["oid"], message=None))
            info = refs.get("pageInfo") or {}
            if not info.get("hasNextPage"):
                return tags
            after = info.get("endCursor")

    def create_tag(self, repo: str, *, name: str, sha: str, message: str) -> Tag:
        """``POST /git/tags`` (annotated tag object) + ``POST /git/refs``. Raises Conflict if it exists."""
        try:
            self._request("GET", f"/repos/{repo}/git/ref/tags/{quote_path(name)}")
            raise Conflict(f"tag {name} already exists in {repo}")
        except NotFound:
            pass
        _h, tag_obj = self._request(
            "POST",
            f"/repos/{repo}/git/tags",
            body={"tag": name, "message": message, "object": sha, "type": "commit"},
            idempotent=True,  # an unreferenced extra tag object is harmless
        )

        def do() -> bool:
            self._request(
                "POST", f"/repos/{repo}/git/refs", body={"ref": f"refs/tags/{name}", "sha": tag_obj["sha"]}
            )
            return True

        def find() -> bool | None:
            try:
                self._request("GET", f"/repos/{repo}/git/ref/tags/{quote_path(name)}")
                return True
            except NotFound:
                return None

        self._create(f"create tag {name} in {repo}", do, find)
        return Tag(name=name, sha=sha, message=message.rstrip("\n"))

    def _release_from(self, d: Mapping[str, Any]) -> Release:
        return Release(
            tag=d["tag_name"],
            name=d.get("name") or d["tag_name"],
            body=d.get("body") or "",
            url=d.get("html_url", ""),
            prerelease=bool(d.get("prerelease")),
            draft=bool(d.get("draft")),
            created_at=d.get("created_at") or "",
            author=login_of(d.get("author")),
            published_at=d.get("published_at") or "",
        )

    def create_release(
        self, repo: str, *, tag: str, name: str, body: str, prerelease: bool = False
    ) -> Release:
        """``POST /repos/{r}/releases``. Raises Conflict when a release for ``tag`` exists."""

        def do() -> Release:
            _h, d = self._request(
                "POST",
                f"/repos/{repo}/releases",
                body={"tag_name": tag, "name": name, "body": body, "prerelease": prerelease},
            )
            return self._release_from(d)

        return self._create(f"create release {tag} in {repo}", do, lambda: self.get_release(repo, tag))

    def get_release(self, repo: str, tag: str) -> Release | None:
        """``GET /repos/{r}/releases/tags/{tag}``; None on 404."""
        try:
            _h, d = self._request("GET", f"/repos/{repo}/releases/tags/{quote_path(tag)}")
        except NotFound:
            return None
        return self._release_from(d)

    def list_releases(self, repo: str) -> list[Release]:
        """``GET /repos/{r}/releases``, all pages, newest first."""
        return [self._release_from(d) for d in self._paginate(f"/repos/{repo}/releases")]
