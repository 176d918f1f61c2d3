"""Which fine-grained permission each emulated endpoint needs, and the 403 GitHub answers without it.

GitHub documents the permission of every REST endpoint on
https://docs.github.com/en/rest/authentication/permissions-required-for-fine-grained-personal-access-tokens
(and, for GitHub Apps, https://docs.github.com/en/rest/authentication/permissions-required-for-github-apps);
each endpoint's own page repeats it under "Fine-grained access tokens for ...". A request a token
is not allowed to make gets 403 ``Resource not accessible by integration`` (installation and
``GITHUB_TOKEN``) or ``Resource not accessible by personal access token`` (fine-grained PAT),
with the ``X-Accepted-GitHub-Permissions`` header naming what would have been accepted
(https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api#resource-not-accessible).

A token's repository list works the same way: a private repository outside it is invisible (404,
as for any repository a token cannot see); a public one is readable but not writable (403).

Entries are ``handler name -> alternatives``; each alternative is ``"permission:level"`` and any
one of them suffices (the docs' "Additional permissions" column: e.g. issue comments on a pull
request are accepted with ``issues`` or ``pull_requests`` write). ``write`` implies ``read``.
"""

from __future__ import annotations

from collections.abc import Mapping

from emulator.state import HttpError, TokenInfo

REST: dict[str, tuple[str, ...]] = {
    # metadata (every token has metadata:read)
    "r_get_repo": ("metadata:read",),
    "r_list_tags": ("metadata:read",),
    "r_list_repos": ("metadata:read",),
    "r_user_repos": ("metadata:read",),
    "r_installation_repos": ("metadata:read",),
    "r_rules_for_branch": ("metadata:read",),
    "r_collaborator_permission": ("metadata:read",),  # "Get repository permissions for a user"
    # contents
    "r_get_ref": ("contents:read",),
    "r_matching_refs": ("contents:read",),
    "r_create_ref": ("contents:write",),
    "r_update_ref": ("contents:write",),
    "r_delete_ref": ("contents:write",),
    "r_get_tree": ("contents:read",),
    "r_create_tree": ("contents:write",),
    "r_create_blob": ("contents:write",),
    "r_get_blob": ("contents:read",),
    "r_get_commit": ("contents:read",),
    "r_create_commit": ("contents:write",),
    "r_create_tag": ("contents:write",),
    "r_get_tag": ("contents:read",),
    "r_contents": ("contents:read",),
    "r_merge_pull": ("contents:write",),  # "Merge a pull request": Contents write
    "r_list_releases": ("contents:read",),
    "r_create_release": ("contents:write",),
    "r_release_by_tag": ("contents:read",),
    "r_commit_pulls": ("pull_requests:read", "contents:read"),
    # pull requests
    "r_list_pulls": ("pull_requests:read",),
    "r_create_pull": ("pull_requests:write",),
    "r_dispatch_workflow": ("actions:write",),  # "Create a workflow dispatch event": Actions (write)
    "r_get_pull": ("pull_requests:read",),
    "r_update_pull": ("pull_requests:write",),
    "r_request_reviewers": ("pull_requests:write",),
    # statuses and checks
    "r_combined_status": ("statuses:read",),
    "r_create_status": ("statuses:write",),
    "r_check_runs": ("checks:read",),
    # issues (on a pull request, pull_requests write is accepted too)
    "r_list_issues": ("issues:read",),
    "r_create_issue": ("issues:write",),
    "r_get_issue": ("issues:read", "pull_requests:read"),
    "r_update_issue": ("issues:write", "pull_requests:write"),
    "r_add_labels": ("issues:write", "pull_requests:write"),
    "r_set_labels": ("issues:write", "pull_requests:write"),
    "r_add_assignees": ("issues:write", "pull_requests:write"),
    "r_list_comments": ("issues:read", "pull_requests:read"),
    "r_create_comment": ("issues:write", "pull_requests:write"),
    "r_update_comment": ("issues:write", "pull_requests:write"),
    # reactions ("Create/List reactions for an issue comment": Issues or Pull requests)
    "r_list_reactions": ("issues:read", "pull_requests:read"),
    "r_create_reaction": ("issues:write", "pull_requests:write"),
    # administration
    "r_branch_protection": ("administration:read",),
    "r_required_status_checks": ("administration:read",),
}

# GraphQL: the docs name no per-field table; the mutations need what their REST twins need
# (createCommitOnBranch writes contents; auto-merge changes the pull request).
GRAPHQL: dict[str, tuple[str, ...]] = {
    "createCommitOnBranch": ("contents:write",),
    "createRef": ("contents:write",),
    "updateRefs": ("contents:write",),
    "enablePullRequestAutoMerge": ("pull_requests:write",),
    "disablePullRequestAutoMerge": ("pull_requests:write",),
    "updatePullRequest": ("pull_requests:write",),
    "addLabelsToLabelable": ("pull_requests:write", "issues:write"),
    "refs": ("contents:read",),
    "pullRequest": ("pull_requests:read",),
}

LEVEL = {"none": 0, "read": 1, "write": 2, "admin": 3}


def allowed(perms: Mapping[str, str], alternatives: tuple[str, ...]) -> bool:
    """Whether ``perms`` satisfies any one of ``alternatives`` (``metadata:read`` always)."""
    for alt in alternatives:
        name, _, level = alt.partition(":")
        have = "read" if name == "metadata" else "none"
        have = max(have, perms.get(name, "none"), key=lambda x: LEVEL.get(x, 0))
        if LEVEL.get(have, 0) >= LEVEL[level]:
            return True
    return False


def forbidden(token: TokenInfo, alternatives: tuple[str, ...]) -> HttpError:
    """GitHub's 403 for a token lacking ``alternatives``."""
    who = "personal access token" if token.kind in ("pat", "fine_grained") else "integration"
    return HttpError(
        403,
        f"Resource not accessible by {who}",
        headers={"X-Accepted-GitHub-Permissions": ", ".join(a.replace(":", "=") for a in alternatives)},
        doc="https://docs.github.com/rest",
    )


def check(token: TokenInfo, alternatives: tuple[str, ...] | None) -> None:
    """Raise GitHub's 403 when ``token`` has a permission set that ``alternatives`` exceed."""
    if token.permissions is None or alternatives is None:
        return
    if not allowed(token.permissions, alternatives):
        raise forbidden(token, alternatives)


def check_repository(token: TokenInfo, full_name: str, *, private: bool, write: bool) -> None:
    """A repository outside the token's list: 404 when private (invisible), 403 on writes."""
    if token.repositories is None or full_name in token.repositories:
        return
    if private:
        raise HttpError(404, "Not Found", doc="https://docs.github.com/rest/repos/repos#get-a-repository")
    if write:
        raise forbidden(token, ("contents:write",))
