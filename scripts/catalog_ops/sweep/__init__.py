"""Dependency sweep of the catalog: what it depends on, what is newer, and the update PRs.

``config`` (the ``sweep:`` section) -> ``collect`` (files -> dependencies, pure) ->
``resolve`` (available versions: ``registry`` protocol client, forge releases, git tags) ->
``plan`` (targets, byte-exact edits, PR grouping, pure) -> ``apply`` (forge commits and PRs)
-> ``report`` (JSON, step summary, table). ``model`` holds the values passed between them.
"""
