"""``actions/setup`` installs from a hashed lock and reuses a venv only when it is unchanged (issue 15).

``actions/setup/requirements.txt`` (pip-compile ``--generate-hashes``) pins every runtime
dependency of pyproject.toml, their dependencies and the build backend, each with SHA-256 hashes;
``install-package.sh`` installs it with ``--require-hashes`` and writes a manifest of the venv it
built. The install test runs the real script against PyPI.
"""

from __future__ import annotations

import os
import re
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
SCRIPT = ROOT / "actions" / "setup" / "install-package.sh"


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


@pytest.mark.slow
def test_setup_installs_with_hashes_and_reuses_only_an_unchanged_venv(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "HOME": str(tmp_path / "home"),
        "RUNNER_TEMP": str(tmp_path / "runner"),
        "PIP_CACHE_DIR": str(Path("~/.cache/pip").expanduser()),
        "PIP_FIND_LINKS": "",  # PyPI only, as on a runner
    }

    def setup() -> tuple[Path, str]:
        proc = subprocess.run(
            ["bash", str(SCRIPT), str(ROOT), "true"], env=env, capture_output=True, text=True, check=False
        )
        assert proc.returncode == 0, proc.stderr
        return Path(proc.stdout.strip()), proc.stderr

    venv, _ = setup()
    version = subprocess.run(
        [str(venv / "bin" / "catalog-ops"), "--version"], capture_output=True, text=True, check=True
    )
    assert version.stdout.startswith("catalog-ops ")
    manifest = (venv / ".complete").read_text()
    assert "bin/catalog-ops" in manifest and "site-packages/semver/__init__.py" in manifest
    site = next((venv / "lib").glob("python3*/site-packages"))
    cfg = os.stat(venv / "pyvenv.cfg").st_ino

    # reused when unchanged; a planted bytecode file is removed, not trusted
    planted = site / "semver" / "__pycache__" / "evil.cpython-311.pyc"
    planted.parent.mkdir(exist_ok=True)
    planted.write_bytes(b"\x00")
    again, err = setup()
    assert again == venv and os.stat(venv / "pyvenv.cfg").st_ino == cfg and "reinstalling" not in err
    assert not planted.exists()

    # an edited venv (a .pth runs at every interpreter start) is rebuilt, not reused
    (site / "zz-evil.pth").write_text("import os; os.system('echo pwned')\n")
    rebuilt, err = setup()
    assert rebuilt == venv and "differs from the manifest" in err
    assert not (site / "zz-evil.pth").exists()
    # rebuilt from scratch: the old venv's files are gone (an inode number may be reused, so the
    # proof is the venv's own manifest being rewritten, not pyvenv.cfg's inode)
    assert (venv / ".complete").stat().st_mtime_ns >= (venv / "pyvenv.cfg").stat().st_mtime_ns
    assert (venv / ".complete").read_text() == manifest
