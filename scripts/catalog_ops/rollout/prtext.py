"""Rollout PR texts: the marker, the template context, the title/body, the superseded comment.

Pure rendering over ``rollout.model`` values through the one template environment
(``render.templates``; ``--template-dir`` overrides ``pr_title.j2``, ``pr_body.md.j2`` and
``superseded_comment.md.j2``). The context is documented in ``docs/rollout.md``. The marker is a
``fanout.pulls.Marker`` whose payload ``{"catalog", "release", "digest"[, "head"]}`` lets a rerun
recognise an up-to-date PR without reading files.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2

from catalog_ops.core import drift
from catalog_ops.core.versions import TagScheme, Version, parse_version
from catalog_ops.errors import CatalogOpsError, UsageError
from catalog_ops.fanout.pulls import Marker
from catalog_ops.forge.base import PullRequest, authored_by
from catalog_ops.render.markdown import md_quote
from catalog_ops.render.templates import (
    COMMANDS_COMMENT,
    PR_BODY,
    PR_TITLE,
    SUPERSEDED_COMMENT,
    Overrides,
    environment,
    error_location,
)
from catalog_ops.rollout import commands
from catalog_ops.rollout.gather import compare_pairs
from catalog_ops.rollout.model import (
    ROOT_MODULE,
    Action,
    CatalogRelease,
    DependentPlan,
    Plan,
    RefAction,
    effective_automerge,
    module_key,
    module_name,
)
from catalog_ops.rollout.planner import spanned_releases

MARKER = Marker("catalog-ops:rollout")
TEMPLATE_NAMES = (PR_TITLE, PR_BODY, SUPERSEDED_COMMENT, COMMANDS_COMMENT)


def render_marker(
    catalog: str, release: str, digest: str, head: str | None = None, *, env: str | None = None
) -> str:
    """The HTML comment that identifies a rollout PR and what it contains; ``head`` is the
    commit catalog-ops last put on the branch (a different PR head means someone else pushed);
    ``env`` the environment of a chain step (``rollout.chain``)."""
    data = {"catalog": catalog, "release": release, "digest": digest}
    if head:
        data["head"] = head
    if env:
        data["env"] = env
    return MARKER.render(data)


def parse_marker(body: str | None) -> dict[str, Any] | None:
    """The trailing marker payload of a PR body (``{"catalog", "release", "digest"[, "head"]}``)
    or None. Callers holding the PR use ``pr_marker``, which also checks who wrote it."""
    return MARKER.parse(body)


def pr_marker(
    pr: PullRequest | None,
    *,
    catalog: str,
    branch: str,
    repo: str,
    identity: str | None,
    env: str | None = None,
) -> dict[str, Any] | None:
    """The marker of rollout PR ``pr`` when the product wrote it, else None.

    Trusted only when: ``pr`` was opened by ``identity`` (``forge.identity()``; None on a forge
    without authors), its head branch is the rollout ``branch`` in ``repo`` (the PR's own
    repository), its body ends with the marker (``parse_marker``), and the marker names
    ``catalog`` (and ``env``, the environment of a chain step, when given). The base is not part
    of the marker: a PR on another base is retargeted.
    A forged marker (a commit subject in copied release notes, a person's PR) is never read.
    """
    if pr is None or not authored_by(pr.author, identity) or pr.head != branch or pr.repo != repo:
        return None
    marker = parse_marker(pr.body)
    if marker is None or marker.get("catalog") != catalog:
        return None
    if env is not None and marker.get("env") != env:
        return None
    return marker


def template_env(template_dir: Path | None = None) -> jinja2.Environment:
    """The template environment (``render.templates.environment``) with ``template_dir``
    (``--template-dir``) overriding bundled templates of the same name.

    Raises UsageError when ``template_dir`` is given but is not an existing directory (a typo
    must not silently fall back to the bundled templates).
    """
    return environment(Overrides.dir(template_dir))


def _undefined_location(exc: BaseException, template: jinja2.Template) -> str:
    """``file:line`` of the template line that raised ``exc``, or just the file."""
    filename, line = error_location(exc, template)
    return f"{filename}:{line}" if line else filename


def _render_check(env: jinja2.Environment, name: str, ctx: dict[str, Any]) -> None:
    """Render template ``name`` with ``ctx``; raises UsageError ``file:line: undefined variable 'x'``."""
    template = env.get_template(name)
    try:
        template.render(ctx)
    except jinja2.UndefinedError as exc:
        match = re.search(r"'([^']+)' is undefined", exc.message or "")
        what = f"undefined variable '{match.group(1)}'" if match else f"undefined: {exc.message}"
        raise UsageError(f"{_undefined_location(exc, template)}: {what}") from None
    except (jinja2.TemplateError, TypeError, ValueError):
        pass  # data-dependent: reported per dependent by the run itself


def check_templates(env: jinja2.Environment, plan: Plan | None = None) -> None:
    """Compile every rollout template once, up front, so a syntax error fails the run before
    any dependent is touched; with ``plan``, also render them (``StrictUndefined``) against a
    representative context (the first dependent that gets a PR, and a close comment), so an
    undefined variable fails once instead of once per dependent.

    Raises UsageError ``file:line: template syntax error: message`` or
    ``file:line: undefined variable 'x'`` (exit 2).
    """
    for name in TEMPLATE_NAMES:
        try:
            env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            where = exc.filename or exc.name or name
            raise UsageError(f"{where}:{exc.lineno}: template syntax error: {exc.message}") from None
        except jinja2.TemplateNotFound:
            raise UsageError(f"{name}: template not found") from None
    if plan is None:
        return
    sample = next((d for d in plan.dependents if d.action in (Action.OPEN, Action.UPDATE)), None)
    ctx: dict[str, Any] | None = None
    if sample is not None:
        try:
            ctx = pr_context(plan, sample, "0" * 40)
        except CatalogOpsError:  # reported for that dependent by the run itself
            ctx = None
    if ctx is not None:
        _render_check(env, PR_TITLE, ctx)
        _render_check(env, PR_BODY, ctx)
    _render_check(env, SUPERSEDED_COMMENT, superseded_context(plan, "Nothing is left to update."))
    _render_check(env, COMMANDS_COMMENT, commands_context(plan, "owner/repo", commands.State()))


def superseded_context(
    plan: Plan, reason: str, *, repo: str = "", ignored: Sequence[commands.Ignore] = ()
) -> dict[str, Any]:
    """Context of ``superseded_comment.md.j2``: why the PR is closed, the catalog and release,
    the dependent (``repo``), the ignores commanded on this PR that closed it (``ignored``:
    ``what`` = ``Ignore.describe()``, ``command``, ``by``; empty when it is closed because
    nothing is left to update) and a marker with digest ``closed``."""
    return {
        "reason": reason,
        "catalog": plan.catalog,
        "release": plan.release.tag,
        "repo": repo,
        "ignored": [
            {"what": i.describe(), "command": "/catalog-ops " + i.command.value, "by": i.by or "unknown"}
            for i in ignored
        ],
        "marker": render_marker(plan.catalog, plan.release.tag, "closed"),
    }


def closing_ignores(dep: DependentPlan, pr: int) -> tuple[commands.Ignore, ...]:
    """The ignores in force for ``dep`` that were commanded on its rollout PR number ``pr``
    (``/catalog-ops ignore this major`` and friends): when the plan closes that PR, they are
    why (the closing comment names them instead of "superseded")."""
    return tuple(i for i in dep.ignores if i.pr == pr)


def render_superseded(
    plan: Plan,
    reason: str,
    *,
    repo: str = "",
    ignored: Sequence[commands.Ignore] = (),
    env: jinja2.Environment | None = None,
) -> str:
    """The comment posted when a rollout PR is closed (``superseded_comment.md.j2``): as
    superseded, or, with ``ignored``, because the dependent's owners ignored its updates."""
    ctx = superseded_context(plan, reason, repo=repo, ignored=ignored)
    return (env or template_env()).get_template(SUPERSEDED_COMMENT).render(ctx)


def commands_context(plan: Plan, repo: str, state: commands.State) -> dict[str, Any]:
    """Context of ``commands_comment.md.j2``: the catalog, the dependent, the decisions logged
    (``log``: ``command``, ``author``, ``verdict``, ``reason``), the ignores in force and the
    state block (``marker``: ``commands.STATE`` with ``state``)."""
    return {
        "catalog": plan.catalog,
        "repo": repo,
        "log": list(state.log),
        "ignores": list(state.ignores),
        "marker": commands.STATE.render(state.to_json(plan.catalog)),
    }


def render_commands_comment(
    plan: Plan, repo: str, state: commands.State, *, env: jinja2.Environment | None = None
) -> str:
    """The product's state comment on a rollout PR (``commands_comment.md.j2``), always ending
    with its state block (moved there when a custom template puts it elsewhere or drops it)."""
    ctx = commands_context(plan, repo, state)
    body = (env or template_env()).get_template(COMMANDS_COMMENT).render(ctx)
    if not body.rstrip().endswith(ctx["marker"]):
        body = body.replace(ctx["marker"], "").strip("\n") + "\n\n" + ctx["marker"] + "\n"
    return body


def pr_context(plan: Plan, dep: DependentPlan, head: str | None = None) -> dict[str, Any]:
    """Template context for one dependent's PR (documented in docs/rollout.md); ``head`` is the
    branch commit recorded in the marker."""
    bumped = [r for r in dep.refs if r.action is RefAction.BUMP]
    rows: dict[str, dict[str, Any]] = {}
    for r in bumped:
        row = rows.setdefault(
            r.module,
            {
                "module": r.module,
                "module_name": module_name(r.module),
                "from_set": [],
                "to": r.proposed or r.target,
                "update_type": r.update,
                "breaking": False,
                "files": [],
            },
        )
        if r.current not in row["from_set"]:
            row["from_set"].append(r.current)
        if r.written_in not in row["files"]:
            row["files"].append(r.written_in)
        row["update_type"] = max(r.update, row["update_type"])
        row["breaking"] = row["breaking"] or r.breaking
    for row in rows.values():
        row["from"] = ", ".join(str(x) for x in row.pop("from_set"))
    modules = set(rows)
    lowest = None
    lowest_of: dict[str, Version] = {}
    for r in bumped:
        v = parse_version(r.current or "")
        if v is None and r.current:
            # registry constraint: the newest release it admits (core.drift, as the plan judged it)
            known = [x.version for x in plan.releases if not x.prerelease and TagScheme().owns(x.version)]
            v = drift.resolve_current(r.current, known)
        if v is not None and (lowest is None or v < lowest):
            lowest = v
        if v is not None and (r.module not in lowest_of or v < lowest_of[r.module]):
            lowest_of[r.module] = v
    target = max((b.target for b in dep.bumps), default=plan.release.version)
    spanned = spanned_releases(lowest, target, plan.releases) if lowest is not None else [plan.release]
    notes: list[dict[str, Any]] = []
    migration: list[dict[str, Any]] = []
    breaking_changes: list[dict[str, Any]] = []
    breaking_modules = {row["module"] for row in rows.values() if row["breaking"]}
    by_tag = {rel.tag: rel for rel in plan.releases}
    for rel in spanned:
        meta = rel.metadata
        entry: dict[str, Any] = {
            "tag": rel.tag,
            "url": rel.url,
            "urgency": rel.urgency,
            "has_metadata": meta is not None,
            "modules": [],
        }
        for mod in sorted(modules):
            start = lowest_of.get(mod)
            if not rel.changes_module(mod) or (start is not None and not start < rel.version):
                continue  # only the versions after the one this module's references are at
            entry["modules"].append(module_notes(rel, mod, by_tag))
            change = meta.modules.get(mod) if meta is not None and rel.metadata_consistent(mod) else None
            if change is not None and change.migration:
                migration.append({"module": mod, "tag": rel.tag, "notes": list(change.migration)})
            if change is not None and change.breaking and mod in breaking_modules:
                breaking_changes.append(
                    {"module": mod, "tag": rel.tag, "notes": list(change.notes) or ["(no notes)"]}
                )
        if entry["modules"]:
            notes.append(entry)
    pairs = compare_pairs(dep, plan.releases)
    for row in rows.values():
        row["compare"] = [
            {"from": f, "to": t, "url": url}
            for m, f, t in pairs
            if m == row["module"] and (url := plan.compares.get(f"{f}...{t}"))
        ]
    top_bump = max(dep.bumps, key=lambda b: b.target, default=None)
    target_tag = (
        top_bump.tag
        if top_bump is not None and top_bump.tag
        else next((rel.tag for rel in plan.releases if rel.version == target), str(target))
    )
    return {
        **patches_context(plan, dep),
        "catalog": plan.catalog,
        "catalog_name": plan.catalog.split("/", 1)[-1],
        "catalog_address": plan.catalog_address,
        "release": plan.release.tag,
        "release_url": plan.release.url or f"https://{plan.catalog_address}",
        "target": target_tag,
        "repo": dep.repo,
        "base": dep.base,
        "rows": sorted(rows.values(), key=lambda x: x["module"]),
        "skipped": [r for r in dep.refs if r.action is RefAction.SKIP],
        "notes": notes,
        "migration": migration,
        "breaking_changes": breaking_changes,
        "urgency": dep.urgency,
        "breaking": dep.breaking,
        "crosses_major": any(row["update_type"] == "major" for row in rows.values()),
        "update": dep.update,
        "automerge": effective_automerge(dep),
        "policy": dep.config.automerge,
        "configured_reviewers": list(dep.config.reviewers),
        "codeowners": dep.codeowners,
        "unreadable": list(dep.errors),
        "locks": [
            {
                "path": lk.path,
                "dir": lk.path.rsplit("/", 1)[0] if "/" in lk.path else ".",
                "provider": lk.provider,
                "current": lk.current,
                "version": lk.version,
                "needed_by": list(lk.needed_by),
                "reason": lk.reason,
            }
            for lk in dep.locks
        ],
        "marker": render_marker(plan.catalog, plan.release.tag, dep.digest(), head, env=dep.env),
        "chain": chain_context(dep),
    }


def chain_context(dep: DependentPlan) -> dict[str, Any] | None:
    """The ``chain`` variable of the PR templates: None without environments, else ``{"step":
    k, "steps": n, "env", "envs": [names], "previous": {"env", "number", "url"} | None (the
    previous environment's merged rollout PR), "next": the environment after this one or None,
    "post_merge_checks": bool, "soak": the soak the next step waits for ("1d") or None}``.
    """
    chain = dep.chain
    if chain is None or chain.step is None:
        return None
    k = chain.step
    prev = chain.steps[k - 2] if k > 1 else None
    return {
        "step": k,
        "steps": len(chain.steps),
        "env": chain.steps[k - 1].env,
        "envs": [s.env for s in chain.steps],
        "previous": None
        if prev is None
        else {"env": prev.env, "number": prev.pr, "url": prev.pr_url, "merged_at": prev.merged_at},
        "next": chain.steps[k].env if k < len(chain.steps) else None,
        "post_merge_checks": dep.config.post_merge_checks,
        "soak": duration_text(dep.config.soak_seconds)
        if dep.config.soak_seconds and not (dep.config.security_skip_soak and dep.urgency == "security")
        else None,
    }


def duration_text(seconds: int) -> str:
    """``90000`` -> ``"1d 1h"``: days, hours, minutes and seconds, the zero parts left out."""
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts) or "0s"


