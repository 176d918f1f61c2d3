"""Tags and releases in the local forge (``Tags``, ``Releases``): tags are git refs, releases
live in the repository record."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from catalog_ops import gitutil
from catalog_ops.errors import Conflict, NotFound
from catalog_ops.forge.base import Release, Tag
from catalog_ops.forge.local.store import LocalStore, now


class LocalReleases(LocalStore):
    """Tag and release operations over a ``LocalStore``."""

    def list_tags(self, repo: str) -> list[Tag]:
        """All tags (peeled to commits), sorted by name."""
        self._count("list_tags")
        gd = self._git_dir(repo)
        fmt = "%(refname:strip=2)%1f%(objecttype)%1f%(objectname)%1f%(*objectname)%1f%(contents)%1e"
        out = gitutil.run_git(["for-each-ref", f"--format={fmt}", "refs/tags"], git_dir=gd).stdout.decode(
            errors="replace"
        )
        tags: list[Tag] = []
        for record in out.split("\x1e"):
            record = record.lstrip("\n")
            if not record:
                continue
            name, otype, oid, peeled, contents = record.split("\x1f", 4)
            if otype == "tag":
                tags.append(Tag(name=name, sha=peeled or oid, message=contents.rstrip("\n")))
            else:
                tags.append(Tag(name=name, sha=oid, message=None))
        return tags

    def create_tag(self, repo: str, *, name: str, sha: str, message: str) -> Tag:
        """Annotated tag ``name`` at commit ``sha``. Raises Conflict when it exists."""
        self._count("create_tag", write=True)
        gd = self._git_dir(repo)
        if gitutil.rev_parse(gd, f"refs/tags/{name}") is not None or (
            gitutil.run_git(
                ["show-ref", "--verify", "--quiet", f"refs/tags/{name}"], git_dir=gd, check=False
            ).returncode
            == 0
        ):
            raise Conflict(f"tag {name} already exists in {repo}")
        commit = gitutil.rev_parse(gd, sha)
        if commit is None:
            raise NotFound(f"commit {sha} not found in {repo}")
        gitutil.run_git(["tag", "-a", name, "-F", "-", commit], git_dir=gd, input=message.encode())
        return Tag(name=name, sha=commit, message=message.rstrip("\n"))

    def _release_from(self, repo: str, rec: Mapping[str, Any]) -> Release:
        return Release(
            tag=rec["tag"],
            name=rec["name"],
            body=rec["body"],
            url=f"{self.record_path(repo).as_uri()}#release/{rec['tag']}",
            prerelease=bool(rec["prerelease"]),
            draft=bool(rec.get("draft", False)),
            created_at=rec["created_at"],
            published_at=rec.get("published_at") or rec["created_at"],
        )

    def create_release(
        self, repo: str, *, tag: str, name: str, body: str, prerelease: bool = False
    ) -> Release:
        """Release for ``tag`` (a lightweight tag at the default branch is made when missing, like
        GitHub). Raises Conflict when a release for ``tag`` exists."""
        self._count("create_release", write=True)
        gd = self._git_dir(repo)
        with self._edit(repo) as data:
            if any(r["tag"] == tag for r in data["releases"]):
                raise Conflict(f"a release for tag {tag} already exists in {repo}")
            if gitutil.run_git(
                ["show-ref", "--verify", "--quiet", f"refs/tags/{tag}"], git_dir=gd, check=False
            ).returncode:
                tip = gitutil.rev_parse(gd, f"refs/heads/{data['repo']['default_branch']}")
                if tip is None:
                    raise NotFound(f"tag {tag} does not exist and {repo} has no default branch to tag")
                gitutil.update_ref(gd, f"refs/tags/{tag}", tip)
            rec = {
                "tag": tag,
                "name": name,
                "body": body,
                "prerelease": prerelease,
                "draft": False,
                "created_at": now(),
            }
            data["releases"].append(rec)
            return self._release_from(repo, rec)

    def get_release(self, repo: str, tag: str) -> Release | None:
        """See ``Forge.get_release``."""
        self._count("get_release")
        for rec in self.load_record(repo)["releases"]:
            if rec["tag"] == tag:
                return self._release_from(repo, rec)
        return None

    def list_releases(self, repo: str) -> list[Release]:
        """See ``Forge.list_releases``."""
        self._count("list_releases")
        return [self._release_from(repo, r) for r in reversed(self.load_record(repo)["releases"])]
