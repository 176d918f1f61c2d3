"""Pinned external tools: where they live, how to find them, and how to install them.

Versions come from ``toolchain.toml`` beside this module (the one file that pins them). Each tool
is installed into ``<tools_dir>/<tool>/<version>/bin/<binary>`` (``tools_dir`` defaults to
``~/.cache/catalog-ops/tools``; ``$CATALOG_OPS_TOOLS_DIR`` overrides), so a fresh clone on the same
machine reuses what an earlier run built. Nothing is written into the repository.

Install kinds:
- ``path``: use the binary on PATH when it is at least ``min_version`` (terraform).
- ``go-install``: ``go install PACKAGE@VERSION`` with ``GOBIN`` set to the cache dir.
- ``go-build``: ``go mod download -json MODULE@VERSION`` then ``go build PACKAGE`` inside the
  downloaded module (needed when its go.mod has ``replace`` directives, as OpenTofu's does).
- ``go-mod-download``: ``go mod download`` in a directory of this repo (warms the module cache).

``GOTOOLCHAIN=auto`` is kept so Go may fetch a newer toolchain from the module proxy when a tool's
go.mod asks for it. Release-binary downloads are never used.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path

from catalog_ops.errors import ToolInstallError, ToolMissing

TOML_PATH = Path(__file__).with_name("toolchain.toml")
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclasses.dataclass(frozen=True, kw_only=True)
class ToolSpec:
    """One entry of ``toolchain.toml``."""

    name: str
    kind: str
    version: str = ""
    min_version: str = ""
    package: str = ""
    module: str = ""
    binary: str = ""
    dir: str = ""


def load_specs(path: Path = TOML_PATH) -> dict[str, ToolSpec]:
    """Parse ``toolchain.toml`` into ``{tool: ToolSpec}``. Raises ToolInstallError on bad keys."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    specs = {}
    fields = {f.name for f in dataclasses.fields(ToolSpec)}
    for name, entry in data.items():
        unknown = set(entry) - fields
        if unknown:
            raise ToolInstallError(f"{path}: [{name}] has unknown keys: {', '.join(sorted(unknown))}")
        specs[name] = ToolSpec(name=name, **entry)
    return specs


def tools_dir(env: Mapping[str, str] | None = None) -> Path:
    """The per-user tool cache directory."""
    env = os.environ if env is None else env
    return Path(env.get("CATALOG_OPS_TOOLS_DIR") or "~/.cache/catalog-ops/tools").expanduser()


def bin_dir(spec: ToolSpec, env: Mapping[str, str] | None = None) -> Path:
    """``<tools_dir>/<tool>/<version>/bin``."""
    return tools_dir(env) / spec.name / spec.version / "bin"


def _version_tuple(text: str) -> tuple[int, ...]:
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", text)
    return tuple(int(x) for x in match.groups()) if match else ()


def terraform_on_path_version(env: Mapping[str, str] | None = None) -> tuple[Path, str] | None:
    """``(path, "1.11.4")`` of the ``terraform`` on PATH, or None when absent/unrunnable."""
    env = os.environ if env is None else env
    found = shutil.which("terraform", path=env.get("PATH"))
    if not found:
        return None
    try:
        out = subprocess.run(
            [found, "version", "-json"], capture_output=True, text=True, timeout=60, check=True
        ).stdout
        version = json.loads(out)["terraform_version"]
    except (subprocess.SubprocessError, OSError, ValueError, KeyError):
        return None
    return Path(found), version


