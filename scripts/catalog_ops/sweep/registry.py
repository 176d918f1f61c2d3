"""Upstream version sources: the Terraform registry protocol (any host) and git tags.

Registry protocol (Terraform docs, "Remote Service Discovery", "Provider Registry Protocol",
"Module Registry Protocol"):

- service discovery: ``GET https://HOST/.well-known/terraform.json`` returns a JSON object whose
  ``providers.v1`` / ``modules.v1`` values are base URLs, absolute or relative to the discovery
  document's URL;
- provider versions: ``GET <providers.v1>NAMESPACE/TYPE/versions`` ->
  ``{"versions": [{"version": "2.0.0", ...}, ...]}``;
- module versions: ``GET <modules.v1>NAMESPACE/NAME/SYSTEM/versions`` ->
  ``{"modules": [{"versions": [{"version": "1.0.0"}, ...]}]}``.

Credentials follow Terraform's "Environment Variable Credentials": ``TF_TOKEN_<host>`` where the
host name is IDNA-encoded (punycode), dots are written ``_`` and hyphens may be written ``__``;
the token is sent as ``Authorization: Bearer <token>`` on discovery and service requests for
that host.

Every request has a timeout and bounded retries (connection errors, timeouts, HTTP 429 and 5xx);
failures raise :class:`RegistryError` so a caller can mark one dependency unknown and go on.
Tests point hosts at a local HTTP server through the ``base_urls`` mapping (host -> base URL);
without an entry a host is reached at ``https://HOST/``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

import idna
import requests

from catalog_ops.errors import CatalogOpsError
from catalog_ops.gitutil import (
    GitError,
    GitTimeout,
    append_git_config,
    header_secrets,
    ls_remote_tags,
    scrub,
)

DISCOVERY_PATH = ".well-known/terraform.json"
TOKEN_PREFIX = "TF_TOKEN_"
DEFAULT_TIMEOUT = (5.0, 20.0)  # seconds: (connect, read)
DEFAULT_RETRIES = 2
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class RegistryError(CatalogOpsError):
    """A registry or upstream could not answer: HTTP error, timeout, bad JSON, unknown service.

    Attributes:
        url: the URL that failed (never carries credentials) or the git remote.
        status: HTTP status when there was a response, else None.
    """

    def __init__(self, message: str, *, url: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


def normalize_host(host: str) -> str:
    """Host name in Terraform's comparison form: lower case, IDNA (punycode) labels, port kept.

    Follows ``svchost.ForComparison``: ``"Café.Example"`` -> ``"xn--caf-dma.example"``.
    Raises ValueError for a name that is not a valid host name.
    """
    host = host.strip().rstrip(".")
    port = ""
    if ":" in host:
        host, _, port = host.partition(":")
        if not port.isdigit():
            raise ValueError(f"invalid port in host name {host}:{port}")
        port = ":" + str(int(port))
    if not host:
        raise ValueError("empty host name")
    try:
        ascii_host = idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise ValueError(f"invalid host name {host!r}: {exc}") from None
    return ascii_host.lower() + port


def token_env_name(host: str) -> str:
    """The ``TF_TOKEN_*`` variable Terraform reads for ``host``: punycode, ``.`` -> ``_``,
    ``-`` -> ``__``. Example: ``"my-registry.example.com"`` -> ``TF_TOKEN_my__registry_example_com``."""
    return TOKEN_PREFIX + normalize_host(host).replace("-", "__").replace(".", "_")


def tokens_from_env(env: Mapping[str, str]) -> dict[str, str]:
    """All ``TF_TOKEN_*`` credentials in ``env`` keyed by normalized host name.

    Decoding is Terraform's: ``__`` -> ``-`` first, then ``_`` -> ``.``; a literal hyphen in the
    name is also accepted. Names that do not decode to a valid host are ignored, as Terraform does.
    """
    out: dict[str, str] = {}
    for name, value in env.items():
        if not name.startswith(TOKEN_PREFIX) or not value:
            continue
        raw = name[len(TOKEN_PREFIX) :].replace("__", "-").replace("_", ".")
        try:
            out[normalize_host(raw)] = value
        except ValueError:
            continue
    return out


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class RegistryClient:
    """Client for the Terraform registry protocol on any host.

    Args:
        env: environment holding ``TF_TOKEN_*`` credentials (e.g. ``os.environ``).
        base_urls: host -> base URL overrides (``{"registry.example.com": "http://127.0.0.1:8080/r/"}``);
            the discovery document is read from ``<base>.well-known/terraform.json``. Hosts
            without an entry use ``https://HOST/``.
        timeout: seconds, ``(connect, read)`` or one number, per request.
        retries: extra attempts after a connection error, timeout, 429 or 5xx (bounded).
        backoff: seconds before the first retry, doubled each retry (a ``Retry-After`` header
            is honoured up to 30 s).
        session: a ``requests.Session`` to use (tests, connection reuse).

    Discovery documents and version lists are cached for the client's lifetime.
    """

    def __init__(
        self,
        *,
        env: Mapping[str, str] | None = None,
        base_urls: Mapping[str, str] | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        backoff: float = 0.5,
        session: requests.Session | None = None,
    ) -> None:
        self._tokens = tokens_from_env(env or {})
        self._base_urls = {
            normalize_host(h): (u if u.endswith("/") else u + "/") for h, u in (base_urls or {}).items()
        }
        self.timeout = timeout
        self.retries = max(0, int(retries))
        self.backoff = backoff
        self._session = session or requests.Session()
        self._discovery: dict[str, dict[str, Any]] = {}
        self._versions: dict[tuple[str, str], list[str]] = {}
        self.request_count = 0

    # --- low level ------------------------------------------------------------------------
    def base_url(self, host: str) -> str:
        """Base URL for ``host`` (override or ``https://HOST/``)."""
        key = normalize_host(host)
        return self._base_urls.get(key, f"https://{key}/")

    def has_token(self, host: str) -> bool:
        """Whether a ``TF_TOKEN_*`` credential is configured for ``host``."""
        return normalize_host(host) in self._tokens

    def _get_json(self, url: str, host: str) -> Any:
        headers = {"Accept": "application/json", "User-Agent": "catalog-ops"}
        token = self._tokens.get(normalize_host(host))
        if token:
            headers["Authorization"] = f"Bearer {token}"
        attempt = 0
        while True:
            self.request_count += 1
            delay = self.backoff * (2**attempt)
            try:
                resp = self._session.get(url, headers=headers, timeout=self.timeout, allow_redirects=True)
            except requests.RequestException as exc:  # connection errors and timeouts
                if attempt < self.retries:
                    attempt += 1
                    time.sleep(delay)
                    continue
                what = "timed out" if isinstance(exc, requests.Timeout) else type(exc).__name__
                raise RegistryError(
                    f"GET {url}: {what} after {self.retries + 1} attempt(s)", url=url
                ) from None
            if resp.status_code in RETRY_STATUSES and attempt < self.retries:
                retry_after = resp.headers.get("Retry-After", "")
                if retry_after.isdigit():
                    delay = min(30.0, float(retry_after))
                attempt += 1
                time.sleep(delay)
                continue
            if resp.status_code == 401:
                hint = "token rejected" if token else f"no credentials (set {token_env_name(host)})"
                raise RegistryError(f"GET {url}: HTTP 401 unauthorized: {hint}", url=url, status=401)
            if resp.status_code >= 400:
                raise RegistryError(
                    f"GET {url}: HTTP {resp.status_code} {_short(resp.reason or '')}".rstrip(),
                    url=url,
                    status=resp.status_code,
                )
            try:
                return json.loads(resp.content.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as exc:
                raise RegistryError(
                    f"GET {url}: response is not valid JSON ({exc})", url=url, status=resp.status_code
                ) from None

    # --- discovery ------------------------------------------------------------------------
    def discover(self, host: str) -> dict[str, Any]:
        """The host's service discovery document (cached). Raises RegistryError."""
        key = normalize_host(host)
        if key not in self._discovery:
            url = urljoin(self.base_url(key), DISCOVERY_PATH)
            doc = self._get_json(url, key)
            if not isinstance(doc, dict):
                raise RegistryError(f"GET {url}: discovery document is not a JSON object", url=url)
            self._discovery[key] = doc
        return self._discovery[key]

    def service_url(self, host: str, service: str) -> str:
        """Absolute base URL of ``service`` (``"providers.v1"``, ``"modules.v1"``) on ``host``,
        ending in ``/``. Raises RegistryError when the host does not offer it."""
        doc = self.discover(host)
        value = doc.get(service)
        discovery_url = urljoin(self.base_url(host), DISCOVERY_PATH)
        if not isinstance(value, str) or not value:
            raise RegistryError(
                f"{host} does not offer {service} (discovery at {discovery_url})", url=discovery_url
            )
        url = urljoin(discovery_url, value)
        if urlsplit(url).scheme not in ("http", "https"):
            raise RegistryError(f"{host}: {service} URL {value!r} is not http(s)", url=discovery_url)
        return url if url.endswith("/") else url + "/"

    # --- versions -------------------------------------------------------------------------
    def _listed_versions(
        self, host: str, service: str, ident: str, extract: Callable[[Any], list[Any]], shape: str
    ) -> list[str]:
        """``extract(doc)`` of ``GET <service URL>/<ident>/versions`` as strings, cached per
        (service, host, ident). Raises RegistryError naming ``shape`` when the JSON has another form."""
        key = (service, f"{normalize_host(host)}/{ident}".lower())
        if key not in self._versions:
            url = urljoin(self.service_url(host, service), f"{ident}/versions")
            doc = self._get_json(url, host)
            try:
                versions = [str(v) for v in extract(doc)]
            except (KeyError, TypeError):
                raise RegistryError(f"GET {url}: unexpected response shape (want {shape})", url=url) from None
            self._versions[key] = versions
        return list(self._versions[key])

    def provider_versions(self, host: str, namespace: str, type_: str) -> list[str]:
        """Version strings the registry lists for provider ``HOST/NAMESPACE/TYPE`` (registry
        order, unfiltered; Terraform docs "Provider Registry Protocol", List Available Versions).
        Raises RegistryError."""
        return self._listed_versions(
            host,
            "providers.v1",
            f"{namespace}/{type_}",
            lambda doc: [v["version"] for v in doc["versions"]],
            "versions[].version",
        )

    def module_versions(self, host: str, namespace: str, name: str, system: str) -> list[str]:
        """Version strings for module ``HOST/NAMESPACE/NAME/SYSTEM`` (Terraform docs "Module
        Registry Protocol", List Available Versions). Raises RegistryError."""
        return self._listed_versions(
            host,
            "modules.v1",
            f"{namespace}/{name}/{system}",
            lambda doc: [v["version"] for m in doc["modules"] for v in m["versions"]],
            "modules[].versions[].version",
        )


GitAuth = Callable[[str], Mapping[str, str]]
"""``url -> GIT_CONFIG_* variables`` that let git authenticate to ``url``, or ``{}``: a forge's
``git_auth_env`` (``forge.base.Repos``)."""


def git_remote_tags(
    url: str,
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
    auth: GitAuth | None = None,
) -> list[str]:
    """Tag names of a git remote (``gitutil.ls_remote_tags``: ``git ls-remote --tags --refs URL``),
    in git's order.

    A private third-party module repository on the forge's own host (github.com or the GitHub
    Enterprise Server the product talks to) needs the forge's token: ``auth(url)`` (the forge's
    ``git_auth_env``) gives it as an ``http.<scheme>://<host>/.extraHeader`` entry in
    ``GIT_CONFIG_*`` variables of this one git process, the way actions/checkout hands git its
    token (``http.<server URL>/.extraheader`` = ``AUTHORIZATION: basic base64(x-access-token:TOKEN)``,
    https://github.com/actions/checkout/blob/main/src/git-auth-helper.ts ; here never written to
    any config file). ``auth`` answers ``{}`` for every other host, so no other host ever
    receives the token; the token is never in argv, and a failure message has it scrubbed
    (``gitutil.scrub``) as well as URL credentials.

    Args:
        url: anything ``git`` accepts (``https://``, ``ssh://``, ``git@host:path``, ``file://``).
        env: environment for git (credential helpers, ``GIT_*``), over the process environment;
            its own ``GIT_CONFIG_*`` entries are kept (``auth``'s are numbered after them).
        timeout: seconds before giving up.
        auth: ``url -> variables`` (the forge's ``git_auth_env``); None: no forge credentials.

    Raises:
        RegistryError: git failed or timed out (message without the URL's credentials or the
            token).
        ToolMissing: git is not installed.
    """
    safe = _strip_credentials(url)
    extra: Mapping[str, str] = {}
    try:
        if auth is not None:
            extra = auth(url)
        effective = {**os.environ, **(env or {})}
        git_env = {**(env or {}), **append_git_config(effective, extra)}
    except ValueError as exc:
        raise RegistryError(f"git ls-remote {safe}: {exc}", url=safe) from None
    secrets = header_secrets(extra)
    try:
        return ls_remote_tags(url, env=git_env, timeout=timeout)
    except GitTimeout:
        raise RegistryError(f"git ls-remote {safe}: timed out after {timeout:g}s", url=safe) from None
    except GitError as exc:
        # git's own verdict ("fatal: ...") rather than a GIT_CURL_VERBOSE / GIT_TRACE preamble
        lines = exc.stderr.replace(url, safe).splitlines()
        verdict = [line for line in lines if line.startswith(("fatal:", "error:", "remote:"))]
        msg = _short(scrub("\n".join(verdict or lines), secrets) or f"exit {exc.returncode}", 200)
        raise RegistryError(f"git ls-remote {safe}: {msg}", url=safe) from None


def _strip_credentials(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme and parts.username is not None:
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        return parts._replace(netloc=netloc).geturl()
    return url
