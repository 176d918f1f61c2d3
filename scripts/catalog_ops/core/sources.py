"""Module source addresses: parsing and normalisation, following Terraform and go-getter (pure).

Rules implemented (Terraform "Module Sources" docs and hashicorp/go-getter detectors, in order):

1. Local paths start with ``./`` or ``../`` (or ``/``): never updated.
2. Registry addresses ``[HOST[:PORT]/]NAMESPACE/NAME/PROVIDER[//SUBDIR]`` (no query string; the
   host must contain a dot or be ``localhost``; ``github.com``/``bitbucket.org`` are never
   registries). Terragrunt's ``tfr://HOST/NS/NAME/PROVIDER?version=X`` and ``tfr:///NS/...``
   (default host) carry the version in the ``version`` query parameter.
3. A forced getter ``NAME::URL`` (``git::``, ``hg::``, ``s3::``, ``gcs::``, ``http::``...).
4. Detectors: ``github.com/ORG/REPO`` and ``bitbucket.org/ORG/REPO`` shorthands, scp-like
   ``USER@HOST:PATH``, S3 (``*.amazonaws.com``) and GCS (``*.googleapis.com``) hosts,
   ``http(s)://`` URLs (archives or ``X-Terraform-Get`` redirects).
5. ``//SUBDIR`` after the repository path (go-getter ``SourceDirSubdir``) and a query string whose
   parameters may come in any order. The legacy order ``?ref=X//SUBDIR`` is understood too.

All forms naming the same repository normalise to one *identity*: host (lower-cased, without
scheme, user or port) plus path (without ``.git`` or surrounding slashes; lower-cased for the
case-insensitive forges github.com, gitlab.com and bitbucket.org). Registry identities are
``HOST/NAMESPACE/NAME/PROVIDER`` lower-cased, with ``registry.terraform.io`` as default host.

Besides module sources, this module holds the other address forms the program reads:

- provider source addresses ``[HOSTNAME/]NAMESPACE/TYPE`` (``parse_provider_address``,
  Terraform "Provider Requirements");
- registry module addresses split into host, namespace, name and target system
  (``registry_module_address``, Terraform "Module Registry Protocol");
- the URL ``git ls-remote`` is given for a git module source (``git_remote_url``, go-getter's
  forced ``git::`` getter and its GitHub / Bitbucket detectors);
- the public web pages of a version (``provider_docs_url``, ``module_docs_url``,
  ``git_release_url``) for the hosts whose URL scheme is public and fixed.
"""

from __future__ import annotations

import functools
import re
from enum import StrEnum

from catalog_ops.core.values import Immutable, Record
from catalog_ops.errors import UsageError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy treats it the same)
if TYPE_CHECKING:  # re-exported; loaded on first use (``__getattr__``)
    from catalog_ops.core.addresses import ProviderAddress as ProviderAddress
    from catalog_ops.core.addresses import RegistryModuleAddress as RegistryModuleAddress

DEFAULT_REGISTRY = "registry.terraform.io"
"""Host of provider and module registry addresses written without one (Terraform docs)."""
PUBLIC_REGISTRIES = (DEFAULT_REGISTRY, "registry.opentofu.org")
"""The public registries of Terraform and OpenTofu, whose host short names may leave out."""
_CASE_INSENSITIVE_HOSTS = {"github.com", "gitlab.com", "bitbucket.org"}
_ARCHIVE_EXT = (".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar")
_REG_NS = r"[0-9A-Za-z](?:[0-9A-Za-z_-]{0,62}[0-9A-Za-z])?"
_REG_PROVIDER = r"[0-9a-z]{1,64}"
_REGISTRY_RE = re.compile(
    rf"(?:(?P<host>(?:[A-Za-z0-9-]+\.)+[A-Za-z0-9-]+(?::\d+)?|localhost(?::\d+)?)/)?"
    rf"(?P<ns>{_REG_NS})/(?P<name>{_REG_NS})/(?P<provider>{_REG_PROVIDER})"
    r"(?://(?P<subdir>[^?]*))?"
)
_SCP_RE = re.compile(r"(?P<user>[A-Za-z0-9._~-]+)@(?P<host>[A-Za-z0-9.-]+):(?P<path>(?!//)[^?]*)")
_SHA_RE = re.compile(r"[0-9a-fA-F]{7,40}")
_PROVIDER_PART_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
_HOSTNAME_RE = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?::\d+)?")
_FORCED_RE = re.compile(r"(?P<getter>[A-Za-z0-9]+)::(?P<rest>.*)", re.S)


