"""docs/actions.md and the umbrella action.yml are generated; they must match their sources."""

from __future__ import annotations

import subprocess
import sys

from fixtures.workflows import ACTION_FILES, REPO, REUSABLE_WORKFLOWS, load_yaml

sys.path.insert(0, str(REPO / "scripts"))
import gen_action_docs

sys.path.pop(0)


def test_generated_files_do_not_drift() -> None:
    for path, expected in gen_action_docs.generated().items():
        assert path.read_text(encoding="utf-8") == expected, (
            f"{path.relative_to(REPO)} is out of date: run python scripts/gen_action_docs.py"
        )


def test_check_mode_exits_zero_when_up_to_date() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "gen_action_docs.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr


def test_docs_list_every_input_and_output() -> None:
    text = (REPO / "docs" / "actions.md").read_text(encoding="utf-8")
    for path in ACTION_FILES:
        doc = load_yaml(path)
        for kind in ("inputs", "outputs"):
            for name in doc.get(kind) or {}:
                assert f"| `{name}` |" in text, f"{name} of {path} missing from docs/actions.md"
    for name in REUSABLE_WORKFLOWS:
        assert f"### `{name}`" in text
        call = load_yaml(REPO / ".github" / "workflows" / name)["on"]["workflow_call"]
        for kind in ("inputs", "secrets", "outputs"):
            for key in call.get(kind) or {}:
                assert f"| `{key}` |" in text


def test_check_mode_reports_a_stale_file(tmp_path, monkeypatch) -> None:
    import shutil

    root = tmp_path / "repo"
    shutil.copytree(REPO / "actions", root / "actions")
    shutil.copytree(REPO / ".github", root / ".github")
    (root / "docs").mkdir()
    for path, text in gen_action_docs.generated(REPO).items():
        target = root / path.relative_to(REPO)
        target.write_text(text, encoding="utf-8")
    lint = root / "actions" / "lint" / "action.yml"
    lint.write_text(
        lint.read_text().replace("Space-separated module paths", "Module paths"), encoding="utf-8"
    )
    stale = {p.relative_to(root) for p, t in gen_action_docs.generated(root).items() if p.read_text() != t}
    assert {p.as_posix() for p in stale} == {"action.yml", "docs/actions.md"}


def test_readme_lists_every_action_input_and_output() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index(gen_action_docs.README_BEGIN) : readme.index(gen_action_docs.README_END)]
    for path in ACTION_FILES:
        doc = load_yaml(path)
        for kind in ("inputs", "outputs"):
            for name in doc.get(kind) or {}:
                assert f"`{name}`" in section, f"{name} of {path} missing from README.md"
