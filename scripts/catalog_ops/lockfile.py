"""``.terraform.lock.hcl`` maintenance: a provider's entry rewritten as ``terraform providers lock``
writes it, every other byte of the file unchanged.

Rules (Terraform "Dependency Lock File",
https://developer.hashicorp.com/terraform/language/files/dependency-lock; "terraform providers lock",
https://developer.hashicorp.com/terraform/cli/commands/providers/lock; OpenTofu writes the same file):

- one ``provider "HOST/NAMESPACE/TYPE" { version, constraints, hashes }`` block per provider, in
  address order, separated by one blank line; ``version`` and ``constraints`` aligned
  (``version     = ``), ``hashes`` one per line, sorted, each followed by a comma;
- ``h1:`` hashes (scheme "h1", Go's ``dirhash.Hash1`` over the *unpacked* package: the SHA-256
  of the lines ``"<sha256 hex>  <path>\\n"`` of every file, sorted by path, base64-encoded) are
  computed per platform from the package itself; ``zh:`` hashes (the SHA-256 hex of the zip
  archive) are the ones a registry's signed ``SHA256SUMS`` document lists, recorded only when the
  origin registry reports them;
- *the platforms already listed* are those whose package of the locked version has one of the
  entry's ``h1:`` hashes (a lock file names no platforms; its hashes are the record of them);
  the new version is hashed for exactly those platforms, as
  ``terraform providers lock -platform=...`` would with the same list.

Packages come from a ``PackageSource``: a provider network mirror (``MirrorSource``, Terraform
"Provider Network Mirror Protocol",
https://developer.hashicorp.com/terraform/internals/provider-network-mirror-protocol). A
lock-file entry that cannot be recomputed is left as it is and reported, never guessed.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import re
import zipfile
from collections.abc import Iterable, Mapping
from typing import Protocol
from urllib.parse import urljoin

import requests
import semver

from catalog_ops.core.edits import Edit
from catalog_ops.core.sources import ProviderAddress
from catalog_ops.core.versions import Version, parse_constraint
from catalog_ops.errors import CatalogOpsError
from catalog_ops.hcl import HclSyntaxError, parse

LOCK_FILE = ".terraform.lock.hcl"
LOCK_HEADER = (
    '# This file is maintained automatically by "terraform init".\n'
    "# Manual edits may be lost in future updates.\n"
)
"""The two comment lines Terraform writes at the top of a new lock file (``depsfile.SaveLocksToBytes``)."""
MAX_PACKAGE_BYTES = 512 * 1024 * 1024
"""Largest provider package downloaded (bytes); a bigger one is an error for its entry."""


class LockError(CatalogOpsError):
    """A lock-file entry could not be recomputed (package source failed, nothing matched)."""


def hash_h1(package: bytes) -> str:
    """The ``h1:`` hash of a provider package (zip bytes): Go's ``dirhash.Hash1`` of its unpacked
    files (Terraform ``getproviders.PackageHashV1``). Directories are not hashed, only files, by
    their slash-separated paths inside the archive. Raises LockError for a bad zip."""
    try:
        with zipfile.ZipFile(io.BytesIO(package)) as zf:
            lines = sorted(
                (info.filename, hashlib.sha256(zf.read(info)).hexdigest())
                for info in zf.infolist()
                if not info.is_dir()
            )
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise LockError(f"provider package is not a valid zip archive ({exc})") from None
    summary = "".join(f"{digest}  {name}\n" for name, digest in lines)
    return "h1:" + base64.b64encode(hashlib.sha256(summary.encode("utf-8")).digest()).decode("ascii")


def hash_zh(package: bytes) -> str:
    """The ``zh:`` hash of a provider package: SHA-256 hex of the zip archive itself."""
    return "zh:" + hashlib.sha256(package).hexdigest()


@dataclasses.dataclass(frozen=True)
class LockEntry:
    """One ``provider`` block of a lock file.

    Attributes:
        address: the block label (``registry.terraform.io/hashicorp/aws``), lower-cased.
        version: the locked version; constraints: the ``constraints`` string (None when absent).
        hashes: the ``hashes`` strings in written order.
        span: ``[start, end)`` of the whole block (from ``provider`` to its ``}``) in the text.
    """

    address: str
    version: str | None
    constraints: str | None
    hashes: tuple[str, ...]
    span: tuple[int, int]


_STRING_RE = re.compile(r'"((?:[^"\\]|\\.)*)"')


def read_lock(text: str, path: str = LOCK_FILE) -> list[LockEntry]:
    """The ``provider`` blocks of a lock file's text.

    Raises:
        LockError: the text is not HCL (naming ``path``).
    """
    try:
        root = parse(text)
    except HclSyntaxError as exc:
        raise LockError(f"{path}: not a valid lock file ({exc})") from None
    entries = []
    for b in root.blocks:
        if b.type != "provider" or len(b.labels) != 1:
            continue

        def value(name: str, b: object = b) -> str | None:
            attr = b.attrs.get(name)  # type: ignore[attr-defined]
            if attr is None:
                return None
            m = _STRING_RE.fullmatch(text[attr.expr[0].start : attr.expr[-1].end].strip())
            return m.group(1) if m else None

        hashes: tuple[str, ...] = ()
        if "hashes" in b.attrs:
            attr = b.attrs["hashes"]
            hashes = tuple(_STRING_RE.findall(text[attr.expr[0].start : attr.expr[-1].end]))
        entries.append(
            LockEntry(
                b.labels[0].lower(),
                value("version"),
                value("constraints"),
                hashes,
                (b.tok.start, b.close + 1),
            )
        )
    return entries


def render_entry(address: str, version: str, constraints: str | None, hashes: Iterable[str]) -> str:
    """A ``provider`` block as Terraform writes it (``depsfile.SaveLocksToBytes``: hclwrite with
    aligned ``=`` and one hash per line, sorted and de-duplicated), without a trailing newline."""
    lines = [f'provider "{address}" {{']
    if constraints is not None:
        lines += [f'  version     = "{version}"', f'  constraints = "{constraints}"']
    else:
        lines.append(f'  version = "{version}"')
    unique = sorted(set(hashes))
    if unique:
        lines.append("  hashes = [")
        lines += [f'    "{h}",' for h in unique]
        lines.append("  ]")
    lines.append("}")
    return "\n".join(lines)


# Terraform's order of operators at one boundary (``getproviders.versionSelectionsBoundaryPriority``):
# ``~>`` written with three components ("patch only") before two ("minor only").
_OP_ORDER = {">": 1, ">=": 2, "=": 3, "~>3": 4, "~>2": 5, "<=": 6, "<": 7, "!=": 8}


def lock_constraints(texts: Iterable[str]) -> str:
    """The ``constraints`` value a lock file records for the version constraints ``texts``
    (every declaration of one provider across the configuration), as Terraform writes it:
    ``getproviders.VersionConstraintsString`` (hashicorp/terraform ``internal/getproviders/types.go``).

    Each part is normalised (versions padded with zeros: ``>= 3`` -> ``>= 3.0.0``; ``~>`` keeps
    two components when written with one or two, ``~> 3`` -> ``~> 3.0``; an exact version has no
    operator), duplicates are dropped (``>= 2.68`` and ``>= 2.68.0`` are one), and the parts are
    sorted by version, then by operator (``>``, ``>=``, ``=``, ``~>`` patch, ``~>`` minor, ``<=``,
    ``<``, ``!=``), joined by ``", "``. ``""`` for no parts.

    Raises:
        UsageError: a text is not a valid version constraint.
    """
    seen: dict[tuple[str, Version], str] = {}
    for text in texts:
        for part in parse_constraint(text).parts:
            v = part.version
            op = part.op if part.op != "~>" else ("~>3" if part.segments == 3 else "~>2")
            core = f"{v.major}.{v.minor}" if op == "~>2" else f"{v.major}.{v.minor}.{v.patch}"
            core += f"-{v.prerelease}" if v.prerelease else ""
            key = (op, Version(v.major, v.minor, v.patch, v.prerelease))
            seen[key] = core if op == "=" else f"{op[:2]} {core}"
    order = sorted(seen, key=lambda k: (k[1], _OP_ORDER[k[0]]))
    return ", ".join(seen[k] for k in order)


def insert_entry(text: str, entries: list[LockEntry], address: str, block: str) -> Edit:
    """The edit adding the ``provider`` block ``block`` (``render_entry``) for ``address`` to the
    lock file ``text`` whose blocks are ``entries`` (``read_lock``), where Terraform writes it:
    blocks in address order, one blank line between them, the file ending in a newline; an
    empty file gets Terraform's header (``LOCK_HEADER``) first. Other bytes are unchanged."""
    after = [e for e in entries if e.address > address]
    if after:
        at = after[0].span[0]
        return Edit(at, at, "", block + "\n\n")
    if entries:
        at = entries[-1].span[1]
        return Edit(at, at, "", "\n\n" + block)
    if not text.strip():
        return Edit(0, len(text), text, LOCK_HEADER + "\n" + block + "\n")
    end = len(text.rstrip("\n"))
    return Edit(end, len(text), text[end:], "\n\n" + block + "\n")