def __getattr__(name: str) -> object:
    """``ProviderAddress`` and ``RegistryModuleAddress``, defined in ``core.addresses`` and
    imported on first access: typed named tuples need ``typing``, ≈ 3.5 ms of CPU that a command
    such as ``refs`` on a tree without provider blocks would pay at every start."""
    if name in ("ProviderAddress", "RegistryModuleAddress"):
        from catalog_ops.core import addresses

        value = getattr(addresses, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class SourceKind(StrEnum):
    """What fetches the module (go-getter getter, or the Terraform registry)."""

    LOCAL = "local"
    REGISTRY = "registry"
    GIT = "git"
    GITHUB = "github"
    BITBUCKET = "bitbucket"
    HG = "hg"
    S3 = "s3"
    GCS = "gcs"
    HTTP = "http"
    DYNAMIC = "dynamic"


class RefKind(StrEnum):
    """What the ``ref`` (or tfr ``version``) names."""

    SEMVER_TAG = "semver_tag"
    BRANCH = "branch"
    SHA = "sha"
    NONE = "none"
    DYNAMIC = "dynamic"


class ModuleSource(Record, Immutable):
    """A parsed module source address. See the module docstring for the rules.

    A value, compared (``==``) field by field and hashed on its fields; it cannot be changed once
    made (``parse_source`` shares one per address; ``replace`` makes a changed copy). Not a
    dataclass: ``dataclasses`` is not imported on the ``refs`` path (start-up cost;
    tests/commands/test_startup.py guards it). Pickled by ``refs.disk``'s forked workers as a
    plain object (its ``__dict__``, restored without ``__setattr__``).

    Attributes:
        raw: the string literal contents exactly as written (or as resolved from interpolation).
        kind: the getter.
        identity: normalised repository identity (``github.com/acme/infrastructure-modules``,
            ``registry.terraform.io/acme/eks/aws``), ``None`` when there is none (local, dynamic).
        subdir: ``//`` subdirectory without surrounding slashes, or ``None``.
        ref: the ``ref`` query value (git, hg) or ``version`` (tfr), or ``None``.
        ref_kind: classification of ``ref``.
        ref_span: ``[start, end)`` of the ref value inside ``raw``, or ``None``.
        updatable: whether catalog-ops may rewrite the ref (False for local/s3/gcs/hg/http/dynamic).
        reason: why not updatable (``None`` when updatable).
        query: the query parameters in written order as ``(key, value)`` pairs.
    """

    FIELDS = (
        "raw",
        "kind",
        "identity",
        "subdir",
        "ref",
        "ref_kind",
        "ref_span",
        "updatable",
        "reason",
        "query",
    )
    """The attributes in order: the arguments of ``__init__``, what ``==``, ``hash`` and ``repr``
    (``core.values.Record``) read."""

    raw: str
    kind: SourceKind
    identity: str | None
    subdir: str | None
    ref: str | None
    ref_kind: RefKind
    ref_span: tuple[int, int] | None
    updatable: bool
    reason: str | None
    query: tuple[tuple[str, str], ...]

    def __init__(
        self,
        raw: str,
        kind: SourceKind,
        identity: str | None = None,
        subdir: str | None = None,
        ref: str | None = None,
        ref_kind: RefKind = RefKind.NONE,
        ref_span: tuple[int, int] | None = None,
        updatable: bool = True,
        reason: str | None = None,
        query: tuple[tuple[str, str], ...] = (),
    ) -> None:
        object.__setattr__(self, "raw", raw)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "identity", identity)
        object.__setattr__(self, "subdir", subdir)
        object.__setattr__(self, "ref", ref)
        object.__setattr__(self, "ref_kind", ref_kind)
        object.__setattr__(self, "ref_span", ref_span)
        object.__setattr__(self, "updatable", updatable)
        object.__setattr__(self, "reason", reason)
        object.__setattr__(self, "query", query)

    def __hash__(self) -> int:
        return hash(self._key())


