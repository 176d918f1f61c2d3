"""Migration patches shipped with the catalog (docs/migrations.md).

* ``model``: ``Migration``, ``Step``, ``StepKind``, the limits, ``covers``/``for_update``;
* ``load``: patch files (YAML, ``path:line:col`` errors) from bytes, a tree or a git tag;
* ``apply``: ``apply_migrations`` — steps as byte-exact ``core.edits`` spans over a consumer.
"""

from catalog_ops.migrate.apply import MigrationResult, StepOutcome, apply_migrations
from catalog_ops.migrate.load import load_at, load_files, load_tree, parse_migration
from catalog_ops.migrate.model import Migration, Step, StepKind, covers, for_update

__all__ = [
    "Migration",
    "MigrationResult",
    "Step",
    "StepKind",
    "StepOutcome",
    "apply_migrations",
    "covers",
    "for_update",
    "load_at",
    "load_files",
    "load_tree",
    "parse_migration",
]
