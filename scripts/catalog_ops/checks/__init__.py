"""Catalog PR checks: affected modules, lint, Terratest, OPA policy, and the combined report.

Each check writes a results JSON file (see ``catalog_ops.checks.results``) that ``check report``
combines into one Markdown summary and sticky PR comment. User docs: ``docs/checks.md``.
"""
