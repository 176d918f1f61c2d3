"""Run-wide settings, built once from the environment (never read from ``os.environ`` below here).

Modelled on cibuildwheel's options: a frozen, keyword-only value made by ``Settings.from_env``.
Unknown ``CATALOG_OPS_*`` variables are rejected so a typo is not silently ignored (the variables of
command options, ``catalog_ops.cli.option_env_names``, are known too).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Collection, Mapping

from catalog_ops.core.values import Fields, Immutable
from catalog_ops.errors import UsageError
from catalog_ops.forge import forge_kind

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy treats it the same)
if TYPE_CHECKING:
    from pathlib import Path


def default_local_root() -> Path:
    """The local forge's directory when none is set: ``~/.local/share/catalog-ops/forge``.

    ``pathlib`` (with ``urllib.parse`` and ``ipaddress``, ≈ 4 ms) is imported here, on first use:
    commands that never use the local forge (``refs``) do not load it at start-up."""
    from pathlib import Path

    return Path("~/.local/share/catalog-ops/forge").expanduser()


SETTINGS_VARIABLES = frozenset(
    {
        "CATALOG_OPS_FORGE",
        "CATALOG_OPS_LOCAL_ROOT",
        "CATALOG_OPS_TF_BINARY",
        "CATALOG_OPS_TOOL_ENV",  # read by toolchain.tool_env (variables tool subprocesses may keep)
        "CATALOG_OPS_TOOLS_DIR",  # read by toolchain.tools_dir (tools are found before settings exist)
        "CATALOG_OPS_TOOLS_FROM",  # "source": install_tools.py --release builds (no download, no adoption)
        "CATALOG_OPS_TOOLS_JOBS",  # source builds at once (toolchain.default_jobs)
        "CATALOG_OPS_WRITE_INTERVAL",
        "CATALOG_OPS_GITHUB_API_URL",
        "CATALOG_OPS_APP_ID",
        "CATALOG_OPS_APP_PRIVATE_KEY",
        "CATALOG_OPS_APP_INSTALLATION_ID",
        "CATALOG_OPS_LOCAL_CHECKS",
    }
)
"""The run-wide ``CATALOG_OPS_*`` variables ``Settings.from_env`` reads. Command options have
variables too (``cli.option_env_name``); those names are passed in as ``option_names``."""


class Settings(Fields, Immutable):
    """Options shared by every command.

    Frozen: it cannot be changed once made (``replace`` makes a changed copy); keyword-only
    arguments. Not a dataclass: ``dataclasses`` is not imported on the ``refs`` path (start-up
    cost; tests/commands/test_startup.py guards it).

    Attributes:
        forge: a ``catalog_ops.forge.FORGE_KINDS`` name: ``"local"`` (default, plain git repos
            under ``local_root``) or ``"github"``.
        local_root: directory of ``<owner>/<repo>`` git repositories for the local forge
            (``None`` given: ``default_local_root()``, made when first read).
        github_api_url: REST base URL, ``https://api.github.com`` or ``https://HOST/api/v3`` (GHES).
        github_token: token (``GITHUB_TOKEN``/``GH_TOKEN``); never printed.
        app_id / app_private_key / app_installation_id: GitHub App auth instead of a token.
        tf_binary: ``"terraform"`` or ``"tofu"``; which CLI runs init/validate/plan.
        write_interval: seconds between content-creating forge requests (GitHub secondary limits).
        local_checks: shell command the local forge runs as a PR's "checks" (empty: built-in default).
    """

    FIELDS = (
        "forge",
        "local_root",
        "github_api_url",
        "github_token",
        "app_id",
        "app_private_key",
        "app_installation_id",
        "tf_binary",
        "write_interval",
        "local_checks",
    )
    """The attributes, in order: the keyword arguments of ``__init__``."""

    forge: str
    _local_root: Path | None
    github_api_url: str
    github_token: str | None
    app_id: str | None
    app_private_key: str | None
    app_installation_id: str | None
    tf_binary: str
    write_interval: float
    local_checks: str

    def __init__(
        self,
        *,
        forge: str = "local",
        local_root: Path | None = None,
        github_api_url: str = "https://api.github.com",
        github_token: str | None = None,
        app_id: str | None = None,
        app_private_key: str | None = None,
        app_installation_id: str | None = None,
        tf_binary: str = "terraform",
        write_interval: float = 1.0,
        local_checks: str = "",
    ) -> None:
        object.__setattr__(self, "forge", forge)
        object.__setattr__(self, "_local_root", local_root)
        object.__setattr__(self, "github_api_url", github_api_url)
        object.__setattr__(self, "github_token", github_token)
        object.__setattr__(self, "app_id", app_id)
        object.__setattr__(self, "app_private_key", app_private_key)
        object.__setattr__(self, "app_installation_id", app_installation_id)
        object.__setattr__(self, "tf_binary", tf_binary)
        object.__setattr__(self, "write_interval", write_interval)
        object.__setattr__(self, "local_checks", local_checks)

    @property
    def local_root(self) -> Path:
        """The local forge's directory: the one given, else ``default_local_root()``."""
        return self._local_root if self._local_root is not None else default_local_root()

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        option_names: Collection[str] = (),
        command_options: frozenset[str] = frozenset(),
        **overrides: object,
    ) -> Settings:
        """Build settings from an environment mapping plus explicit overrides (CLI flags win).

        Args:
            env: variables such as ``CATALOG_OPS_FORGE``, ``GITHUB_TOKEN``, ``GITHUB_API_URL``;
                defaults to ``os.environ``.
            option_names: the ``CATALOG_OPS_*`` variables of command options (read by the CLI,
                ``cli.parse_args``); accepted here, not read.
            command_options: the variables of the running command's own options, listed in the
                unknown-variable error.
            overrides: field values; ``None`` values are ignored.

        Raises:
            UsageError: unknown ``CATALOG_OPS_*`` variable (neither a setting nor an option) or
                invalid value.
        """
        env = os.environ if env is None else env
        unknown = sorted(
            k
            for k in env
            if k.startswith("CATALOG_OPS_") and k not in SETTINGS_VARIABLES and k not in option_names
        )
        if unknown:
            own = sorted(command_options - SETTINGS_VARIABLES)
            raise UsageError(
                f"unknown setting(s): {', '.join(unknown)}; known: {', '.join(sorted(SETTINGS_VARIABLES))}"
                + (f"; this command's options: {', '.join(own)}" if own else "")
                + " (every option --x-y of a command reads CATALOG_OPS_X_Y; see `catalog-ops COMMAND --help`)"
            )
        values: dict[str, object] = {}
        if "CATALOG_OPS_FORGE" in env:
            values["forge"] = env["CATALOG_OPS_FORGE"]
        if "CATALOG_OPS_LOCAL_ROOT" in env:
            from pathlib import Path

            values["local_root"] = Path(env["CATALOG_OPS_LOCAL_ROOT"]).expanduser()
        api = env.get("CATALOG_OPS_GITHUB_API_URL") or env.get("GITHUB_API_URL")
        if api:
            values["github_api_url"] = api.rstrip("/")
        token = env.get("GITHUB_TOKEN") or env.get("GH_TOKEN")
        if token:
            values["github_token"] = token
        for key, field in (
            ("CATALOG_OPS_APP_ID", "app_id"),
            ("CATALOG_OPS_APP_PRIVATE_KEY", "app_private_key"),
            ("CATALOG_OPS_APP_INSTALLATION_ID", "app_installation_id"),
            ("CATALOG_OPS_TF_BINARY", "tf_binary"),
            ("CATALOG_OPS_LOCAL_CHECKS", "local_checks"),
        ):
            if env.get(key):
                values[field] = env[key]
        if env.get("CATALOG_OPS_WRITE_INTERVAL"):
            values["write_interval"] = check_write_interval(
                env["CATALOG_OPS_WRITE_INTERVAL"], "CATALOG_OPS_WRITE_INTERVAL"
            )
        api_source = (
            "CATALOG_OPS_GITHUB_API_URL"
            if env.get("CATALOG_OPS_GITHUB_API_URL")
            else "GITHUB_API_URL"
            if env.get("GITHUB_API_URL")
            else "the default API URL"
        )
        if overrides.get("github_api_url") is not None:
            api_source = "--github-api-url"
        if overrides.get("write_interval") is not None:
            overrides["write_interval"] = check_write_interval(overrides["write_interval"], "write interval")
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "github_api_url" in values:
            values["github_api_url"] = check_api_url(str(values["github_api_url"]), api_source)
        check_app_credentials(
            values.get("app_id"),  # type: ignore[arg-type]
            values.get("app_private_key"),  # type: ignore[arg-type]
            values.get("app_installation_id"),  # type: ignore[arg-type]
        )
        settings = cls(**values)  # type: ignore[arg-type]
        forge_kind(settings.forge)  # UsageError: "forge must be 'local' or 'github', not 'x'"
        if settings.tf_binary not in ("terraform", "tofu"):
            raise UsageError(f"tf binary must be 'terraform' or 'tofu', not {settings.tf_binary!r}")
        return settings