def which(name: str, env: Mapping[str, str] | None = None) -> Path:
    """Path of a tool catalog-ops runs.

    Args:
        name: ``terraform``, ``tofu``, ``tflint``, ``opa``, ``actionlint``, ``act``, ``go`` or ``git``.
        env: environment (for PATH and ``CATALOG_OPS_TOOLS_DIR``); defaults to ``os.environ``.

    ``terraform`` is the one on PATH when it is >= the pinned minimum; otherwise the pinned
    OpenTofu build stands in for it (the Terraform CLI flavour is chosen by settings.tf_binary).

    Raises:
        ToolMissing: naming the tool and ``make tools`` as the fix.
    """
    env = os.environ if env is None else env
    if name in ("go", "git"):
        found = shutil.which(name, path=env.get("PATH"))
        if not found:
            raise ToolMissing(f"{name} is not on PATH; catalog-ops needs it")
        return Path(found)
    specs = load_specs()
    if name == "terraform":
        spec = specs["terraform"]
        on_path = terraform_on_path_version(env)
        if on_path and _version_tuple(on_path[1]) >= _version_tuple(spec.min_version):
            return on_path[0]
        try:
            return which("tofu", env)
        except ToolMissing:
            raise ToolMissing(
                f"terraform >= {spec.min_version} is not on PATH and the pinned OpenTofu is not built; run `make tools`"
            ) from None
    entry = specs.get(name)
    if entry is None or not entry.binary:
        raise ToolMissing(f"unknown tool {name!r}; known: {', '.join(sorted(specs))}")
    candidate = bin_dir(entry, env) / entry.binary
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return candidate
    raise ToolMissing(f"{name} {entry.version} is not installed in {candidate.parent}; run `make tools`")


def tf_cli(flavour: str, env: Mapping[str, str] | None = None) -> Path:
    """The Terraform CLI for ``flavour`` (``"terraform"`` or ``"tofu"``). Raises ToolMissing."""
    return which("tofu" if flavour == "tofu" else "terraform", env)


#: Variables a tool subprocess keeps (``fnmatch`` patterns, case-sensitive). Everything else is
#: dropped: the environment of a catalog-ops step holds the forge token and App credentials, and
#: the tools run code chosen by whoever wrote the pull request (Terratest tests are Go programs,
#: ``.tflint.hcl`` names plugins, a module may name any provider, policies are Rego), so an
#: allow-list decides rather than a list of known secrets. ``CATALOG_OPS_TOOL_ENV`` adds patterns
#: (e.g. ``"AWS_* ARM_*"`` for tests that deploy); ``TOOL_ENV_DENY`` still wins over those.
TOOL_ENV_ALLOW: tuple[str, ...] = (
    # the process basics
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "TZ", "LANG", "LANGUAGE", "LC_*",
    "TMPDIR", "TEMP", "TMP", "XDG_*", "CI",
    # git's configuration files (Terraform fetches git module sources with git); paths, not
    # values: a file is readable by the tool anyway. GIT_CONFIG_COUNT/KEY_n/VALUE_n (values, which
    # may hold a header) only when opted in.
    "GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM", "GIT_CONFIG_NOSYSTEM",
    # network: proxies and CA bundles (tools download modules, providers, Go modules)
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "no_proxy",
    "all_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR",
    # Go (go test / Terratest) and cgo
    "GO*", "CGO_*", "CC", "CXX",
    # Terraform / OpenTofu (TF_TOKEN_<host> registry credentials, TF_VAR_*, TF_CLI_CONFIG_FILE,
    # TF_PLUGIN_CACHE_DIR; the workflow author sets these for Terraform), Terratest, TFLint, OPA
    "TF_*", "CHECKPOINT_DISABLE", "TERRATEST_*", "TFLINT_*", "OPA_*",
)  # fmt: skip

#: Never passed to a tool, whatever ``CATALOG_OPS_TOOL_ENV`` says (``fnmatch``, matched against
#: the upper-cased name; ``TF_*`` variables are Terraform's own and are not matched here).
TOOL_ENV_DENY: tuple[str, ...] = (
    "GITHUB_TOKEN", "GH_TOKEN", "GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN", "GH_*",
    "CATALOG_OPS_*",  # the product's own settings: App id, private key, installation id
    "ACTIONS_*",  # ACTIONS_RUNTIME_TOKEN, ACTIONS_ID_TOKEN_REQUEST_TOKEN/_URL, ACTIONS_CACHE_URL
    "*_TOKEN", "*_TOKEN_*", "*PRIVATE_KEY*", "*_PAT", "*GITHUB_APP*", "*_APP_ID", "*INSTALLATION_ID*",
    "GIT_ASKPASS", "SSH_ASKPASS",
)  # fmt: skip