def classify_ref(ref: str | None) -> RefKind:
    """Classify a git ref: semver tag (``v1.2.3``, ``1.2.3``, ``modules/vpc/v1.2.3``), SHA, branch."""
    if ref is None or ref == "":
        return RefKind.NONE
    if "${" in ref or "%{" in ref:
        return RefKind.DYNAMIC
    # ``core.versions.parse_version(ref) is not None`` without importing semver (≈ 12 ms; see
    # core.version_text); imported here, in the scan workers, so start-up does not compile it.
    from catalog_ops.core.version_text import is_version

    if is_version(ref):
        return RefKind.SEMVER_TAG
    if _SHA_RE.fullmatch(ref):
        return RefKind.SHA
    return RefKind.BRANCH


def _clean_path(path: str, lower: bool) -> str:
    path = path.strip("/")
    if path.endswith(".git"):
        path = path[:-4]
    path = path.rstrip("/")
    return path.lower() if lower else path


def _identity(host: str, path: str) -> str:
    host = host.lower()
    if ":" in host:
        host = host.split(":", 1)[0]
    if "@" in host:
        host = host.rsplit("@", 1)[1]
    return f"{host}/{_clean_path(path, host in _CASE_INSENSITIVE_HOSTS)}"


class _Split:
    """An address split by ``_split`` (a plain class: no ``dataclasses`` on the ``refs`` path)."""

    __slots__ = ("base", "query", "subdir")

    def __init__(self, base: str, subdir: str | None, query: list[tuple[str, str, int]]) -> None:
        self.base = base  # address without subdir and query
        self.subdir = subdir
        self.query = query  # key, value, offset of value in raw


def _split(raw: str, start: int) -> _Split:
    """Split ``raw[start:]`` into base, ``//subdir`` and query (offsets relative to ``raw``).

    Follows go-getter's SourceDirSubdir, plus the legacy ``?ref=X//subdir`` order.
    """
    s = raw[start:]
    qpos = s.find("?")
    stop = qpos if qpos >= 0 else len(s)
    offset = 0
    scheme = s.find("://", 0, stop)
    if scheme >= 0:
        offset = scheme + 3
    subdir: str | None = None
    base_end = stop
    sd = s.find("//", offset, stop)
    if sd >= 0:
        base_end = sd
        subdir = s[sd + 2 : stop]
    query: list[tuple[str, str, int]] = []
    if qpos >= 0:
        qs = s[qpos + 1 :]
        qbase = start + qpos + 1
        pos = 0
        for piece in qs.split("&"):
            if piece:
                key, _, value = piece.partition("=")
                # Legacy order: "?ref=v1.2.0//modules/x" — the subdir follows the ref value.
                legacy = value.find("//") if key == "ref" and subdir is None else -1
                if legacy >= 0:
                    subdir = value[legacy + 2 :]
                    value = value[:legacy]
                query.append((key, value, qbase + pos + len(key) + 1))
            pos += len(piece) + 1
    if subdir is not None:
        subdir = subdir.strip("/") or None
    return _Split(base=s[:base_end], subdir=subdir, query=query)


def _not_updatable(raw: str, kind: SourceKind, reason: str, identity: str | None = None) -> ModuleSource:
    return ModuleSource(raw=raw, kind=kind, identity=identity, updatable=False, reason=reason)