class PackageSource(Protocol):
    """Where provider packages of one version come from."""

    def archives(self, provider: ProviderAddress, version: str) -> Mapping[str, str]:
        """``{platform "os_arch": package URL}`` of ``version``. Raises LockError."""
        ...

    def fetch(self, url: str) -> bytes:
        """The package bytes. Raises LockError."""
        ...

    def signed_hashes(self, provider: ProviderAddress, version: str) -> tuple[str, ...]:
        """``zh:`` hashes the origin registry vouches for (its ``SHA256SUMS``), or ``()``."""
        ...


class MirrorSource:
    """A provider network mirror (Terraform "Provider Network Mirror Protocol"):
    ``GET BASE/HOST/NAMESPACE/TYPE/VERSION.json`` -> ``{"archives": {"os_arch": {"url", "hashes"}}}``
    with package URLs relative to that document. A mirror vouches for no ``zh:`` hashes
    (Terraform records only the ``h1:`` it computes when installing from a mirror).

    Args:
        base_url: the mirror's base URL (``https://mirror.example.com/providers/``).
        session: a ``requests.Session`` (tests pass one with a CA bundle); timeout: seconds.
    """

    def __init__(
        self, base_url: str, *, session: requests.Session | None = None, timeout: float = 60.0
    ) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._session = session or requests.Session()
        self.timeout = timeout

    def _get(self, url: str) -> bytes:
        try:
            # The session's own ``verify`` (a CA bundle) wins; True still honours REQUESTS_CA_BUNDLE.
            resp = self._session.get(url, timeout=self.timeout, stream=True, verify=self._session.verify)
            if resp.status_code != 200:
                raise LockError(f"GET {url}: HTTP {resp.status_code}")
            data = resp.raw.read(MAX_PACKAGE_BYTES + 1, decode_content=True)
        except requests.RequestException as exc:
            raise LockError(f"GET {url}: {type(exc).__name__}") from None
        if len(data) > MAX_PACKAGE_BYTES:
            raise LockError(f"GET {url}: larger than {MAX_PACKAGE_BYTES} bytes")
        return bytes(data)

    def _version_url(self, provider: ProviderAddress, version: str) -> str:
        return urljoin(self.base_url, f"{provider.host}/{provider.namespace}/{provider.type}/{version}.json")

    def archives(self, provider: ProviderAddress, version: str) -> Mapping[str, str]:
        """See ``PackageSource.archives``."""
        import json

        url = self._version_url(provider, version)
        try:
            doc = json.loads(self._get(url))
            return {str(p): urljoin(url, str(a["url"])) for p, a in doc["archives"].items()}
        except (ValueError, KeyError, TypeError, AttributeError):
            raise LockError(f"GET {url}: not a network mirror version document") from None

    def fetch(self, url: str) -> bytes:
        """See ``PackageSource.fetch``."""
        return self._get(url)

    def versions(self, provider: ProviderAddress) -> list[str]:
        """The versions the mirror offers (``GET BASE/HOST/NAMESPACE/TYPE/index.json`` ->
        ``{"versions": {"2.0.0": {}, ...}}``). Raises LockError."""
        import json

        url = urljoin(self.base_url, f"{provider.host}/{provider.namespace}/{provider.type}/index.json")
        try:
            doc = json.loads(self._get(url))
            return [str(v) for v in doc["versions"]]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise LockError(f"GET {url}: not a network mirror version index") from None

    def signed_hashes(self, provider: ProviderAddress, version: str) -> tuple[str, ...]:
        """See ``PackageSource.signed_hashes``: none from a mirror."""
        return ()