def _denied(name: str) -> bool:
    """True for a variable that may hold a credential (``TOOL_ENV_DENY``; ``TF_*`` excepted)."""
    if name.startswith("TF_") or name == "CATALOG_OPS_TOOLS_DIR":
        return False
    return any(fnmatch.fnmatchcase(name.upper(), pattern) for pattern in TOOL_ENV_DENY)


def without_credentials(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of ``env`` (default ``os.environ``) without the variables ``TOOL_ENV_DENY`` names.

    For commands the user configured to stand in for another system (the local forge's checks
    command simulates a dependent's CI), which may need variables of their own; real tools get
    the stricter ``tool_env``.
    """
    env = os.environ if env is None else env
    return {k: v for k, v in env.items() if not _denied(k)}


def _tool_env_kept(name: str, allow: Sequence[str]) -> bool:
    if name == "CATALOG_OPS_TOOLS_DIR":  # a path, no secret; ``which`` on this env needs it
        return True
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in allow) and not _denied(name)


def tool_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a tool subprocess (terraform, tofu, tflint, opa, ``go test``, act).

    Args:
        env: the caller's environment (defaults to ``os.environ``); read, never changed.

    Returns:
        A new dict holding only the variables ``TOOL_ENV_ALLOW`` (plus the space- or
        comma-separated patterns of ``CATALOG_OPS_TOOL_ENV``) lets through and ``TOOL_ENV_DENY``
        does not stop: no ``GITHUB_TOKEN``/``GH_TOKEN``, no ``CATALOG_OPS_*`` (App id, private
        key), no ``ACTIONS_*`` runtime or OIDC request tokens, nothing named ``*_TOKEN``. Every
        installed pinned tool's bin dir comes first on ``PATH``; ``GOTOOLCHAIN=auto`` (unless set)
        and ``CHECKPOINT_DISABLE=1`` (no Terraform version check over the network) are added.

    The rule and its reasons are in docs/workflows.md ("Least privilege").
    """
    env = os.environ if env is None else env
    extra = (env.get("CATALOG_OPS_TOOL_ENV") or "").replace(",", " ").split()
    allow = (*TOOL_ENV_ALLOW, *extra)
    out = {k: v for k, v in env.items() if _tool_env_kept(k, allow)}
    dirs = []
    for spec in load_specs().values():
        if spec.binary:
            d = bin_dir(spec, env)
            if d.is_dir():
                dirs.append(str(d))
    out["PATH"] = os.pathsep.join([*dirs, env.get("PATH", "")])
    out.setdefault("GOTOOLCHAIN", "auto")
    out.setdefault("CHECKPOINT_DISABLE", "1")
    return out


# --- installer --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class InstallReport:
    """What the installer did for one tool: ``action`` is installed|reused|path."""

    tool: str
    version: str
    action: str
    location: str
    seconds: float


def _run(tool: str, cmd: Sequence[str], *, cwd: Path | None, env: Mapping[str, str]) -> str:
    proc = subprocess.run(list(cmd), cwd=cwd, env=dict(env), capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise ToolInstallError(
            f"could not install {tool}: `{' '.join(cmd)}` failed (exit {proc.returncode})"
            + (f":\n{tail}" if tail else "")
        )
    return proc.stdout


def _go_env(env: Mapping[str, str]) -> dict[str, str]:
    out = dict(env)
    out.setdefault("GOTOOLCHAIN", "auto")
    out.setdefault("GOFLAGS", "-buildvcs=false")
    return out


def install_one(spec: ToolSpec, *, env: Mapping[str, str], repo_root: Path = REPO_ROOT) -> InstallReport:
    """Install or reuse one tool. Raises ToolInstallError naming the tool and failed command."""
    start = time.monotonic()
    if spec.kind == "path":
        found = terraform_on_path_version(env)
        if found and _version_tuple(found[1]) >= _version_tuple(spec.min_version):
            return InstallReport(spec.name, found[1], "path", str(found[0]), time.monotonic() - start)
        return InstallReport(spec.name, "-", "absent (OpenTofu stands in)", "-", time.monotonic() - start)
    if shutil.which("go", path=env.get("PATH")) is None:
        raise ToolInstallError(f"could not install {spec.name}: `go` is not on PATH")
    genv = _go_env(env)
    if spec.kind == "go-mod-download":
        target = repo_root / spec.dir
        if not (target / "go.mod").is_file():
            raise ToolInstallError(f"could not warm Go modules for {spec.name}: {target}/go.mod is missing")
        stamp = tools_dir(env) / spec.name / (_digest(target / "go.sum") + ".ok")
        if stamp.is_file():
            return InstallReport(spec.name, stamp.stem, "reused", str(target), time.monotonic() - start)
        _run(spec.name, ["go", "mod", "download"], cwd=target, env=genv)
        # Build the test binary once so the build cache is warm too (compiles, runs nothing).
        _run(spec.name, ["go", "test", "-count=1", "-run", "^$", "./..."], cwd=target, env=genv)
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text("ok\n")
        return InstallReport(spec.name, stamp.stem, "installed", str(target), time.monotonic() - start)
    dest = bin_dir(spec, env)
    binary = dest / spec.binary
    if binary.is_file() and os.access(binary, os.X_OK):
        return InstallReport(spec.name, spec.version, "reused", str(binary), time.monotonic() - start)
    tmp = dest.with_name(dest.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if spec.kind == "go-install":
        _run(
            spec.name,
            ["go", "install", f"{spec.package}@{spec.version}"],
            cwd=tmp,
            env={**genv, "GOBIN": str(tmp)},
        )
    elif spec.kind == "go-build":
        info = json.loads(
            _run(
                spec.name,
                ["go", "mod", "download", "-json", f"{spec.module}@{spec.version}"],
                cwd=tmp,
                env=genv,
            )
        )
        _run(
            spec.name,
            ["go", "build", "-trimpath", "-o", str(tmp / spec.binary), spec.package],
            cwd=Path(info["Dir"]),
            env=genv,
        )
    else:
        raise ToolInstallError(f"{spec.name}: unknown install kind {spec.kind!r}")
    if not (tmp / spec.binary).is_file():
        raise ToolInstallError(f"could not install {spec.name}: build produced no {spec.binary}")
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return InstallReport(spec.name, spec.version, "installed", str(binary), time.monotonic() - start)


def _digest(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes() if path.is_file() else b"").hexdigest()[:16]


def install(
    names: Sequence[str] | None = None, *, env: Mapping[str, str] | None = None, repo_root: Path = REPO_ROOT
) -> list[InstallReport]:
    """Install or reuse the named tools (all by default), printing one line per tool.

    Raises ToolInstallError for the first tool that fails (after printing the others' status).
    """
    env = dict(os.environ if env is None else env)
    specs = load_specs()
    chosen = list(names) if names else list(specs)
    unknown = [n for n in chosen if n not in specs]
    if unknown:
        raise ToolInstallError(f"unknown tool(s): {', '.join(unknown)}; known: {', '.join(specs)}")
    reports = []
    for name in chosen:
        spec = specs[name]
        print(
            f"catalog-ops tools: {name} {spec.version or spec.min_version} ...", file=sys.stderr, flush=True
        )
        report = install_one(spec, env=env, repo_root=repo_root)
        reports.append(report)
        print(
            f"catalog-ops tools: {report.tool:<18} {report.version:<10} {report.action:<10} "
            f"{report.seconds:6.1f}s  {report.location}",
            flush=True,
        )
    return reports


def main(argv: Sequence[str] | None = None) -> int:
    """``python scripts/install_tools.py [TOOL...] [--json]``; exit 4 when a tool cannot be installed."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="install_tools", description="Install/reuse catalog-ops's pinned tools."
    )
    parser.add_argument("tools", nargs="*", help="tools to install (default: all in toolchain.toml)")
    parser.add_argument("--json", action="store_true", help="print a JSON report")
    args = parser.parse_args(argv)
    try:
        reports = install(args.tools or None)
    except ToolInstallError as exc:
        print(f"catalog-ops tools: error: {exc}", file=sys.stderr)
        return exc.exit_code
    if args.json:
        print(json.dumps([dataclasses.asdict(r) for r in reports], indent=2))
    return 0
