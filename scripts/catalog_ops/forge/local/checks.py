"""The local forge's CI simulator: a PR's checks run as a local command on an export of its head.

The command is ``LocalChecks.command`` (a shell command; environment below) or, when None, the
built-in default ``<tf> fmt -check`` then ``<tf> init -backend=false`` and ``<tf> validate`` in
every changed directory containing ``*.tf``, ``*.tf.json`` or ``*.tofu`` files; when there is none
(e.g. only Terragrunt files changed) no check runs (``ChecksState.NONE``, never a success). Exit status 0 means success. The export is
``git archive`` of the PR head (through ``catalog_ops.gitutil``).
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from pathlib import Path

from catalog_ops import gitutil
from catalog_ops.forge.base import ChecksState, PullRequest
from catalog_ops.toolchain import tool_env, without_credentials

OUTPUT_TAIL = 8000
"""Characters of checks output kept in the record (the end of it)."""


class LocalChecks:
    """Runs a PR's checks locally.

    Args:
        command: shell command run in an export of the PR head; None selects the built-in
            Terraform default (fmt -check, init -backend=false, validate on changed directories).
            Environment given to it: ``CATALOG_OPS_REPO``, ``CATALOG_OPS_PR_NUMBER``,
            ``CATALOG_OPS_BASE_REF``, ``CATALOG_OPS_HEAD_SHA``, ``CATALOG_OPS_CHANGED_FILES`` and
            ``CATALOG_OPS_CHANGED_DIRS`` (newline-separated), over the caller's environment
            without credentials (``toolchain.without_credentials``: the command runs the PR's
            code, so no token or App credential reaches it); the built-in default runs the
            Terraform CLI with ``toolchain.tool_env``.
        tf_binary: ``terraform`` or ``tofu`` for the default checks.
        timeout: seconds before a checks run (or one default step) counts as failed.
    """

    def __init__(
        self, command: str | None = None, *, tf_binary: str = "terraform", timeout: float = 900.0
    ) -> None:
        self.command = command or None
        self.tf_binary = tf_binary
        self.timeout = timeout

    @property
    def label(self) -> str:
        """What runs, as cached in the record: the command, or ``builtin:<tf>``."""
        return self.command or f"builtin:{self.tf_binary}"

    def run(
        self, git_dir: Path, repo: str, pr: PullRequest, changed: list[str]
    ) -> tuple[ChecksState, int, str]:
        """Run the checks on ``pr.head_sha`` of ``repo`` (git directory ``git_dir``).

        Args:
            changed: repository-relative paths the PR changes.

        Returns:
            ``(state, exit code, output)``; the exit code is -1 after a timeout.

        Raises:
            ToolMissing: the default checks need ``tf_binary`` and it is not installed.
        """
        with tempfile.TemporaryDirectory(prefix="catalog-ops-checks-") as tmp:
            work = Path(tmp)
            archive = gitutil.run_git(["archive", "--format=tar", pr.head_sha], git_dir=git_dir).stdout
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                tar.extractall(work, filter="data")
            dirs = sorted({str(Path(p).parent) for p in changed})
            # the checks run the PR's code: no forge token or App credentials
            env = without_credentials()
            env.update(
                CATALOG_OPS_REPO=repo,
                CATALOG_OPS_PR_NUMBER=str(pr.number),
                CATALOG_OPS_BASE_REF=pr.base,
                CATALOG_OPS_HEAD_SHA=pr.head_sha,
                CATALOG_OPS_CHANGED_FILES="\n".join(changed),
                CATALOG_OPS_CHANGED_DIRS="\n".join(dirs),
            )
            if self.command:
                try:
                    proc = subprocess.run(
                        self.command,
                        shell=True,
                        cwd=work,
                        env=env,
                        capture_output=True,
                        timeout=self.timeout,
                        check=False,
                    )
                except subprocess.TimeoutExpired:
                    return ChecksState.FAILURE, -1, f"checks timed out after {self.timeout}s"
                out = (proc.stdout + proc.stderr).decode(errors="replace")
                return (
                    (ChecksState.SUCCESS if proc.returncode == 0 else ChecksState.FAILURE),
                    proc.returncode,
                    out,
                )
            return self._default_checks(work, dirs, env)

    def _default_checks(
        self, work: Path, dirs: list[str], env: dict[str, str]
    ) -> tuple[ChecksState, int, str]:
        tf_dirs = [
            d
            for d in dirs
            if (work / d).is_dir() and any(any((work / d).glob(g)) for g in ("*.tf", "*.tf.json", "*.tofu"))
        ]
        if not tf_dirs:
            # Nothing was checked: that is no check at all (the merge gate does not merge it),
            # never a success (issue 14: a Terragrunt-only change is not "tested").
            return (
                ChecksState.NONE,
                0,
                "no changed Terraform directories (*.tf, *.tf.json, *.tofu); no check ran\n",
            )
        from catalog_ops.toolchain import tf_cli

        tf = str(tf_cli(self.tf_binary))  # raises ToolMissing
        env = tool_env(env)
        env.setdefault("TF_IN_AUTOMATION", "1")
        log: list[str] = []
        for d in tf_dirs:
            for args in (
                ["fmt", "-check", "-diff", "-no-color"],
                ["init", "-backend=false", "-input=false", "-no-color"],
                ["validate", "-no-color"],
            ):
                log.append(f"$ cd {d} && {self.tf_binary} {' '.join(args)}\n")
                try:
                    proc = subprocess.run(
                        [tf, *args],
                        cwd=work / d,
                        env=env,
                        capture_output=True,
                        timeout=self.timeout,
                        check=False,
                    )
                except subprocess.TimeoutExpired:
                    log.append("timed out\n")
                    return ChecksState.FAILURE, -1, "".join(log)
                log.append((proc.stdout + proc.stderr).decode(errors="replace"))
                if proc.returncode != 0:
                    return ChecksState.FAILURE, proc.returncode, "".join(log)
        return ChecksState.SUCCESS, 0, "".join(log)
