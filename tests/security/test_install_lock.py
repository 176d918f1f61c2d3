"""``actions/setup`` installs from a hashed lock and reuses a venv only when it is unchanged (issue 15).

``actions/setup/requirements.txt`` (pip-compile ``--generate-hashes``) pins every runtime
dependency of pyproject.toml, their dependencies and the build backend, each with SHA-256 hashes;
``install-package.sh`` installs it with ``--require-hashes`` and writes a manifest of the venv it
built. The install test runs the real script against PyPI.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "actions" / "setup" / "requirements.txt"


def _lock() -> dict[str, tuple[str, list[str]]]:
    """``{canonical name: (version, [sha256, ...])}`` from the lock."""
    out: dict[str, tuple[str, list[str]]] = {}
    text = LOCK.read_text(encoding="utf-8")
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        m = re.match(r"([A-Za-z0-9_.-]+)==([^\s\\;]+)", block)
        if m:
            out[canonicalize_name(m.group(1))] = (
                m.group(2),
                re.findall(r"--hash=sha256:([0-9a-f]{64})", block),
            )
    return out


def test_lock_pins_every_dependency_by_hash_within_pyproject_ranges() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    lock = _lock()
    assert lock, "empty lock"
    for name, (version, hashes) in lock.items():
        assert hashes, f"{name}=={version} has no --hash"
    text = LOCK.read_text(encoding="utf-8")
    assert "--index-url" not in text and "--find-links" not in text and "-e " not in text
    wanted = [Requirement(r) for r in project["project"]["dependencies"]]
    wanted += [Requirement(r) for r in project["build-system"]["requires"]]
    for req in wanted:
        name = canonicalize_name(req.name)
        assert name in lock, f"{req} is not in {LOCK.name}"
        assert req.specifier.contains(lock[name][0], prereleases=True), (
            f"{LOCK.name} pins {name}=={lock[name][0]}, outside pyproject's {req}; regenerate the lock"
        )


def test_lock_is_closed_under_dependencies() -> None:
    """Each locked distribution's own requirements (as this interpreter evaluates their markers)
    are locked too, so ``--no-deps`` leaves nothing out."""
    lock = _lock()
    env = default_environment()
    missing = []
    for name in lock:
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue  # not installed here (setuptools in some venvs): checked by the install test
        for text in requires:
            req = Requirement(text)
            if req.marker and not req.marker.evaluate({**env, "extra": ""}):
                continue
            if canonicalize_name(req.name) not in lock:
                missing.append(f"{name} -> {req}")
    assert not missing, missing


def _checkout(tmp_path: Path) -> Path:
    """A copy of what the action installs from (its key hashes these files), so edits to this
    working tree while the test runs do not change the key under it."""
    dest = tmp_path / "action"
    dest.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    for name in ("scripts", "policies", "actions/setup"):
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return dest


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "HOME": str(tmp_path / "home"),
        "RUNNER_TEMP": str(tmp_path / "runner"),
        "PIP_CACHE_DIR": str(Path("~/.cache/pip").expanduser()),
        "PIP_FIND_LINKS": "",  # PyPI only, as on a runner
    }


def _command(action: Path) -> list[str]:
    return ["bash", str(action / "actions" / "setup" / "install-package.sh"), str(action), "true"]


def _setup(env: dict[str, str], action: Path) -> tuple[Path, str]:
    """Run the setup script as a job would; returns (venv, stderr)."""
    proc = subprocess.run(_command(action), env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return Path(proc.stdout.strip()), proc.stderr


def _use(venv: Path) -> None:
    """What a job does with the venv: run the CLI and import the package's modules."""
    for argv in (
        [str(venv / "bin" / "catalog-ops"), "--version"],
        [str(venv / "bin" / "catalog-ops"), "tools", "--json"],
        [str(venv / "bin" / "python"), "-c", "import catalog_ops.cli, catalog_ops.commands.rollout"],
    ):
        subprocess.run(argv, capture_output=True, check=False)


def _snapshot(venv: Path) -> dict[str, tuple[int, int, int]]:
    """``{path: (inode, mtime_ns, size)}`` of everything in ``venv``: any write, delete or
    replacement inside it changes this."""
    out = {}
    for path in [venv, *venv.rglob("*")]:
        st = path.lstat()
        out[str(path.relative_to(venv))] = (st.st_ino, st.st_mtime_ns, st.st_size)
    return out