def check_write_interval(value: object, source: str) -> float:
    """``value`` as a finite, non-negative number of seconds.

    Raises:
        UsageError: not a number, negative, NaN or infinite (the message names ``source``).
    """
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise UsageError(f"{source} must be a number of seconds, not {value!r}") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise UsageError(f"{source} must be a finite number of seconds >= 0, not {value!r}")
    return seconds


def check_api_url(url: str, source: str) -> str:
    """Validate a GitHub REST base URL; returns it without a trailing slash.

    The URL must be ``http://`` or ``https://``, name a host, and carry a port in 1..65535 when it
    has one (RFC 3986 authority). ``source`` (``--github-api-url``, ``GITHUB_API_URL``) is named in
    the error. Userinfo (``user:token@``) is never echoed.

    Raises:
        UsageError: anything else.
    """
    import urllib.parse  # here, not at start-up: only a GitHub API URL that is set is checked

    problem = ""
    shown = url
    try:
        parts = urllib.parse.urlsplit(url.strip())
        if parts.username is not None or parts.password is not None:
            shown = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
        if not url.strip():
            problem = "is empty"
        elif url != url.strip() or any(c.isspace() for c in url):
            problem = "contains whitespace"
        elif parts.scheme not in ("http", "https"):
            problem = "must start with http:// or https://"
        elif not parts.hostname:
            problem = "has no host"
        else:
            port = parts.port  # ValueError when out of range or not a number
            if port == 0:
                problem = "has port 0"
    except ValueError:
        problem = "has an invalid port (must be 1..65535)"
    if problem:
        example = "https://api.github.com or https://HOST/api/v3"
        raise UsageError(f"{source} {shown!r} {problem} (expected e.g. {example})")
    return url.rstrip("/")


