"""Thin wrappers over the ``git`` CLI (subprocess with an argument list, never a shell).

The only module that runs git: everything else (local forge, release history, affected-module
detection, registry tag listing) calls these helpers. Used by the local forge (bare repositories built with plumbing commands) and by anything that
needs real history. Every failure becomes ``GitError`` carrying the command (without any URL
credentials) and git's stderr.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from catalog_ops.errors import CatalogOpsError

ZERO_SHA = "0" * 40
_CRED_RE = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)

#: Identity used for commits the local forge makes when the environment sets none.
DEFAULT_IDENTITY = {
    "GIT_AUTHOR_NAME": "catalog-ops",
    "GIT_AUTHOR_EMAIL": "catalog-ops@localhost",
    "GIT_COMMITTER_NAME": "catalog-ops",
    "GIT_COMMITTER_EMAIL": "catalog-ops@localhost",
}


class GitError(CatalogOpsError):
    """A git command failed. ``returncode`` and ``stderr`` are kept for callers that branch on them."""

    def __init__(self, args: Sequence[str], returncode: int, stderr: str) -> None:
        shown = " ".join(redact(a) for a in args)
        super().__init__(f"git {shown} failed ({returncode}): {redact(stderr.strip())[:2000]}")
        self.returncode = returncode
        self.stderr = stderr


class GitTimeout(GitError):
    """A git command ran longer than its ``timeout`` (seconds, kept as ``seconds``) and was killed."""

    def __init__(self, args: Sequence[str], seconds: float) -> None:
        super().__init__(args, -1, f"timed out after {seconds:g}s")
        self.seconds = seconds


def http_auth_env(
    url: str, username: str, password: str, *, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Environment that makes git authenticate to ``url``'s host without the secret in a URL.

    git reads extra configuration from ``GIT_CONFIG_COUNT`` / ``GIT_CONFIG_KEY_<n>`` /
    ``GIT_CONFIG_VALUE_<n>`` (git-config(1), ENVIRONMENT: https://git-scm.com/docs/git-config),
    so the credential lives only in the environment of the git processes that need it: never in
    argv (``ps``, ``/proc/<pid>/cmdline``), never in a clone's ``.git/config`` that a killed run
    leaves behind, never in a credentials file. Three entries are appended after the ones ``base``
    already has: ``http.<scheme>://<host>/.extraHeader`` set to the empty string (git docs:
    "An empty value will reset the extra headers to the empty list", so an ``AUTHORIZATION``
    header that actions/checkout persisted is not sent as well), then
    ``Authorization: Basic base64(username:password)`` (RFC 7617), then
    ``http.<scheme>://<host>/.followRedirects`` = ``false``: with git's default (``initial``) a
    redirect of the first request moves the remote's base URL to the redirect's target, and git
    sends its extra headers with every later request there (curl strips an ``Authorization`` only
    on the redirect it follows itself), so a redirect to another host would receive the token.
    GitHub takes an installation
    token or PAT as the HTTP password of user ``x-access-token`` ("Authenticating as a GitHub App
    installation": https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/authenticating-as-a-github-app-installation).

    Args:
        url: the remote (``https://host[:port]/...``; ``http://`` only for loopback test servers).
            The header is scoped to its scheme, host and port, so no other host receives it.
        username / password: the credentials (e.g. ``"x-access-token"``, the token).
        base: the environment git would otherwise get (default ``os.environ``), for the index.

    Returns:
        ``{"GIT_CONFIG_COUNT": ..., "GIT_CONFIG_KEY_<n>": ..., "GIT_CONFIG_VALUE_<n>": ...}``, to
        merge over ``base`` (``run_git(env=...)`` does that).

    Raises:
        ValueError: ``url`` is not an absolute http(s) URL, or ``base`` has a non-numeric
            ``GIT_CONFIG_COUNT``.
    """
    import base64
    import urllib.parse

    base = os.environ if base is None else base
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {redact(url)}")
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    raw = (base.get("GIT_CONFIG_COUNT") or "0").strip()
    if not raw.isdigit():
        raise ValueError(f"GIT_CONFIG_COUNT is not a number: {raw!r}")
    n = int(raw)
    prefix = f"http.{parts.scheme}://{host}/"
    key = f"{prefix}.extraHeader"
    basic = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return {
        "GIT_CONFIG_COUNT": str(n + 3),
        f"GIT_CONFIG_KEY_{n}": key,
        f"GIT_CONFIG_VALUE_{n}": "",
        f"GIT_CONFIG_KEY_{n + 1}": key,
        f"GIT_CONFIG_VALUE_{n + 1}": f"Authorization: Basic {basic}",
        f"GIT_CONFIG_KEY_{n + 2}": f"{prefix}.followRedirects",
        f"GIT_CONFIG_VALUE_{n + 2}": "false",
    }


