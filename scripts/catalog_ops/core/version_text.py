"""The written form of a version: a semantic version (semver.org 2.0.0) with an optional prefix.

Apart from ``core.versions`` (the ``Version`` values, on the ``semver`` package) so that telling
whether a ref is a version tag (``core.sources.classify_ref``, run for every module reference a
scan finds) needs only this regex: importing ``semver`` (with ``typing`` and its own CLI's
``argparse``) costs ≈ 12 ms of CPU, which a ``refs`` run would pay before its scan.
"""

from __future__ import annotations

import re

_CORE = (
    r"(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<pre>(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
)
VERSION_RE = re.compile(r"(?P<prefix>(?:[A-Za-z0-9._/-]*[/_-])?[vV]?)" + _CORE)
"""A version as written, matched whole (``fullmatch`` of the stripped text): ``prefix`` (``""``,
``v``/``V``, or a tag path ending in ``/``, ``-`` or ``_`` optionally followed by ``v``: monorepo
tags such as ``modules/vpc/v1.2.3``), then the semver.org 2.0.0 core (its §2, §9 and §10 grammar:
``major``, ``minor``, ``patch``, ``pre``, ``build`` groups; no leading zeros in numeric parts)."""


MAX_LENGTH = 255
"""The most characters ``semver.Version`` takes in a version without prefix (its
``MAX_LENGTH``; it raises ``ValueError`` beyond, so ``parse_version`` returns None). Python's
``int()`` digit limit (``sys.get_int_max_str_digits()``, at least 640 or none) is then never
reached. tests/core/test_versions.py checks it against the installed ``semver``."""


def is_version(text: str) -> bool:
    """Whether ``text`` (stripped) is a version as written: exactly when
    ``core.versions.parse_version(text)`` returns a ``Version``, without importing ``semver``:
    ``VERSION_RE`` matches and the version without its prefix has at most ``MAX_LENGTH``
    characters."""
    text = text.strip()
    m = VERSION_RE.fullmatch(text)
    return m is not None and len(text) - m.end("prefix") <= MAX_LENGTH