def dynamic_source(raw: str, reason: str) -> ModuleSource:
    """The ``ModuleSource`` of a source expression that is not a plain string (interpolation, a
    variable, an object): never updatable, ``reason`` says why."""
    return ModuleSource(
        raw=raw, kind=SourceKind.DYNAMIC, ref_kind=RefKind.DYNAMIC, updatable=False, reason=reason
    )


def _with_ref(raw: str, kind: SourceKind, identity: str, sp: _Split, ref_key: str = "ref") -> ModuleSource:
    ref = None
    span = None
    for key, value, off in sp.query:
        if key == ref_key:
            ref, span = value, (off, off + len(value))
    ref_kind = classify_ref(ref)
    reason = None
    updatable = True
    if ref_kind is RefKind.DYNAMIC:
        updatable, reason = False, "ref is built by interpolation"
    return ModuleSource(
        raw=raw,
        kind=kind,
        identity=identity,
        subdir=sp.subdir,
        ref=ref,
        ref_kind=ref_kind,
        ref_span=span,
        updatable=updatable,
        reason=reason,
        query=tuple((k, v) for k, v, _ in sp.query),
    )


def _invalid_port(host: str) -> str | None:
    """Why the ``HOST[:PORT]`` of a URL is rejected, or None when it is valid.

    go-getter parses URL-form addresses with Go's ``net/url``, whose ``validOptionalPort`` accepts
    only digits after the host's last ``:`` (``url.Parse`` fails with "invalid port"); git itself
    never mixes the ``ssh://`` scheme with the scp-like ``host:path`` form (hashicorp/go-getter
    pull 180, https://github.com/hashicorp/go-getter/pull/180; Terraform "Module Sources",
    https://developer.hashicorp.com/terraform/language/modules/sources#generic-git-repository).
    So ``ssh://git@host:modules/repo.git`` names no repository at all: it must never be matched
    to ``host/repo``. IPv6 literals (``[::1]:22``) keep their brackets.
    """
    hostport = host.rsplit("@", 1)[-1]
    if hostport.startswith("["):
        close = hostport.find("]")
        rest = hostport[close + 1 :] if close >= 0 else "x"
    else:
        colon = hostport.find(":")
        rest = hostport[colon:] if colon >= 0 else ""
    if rest and not re.fullmatch(r":\d*", rest):
        return f"invalid port {rest!r} after host: go-getter rejects this URL (use ssh://HOST/PATH or USER@HOST:PATH)"
    return None


def _parse_url_git(raw: str, kind: SourceKind, url_start: int) -> ModuleSource:
    """``git::`` URL forms: https://, ssh://, http://, scp-like, file://."""
    sp = _split(raw, url_start)
    base = sp.base
    m = re.fullmatch(
        r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<auth>[^/@]*@)?(?P<host>[^/]*)(?P<path>/.*)?", base
    )
    if m:
        if m["scheme"].lower() == "file":
            return _not_updatable(raw, SourceKind.LOCAL, "local git repository (file://)")
        bad_port = _invalid_port(m["host"])
        if bad_port is not None:
            return _not_updatable(raw, kind, bad_port)
        identity = _identity(m["host"], m["path"] or "")
        return _with_ref(raw, kind, identity, sp)
    scp = _SCP_RE.fullmatch(base)
    if scp:
        return _with_ref(raw, kind, _identity(scp["host"], scp["path"]), sp)
    # git::github.com/org/repo and similar host/path forms.
    hm = re.fullmatch(r"(?P<host>[A-Za-z0-9.-]+\.[A-Za-z]+(?::\d+)?)/(?P<path>.+)", base)
    if hm:
        return _with_ref(raw, kind, _identity(hm["host"], hm["path"]), sp)
    return _not_updatable(raw, kind, f"cannot parse git address {base!r}")