@dataclasses.dataclass
class LockPlan:
    """What ``plan_lock`` decided for one lock file: ``edit`` (None: unchanged) and ``notes``
    (``path: message`` for entries left as they were)."""

    edit: Edit | None
    notes: list[str]


def listed_platforms(
    entry: LockEntry, provider: ProviderAddress, source: PackageSource, cache: dict[str, str]
) -> list[str]:
    """The platforms ``entry`` lists: those whose package of ``entry.version`` has one of its
    ``h1:`` hashes (downloads stop once every ``h1:`` is accounted for). ``cache``: URL -> h1.

    Raises:
        LockError: the source failed, the locked version is not a semver.org version, or an
            ``h1:`` hash matches no package (then the entry's platforms are unknown and nothing
            is rewritten).
    """
    wanted = {h for h in entry.hashes if h.startswith("h1:")}
    if not wanted or entry.version is None:
        return []
    if not semver.Version.is_valid(entry.version):
        # The file is someone else's text: only a version goes into a mirror URL.
        raise LockError(f"the locked version {entry.version!r} of {provider} is not a version")
    found: list[str] = []
    for platform, url in sorted(source.archives(provider, entry.version).items()):
        if url not in cache:
            cache[url] = hash_h1(source.fetch(url))
        if cache[url] in wanted:
            found.append(platform)
            wanted.discard(cache[url])
        if not wanted:
            break
    if wanted:
        raise LockError(
            f"{len(wanted)} h1: hash(es) of {provider} {entry.version} match no package the source offers"
        )
    return found


