"""GitHub REST + GraphQL emulator for tests (never imported by product code).

``GitHubEmulator`` (``server.py``) runs a real threaded HTTP server on a free 127.0.0.1 port,
keeps state in memory and bare git repositories on disk, and supports fault injection
(``faults.py``). Response key sets are checked against GitHub responses recorded in PyGithub's
public replay data (``reference_shapes.json``).
"""

from emulator.faults import Faults, Limits
from emulator.server import GitHubEmulator, LogEntry

__all__ = ["Faults", "GitHubEmulator", "Limits", "LogEntry"]
