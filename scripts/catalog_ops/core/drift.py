"""Who is behind, by how much, and does it need a change: the one answer (pure).

Rollout (``rollout.planner``), the dashboard (``rollout.dashboard``) and the dependency sweep
(``sweep.plan``) all ask this module, so they cannot disagree:

* A **pinned version** (``?ref=v1.2.0``, ``version = "1.2.0"``) is behind by the versions after it,
  up to the target, that changed what it uses; it needs a change exactly when there is one.
* A **version constraint** (``~> 6.0``, ``>= 5.1, < 7``) is at the newest known version it admits
  (what ``terraform init -upgrade`` would pick; its floor when it admits none). When it already
  admits the target it is *up to date* and left alone (Terraform resolves it to the target by
  itself); moving its floor up is an opt-in (``raise_floor``, ``.catalog-ops.yml``
  ``raise_floor: true``). When it does not admit the target, it is behind like a pin at its
  current version.

The rules about a constraint's *shape* after a change (``~> 1.2.0`` -> ``~> 1.3.0``) belong to
``core.versions.update_constraint``; this module only decides whether a change is needed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from catalog_ops.core.versions import Level, Version, parse_constraint, parse_version, update_type
from catalog_ops.errors import CatalogOpsError

__all__ = ["STATUSES", "Drift", "assess", "is_constraint", "resolve_current"]

#: ``Drift.status`` values, most urgent first.
STATUSES = ("unknown", "major", "minor", "patch", "up to date")


def is_constraint(written: str) -> bool:
    """True when ``written`` is a version constraint rather than one exact version
    (``"1.2.0"``, ``"v1.2.0"`` and ``"= 1.2.0"`` are exact)."""
    text = written.strip()
    if parse_version(text) is not None:
        return False
    try:
        cons = parse_constraint(text)
    except CatalogOpsError:
        return False
    return not (len(cons.parts) == 1 and cons.parts[0].op == "=")


def _floor(written: str) -> Version | None:
    try:
        cons = parse_constraint(written)
    except CatalogOpsError:
        return None
    return max((p.version for p in cons.parts if p.op in ("=", ">=", ">", "~>")), default=None)


def resolve_current(written: str | None, versions: Sequence[Version]) -> Version | None:
    """The version a reference is at.

    Args:
        written: the ref or constraint as the user wrote it (``"v1.2.0"``, ``"~> 6.0"``).
        versions: the known versions of what it refers to (stable ones; any order).

    Returns:
        The pinned version; for a constraint, the newest of ``versions`` it admits, else its
        floor (``~> 5.0`` with no 5.x known: 5.0); None when ``written`` is neither.
    """
    if not written:
        return None
    text = written.strip()
    v = parse_version(text)
    if v is not None:
        return v
    try:
        cons = parse_constraint(text)
    except CatalogOpsError:
        return None
    admitted = [x for x in versions if cons.admits(x)]
    return max(admitted) if admitted else _floor(text)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Drift:
    """The answer for one reference.

    Attributes:
        written: the ref or constraint as the user wrote it (shown as is).
        constraint: ``written`` is a constraint (not one exact version).
        current: the version it is at (``resolve_current``), None when unreadable.
        target: the version it is compared with (None: nothing newer may be used).
        admits_target: a constraint that already admits ``target`` (None for pins).
        behind: versions after ``current`` (after the floor when raising it), up to ``target``,
            that changed what the reference uses; oldest first.
        update: ``update_type(current, target)`` when a change is needed, else ``NONE``.
        needs_change: the reference should be rewritten (a rollout PR, a sweep edit).
        status: one of ``STATUSES``: how far behind, as the dashboard shows it.
        reason: why, in words (for ``up to date``/``unknown``).
    """

    written: str
    constraint: bool
    current: Version | None
    target: Version | None
    admits_target: bool | None
    behind: tuple[Version, ...]
    update: Level
    needs_change: bool
    status: str
    reason: str


def assess(
    written: str | None,
    *,
    versions: Sequence[Version],
    target: Version | None,
    changed: Callable[[Version], bool] | None = None,
    raise_floor: bool = False,
    force: bool = False,
) -> Drift:
    """Is the reference ``written`` behind ``target``, and does it need a change?

    Args:
        written: ref or constraint as written (None/empty: unknown).
        versions: known stable versions of the same tag scheme (any order).
        target: the version a change would move it to (e.g. the release being rolled out, or
            the newest the dependent may use); None when there is none.
        changed: whether a version changed what the reference uses (the module, the
            provider); default: every version counts.
        raise_floor: move a constraint that already admits ``target`` (opt-in).
        force: a change is needed whenever ``target`` is newer (``rollout --all``).

    Returns:
        A ``Drift``. Never raises for ordinary input.
    """
    text = (written or "").strip()
    constraint = bool(text) and is_constraint(text)
    current = resolve_current(text, versions)
    base = Drift(
        written=text,
        constraint=constraint,
        current=current,
        target=target,
        admits_target=None,
        behind=(),
        update=Level.NONE,
        needs_change=False,
        status="unknown",
        reason=f"cannot read a version from {text!r}" if text else "no version written",
    )
    if current is None:
        return base
    admits: bool | None = None
    start = current
    if constraint and target is not None:
        try:
            admits = parse_constraint(text).admits(target)
        except CatalogOpsError:
            admits = None
        if admits and raise_floor:
            floor = _floor(text)
            start = floor if floor is not None else current
    base = dataclasses.replace(base, admits_target=admits)
    if admits and not raise_floor:
        return dataclasses.replace(
            base,
            status="up to date",
            reason=f"{text} already admits {target.core if target else text} (raising the floor is opt-in: raise_floor: true)",
        )
    if target is None or target <= start:
        return dataclasses.replace(
            base, status="up to date", reason="already at the newest version it may use"
        )
    test = changed or (lambda _v: True)
    behind = tuple(sorted(v for v in versions if start < v <= target and test(v)))
    if not behind and not force:
        return dataclasses.replace(
            base, status="up to date", reason=f"nothing it uses changed between {start} and {target}"
        )
    kind = update_type(start, target)
    status = str(kind) if kind in (Level.MAJOR, Level.MINOR) else "patch"
    return dataclasses.replace(
        base,
        behind=behind,
        update=kind,
        needs_change=True,
        status=status,
        reason=f"{len(behind)} version(s) after {start} changed what it uses",
    )