def patches_context(plan: Plan, dep: DependentPlan) -> dict[str, Any]:
    """The migration part of the PR context (docs/migrations.md): ``patches`` (one per patch
    applied, in order: ``patch`` path, ``module``, ``covers`` (release or range), ``description``,
    ``outcomes`` (``step``, ``description``, ``path``, ``line``, ``status`` applied|skipped,
    ``reason``; places with nothing to do are left out), ``unchanged`` (their count)),
    ``needs_hands`` (a step was skipped somewhere), ``patched`` (every breaking release covered).
    Descriptions, paths and reasons are untrusted: the template renders them through filters."""
    by_path = {m.path: m for m in plan.migrations}
    patches: list[dict[str, Any]] = []
    for path in dict.fromkeys(o.patch for o in dep.migration):
        mig = by_path.get(path)
        mine = [o for o in dep.migration if o.patch == path]
        patches.append(
            {
                "patch": path,
                "module": mig.module if mig else "",
                "covers": (str(mig.release) if mig.release else mig.applies_to or "") if mig else "",
                "description": mig.description if mig else "",
                "outcomes": [o for o in mine if o.status != "unchanged"],
                "unchanged": sum(1 for o in mine if o.status == "unchanged"),
            }
        )
    return {"patches": patches, "needs_hands": dep.needs_hands, "patched": dep.patched}