def package_hashes(
    source: PackageSource,
    provider: ProviderAddress,
    version: str,
    platforms: Iterable[str],
    cache: dict[str, str],
    *,
    zh: bool,
) -> list[str]:
    """The ``h1:`` hash of ``provider`` ``version``'s package for each of ``platforms`` (in that
    order; ``cache``: package URL -> hash, shared across one run), plus the origin's ``zh:``
    hashes when ``zh`` (the lock file already carries them). Rule: Terraform's dependency lock
    file docs (``h1:`` = the package's dirhash; ``zh:`` = the origin's SHA256SUMS).

    Raises:
        LockError: a platform has no package at that version.
    """
    archives = source.archives(provider, version)
    hashes: list[str] = []
    for platform in platforms:
        url = archives.get(platform)
        if url is None:
            raise LockError(f"{provider} {version} has no package for {platform}")
        if url not in cache:
            cache[url] = hash_h1(source.fetch(url))
        hashes.append(cache[url])
    if zh:
        hashes += source.signed_hashes(provider, version)
    return hashes


def plan_lock(
    path: str,
    text: str,
    provider: ProviderAddress,
    version: str,
    constraints: str | None,
    source: PackageSource,
    cache: dict[str, str] | None = None,
) -> LockPlan:
    """The edit moving ``provider``'s entry of the lock file ``path`` (``text``) to ``version``,
    for the platforms it already lists (module docstring). An entry already at ``version`` with
    the same constraints is left alone; a missing entry is not added (``terraform init`` adds
    entries for providers it installs; the sweep only keeps existing ones in step).

    Args:
        constraints: the new ``constraints`` value (the provider's constraint as Terraform
            combines it; None keeps the written one).
        cache: package URL -> ``h1:`` hash, shared across lock files of one run.
    """
    cache = {} if cache is None else cache
    try:
        entries = read_lock(text, path)
    except LockError as exc:
        return LockPlan(None, [str(exc)])
    entry = next((e for e in entries if e.address == str(provider)), None)
    if entry is None:
        return LockPlan(None, [])
    new_constraints = entry.constraints if constraints is None else constraints
    if entry.version == version and entry.constraints == new_constraints:
        return LockPlan(None, [])
    try:
        platforms = listed_platforms(entry, provider, source, cache)
        hashes = package_hashes(
            source, provider, version, platforms, cache, zh=any(h.startswith("zh:") for h in entry.hashes)
        )
    except LockError as exc:
        return LockPlan(None, [f"{path}: {provider} not moved to {version}: {exc}"])
    if not hashes:
        return LockPlan(None, [f"{path}: {provider} lists no h1: hashes; not moved to {version}"])
    new = render_entry(entry.address, version, new_constraints, hashes)
    a, b = entry.span
    return LockPlan(Edit(a, b, text[a:b], new), [])


def lock_files_for(paths: Iterable[str], files: Mapping[str, bytes]) -> dict[str, str]:
    """``{directory: lock file path}`` for the directories of ``paths`` that commit a lock file."""
    out = {}
    for p in paths:
        d = p.rsplit("/", 1)[0] if "/" in p else ""
        lock = f"{d}/{LOCK_FILE}" if d else LOCK_FILE
        if lock in files:
            out[d] = lock
    return out


__all__ = [
    "LOCK_FILE",
    "LOCK_HEADER",
    "LockEntry",
    "LockError",
    "LockPlan",
    "MirrorSource",
    "PackageSource",
    "hash_h1",
    "hash_zh",
    "insert_entry",
    "lock_constraints",
    "lock_files_for",
    "plan_lock",
    "read_lock",
    "render_entry",
]
