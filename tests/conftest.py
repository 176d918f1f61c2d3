"""Test configuration: fixture plugins live in ``tests/fixtures/<area>.py``."""

pytest_plugins = [
    "fixtures.gitrepo",
    "fixtures.tools",
    "fixtures.refs",
    "fixtures.forge",
    "fixtures.emulator",
    "fixtures.release",
    "fixtures.rollout",
    "fixtures.checks",
    "fixtures.sweep",
    "fixtures.workflows",
]
