"""Run-wide settings, built once from the environment (never read from ``os.environ`` below here).

Modelled on cibuildwheel's options: a frozen, keyword-only dataclass made by ``Settings.from_env``.
Unknown ``CATALOG_OPS_*`` variables are rejected so a typo is not silently ignored.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path

from catalog_ops.errors import UsageError

DEFAULT_TOOLS_DIR = Path("~/.cache/catalog-ops/tools").expanduser()
DEFAULT_LOCAL_ROOT = Path("~/.local/share/catalog-ops/forge").expanduser()

_KNOWN = {
    "CATALOG_OPS_FORGE",
    "CATALOG_OPS_LOCAL_ROOT",
    "CATALOG_OPS_TF_BINARY",
    "CATALOG_OPS_TOOLS_DIR",
    "CATALOG_OPS_WRITE_INTERVAL",
    "CATALOG_OPS_GITHUB_API_URL",
    "CATALOG_OPS_APP_ID",
    "CATALOG_OPS_APP_PRIVATE_KEY",
    "CATALOG_OPS_APP_INSTALLATION_ID",
    "CATALOG_OPS_LOCAL_CHECKS",
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    """Options shared by every command.

    Attributes:
        forge: ``"local"`` (default, plain git repos under ``local_root``) or ``"github"``.
        local_root: directory of ``<owner>/<repo>`` git repositories for the local forge.
        github_api_url: REST base URL, ``https://api.github.com`` or ``https://HOST/api/v3`` (GHES).
        github_token: token (``GITHUB_TOKEN``/``GH_TOKEN``); never printed.
        app_id / app_private_key / app_installation_id: GitHub App auth instead of a token.
        tf_binary: ``"terraform"`` or ``"tofu"``; which CLI runs init/validate/plan.
        tools_dir: per-user cache of pinned tools, ``<tools_dir>/<tool>/<version>/``.
        write_interval: seconds between content-creating forge requests (GitHub secondary limits).
        local_checks: shell command the local forge runs as a PR's "checks" (empty: built-in default).
    """

    forge: str = "local"
    local_root: Path = DEFAULT_LOCAL_ROOT
    github_api_url: str = "https://api.github.com"
    github_token: str | None = dataclasses.field(default=None, repr=False)
    app_id: str | None = None
    app_private_key: str | None = dataclasses.field(default=None, repr=False)
    app_installation_id: str | None = None
    tf_binary: str = "terraform"
    tools_dir: Path = DEFAULT_TOOLS_DIR
    write_interval: float = 1.0
    local_checks: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Build settings from an environment mapping plus explicit overrides (CLI flags win).

        Args:
            env: variables such as ``CATALOG_OPS_FORGE``, ``GITHUB_TOKEN``, ``GITHUB_API_URL``;
                defaults to ``os.environ``.
            overrides: field values; ``None`` values are ignored.

        Raises:
            UsageError: unknown ``CATALOG_OPS_*`` variable or invalid value.
        """
        env = os.environ if env is None else env
        unknown = sorted(k for k in env if k.startswith("CATALOG_OPS_") and k not in _KNOWN)
        if unknown:
            raise UsageError(f"unknown setting(s): {', '.join(unknown)}; known: {', '.join(sorted(_KNOWN))}")
        values: dict[str, object] = {}
        if "CATALOG_OPS_FORGE" in env:
            values["forge"] = env["CATALOG_OPS_FORGE"]
        if "CATALOG_OPS_LOCAL_ROOT" in env:
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
        if env.get("CATALOG_OPS_TOOLS_DIR"):
            values["tools_dir"] = Path(env["CATALOG_OPS_TOOLS_DIR"]).expanduser()
        if env.get("CATALOG_OPS_WRITE_INTERVAL"):
            try:
                values["write_interval"] = float(env["CATALOG_OPS_WRITE_INTERVAL"])
            except ValueError:
                raise UsageError("CATALOG_OPS_WRITE_INTERVAL must be a number of seconds") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)  # type: ignore[arg-type]
        if settings.forge not in ("local", "github"):
            raise UsageError(f"forge must be 'local' or 'github', not {settings.forge!r}")
        if settings.tf_binary not in ("terraform", "tofu"):
            raise UsageError(f"tf binary must be 'terraform' or 'tofu', not {settings.tf_binary!r}")
        return settings