@functools.lru_cache(maxsize=4096)
def parse_source(raw: str) -> ModuleSource:
    """Parse a module source address (string literal contents) into a ``ModuleSource``.

    Never raises for ordinary input: unknown or unsupported forms come back with
    ``updatable=False`` and a ``reason``. See the module docstring for the rules.
    Results are cached (the same address is written in many files; ``ModuleSource`` is frozen).
    """
    s = raw
    head = s.split("?", 1)[0]
    if "${" in head or "%{" in head:
        return _not_updatable(raw, SourceKind.DYNAMIC, "source is built by interpolation")
    if s.startswith(("./", "../", "/", ".\\", "..\\")) or s in (".", ".."):
        return _not_updatable(raw, SourceKind.LOCAL, "local path")
    # Terragrunt registry protocol: tfr://HOST/NS/NAME/PROVIDER?version=X, tfr:///NS/NAME/PROVIDER.
    if s.lower().startswith("tfr://"):
        rest = s[6:]
        sp = _split(raw, 6)
        host, _, path = sp.base.partition("/")
        host = host or DEFAULT_REGISTRY
        parts = path.strip("/").split("/")
        if len(parts) != 3:
            return _not_updatable(raw, SourceKind.REGISTRY, f"invalid tfr:// address {rest!r}")
        identity = f"{host.lower()}/{'/'.join(p.lower() for p in parts)}"
        return _with_ref(raw, SourceKind.REGISTRY, identity, sp, ref_key="version")
    forced = _FORCED_RE.fullmatch(s)
    if forced and "/" not in forced["getter"]:
        getter = forced["getter"].lower()
        start = forced.start("rest")
        if getter == "git":
            return _parse_url_git(raw, SourceKind.GIT, start)
        if getter == "hg":
            return _hg(raw, start)
        if getter == "s3":
            return _not_updatable(raw, SourceKind.S3, "S3 archive: not a versioned repository")
        if getter == "gcs":
            return _not_updatable(raw, SourceKind.GCS, "GCS archive: not a versioned repository")
        if getter in ("http", "https"):
            return _not_updatable(raw, SourceKind.HTTP, "HTTP archive: not a versioned repository")
        if getter == "file":
            return _not_updatable(raw, SourceKind.LOCAL, "local path (file::)")
        return _not_updatable(raw, SourceKind.DYNAMIC, f"unsupported getter {getter!r}")
    if "?" not in s:
        reg = _REGISTRY_RE.fullmatch(s)
        if reg and (reg["host"] or "").lower() not in ("github.com", "bitbucket.org"):
            host = (reg["host"] or DEFAULT_REGISTRY).lower()
            identity = f"{host}/{reg['ns'].lower()}/{reg['name'].lower()}/{reg['provider']}"
            subdir = (reg["subdir"] or "").strip("/") or None
            return ModuleSource(raw=raw, kind=SourceKind.REGISTRY, identity=identity, subdir=subdir)
    lower = s.lower()
    for prefix, kind in (("github.com/", SourceKind.GITHUB), ("bitbucket.org/", SourceKind.BITBUCKET)):
        if lower.startswith(prefix):
            sp = _split(raw, 0)
            parts = sp.base[len(prefix) :].split("/")
            if len(parts) < 2 or not parts[0] or not parts[1]:
                return _not_updatable(raw, kind, f"{prefix.rstrip('/')} shorthand needs ORG/REPO")
            if len(parts) > 2 and sp.subdir is None:
                # go-getter treats extra path components as a subdirectory.
                sp.subdir = "/".join(parts[2:]).strip("/") or None
            return _with_ref(raw, kind, _identity(prefix.rstrip("/"), "/".join(parts[:2])), sp)
    if _SCP_RE.match(s) and "://" not in s.split("?", 1)[0]:
        return _parse_url_git(raw, SourceKind.GIT, 0)
    m = re.match(r"(?:https?://)?(?P<host>[^/?]+)", s, re.I)
    host = (m["host"] if m else "").lower()
    if host.endswith("amazonaws.com"):
        return _not_updatable(raw, SourceKind.S3, "S3 archive: not a versioned repository")
    if host.endswith("googleapis.com"):
        return _not_updatable(raw, SourceKind.GCS, "GCS archive: not a versioned repository")
    if lower.startswith(("http://", "https://")):
        path = _split(raw, 0).base
        if path.lower().endswith(_ARCHIVE_EXT) or "archive=" in lower:
            return _not_updatable(raw, SourceKind.HTTP, "HTTP archive: not a versioned repository")
        return _not_updatable(raw, SourceKind.HTTP, "HTTP URL (X-Terraform-Get redirect): not updatable")
    return _not_updatable(raw, SourceKind.DYNAMIC, "unrecognised module source address")


