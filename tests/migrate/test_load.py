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


ADD = "schema: 1\nrelease: 3.0.0\nsteps:\n  - kind: add_input\n    name: a\n    expression: {}\n"


@pytest.mark.parametrize(
    ("expression", "error"),
    [
        (
            "'var.a +'",
            "6:17: key 'expression': not exactly one HCL expression (incomplete, or more than one)",
        ),
        (
            "'var.a b'",
            "6:17: key 'expression': not exactly one HCL expression (incomplete, or more than one)",
        ),
        (
            "'var.a * * 2'",
            "6:17: key 'expression': not exactly one HCL expression (unexpected '* 2' at column 9",
        ),
        ("'f(1,,2)'", "6:17: key 'expression': not exactly one HCL expression (unexpected"),
        ("'(var.a'", "6:17: key 'expression': not an HCL expression (unexpected end of file"),
        ("'var.a }'", "6:17: key 'expression': not an HCL expression (unexpected '}')"),
        ("'a = 1'", "6:17: key 'expression': not exactly one HCL expression (unexpected '=' at column 2"),
        ("'var.a = 1'", "6:17: key 'expression': not exactly one HCL expression (unexpected '=' at column 6"),
        ("'var.a'", None),
        ("'var.a + 1'", None),
        ('\'var.on ? "a" : "b"\'', None),
        ("'merge(var.tags, {Name = \"x\"})'", None),
        ("'[for s in var.l : upper(s)]'", None),
        ("'\"${var.a}-x\"'", None),
    ],
)
def test_add_input_expression_is_exactly_one_hcl_expression(expression: str, error: str | None) -> None:
    text = ADD.format(expression)
    if error is None:
        assert parse_migration(text, P).steps[0].expression == parse_migration(text, P).steps[0].expression
        return
    with pytest.raises(ConfigError) as exc:
        parse_migration(text, P)
    assert str(exc.value).startswith(f"{P}:{error}"), str(exc.value)


def test_every_error_of_a_patch_file_in_one_run() -> None:
    text = (
        "schema: 1\n"
        "release: three\n"
        "bogus: 1\n"
        "steps:\n"
        "  - kind: add_input\n    name: count\n    expression: 'var.a +'\n"
        "  - kind: rename_input\n    from: a b\n    to: c\n    extra: 1\n"
        "  - kind: change_source_subdir\n    from: modules/a\n    to: ../x\n"
        "  - kind: rename\n"
        "  - kind: remove_input\n"
    )
    with pytest.raises(ConfigError) as exc:
        parse_migration(text, P)
    assert str(exc.value).splitlines() == [
        f"{P}:2:10: key 'release': not a semantic version like 3.0.0",
        f"{P}:3:1: unknown key 'bogus' (known: schema, release, applies_to, description, steps)",
        f"{P}:6:11: key 'name': 'count' is a module meta-argument, not an input",
        f"{P}:7:17: key 'expression': not exactly one HCL expression (incomplete, or more than one)",
        f"{P}:9:11: key 'from': 'a b' is not a Terraform identifier",
        f"{P}:11:12: rename_input: unknown key 'extra'",
        f"{P}:14:9: key 'to': '../x' is not a module subdirectory",
        f"{P}:15:11: key 'kind': must be one of rename_input, remove_input, add_input, change_source_subdir, "
        "rename_output, add_moved (got 'rename')",
        f"{P}:16:5: remove_input: missing key 'name'",
    ]
    migrations, errors = load_files({P: text.encode()})
    assert migrations == [] and len(errors) == 9 and errors[0].startswith(f"{P}:2:10:")


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