# Patterns, compiled by ``re.fullmatch`` when App credentials are set (not at start-up: ≈ 0.3 ms).
_APP_ID = r"[1-9][0-9]*|Iv[0-9A-Za-z._-]+"  # numeric App ID, or the App's client ID
_INSTALLATION_ID = r"[1-9][0-9]*"


def check_app_credentials(app_id: str | None, private_key: str | None, installation_id: str | None) -> None:
    """Validate GitHub App credentials that are set (GitHub docs, "Generating a JSON Web Token"):
    the App ID is a positive integer (or the App's client ID, ``Iv...``), the installation ID a
    positive integer and the private key a PEM private key (RSA, as GitHub issues them).

    The key is never echoed. Raises ``UsageError`` naming the variable.
    """
    if app_id is not None and not re.fullmatch(_APP_ID, str(app_id)):
        raise UsageError(f"CATALOG_OPS_APP_ID must be the GitHub App's numeric ID, not {str(app_id)!r}")
    if installation_id is not None and not re.fullmatch(_INSTALLATION_ID, str(installation_id)):
        raise UsageError(
            f"CATALOG_OPS_APP_INSTALLATION_ID must be a positive integer, not {str(installation_id)!r}"
        )
    if private_key is not None:
        from cryptography.hazmat.primitives import serialization  # PyJWT's RS256 backend

        try:
            serialization.load_pem_private_key(private_key.encode("utf-8"), password=None)
        except (ValueError, TypeError, UnicodeError):
            raise UsageError(
                "CATALOG_OPS_APP_PRIVATE_KEY is not a PEM private key (expected the unencrypted "
                "'-----BEGIN RSA PRIVATE KEY-----' file GitHub generates for the App)"
            ) from None
        except Exception:  # unsupported key type etc.: still never echo the key
            raise UsageError("CATALOG_OPS_APP_PRIVATE_KEY is not a usable PEM private key") from None
