"""Release notes and release metadata: entries from commits and PRs, the Markdown, the JSON.

* ``build_entries`` groups the commits of a release into one entry per merged PR (or per commit
  that came without one), with its bump level, breaking/security flags and migration notes.
  Which PR a commit belongs to comes from the forge (``pulls_for``) or, failing that, from the
  subjects the forge writes when it merges (``MergeSubjects``: ``Merge pull request #12 ...``,
  ``feat: x (#12)`` on GitHub).
* ``render_notes`` renders the notes template (``render.templates.RELEASE_NOTES``, overridable
  with ``--template FILE``) with the sections of ``SECTIONS`` grouped by module.
* ``module_changes`` / ``release_metadata`` build the machine-readable metadata
  (``core.metadata``, ``docs/release-metadata.md``) the rollout reads back.

Pure given their inputs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2

from catalog_ops.catalog.layout import ChangeSet
from catalog_ops.core.commits import (
    DEFAULT_LABEL_RULES,
    DEFAULT_SECURITY_LABELS,
    DEFAULT_SECURITY_TYPES,
    DEFAULT_TYPE_RULES,
    ConventionalCommit,
    NotParsable,
    commit_level,
    labels_level,
    parse_commit_message,
)
from catalog_ops.core.metadata import ModuleChange, ReleaseMetadata
from catalog_ops.core.versions import Level
from catalog_ops.errors import UsageError
from catalog_ops.forge.base import GITHUB_MERGE_SUBJECTS, MergeSubjects, PullRequest, PullState
from catalog_ops.release.history import CommitInfo
from catalog_ops.release.model import SECTIONS, NoteEntry, ReleasePlan
from catalog_ops.render.markdown import code, code_cell
from catalog_ops.render.templates import BUNDLED_DIR, RELEASE_NOTES, Overrides, environment, error_location

__all__ = [
    "build_entries",
    "extract_migration",
    "load_template",
    "module_changes",
    "release_metadata",
    "render_notes",
]


_MIGRATION_RE = re.compile(r"^(#{1,6})[ \t]+Migration\b[^\n]*$", re.I | re.M)
_HEADING_RE = re.compile(r"^(#{1,6})[ \t]+\S", re.M)
_HTML_COMMENT_RE = re.compile(r"<!--.*?-->", re.S)


#: the release-notes group of commits that changed only examples and tests.
TESTS_GROUP = "(tests and examples)"


def extract_migration(body: str | None) -> tuple[str, ...]:
    """Texts of the ``## Migration`` sections of a PR body (Markdown ATX headings, any level,
    heading text starting with "Migration"), each up to the next heading of the same or a higher
    level. HTML comments (PR template placeholders) are dropped; empty sections are skipped."""
    if not body:
        return ()
    text = _HTML_COMMENT_RE.sub("", body.replace("\r\n", "\n"))
    found = []
    for match in _MIGRATION_RE.finditer(text):
        level = len(match.group(1))
        end = len(text)
        for heading in _HEADING_RE.finditer(text, match.end()):
            if len(heading.group(1)) <= level:
                end = heading.start()
                break
        section = text[match.end() : end].strip()
        if section:
            found.append(section)
    return tuple(found)


def _is_security(parsed: ConventionalCommit | NotParsable, labels: Iterable[str]) -> bool:
    if parsed.parsed and (
        (parsed.type or "") in DEFAULT_SECURITY_TYPES
        or (parsed.scope or "").lower() in DEFAULT_SECURITY_TYPES
    ):
        return True
    return any(label.strip().lower() in DEFAULT_SECURITY_LABELS for label in labels)


def build_entries(
    commits: Sequence[CommitInfo],
    *,
    pulls_for: Callable[[str], Sequence[PullRequest]] = lambda sha: (),
    merge_members: Callable[[CommitInfo], Iterable[str]] = lambda c: (),
    html_url: str = "",
    subjects: MergeSubjects = GITHUB_MERGE_SUBJECTS,
    type_rules: Mapping[str, Level] = DEFAULT_TYPE_RULES,
    label_rules: Mapping[str, Level] = DEFAULT_LABEL_RULES,
) -> list[NoteEntry]:
    """Group commits into note entries (newest first).

    Args:
        commits: commits of the range, children before parents (``GitHistory.commits``).
        pulls_for: merged PRs containing a commit (``forge.pulls_for_commit``).
        merge_members: commit ids a merge commit brought in (``git rev-list M^1..M^2``).
        html_url: repository web URL for PR links when the forge gave none.
        subjects: how the forge writes merge and squash subjects (``forge.merge_subjects``).
        type_rules / label_rules: bump rules (``catalog_ops.core.commits``).

    A commit belongs to the entry of its merged PR (forge), else to the PR of the forge's merge
    commit that brought it in, else to the PR named in its squash subject (``"feat: x (#12)"``),
    else it is an entry of its own. Plain merge commits (``Merge branch 'x'``) are not entries.
    """
    entries: dict[str, NoteEntry] = {}
    member_of: dict[str, str] = {}
    pulls: dict[str, PullRequest] = {}

    def merged(prs: Sequence[PullRequest]) -> list[PullRequest]:
        return [p for p in prs if p.state == PullState.MERGED or p.merged_sha]

    for c in commits:
        prs = merged(pulls_for(c.sha))
        key: str | None
        pr: PullRequest | None = None
        number: int | None = None
        if prs:
            pr = next((p for p in prs if p.merged_sha == c.sha), None) or min(prs, key=lambda p: p.number)
            key, number = f"pr:{pr.number}", pr.number
        elif c.sha in member_of:
            key = member_of[c.sha]
        elif c.is_merge:
            number = subjects.pull_number(c.subject) if subjects.is_merge(c.subject) else None
            key = None if number is None else f"pr:{number}"
        else:
            number = subjects.pull_number(c.subject)
            key = f"pr:{number}" if number is not None else f"commit:{c.sha}"
        if key is None:
            continue
        if c.is_merge:
            for sha in merge_members(c):
                member_of.setdefault(sha, key)
        if pr is not None:
            pulls.setdefault(key, pr)
        entry = entries.get(key)
        if entry is None:
            if pr is not None:
                title = subjects.strip_suffix(pr.title)
            elif c.is_merge:
                body = c.message.split("\n", 1)[1].strip() if "\n" in c.message else ""
                title = body.split("\n", 1)[0].strip() or c.subject
            else:
                title = subjects.strip_suffix(c.subject)
            entry = NoteEntry(key=key, title=title, parsed=parse_commit_message(title), pr_number=number)
            if pr is None and not c.is_merge and number is None:
                entry.parsed = parse_commit_message(c.message)  # full message: footers count
            entries[key] = entry
        entry.commits.append(c)

    result = []
    for key, entry in entries.items():
        pr = pulls.get(key)
        if pr is not None:
            entry.pr_url = pr.url or None
            entry.labels = tuple(pr.labels)
            entry.migration = extract_migration(pr.body)
            if pr.merged_sha and any(c.sha == pr.merged_sha for c in entry.commits):
                entry.merged_sha = pr.merged_sha
        if entry.pr_number is not None and not entry.pr_url and html_url:
            entry.pr_url = f"{html_url.rstrip('/')}/pull/{entry.pr_number}"
        if entry.merged_sha is None:
            merges = [c.sha for c in entry.commits if c.is_merge]
            if merges:
                entry.merged_sha = merges[0]
        parsed_all: list[ConventionalCommit | NotParsable] = [entry.parsed]
        for c in entry.commits:
            if not c.is_merge and entry.key != f"commit:{c.sha}":
                parsed_all.append(parse_commit_message(c.message))
        entry.level = max(
            [commit_level(p, rules=type_rules) for p in parsed_all]
            + [labels_level(entry.labels, label_rules)]
        )
        entry.breaking = (
            any(p.breaking for p in parsed_all) or labels_level(entry.labels, label_rules) == Level.MAJOR
        )
        entry.security = any(_is_security(p, entry.labels) for p in parsed_all)
        notes: list[str] = []
        for p in parsed_all:
            for note in p.breaking_notes:
                if note not in notes:
                    notes.append(note)
        entry.breaking_notes = tuple(notes)
        result.append(entry)
    return result


def load_template(path: Path | None) -> jinja2.Template:
    """The notes template: ``path`` when given (``--template FILE``), else the bundled
    ``release_notes.md.j2`` (both through the one ``render.templates`` environment).

    Raises:
        UsageError: unreadable file, or a syntax error (``path:line:col: message``).
    """
    name = RELEASE_NOTES if path is None else str(path)
    try:
        return environment(Overrides.file(RELEASE_NOTES, path)).get_template(RELEASE_NOTES)
    except OSError as exc:
        raise UsageError(f"{path}:1:1: cannot read template: {exc.strerror}") from None
    except jinja2.TemplateSyntaxError as exc:
        raise UsageError(f"{name}:{exc.lineno}:1: template syntax error: {exc.message}") from None


def _shown_name(template: jinja2.Template, file: str) -> str:
    """The template file named in errors: the user's path, or the bundled template's name."""
    if Path(file).is_relative_to(BUNDLED_DIR):
        return template.name or RELEASE_NOTES
    return file


def _notes_context(plan: ReleasePlan) -> dict[str, Any]:
    commit_url = plan.commit_url

    def entry_ctx(e: NoteEntry) -> dict[str, Any]:
        return {
            "text": e.text,
            "links": e.links(commit_url),
            "title": e.title,
            "type": e.parsed.type,
            "scope": e.parsed.scope,
            "breaking": e.breaking,
            "breaking_notes": list(e.breaking_notes),
            "migration": list(e.migration),
            "pr_number": e.pr_number,
            "pr_url": e.pr_url,
            "labels": list(e.labels),
            "commits": [{"sha": c.sha, "short": c.sha[:7], "url": commit_url(c.sha)} for c in e.commits],
            "modules": list(e.modules),
            "test_modules": list(e.test_modules),
        }

    sections = []
    for key, title in SECTIONS:
        members = [e for e in plan.entries if e.section == key]
        if not members:
            continue
        groups: dict[str | None, list[NoteEntry]] = {}
        for e in members:
            # test/example-only commits are not module changes: one group of their own, not
            # a copy under every module whose tests they touched
            mods: list[str | None] = [*sorted(e.modules)] or ([TESTS_GROUP] if e.test_modules else [])
            if plan.module is not None:
                mods = [plan.module]
            for m in mods or [None]:
                groups.setdefault(m, []).append(e)
        ordered = sorted(groups.items(), key=lambda kv: (kv[0] is None, kv[0] == TESTS_GROUP, kv[0] or ""))
        sections.append(
            {
                "key": key,
                "title": title,
                "groups": [
                    {
                        "module": m,
                        "title": "Tests and examples" if m == TESTS_GROUP else (code(m) if m else "General"),
                        "entries": [entry_ctx(e) for e in es],
                    }
                    for m, es in ordered
                ],
            }
        )
    migrations = [
        {"title": e.text, "links": e.links(commit_url), "text": text}
        for e in plan.entries
        for text in e.migration
    ]
    cs = plan.changes or ChangeSet()
    module_rows = (
        [{"module": m, "change": "changed"} for m in cs.changed]
        + [{"module": m, "change": "removed"} for m in cs.removed]
        + [
            {
                "module": m,
                "change": "uses a changed module ("
                + ", ".join(code_cell(d) for d in plan.via.get(m, ()))
                + ")",
            }
            for m in cs.via_dependency
        ]
        + [{"module": m, "change": "examples/tests only"} for m in cs.tests_only]
    )
    previous_link = None
    if plan.previous:
        previous_link = f"`{plan.previous}`"
        if plan.html_url:
            previous_link = f"[`{plan.previous}`]({plan.html_url}/compare/{plan.previous}...{plan.tag})"
    return {
        "release": {
            "repo": plan.repo,
            "tag": plan.tag,
            "version": plan.version,
            "previous": plan.previous,
            "previous_link": previous_link,
            "commit": plan.target,
            "commit_short": plan.target[:7],
            "commit_url": commit_url(plan.target),
            "urgency": plan.urgency,
            "breaking": plan.breaking,
            "prerelease": plan.prerelease,
            "bump": plan.level.name.lower(),
            "module": plan.module,
        },
        "sections": sections,
        "migrations": migrations,
        "modules": module_rows,
        "all_affected": cs.all_affected,
    }


def render_notes(plan: ReleasePlan, template: jinja2.Template | None = None) -> str:
    """Release notes Markdown (without the metadata comment).

    Args:
        plan: the release plan whose entries are rendered.
        template: from ``load_template`` (default: the bundled one).

    Raises:
        UsageError: the template fails to render (``name:line:1: message``; the line is the
            template line Jinja2 reports, 1 when it reports none).
    """
    template = template or load_template(None)
    try:
        text = template.render(**_notes_context(plan))
    except jinja2.TemplateError as exc:
        file, line = error_location(exc, template)
        where = f"{_shown_name(template, file)}:{line or 1}:1"
        raise UsageError(f"{where}: release notes template error: {exc}") from None
    text = re.sub(r"\n{3,}", "\n\n", text).strip("\n")
    return text + "\n"


def module_changes(plan: ReleasePlan) -> dict[str, ModuleChange]:
    """The metadata of each module the release touches (changed, removed, changed through a
    local module it uses, examples/tests only), with its note lines and migration notes.

    Args:
        plan: a plan whose ``changes``, ``via`` and ``entries`` are filled in.
    """
    cs = plan.changes or ChangeSet()
    via = plan.via
    entries = plan.entries
    commit_url = plan.commit_url
    group_of: Callable[[NoteEntry], set[str]]
    if plan.module is not None:
        module = plan.module
        group_of = lambda e: {module}  # noqa: E731
    else:
        group_of = lambda e: set(e.modules)  # noqa: E731

    def note(e: NoteEntry) -> str:
        return f"{e.text} ({e.links(commit_url)})" if e.links(commit_url) else e.text

    meta_modules: dict[str, ModuleChange] = {}
    for m in [*cs.changed, *cs.removed, *cs.via_dependency, *cs.tests_only]:
        mine = [e for e in entries if m in group_of(e)]
        notes = [note(e) for e in mine]
        if m in cs.removed:
            notes.append("Module removed.")
        if m in via:
            notes.append("Uses " + ", ".join(code(d) for d in via[m]) + ", which changed:")
            # the dependency's own notes, so a reviewer of this module sees what changed
            notes.extend(f"{code(d)}: {note(e)}" for d in via[m] for e in entries if d in e.modules)
        meta_modules[m] = ModuleChange(
            path=m,
            changed=m not in cs.tests_only,
            tests_only=m in cs.tests_only,
            notes=tuple(notes),
            migration=tuple(t for e in mine for t in e.migration),
            breaking=any(e.breaking for e in mine),
            via=via.get(m, ()),
        )
    return meta_modules


def release_metadata(plan: ReleasePlan) -> ReleaseMetadata:
    """The machine-readable metadata of ``plan`` (schema in ``docs/release-metadata.md``)."""
    return ReleaseMetadata(
        version=plan.version or "",
        tag=plan.tag or "",
        previous=plan.previous,
        urgency=plan.urgency,
        breaking=plan.breaking,
        modules=module_changes(plan),
        commit=plan.target,
        prerelease=plan.prerelease,
        module=plan.module,
    )
