"""Release notes: entries, migration sections, merge subjects (catalog_ops.release.notes)."""

from __future__ import annotations

from catalog_ops.release.notes import extract_migration


def test_extract_migration() -> None:
    body = (
        "Summary\n\n## Migration\n\n<!-- describe the steps -->\nRename `id` to `vpc_id`.\n\n"
        "### Details\nmore\n\n## Testing\nran it\n\n## Migration guide\nSecond.\n"
    )
    assert extract_migration(body) == ("Rename `id` to `vpc_id`.\n\n### Details\nmore", "Second.")
    assert extract_migration("## Migration\n<!-- nothing -->\n") == ()
    assert extract_migration(None) == ()