@pytest.mark.slow
def test_setup_installs_with_hashes_and_reuses_only_an_unchanged_venv(tmp_path: Path) -> None:
    env, action = _env(tmp_path), _checkout(tmp_path)
    venv, _ = _setup(env, action)
    version = subprocess.run(
        [str(venv / "bin" / "catalog-ops"), "--version"], capture_output=True, text=True, check=True
    )
    assert version.stdout.startswith("catalog-ops ")
    manifest = (venv / ".complete").read_text()
    assert "bin/catalog-ops" in manifest and "site-packages/semver/__init__.py" in manifest
    site = next((venv / "lib").glob("python3*/site-packages"))

    # a job uses it (imports write no bytecode into it); the next job reuses it untouched
    _use(venv)
    before = _snapshot(venv)
    again, err = _setup(env, action)
    assert again == venv and "differs" not in err
    assert _snapshot(venv) == before
    assert "/__pycache__/" in manifest  # the bytecode is part of what is verified

    # a planted bytecode file is not trusted: a new venv is built and the edited one is left as
    # it is (a job may still be running from it)
    planted = site / "semver" / "__pycache__" / "evil.cpython-311.pyc"
    planted.parent.mkdir(exist_ok=True)
    planted.write_bytes(b"\x00")
    used = _snapshot(venv)
    rebuilt, err = _setup(env, action)
    assert rebuilt != venv and rebuilt.parent == venv.parent and "differs from the manifest" in err
    assert _snapshot(venv) == used and planted.exists()
    assert not (
        next((rebuilt / "lib").glob("python3*/site-packages")) / "semver/__pycache__/evil.cpython-311.pyc"
    ).exists()
    # the next job gets the new one
    assert _setup(env, action)[0] == rebuilt


def _fake_build(base: Path, key: str, *, age_days: float) -> Path:
    """A completed build of another key, last handed out ``age_days`` ago."""
    build = base / key / "b-fake00"
    (build / "bin").mkdir(parents=True)
    (build / ".complete").write_text("")
    (base / key / "current").write_text("b-fake00\n")
    (base / f"{key}.lock").touch()
    used = base / key / "b-fake00.used"
    used.touch()
    stamp = used.stat().st_mtime - age_days * 86400
    os.utime(used, (stamp, stamp))
    return build


@pytest.mark.slow
def test_concurrent_setups_share_one_build_and_never_touch_a_venv_in_use(tmp_path: Path) -> None:
    """Jobs of one workflow run setup at the same time on one machine while others already run
    from the venv (issue 13: a lint job lost its venv mid-run). Every setup succeeds with the same
    build, nothing inside a venv in use changes, and only builds no setup handed out for longer
    than GitHub lets a job run (5 days) are removed, however many other keys there are."""
    env, action = _env(tmp_path), _checkout(tmp_path)
    base = tmp_path / "home" / ".cache" / "catalog-ops" / "venvs"
    recent = [_fake_build(base, f"recent{i}", age_days=0.1) for i in range(4)]
    stale = _fake_build(base, "stale", age_days=7)

    def concurrently(n: int) -> list[Path]:
        procs = [
            subprocess.Popen(
                _command(action),
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(n)
        ]
        out = []
        for proc in procs:
            stdout, stderr = proc.communicate()
            assert proc.returncode == 0, stderr
            out.append(Path(stdout.strip()))
        return out

    first = concurrently(4)
    assert len(set(first)) == 1, first
    venv = first[0]
    _use(venv)
    before = _snapshot(venv)

    # jobs keep importing from it while more jobs set up
    stop = tmp_path / "stop"
    user = subprocess.Popen(
        [
            "bash",
            "-c",
            'n=0; while [ ! -e "$1" ] || [ "$n" -lt 3 ]; do "$2" -c "import catalog_ops.cli" || exit 1; n=$((n+1)); done',
            "user",
            str(stop),
            str(venv / "bin" / "python"),
        ]
    )
    assert set(concurrently(4)) == {venv}
    stop.touch()
    assert user.wait() == 0
    assert _snapshot(venv) == before

    assert all(b.is_dir() for b in recent), "a build handed out less than 5 days ago was removed"
    assert not stale.parent.exists()
    assert [p.name for p in venv.parent.iterdir() if p.is_dir()] == [venv.name]  # built once