def _hg(raw: str, start: int) -> ModuleSource:
    sp = _split(raw, start)
    m = re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*://(?:[^/@]*@)?(?P<host>[^/]*)(?P<path>/.*)?", sp.base)
    identity = _identity(m["host"], m["path"] or "") if m else None
    src = _with_ref(raw, SourceKind.HG, identity or "", sp)
    return src.replace(
        identity=identity, updatable=False, reason="Mercurial source: not supported for updates"
    )


def normalize_identity(address: str) -> tuple[str, str | None]:
    """Return ``(identity, subdir)`` for a module address given in any equivalent form.

    A ``ref``/``version`` in the address is ignored.

    Raises:
        UsageError: the address names no repository or registry module (local path, archive...).
    """
    return _normalize_identity(address.strip())


@functools.lru_cache(maxsize=256)
def _normalize_identity(address: str) -> tuple[str, str | None]:
    src = parse_source(address)
    if src.identity is None or src.kind in (SourceKind.LOCAL, SourceKind.DYNAMIC):
        raise UsageError(f"{address!r} is not a repository or registry module address ({src.reason})")
    return src.identity, src.subdir


def source_matches(source: ModuleSource, address: str) -> bool:
    """True when ``source`` refers to ``address`` (module address without ref, any equivalent form).

    An address without ``//subdir`` matches every subdirectory of that repository; with one, only
    that subdirectory. Registry addresses match registry sources (module blocks and ``tfr://``).

    Raises:
        UsageError: ``address`` is not a repository or registry module address.
    """
    identity, subdir = normalize_identity(address)
    if source.identity is None or source.identity != identity:
        return False
    return subdir is None or (source.subdir or None) == subdir


def address_without_query(raw: str) -> str:
    """``raw`` up to its query string: the module address without ``?ref=``/``?version=``
    (``git::https://h/r.git//sub?ref=v1`` -> ``git::https://h/r.git//sub``), the form
    ``bump`` and ``source_matches`` take."""
    return raw.split("?", 1)[0]


def parse_provider_address(address: str, default_registry: str = DEFAULT_REGISTRY) -> ProviderAddress | None:
    """Normalise a provider source address ``[HOSTNAME/]NAMESPACE/TYPE`` (Terraform docs,
    "Provider Requirements": the host defaults to the public registry; a bare ``TYPE``, the legacy
    form, means ``hashicorp/TYPE``). Lower-cased, since these addresses are case-insensitive.

    Args:
        address: the ``source`` string of a ``required_providers`` entry.
        default_registry: the host used when the address has none.

    Returns:
        The address, or None when it is malformed: empty parts (``//hashicorp/helm``), more than
        three parts, a namespace or type that is not letters, digits and inner dashes (Terraform's
        ``tfaddr.ParseProviderPart``: "must contain only letters, digits, and dashes, and may not
        use leading or trailing dashes"), or a host that is not a hostname with an optional port.
        ``refs`` and the sweep both ask this one function, so they agree on what is valid.
    """
    parts = address.strip().lower().split("/")
    if any(not p for p in parts) or len(parts) > 3:
        return None
    if not all(_PROVIDER_PART_RE.fullmatch(p) for p in parts[-2:]):
        return None
    if len(parts) == 3 and not _HOSTNAME_RE.fullmatch(parts[0]):
        return None
    from catalog_ops.core.addresses import ProviderAddress  # imported here: see ``__getattr__``

    if len(parts) == 1:
        return ProviderAddress(default_registry, "hashicorp", parts[0])
    if len(parts) == 2:
        return ProviderAddress(default_registry, parts[0], parts[1])
    if len(parts) == 3:
        return ProviderAddress(parts[0], parts[1], parts[2])
    return None


