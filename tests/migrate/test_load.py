"""migrate.load / migrate.model: the patch schema, its errors (path:line:col) and covers()."""

from __future__ import annotations

import pytest

from catalog_ops.core.versions import parse_version
from catalog_ops.errors import ConfigError
from catalog_ops.migrate import covers, for_update, load_files, parse_migration
from catalog_ops.migrate.model import MAX_STEPS, Migration

P = "modules/vpc/migrations/rename.yml"


def v(text: str):
    version = parse_version(text)
    assert version is not None
    return version


def test_parse_round_trips_through_json() -> None:
    m = parse_migration(
        "schema: 1\nrelease: 3.0.0\ndescription: Rename cidr\nsteps:\n"
        "  - kind: rename_input\n    from: cidr\n    to: cidr_block\n"
        "  - kind: add_input\n    name: tags\n    value: {a: 1}\n",
        P,
    )
    assert m.module == "modules/vpc" and m.name == "rename" and str(m.release) == "3.0.0"
    assert [s.describe() for s in m.steps] == ["rename input cidr -> cidr_block", 'add input tags = {"a": 1}']
    assert Migration.from_json(m.to_json()) == m


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("release: 3.0.0\nsteps: []\n", f"{P}:1:1: missing key 'schema'"),
        (
            "schema: 2\nrelease: 3.0.0\nsteps: []\n",
            f"{P}:1:9: key 'schema': this version of catalog-ops reads schema 1",
        ),
        ("schema: 1\nsteps:\n  - kind: x\n", f"{P}:1:1: give exactly one of 'release' or 'applies_to'"),
        ("schema: 1\nrelease: three\nsteps: []\n", f"{P}:2:10: key 'release': not a semantic version"),
        ("schema: 1\nrelease: 3.0.0\nsteps: []\n", f"{P}:3:8: key 'steps': must be a non-empty list"),
        ("schema: 1\nrelease: 3.0.0\nbogus: 1\nsteps: []\n", f"{P}:3:1: unknown key 'bogus'"),
        ("schema: 1\nrelease: 3.0.0\nsteps:\n  - kind: rename\n", f"{P}:4:11: key 'kind': must be one of"),
        (
            "schema: 1\nrelease: 3.0.0\nsteps:\n  - kind: rename_input\n    from: count\n    to: n\n",
            f"{P}:5:11: key 'from': 'count' is a module meta-argument",
        ),
        (
            'schema: 1\nrelease: 3.0.0\nsteps:\n  - kind: add_input\n    name: a\n    expression: "x }\\n{"\n',
            f"{P}:6:17: key 'expression': must be one line",
        ),
        (
            "schema: 1\nrelease: 3.0.0\nsteps:\n  - kind: change_source_subdir\n    from: modules/a\n    to: ../x\n",
            f"{P}:6:9: key 'to': '../x' is not a module subdirectory",
        ),
        ("schema: 1\napplies_to: '>= 3 <'\nsteps: []\n", f"{P}:2:13: key 'applies_to':"),
        ("[1, 2]\n", f"{P}:1:1: a patch file must be a mapping"),
        ("schema: 1\nrelease: [\n", f"{P}:3:1: invalid YAML"),
    ],
)
def test_schema_errors_name_file_line_col(text: str, error: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_migration(text, P)
    assert str(exc.value).startswith(error)


def test_limits() -> None:
    steps = "".join(f"  - kind: remove_input\n    name: a{i}\n" for i in range(MAX_STEPS + 1))
    with pytest.raises(ConfigError, match=f"more than {MAX_STEPS} steps"):
        parse_migration("schema: 1\nrelease: 3.0.0\nsteps:\n" + steps, P)
    with pytest.raises(ConfigError, match="larger than"):
        parse_migration(b"#" * (64 * 1024 + 1), P)


def test_load_files_keeps_going_after_a_bad_file() -> None:
    good = b"schema: 1\nrelease: 2.0.0\nsteps:\n  - kind: remove_input\n    name: a\n"
    migrations, errors = load_files(
        {
            "modules/a/migrations/1.yml": good,
            "modules/a/migrations/2.yml": b"schema: 7\n",
            "migrations/root.yml": good,
            "modules/a/main.tf": b"",
        }
    )
    assert [(m.module, m.name) for m in migrations] == [(".", "root"), ("modules/a", "1")]
    assert len(errors) == 1 and errors[0].startswith("modules/a/migrations/2.yml:1:9:")


def test_covers_and_for_update_order() -> None:
    base = "schema: 1\n{}\nsteps:\n  - kind: remove_input\n    name: a\n"
    m3 = parse_migration(base.format("release: 3.0.0"), "modules/a/migrations/b.yml")
    m2 = parse_migration(base.format("applies_to: '>= 2.0.0, < 3.0.0'"), "modules/a/migrations/z.yml")
    pool = [m3, m2]
    assert covers(pool, "modules/a", v("3.0.0")) and covers(pool, "modules/a", v("v2.1.0"))
    assert not covers(pool, "modules/a", v("4.0.0")) and not covers(pool, "modules/b", v("3.0.0"))
    patches, uncovered = for_update(pool, "modules/a", [v("4.0.0"), v("3.0.0"), v("2.0.0")])
    assert [p.name for p in patches] == ["z", "b"]
    assert [str(u) for u in uncovered] == ["4.0.0"]
