"""The one template environment: its whitespace rules, filters and override mechanism."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

from catalog_ops.errors import UsageError
from catalog_ops.render.templates import (
    BUNDLED_DIR,
    CHECK_REPORT,
    PR_TITLE,
    RELEASE_NOTES,
    Overrides,
    environment,
    error_location,
    render,
)


def test_every_bundled_template_compiles_in_the_one_environment() -> None:
    env = environment()
    names = sorted(p.name for p in BUNDLED_DIR.glob("*.j2"))
    assert len(names) == 8 and "commands_comment.md.j2" in names
    for name in names:
        env.get_template(name)


def test_whitespace_rules_are_the_same_for_every_template() -> None:
    env = environment()
    text = env.from_string("{% for x in xs %}\n  {% if x %}\n- {{ x }}\n  {% endif %}\n{% endfor %}\nend\n")
    assert (
        text.render(xs=["a", "", "b"]) == "- a\n- b\nend\n"
    )  # trim_blocks + lstrip_blocks + trailing newline
    assert env.from_string("{{ x }}{% if 1 +%}\n{% endif %}").render(x=1) == "1\n"  # "+%}" keeps the newline
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ nope }}").render()


def test_filters_are_the_markdown_escapes() -> None:
    env = environment()
    assert env.from_string("{{ xs | map('code') | join(', ') }}").render(xs=["a", "b"]) == "`a`, `b`"
    assert env.from_string("{{ x | md }}|{{ x | md_cell }}|{{ x | md_plain }}").render(x="a|<b>") == (
        "a|&lt;b>|a\\|&lt;b>|a\\|<b>"
    )


def test_directory_override_falls_back_to_the_bundled_templates(tmp_path: Path) -> None:
    (tmp_path / PR_TITLE).write_text("custom {{ target }}")
    env = environment(Overrides.dir(tmp_path))
    assert env.get_template(PR_TITLE).render(target="v2") == "custom v2"
    assert env.get_template(CHECK_REPORT).filename == str(BUNDLED_DIR / CHECK_REPORT)
    with pytest.raises(UsageError, match=r"--template-dir .*/missing: no such directory"):
        environment(Overrides.dir(tmp_path / "missing"))


def test_file_override_names_the_users_file_in_errors(tmp_path: Path) -> None:
    tpl = tmp_path / "notes.md.j2"
    tpl.write_text("line one\n{{ release.tag }}\n{{ nope }}\n")
    template = environment(Overrides.file(RELEASE_NOTES, tpl)).get_template(RELEASE_NOTES)
    assert template.filename == str(tpl)
    with pytest.raises(jinja2.UndefinedError) as exc:
        template.render(release={"tag": "v1"})
    assert error_location(exc.value, template) == (str(tpl), 3)
    tpl.write_text("line one\n{% for x in %}\n")
    with pytest.raises(jinja2.TemplateSyntaxError) as syntax:
        environment(Overrides.file(RELEASE_NOTES, tpl)).get_template(RELEASE_NOTES)
    assert error_location(syntax.value) == (str(tpl), 2)
    with pytest.raises(OSError):
        environment(Overrides.file(RELEASE_NOTES, tmp_path / "missing.j2")).get_template(RELEASE_NOTES)


def test_render_uses_the_bundled_template_without_overrides() -> None:
    assert render(
        "superseded_comment.md.j2", {"reason": "R.", "release": "", "catalog": "c", "marker": "<!-- m -->"}
    ) == ("Closing: this PR is superseded. R.\n\n\n\n<!-- m -->\n")


def test_no_other_module_builds_a_jinja_environment() -> None:
    package = Path(__file__).resolve().parents[2] / "scripts" / "catalog_ops"
    builders = sorted(
        str(p.relative_to(package))
        for p in package.rglob("*.py")
        if "jinja2.Environment(" in p.read_text(encoding="utf-8")
    )
    assert builders == ["render/templates.py"]


def test_non_utf8_template_is_a_syntax_error_at_the_bad_line(tmp_path: Path) -> None:
    from catalog_ops.rollout.prtext import check_templates

    (tmp_path / PR_TITLE).write_bytes(b"chore: bump\n{{ x }} caf\xe9\n")
    with pytest.raises(UsageError) as caught:
        check_templates(environment(Overrides.dir(tmp_path)))
    assert str(caught.value).startswith(f"{tmp_path / PR_TITLE}:2: template syntax error: not UTF-8")
    assert caught.value.exit_code == 2
    tpl = tmp_path / "notes.md.j2"
    tpl.write_bytes(b"\xff\n")
    with pytest.raises(jinja2.TemplateSyntaxError) as syntax:
        environment(Overrides.file(RELEASE_NOTES, tpl)).get_template(RELEASE_NOTES)
    assert error_location(syntax.value) == (str(tpl), 1)