def append_git_config(base: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    """The variables to merge over ``base`` so that git sees ``base``'s own ``GIT_CONFIG_*``
    entries *and* ``extra``'s, ``extra``'s numbered after ``base``'s.

    ``extra`` is what ``http_auth_env`` / a forge's ``git_auth_env`` returned (computed against
    the process environment); ``base`` is the environment the git process will really get, which
    may carry entries of its own (a user's ``url.<base>.insteadOf`` rewrite in
    ``GIT_CONFIG_COUNT``/``KEY_0``/``VALUE_0``). Merging the two dicts naively would let one
    overwrite the other's ``KEY_0``; this renumbers ``extra``'s entries (in their index order)
    from ``base``'s ``GIT_CONFIG_COUNT`` on (git-config(1), ENVIRONMENT:
    https://git-scm.com/docs/git-config). Other variables of ``extra`` are kept as they are.

    Args:
        base: the git process's environment (``GIT_CONFIG_COUNT`` absent means 0).
        extra: variables to add (``GIT_CONFIG_KEY_<i>``/``VALUE_<i>`` pairs and others).

    Returns:
        ``{}`` when ``extra`` is empty, else the variables to set over ``base``.

    Raises:
        ValueError: ``base`` has a non-numeric ``GIT_CONFIG_COUNT``.
    """
    if not extra:
        return {}
    raw = (base.get("GIT_CONFIG_COUNT") or "0").strip()
    if not raw.isdigit():
        raise ValueError(f"GIT_CONFIG_COUNT is not a number: {raw!r}")
    n = int(raw)
    out = {k: v for k, v in extra.items() if not k.startswith("GIT_CONFIG_")}
    indices = sorted(
        int(k[len("GIT_CONFIG_KEY_") :]) for k in extra if re.fullmatch(r"GIT_CONFIG_KEY_\d+", k)
    )
    for i, index in enumerate(indices):
        out[f"GIT_CONFIG_KEY_{n + i}"] = extra[f"GIT_CONFIG_KEY_{index}"]
        out[f"GIT_CONFIG_VALUE_{n + i}"] = extra.get(f"GIT_CONFIG_VALUE_{index}", "")
    out["GIT_CONFIG_COUNT"] = str(n + len(indices))
    return out


def header_secrets(env: Mapping[str, str]) -> list[str]:
    """The secret parts of the ``Authorization`` headers ``env`` hands git through
    ``GIT_CONFIG_VALUE_<n>`` (``http_auth_env``): the encoded credential and, for ``Basic``, its
    decoded ``user:password`` and password. For scrubbing messages (``scrub``); longest first."""
    import base64
    import binascii

    found: set[str] = set()
    for key, value in env.items():
        if not key.startswith("GIT_CONFIG_VALUE_"):
            continue
        name, sep, header = value.partition(":")
        if not sep or name.strip().lower() != "authorization":
            continue
        scheme, _, cred = header.strip().partition(" ")
        cred = cred.strip()
        if not cred:
            continue
        found.add(cred)
        if scheme.lower() == "basic":
            try:
                pair = base64.b64decode(cred, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                continue
            found.add(pair)
            password = pair.partition(":")[2]
            if password:
                found.add(password)
    return sorted(found, key=len, reverse=True)


def scrub(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every secret of ``secrets`` replaced by ``***`` and URL credentials removed
    (``redact``)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return redact(text)


def redact(text: str) -> str:
    """Remove ``user:password@`` from any URL inside ``text`` (so tokens never reach logs)."""
    return _CRED_RE.sub(r"\g<scheme>***@", text)


@functools.cache
def git_binary() -> str:
    """Path of the pinned/installed ``git``. Raises ToolMissing when there is none."""
    from catalog_ops.toolchain import which

    return str(which("git"))


def git_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for git: the caller's, the default identity where unset, no prompts, no pager."""
    env = dict(os.environ)
    for key, value in DEFAULT_IDENTITY.items():
        env.setdefault(key, value)
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["GIT_PAGER"] = "cat"
    env.pop("GIT_INDEX_FILE", None)
    env.pop("GIT_DIR", None)
    env.pop("GIT_WORK_TREE", None)
    if extra:
        env.update(extra)
    return env


def run_git(
    args: Sequence[str],
    *,
    cwd: Path | None = None,
    git_dir: Path | None = None,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    git: str | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``git [--git-dir=GIT_DIR] ARGS`` and return the completed process (bytes output).

    Args:
        args: git arguments, e.g. ``["rev-parse", "HEAD"]``.
        cwd: working directory.
        git_dir: repository (bare or ``.git``) to operate on.
        input: bytes for stdin.
        env: extra environment variables (merged over ``git_env()``).
        check: raise ``GitError`` on non-zero exit.
        git: the git binary to run (default ``git_binary()``, the pinned/installed one).
        timeout: seconds before the command is killed (None: no limit).

    Raises:
        GitError: non-zero exit with ``check``. GitTimeout: ``timeout`` passed.
        ToolMissing: no git is installed (only when ``git`` is not given).
    """
    cmd = [git or git_binary()]
    if git_dir is not None:
        cmd.append(f"--git-dir={git_dir}")
    cmd.extend(args)
    try:
        proc = subprocess.run(
            cmd, cwd=cwd, input=input, env=git_env(env), capture_output=True, check=False, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        raise GitTimeout(list(args), timeout or 0.0) from None
    if check and proc.returncode != 0:
        raise GitError(list(args), proc.returncode, proc.stderr.decode(errors="replace"))
    return proc


def git_out(args: Sequence[str], **kwargs: object) -> str:
    """``run_git`` and return stdout decoded as UTF-8, trailing whitespace stripped."""
    proc = run_git(args, **kwargs)  # type: ignore[arg-type]
    return proc.stdout.decode("utf-8", errors="replace").rstrip()


def resolve_git_dir(path: Path) -> Path:
    """The git directory of ``path``: ``path/.git`` for a work tree, ``path`` for a bare repo."""
    dot = path / ".git"
    return dot if dot.is_dir() else path


def is_git_dir(path: Path) -> bool:
    """True when ``path`` is a bare repository or a work tree with ``.git``."""
    gd = resolve_git_dir(path)
    return (gd / "HEAD").is_file() and (gd / "objects").is_dir()


def init_bare(path: Path, *, default_branch: str = "main") -> None:
    """Create an empty bare repository whose HEAD names ``default_branch``."""
    path.mkdir(parents=True, exist_ok=True)
    run_git(["init", "-q", "--bare", f"--initial-branch={default_branch}", str(path)])


def rev_parse(git_dir: Path, rev: str) -> str | None:
    """Object id of ``rev`` peeled to a commit, or None when it does not resolve."""
    proc = run_git(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], git_dir=git_dir, check=False)
    if proc.returncode != 0:
        return None
    return proc.stdout.decode().strip()


def commit_parents_message(git_dir: Path, sha: str) -> tuple[tuple[str, ...], str] | None:
    """``(parents, message)`` of commit ``sha`` (``git cat-file commit``), or None when absent."""
    proc = run_git(["cat-file", "commit", sha], git_dir=git_dir, check=False)
    if proc.returncode != 0:
        return None
    head, _, message = proc.stdout.partition(b"\n\n")
    parents = tuple(line.split()[1].decode() for line in head.splitlines() if line.startswith(b"parent "))
    return parents, message.decode("utf-8", errors="replace")


def is_ancestor(git_dir: Path, ancestor: str, descendant: str) -> bool:
    """``git merge-base --is-ancestor``."""
    proc = run_git(["merge-base", "--is-ancestor", ancestor, descendant], git_dir=git_dir, check=False)
    return proc.returncode == 0


def list_tree(git_dir: Path, rev: str, *, env: Mapping[str, str] | None = None) -> list[str]:
    """Paths of all blobs (and submodule links) at ``rev``, recursive, in git's order."""
    out = run_git(["ls-tree", "-r", "-z", "--name-only", rev], git_dir=git_dir, env=env).stdout
    return [p.decode("utf-8", errors="surrogateescape") for p in out.split(b"\0") if p]


def read_objects(
    git_dir: Path, names: Sequence[str], *, env: Mapping[str, str] | None = None
) -> list[tuple[str, str, bytes] | None]:
    """Many objects in one ``git cat-file --batch`` process (git-cat-file(1), BATCH OUTPUT).

    Args:
        names: object names, one per entry (``"<oid>"``, ``"<commit>^{tree}"``); none may hold a
            newline (git reads one per line).

    Returns:
        One entry per name, in order: ``(object id, type, contents)`` (``type`` ``"blob"``,
        ``"tree"``, ``"commit"`` or ``"tag"``; a tree's contents are git's binary entries), or None
        when the name does not resolve (git answers ``<name> missing``).

    Raises:
        GitError: git fails, or its answer does not parse.
        ValueError: a name holds a newline.
    """
    if any("\n" in n for n in names):
        raise ValueError("object names must not contain a newline")
    if not names:
        return []
    data = run_git(
        ["cat-file", "--batch"], git_dir=git_dir, input="".join(f"{n}\n" for n in names).encode(), env=env
    ).stdout
    out: list[tuple[str, str, bytes] | None] = []
    pos = 0
    for _name in names:
        end = data.find(b"\n", pos)
        if end < 0:
            raise GitError(["cat-file", "--batch"], 0, "truncated answer")
        header = data[pos:end].decode("utf-8", errors="surrogateescape").split(" ")
        pos = end + 1
        if len(header) != 3 or not header[2].isdigit():
            out.append(None)  # "<name> missing" / "<name> ambiguous"
            continue
        size = int(header[2])
        out.append((header[0], header[1], data[pos : pos + size]))
        pos += size + 1  # the contents are followed by a newline
    return out


def read_blob(git_dir: Path, rev: str, path: str) -> bytes | None:
    """Bytes of ``path`` at ``rev``; None when missing or not a file."""
    proc = run_git(["cat-file", "blob", f"{rev}:{path}"], git_dir=git_dir, check=False)
    if proc.returncode != 0:
        return None
    return proc.stdout


def changed_paths(
    git_dir: Path,
    base: str,
    head: str,
    *,
    since_merge_base: bool = True,
    env: Mapping[str, str] | None = None,
) -> list[str]:
    """Paths that differ between the merge base of ``base``/``head`` and ``head`` (``base...head``),
    or with ``since_merge_base=False`` between ``base`` and ``head`` themselves (``base head``).
    Deleted and renamed-away paths are included (``--no-renames``). Raises GitError."""
    revs = [f"{base}...{head}"] if since_merge_base else [base, head]
    out = run_git(["diff", "--name-only", "-z", "--no-renames", *revs], git_dir=git_dir, env=env).stdout
    return [p.decode("utf-8", errors="surrogateescape") for p in out.split(b"\0") if p]


def clone(url: str, dest: Path, *, env: Mapping[str, str] | None = None) -> None:
    """``git clone --quiet --no-checkout URL DEST`` (all branches and tags, no work tree files yet).

    Raises:
        GitError: git failed (the message carries git's stderr with URL credentials redacted).
    """
    run_git(["clone", "--quiet", "--no-checkout", url, str(dest)], env=env)


def commit_tree_changes(
    git_dir: Path,
    *,
    parent: str | None,
    message: str,
    changes: Sequence[tuple[str, bytes | None]],
    index_file: Path,
    env: Mapping[str, str] | None = None,
) -> str:
    """Build one commit with plumbing only (no work tree) and return its id (no ref is moved).

    The parent's tree is read into a private index (``GIT_INDEX_FILE=index_file``), each change
    is written with ``hash-object -w`` and staged with ``update-index --index-info`` (keeping an
    existing file's mode, 100644 for new files), deletions are removed, then ``write-tree`` and
    ``commit-tree``.

    Args:
        parent: parent commit id, or None for a root commit.
        changes: ``(path, bytes)`` to write or ``(path, None)`` to delete.
        index_file: scratch path for the temporary index (removed afterwards).
    """
    ienv = dict(env or {})
    ienv["GIT_INDEX_FILE"] = str(index_file)
    try:
        if parent:
            run_git(["read-tree", parent], git_dir=git_dir, env=ienv)
        else:
            run_git(["read-tree", "--empty"], git_dir=git_dir, env=ienv)
        modes: dict[str, str] = {}
        paths = [p for p, _ in changes]
        if parent and paths:
            out = run_git(["ls-tree", "-z", parent, "--", *paths], git_dir=git_dir).stdout
            for entry in out.split(b"\0"):
                if not entry:
                    continue
                meta, _, name = entry.partition(b"\t")
                modes[name.decode("utf-8", errors="surrogateescape")] = meta.split(b" ")[0].decode()
        lines: list[str] = []
        for path, content in changes:
            path = path.strip("/")
            if content is None:
                lines.append(f"0 {ZERO_SHA}\t{path}")
                continue
            blob = (
                run_git(["hash-object", "-w", "--stdin"], git_dir=git_dir, input=content)
                .stdout.decode()
                .strip()
            )
            mode = modes.get(path, "100644")
            if mode not in ("100644", "100755"):
                mode = "100644"
            lines.append(f"{mode} {blob}\t{path}")
        if lines:
            data = ("\0".join(lines) + "\0").encode("utf-8", errors="surrogateescape")
            run_git(["update-index", "-z", "--index-info"], git_dir=git_dir, input=data, env=ienv)
        tree = run_git(["write-tree"], git_dir=git_dir, env=ienv).stdout.decode().strip()
        args = ["commit-tree", tree]
        if parent:
            args += ["-p", parent]
        return (
            run_git([*args, "-F", "-"], git_dir=git_dir, input=message.encode(), env=env)
            .stdout.decode()
            .strip()
        )
    finally:
        index_file.unlink(missing_ok=True)


def update_ref(git_dir: Path, ref: str, new: str, old: str | None = None) -> None:
    """Point ``ref`` at ``new`` (atomically; when ``old`` is given, only if it still holds ``old``)."""
    args = ["update-ref", ref, new]
    if old is not None:
        args.append(old)
    run_git(args, git_dir=git_dir)


def show_prefix(path: Path) -> str:
    """Path of ``path`` inside its git work tree, without slashes at either end (``git rev-parse
    --show-prefix``); ``""`` at the top of the work tree, outside git, or when git is missing."""
    from catalog_ops.errors import ToolMissing

    try:
        proc = run_git(["rev-parse", "--show-prefix"], cwd=path, check=False, timeout=30)
    except (GitError, ToolMissing, OSError):
        return ""
    return proc.stdout.decode("utf-8", errors="replace").strip().strip("/") if proc.returncode == 0 else ""


def ls_remote_tags(
    url: str, *, timeout: float | None = None, env: Mapping[str, str] | None = None
) -> list[str]:
    """Tag names of the remote at ``url`` (``git ls-remote --tags --refs``), in git's order.

    Args:
        url: any URL git accepts; may carry credentials (they never reach error messages).
        timeout: seconds before giving up. env: extra environment (merged over ``git_env()``).

    Raises:
        GitTimeout: ``timeout`` passed. GitError: git failed (``stderr`` kept, message redacted).
        ToolMissing: git is not installed.
    """
    proc = run_git(["ls-remote", "--tags", "--refs", "--", url], env=env, timeout=timeout)
    tags = []
    for line in proc.stdout.decode("utf-8", errors="replace").splitlines():
        _, _, ref = line.partition("\t")
        if ref.startswith("refs/tags/"):
            tags.append(ref[len("refs/tags/") :])
    return tags
