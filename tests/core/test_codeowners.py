"""CODEOWNERS rules (GitHub docs, "About code owners", example file)."""

from __future__ import annotations

import pytest

from catalog_ops.core.codeowners import owners_for, split_owners

GITHUB_EXAMPLE = """\
# These owners will be the default owners for everything
*       @global-owner1 @global-owner2
*.js    @js-owner #This is an inline comment.
*.go docs@example.com
/build/logs/ @doctocat
docs/*  docs@example.com
apps/ @octocat
/docs/ @doctocat
/scripts/ @doctocat @octocat
**/logs @octocat
/apps/ @octocat
/apps/github
"""


@pytest.mark.parametrize(
    ("path", "owners"),
    [
        ("README.md", ("@global-owner1", "@global-owner2")),
        ("src/app.js", ("@js-owner",)),
        ("main.go", ("docs@example.com",)),
        ("build/logs/x.txt", ("@octocat",)),  # **/logs is later than /build/logs/
        ("docs/getting-started.md", ("@doctocat",)),
        ("scripts/deploy.sh", ("@doctocat", "@octocat")),
        ("deeply/nested/logs/a", ("@octocat",)),
        ("apps/web/x", ("@octocat",)),
        ("apps/github/x", ()),
    ],
)
def test_github_example(path: str, owners: tuple[str, ...]) -> None:
    assert owners_for(GITHUB_EXAMPLE, [path]) == owners


def test_docs_star_does_not_match_nested() -> None:
    text = "* @all\ndocs/* @docs\n"
    assert owners_for(text, ["docs/a.md"]) == ("@docs",)
    assert owners_for(text, ["docs/build/a.md"]) == ("@all",)


def test_union_and_split() -> None:
    text = "/modules/vpc/ @acme/network\n/modules/eks/ @alice @acme/platform\n"
    owners = owners_for(text, ["modules/vpc/main.tf", "modules/eks/main.tf", "other"])
    assert owners == ("@acme/network", "@alice", "@acme/platform")
    assert split_owners(owners) == (("alice",), ("acme/network", "acme/platform"))
    assert owners_for(None, ["a"]) == ()
