"""What ``rollout plan`` shows about a plan: the terminal table, the step-summary Markdown, and
the problems that make it exit 1 (pure rendering over ``rollout.model.Plan``)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from rich.markup import escape
from rich.table import Table

from catalog_ops.rollout.chain import CHAIN_COMPLETE
from catalog_ops.rollout.model import PROBLEM_REASONS, DependentPlan, Plan, module_name

HELD_PREFIXES = ("held by", "waits for wave", "rollout stopped")
"""How the reasons of dependents held by ``rollout.waves.schedule`` begin."""
_UNTIL = re.compile(r"until (\d{4}-\d\d-\d\dT\d\d:\d\dZ)|time limit at (\d{4}-\d\d-\d\dT\d\d:\d\dZ)")


def schedule_line(reasons: Iterable[str | None]) -> str:
    """``"next: rollout stopped: ...; 3 held; the next hold ends at T"`` from the reasons of a
    report's outcomes (an apply report or merged shard reports), "" when nothing is held: what
    the scheduled rollout does next, and when."""
    held = [r for r in reasons if r and r.startswith(HELD_PREFIXES)]
    if not held:
        return ""
    parts: list[str] = []
    stopped = next((r for r in held if r.startswith("rollout stopped")), None)
    if stopped:
        parts.append(stopped)
    waiting = next((r for r in held if r.startswith("waits for wave")), None)
    if waiting and not stopped:
        parts.append(waiting)
    times = sorted(t for r in held for m in _UNTIL.finditer(r) for t in m.groups() if t)
    parts.append(
        f"{len(held)} held"
        + (f"; the next hold ends at {times[0]} (the next scheduled run continues)" if times else "")
    )
    return "next: " + "; ".join(parts)


def plan_problems(plan: Plan) -> list[str]:
    """What makes ``rollout plan`` exit 1 (the plan is still written): files that could not be
    parsed in a dependent, and dependents that could not be read (missing repository, forge
    errors, invalid ``.catalog-ops.yml``) — like ``dashboard``, which exits 1 on such errors."""
    out: list[str] = []
    for d in plan.dependents:
        for err in d.errors:
            out.append(f"{d.repo}: {err}")
        if d.action.value == "skip" and d.reason and d.reason.startswith(PROBLEM_REASONS):
            out.append(f"{d.repo}: {d.reason}")
    return out


def _with_chain(d: DependentPlan, text: str) -> str:
    """``text`` prefixed, for a dependent with environments, by its chain and what happens next
    (``rollout.chain``): ``chain dev → stage → prod: step 2 of 3: ...``."""
    if d.chain is None:
        return text
    envs = " → ".join(s.env for s in d.chain.steps)
    head = f"chain {envs}: {d.chain.next}"
    return head if not text or text == d.chain.next else f"{head}; {text}"


def migration_note(dep: DependentPlan) -> list[str]:
    """``["migration: 3 step(s) in the PR, 1 skipped (needs hands)"]`` for a dependent whose PR
    applies migration patches (docs/migrations.md), else ``[]``."""
    if not dep.migration:
        return []
    applied = sum(1 for o in dep.migration if o.status == "applied")
    skipped = sum(1 for o in dep.migration if o.status == "skipped")
    note = f"migration: {applied} step(s) in the PR"
    return [note + (f", {skipped} skipped (needs hands)" if skipped else "")]


def plan_table(plan: Plan) -> Table:
    """The terminal table of a plan: one row per dependent (more than 30 dependents: those
    without a reference to the catalog folded into one row)."""
    caption = ", ".join(f"{n} {a}" for a, n in sorted(plan.counts().items()))
    if plan.next_step:
        caption += f"\nnext: {plan.next_step}"
    table = Table(
        title=f"Rollout plan: {plan.catalog} {plan.release.tag} ({plan.release.urgency})",
        caption=escape(caption),
    )
    for col in ("Repository", "Action", "Update", "Urgency", "Changes / reason"):
        table.add_column(col, overflow="fold")
    quiet = 0
    for d in plan.dependents:
        if d.action.value == "nothing" and not d.refs and len(plan.dependents) > 30:
            quiet += 1
            continue
        bumped = sorted(
            {
                f"{module_name(r.module)} {r.current}→{r.proposed or r.target}"
                for r in d.refs
                if r.action == "bump"
            }
        )
        skipped = [
            f"{r.written_in}:{r.ref_line or r.line} skipped: {r.reason}" for r in d.refs if r.action == "skip"
        ]
        unread = [f"not read: {e}" for e in d.errors]
        held = [d.reason] if d.action.value == "hold" and d.reason else []
        text = "; ".join(held + bumped + migration_note(d) + skipped + unread) or (d.reason or "")
        text = _with_chain(d, text)
        if unread and d.reason and d.reason not in text:
            text = f"{d.reason}; {text}"
        table.add_row(
            d.repo, d.action.value, d.update if d.bumps else "", d.urgency if d.bumps else "", escape(text)
        )
    if quiet:
        table.add_row(f"({quiet} more)", "nothing", "", "", "no reference to the catalog")
    return table


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def plan_markdown(plan: Plan) -> str:
    """Step-summary Markdown: counts and one row per dependent with work or a skip."""
    lines = [
        f"### Rollout plan: {plan.catalog} {plan.release.tag} ({plan.release.urgency})",
        "",
        ", ".join(f"{n} {a}" for a, n in sorted(plan.counts().items())),
        "",
    ]
    if plan.next_step:
        lines += [f"**Next:** {_cell(plan.next_step)}", ""]
    if plan.rollout.waves:
        lines += ["| Wave | Members | State | Waits for |", "|---|---|---|---|"]
        for w in plan.waves:
            counts = ", ".join(f"{n} {s}" for s, n in sorted(dict(w.get("counts") or {}).items()))
            state = "failed" if w.get("failed") else "started" if w.get("may_start") else "waiting"
            lines.append(
                f"| {_cell(str(w.get('name')))} | {w.get('members', 0)} ({counts or 'none'}) | {state} | "
                f"{_cell(str(w.get('reason') or ''))} |"
            )
        lines.append("")
    lines += [
        "| Repository | Action | Update | Urgency | Changes / reason |",
        "|---|---|---|---|---|",
    ]
    for d in plan.dependents:
        active_chain = d.chain is not None and not d.chain.next.startswith(CHAIN_COMPLETE)
        if d.action.value == "nothing" and not d.errors and not active_chain:
            continue
        bumped = sorted(
            {
                f"{module_name(r.module)} {r.current}→{r.proposed or r.target}"
                for r in d.refs
                if r.action == "bump"
            }
        )
        unread = [f"not read: {e}" for e in d.errors]
        held = [d.reason] if d.action.value == "hold" and d.reason else []
        text = _with_chain(d, "; ".join(held + bumped + migration_note(d) + unread) or d.reason or "")
        text = text.replace("|", "\\|").replace("\n", " ")
        lines.append(
            f"| {d.repo} | {d.action.value} | {d.update if d.bumps else ''} | {d.urgency if d.bumps else ''} | {text} |"
        )
    return "\n".join(lines) + "\n"