def registry_module_address(
    identity: str, default_registry: str = DEFAULT_REGISTRY
) -> RegistryModuleAddress | None:
    """Split a registry module identity (``ModuleSource.identity`` of a registry source, or an
    address ``[HOST/]NAMESPACE/NAME/SYSTEM`` as written) into its parts; ``default_registry``
    when the host is missing. None when it has neither three nor four parts."""
    from catalog_ops.core.addresses import RegistryModuleAddress  # imported here: see ``__getattr__``

    parts = identity.split("/")
    if len(parts) == 4:
        return RegistryModuleAddress(parts[0], parts[1], parts[2], parts[3])
    if len(parts) == 3:
        return RegistryModuleAddress(default_registry, parts[0], parts[1], parts[2])
    return None


def without_public_registry(identity: str) -> str:
    """``identity`` without a leading public registry host (``PUBLIC_REGISTRIES``):
    ``registry.terraform.io/hashicorp/aws`` -> ``hashicorp/aws``; other identities unchanged."""
    for host in PUBLIC_REGISTRIES:
        if identity.startswith(host + "/"):
            return identity[len(host) + 1 :]
    return identity


def git_remote_url(raw: str) -> str | None:
    """The URL ``git ls-remote`` needs for a git module source address (Terraform "Module
    Sources", go-getter): the forced ``git::`` prefix, the query string and ``//SUBDIR`` are
    removed; go-getter's GitHub detector turns ``github.com/OWNER/REPO`` into
    ``https://github.com/OWNER/REPO.git`` and its Bitbucket detector ``bitbucket.org/...`` into
    ``https://bitbucket.org/...``. These hosts are named by the address itself, whichever forge
    catalog-ops talks to. None when nothing is left.
    """
    text = raw.strip()
    start = len("git::") if text.startswith("git::") else 0
    base = _split(text, start).base
    if base.startswith("github.com/"):
        owner_repo = base[len("github.com/") :].removesuffix(".git")
        return f"https://github.com/{owner_repo}.git"
    if base.startswith("bitbucket.org/"):
        return f"https://{base}"
    return base or None


def provider_docs_url(address: ProviderAddress, version: str) -> str | None:
    """The provider's page for ``version`` on the public Terraform registry
    (``https://registry.terraform.io/providers/NS/TYPE/VERSION``); None for other hosts."""
    if address.host != DEFAULT_REGISTRY:
        return None
    return f"https://{DEFAULT_REGISTRY}/providers/{address.namespace}/{address.type}/{version}"


def module_docs_url(address: RegistryModuleAddress, version: str) -> str | None:
    """The module's page for ``version`` on the public Terraform registry
    (``https://registry.terraform.io/modules/NS/NAME/SYSTEM/VERSION``); None for other hosts."""
    if address.host != DEFAULT_REGISTRY:
        return None
    return f"https://{DEFAULT_REGISTRY}/modules/{address.namespace}/{address.name}/{address.system}/{version}"


def git_release_url(identity: str, tag: str) -> str | None:
    """The release page of ``tag`` for a git identity hosted on github.com
    (``https://github.com/OWNER/REPO/releases/tag/TAG``, GitHub's public web URL scheme); None for
    other hosts, whose release pages have no common address."""
    if not identity.startswith("github.com/") or not tag:
        return None
    return f"https://{identity}/releases/tag/{tag}"
