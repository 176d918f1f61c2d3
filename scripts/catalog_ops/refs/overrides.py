"""Which configuration files Terraform and OpenTofu load, and how override files merge (pure).

Two rules decide which written values a directory's configuration uses:

1. **Extension precedence** (OpenTofu, "Files and Directories",
   https://opentofu.org/docs/language/files/): when ``foo.tofu`` and ``foo.tf`` are both present
   in one directory, OpenTofu loads only ``foo.tofu``; likewise ``foo.tofu.json`` over
   ``foo.tf.json``. Terraform ignores ``.tofu`` files altogether, so a directory holding both is
   written for both tools; catalog-ops reads it as OpenTofu does (``shadowed``), since the
   ``.tofu`` file exists only to be preferred.
2. **Override files** (Terraform, "Override Files",
   https://developer.hashicorp.com/terraform/language/files/override; OpenTofu,
   https://opentofu.org/docs/language/files/override): ``override.tf``, ``*_override.tf`` (and
   ``.tf.json``, ``.tofu``, ``.tofu.json``) are loaded after the other files, in lexicographical
   order of their names then by position, and each top-level block is merged into the object
   already defined: an argument replaces the one of the same name; ``required_providers`` merges
   element by element; a ``module`` block's ``source``/``version`` replace the original's.

``apply_overrides`` turns one directory's references into what Terraform uses: the reference of
an overridden argument is replaced by the override's, so ``refs`` reports, and ``bump`` and the
sweep edit, the bytes Terraform reads (``Reference.version_in`` names the file holding a module's
``version`` when it is not the file holding its ``source``).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Sequence

from catalog_ops.refs.model import Reference, RefKindOfEntry

_CONFIG_SUFFIXES = (".tf.json", ".tofu.json", ".tf", ".tofu")
_MERGED = (RefKindOfEntry.MODULE, RefKindOfEntry.PROVIDER, RefKindOfEntry.PROVIDER_BLOCK)


def _split_name(base: str) -> tuple[str, str] | None:
    """``(stem, suffix)`` of a configuration file name (``main.tf.json`` -> ``main``, ``.tf.json``)."""
    for suffix in _CONFIG_SUFFIXES:
        if base.endswith(suffix):
            return base[: -len(suffix)], suffix
    return None


def is_override_file(path: str) -> bool:
    """True for ``override.tf``/``*_override.tf`` and their ``.tf.json``, ``.tofu`` and
    ``.tofu.json`` forms (Terraform and OpenTofu "Override Files")."""
    split = _split_name(posixpath.basename(path.replace("\\", "/")))
    return split is not None and (split[0] == "override" or split[0].endswith("_override"))


def shadowed(paths: Iterable[str]) -> set[str]:
    """The ``.tf``/``.tf.json`` paths OpenTofu does not load because a ``.tofu``/``.tofu.json``
    file of the same name is in the same directory (extension precedence)."""
    paths = list(paths)
    if not any(p.endswith((".tofu", ".tofu.json")) for p in paths):
        return set()  # no .tofu file, nothing hidden (the common case, without the sets below)
    present = {p.replace("\\", "/") for p in paths}
    out = set()
    for p in present:
        for tf, tofu in ((".tf", ".tofu"), (".tf.json", ".tofu.json")):
            if p.endswith(tf) and p[: -len(tf)] + tofu in present:
                out.add(p)
    return {p for p in paths if p.replace("\\", "/") in out}


def _key(ref: Reference) -> tuple[str, ...] | None:
    if ref.entry in _MERGED:
        return (str(ref.entry), ref.name or "")
    if ref.entry == RefKindOfEntry.REQUIRED_VERSION:
        return (str(ref.entry),)
    return None


def _merge(base: Reference, over: Reference) -> Reference:
    """``base`` as ``over`` (from an override file) leaves it."""
    if base.entry != RefKindOfEntry.MODULE:
        return over  # an argument or a required_providers element: replaced whole
    if over.source is None:  # only `version` in the override block
        return base.replace(version=over.version, version_span=over.version_span, version_in=over.path)
    if over.version is None and base.version is not None:  # new source, original version
        return over.replace(
            version=base.version,
            version_span=base.version_span,
            version_in=base.version_in or base.path,
        )
    return over


def apply_overrides(references: Sequence[Reference]) -> list[Reference]:
    """References as Terraform uses them once override files are merged (module docstring).

    Args:
        references: every reference of one or more directories (any order within a file).

    Returns:
        The references of ordinary files, each replaced by its merged form when an override file
        sets the same argument, in their original order; override-file references that have
        nothing to merge into are kept when complete (a ``module`` with a ``source``), after all
        of those (in the order the override files are merged), and dropped otherwise (Terraform
        reports such a block as an error). ``refs.disk._result`` relies on this order.
    """
    # "override" in the path first: a substring test, where ``is_override_file`` splits the name
    if not any("override" in r.path and is_override_file(r.path) for r in references):
        return list(references)
    out = [r for r in references if not is_override_file(r.path)]
    overrides = sorted(
        (r for r in references if is_override_file(r.path)),
        key=lambda r: (posixpath.dirname(r.path), posixpath.basename(r.path), r.line, r.col),
    )
    for over in overrides:
        key = _key(over)
        where = posixpath.dirname(over.path)
        hits = [
            i
            for i, r in enumerate(out)
            if key is not None and _key(r) == key and posixpath.dirname(r.path) == where
        ]
        for i in hits:
            out[i] = _merge(out[i], over)
        if not hits and over.source is not None:
            out.append(over)
    return out
