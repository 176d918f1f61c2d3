"""Fan-out machinery shared by the commands that act on many repositories (rollout, dashboard, sweep)."""