def _strip_metadata(body: str) -> str:
    """A release body without catalog-ops' machine-readable block (``core.metadata``)."""
    return re.sub(r"<!--\s*catalog-ops:release.*?-->", "", body, flags=re.S).strip()


def module_notes(
    rel: CatalogRelease, module: str, by_tag: Mapping[str, CatalogRelease], *, depth: int = 0
) -> dict[str, Any]:
    """What a reviewer reads about ``module`` in ``rel``, from the best source there is:

    1. catalog-ops' notes (release metadata), when present and consistent with git;
    2. otherwise the forge release body (another tool's or a person's release text);
    3. otherwise the version's ``CHANGELOG.md`` section (Keep a Changelog, conventional-changelog);
    4. otherwise the subjects of the commits that changed the module's files (git).

    A module changed only through a local-path dependency shows that dependency's notes
    (``via``, same order of sources, one level deep).

    Returns ``{"module", "name" (``(root)`` for the root module), "source": "catalog-ops"|"release"|"changelog"|"commits"|"none",
    "notes": [lines], "text": quoted Markdown or "", "via": [same shape]}``; ``text`` is
    untrusted and already neutralised (``render.markdown.md_quote``); ``notes`` lines are
    rendered with the ``md`` filter by the template.
    """
    name = module_name(module) if module_key(module) == ROOT_MODULE else module
    out: dict[str, Any] = {
        "module": module,
        "name": name,
        "source": "none",
        "notes": [],
        "text": "",
        "via": [],
    }
    meta = rel.metadata
    change = meta.modules.get(module) if meta is not None and rel.metadata_consistent(module) else None
    own = rel.changed is None or module in rel.changed
    via = list(rel.via.get(module, ())) if rel.changed is not None else list(change.via if change else ())
    if change is not None and change.notes and not (change.via and not own):
        out.update(source="catalog-ops", notes=list(change.notes))
    elif own and _strip_metadata(rel.body or ""):
        out.update(source="release", text=md_quote(_strip_metadata(rel.body)))
    elif own and rel.changelog:
        out.update(source="changelog", text=md_quote(rel.changelog))
    elif own and rel.subjects.get(module):
        out.update(source="commits", notes=list(rel.subjects[module]))
    if via and depth == 0:
        out["via"] = [module_notes(rel, d, by_tag, depth=1) for d in via]
    if out["source"] == "none" and not out["via"]:
        out["notes"] = ["(no notes: see the compare view)"]
    return out


def render_pr(
    plan: Plan, dep: DependentPlan, *, env: jinja2.Environment | None = None, head: str | None = None
) -> tuple[str, str]:
    """``(title, body)`` of the dependent's PR from ``pr_title.j2`` / ``pr_body.md.j2``;
    ``head`` (the commit catalog-ops put on the branch) goes into the marker.

    The body always ends with the marker (moved there when a custom template puts it elsewhere).

    Raises CatalogOpsError when a template fails (undefined variable, syntax error).
    """
    env = env or template_env()
    ctx = pr_context(plan, dep, head)
    try:
        title = " ".join(env.get_template(PR_TITLE).render(ctx).split())
        body = env.get_template(PR_BODY).render(ctx)
    except jinja2.TemplateError as exc:
        raise CatalogOpsError(f"PR template error: {exc}") from exc
    if parse_marker(body) is None or not body.rstrip().endswith(ctx["marker"]):
        # The marker is read only from the end of the body (docs/security.md): a custom template
        # that drops it, or puts it elsewhere, gets it moved to the end.
        body = body.replace(ctx["marker"], "").strip("\n") + "\n\n" + ctx["marker"] + "\n"
    return title, body
