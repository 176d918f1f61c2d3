"""``check test``: run the catalog's Go Terratest tests mapped to modules, one log per test.

Mapping tests to modules (documented in ``docs/checks.md``):

* Convention: a top-level test ``Test<Camel>`` (or ``Test<Camel>_<anything>`` or
  ``Test<Camel><UpperCaseWord>...``) belongs to the module whose directory base name, written in
  CamelCase (``network-peering`` / ``network_peering`` -> ``NetworkPeering``), is the longest such
  prefix. ``TestNetworkPeering`` belongs to ``modules/network-peering`` when both it and
  ``modules/network`` exist, else to ``modules/network``.
* Override/extend in ``.catalog-ops.yml``: ``checks.tests: {modules/service: [TestService, TestE2E]}``
  (listed tests are added to the module's conventional ones).

Running: ``go test -json -count=1 -run '^(T1|T2)$' -timeout D -parallel N ./...`` in the test
directory (``checks.test_dir``, default ``test``) with ``TERRATEST_TERRAFORM_BINARY`` set to the
Terraform CLI in use. ``go test -json`` events (``cmd/test2json`` format: Action run/output/pass/
fail/skip, Test, Elapsed) are split per test; an output line beginning with a known test's name
(Terratest's logger prefix, as ``terratest_log_parser`` uses) goes to that test even when
test2json attributed it to another one. On timeout (Go's ``-timeout`` panic, or our outer limit
of D + 30 s after which the whole process group is killed) the tests that started but never
finished are reported with status ``timeout``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import os
import re
import signal
import subprocess
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from catalog_ops.checks.results import SCHEMA

_TEST_FUNC = re.compile(r"(?m)^func\s+(Test[A-Z0-9_]\w*|Test)\s*\(\s*\w+\s+\*testing\.T\s*\)")
_GRACE = 30.0


def camel(name: str) -> str:
    """CamelCase of a module base name: ``network-peering`` -> ``NetworkPeering``."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[-_.\s]+", name) if part)


def discover_tests(test_dir: Path) -> list[str]:
    """Top-level test function names in ``test_dir``'s ``*_test.go`` files (recursive), sorted."""
    names: set[str] = set()
    for f in sorted(test_dir.rglob("*_test.go")):
        if any(
            part.startswith((".", "_")) or part in ("vendor", "testdata")
            for part in f.relative_to(test_dir).parts[:-1]
        ):
            continue
        names.update(_TEST_FUNC.findall(f.read_text(encoding="utf-8", errors="replace")))
    names.discard("Test")
    return sorted(names)


def _belongs(test: str, prefix: str) -> bool:
    if not test.startswith(prefix):
        return False
    rest = test[len(prefix) :]
    return rest == "" or rest[0] == "_" or rest[0].isupper() or rest[0].isdigit()


def map_tests(
    tests: Iterable[str], modules: Sequence[str], overrides: Mapping[str, Sequence[str]] | None = None
) -> dict[str, list[str]]:
    """``{module: [test names]}`` for every module in ``modules`` (see the module docstring).

    Args:
        tests: discovered test names.
        modules: catalog module directories (``modules/vpc``).
        overrides: ``checks.tests`` from ``.catalog-ops.yml``: module -> extra test names.
    """
    result: dict[str, list[str]] = {m: [] for m in modules}
    prefixes = {m: "Test" + camel(m.rstrip("/").rsplit("/", 1)[-1]) for m in modules if m != "."}
    for t in tests:
        best = None
        for m, p in prefixes.items():
            if _belongs(t, p) and (best is None or len(p) > len(prefixes[best])):
                best = m
        if best is not None:
            result[best].append(t)
    for m, names in (overrides or {}).items():
        key = m.strip("/").removeprefix("./")
        if key in result:
            result[key].extend(n for n in names if n not in result[key])
    return {m: sorted(v) for m, v in result.items()}


@dataclasses.dataclass
class TestOutcome:
    """One top-level test: status ``passed|failed|skipped|timeout``, seconds, output text."""

    name: str
    package: str = ""
    status: str = "running"
    duration: float = 0.0
    output: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class GoTestRun:
    """Parsed ``go test -json`` stream."""

    tests: dict[str, TestOutcome]
    package_output: list[str]
    timed_out: bool
    build_failed: bool
    returncode: int | None


_RESULT_LINE = re.compile(r"^--- (?P<word>PASS|FAIL|SKIP): (?P<name>\S+) \((?P<secs>[0-9.]+)s\)")
_RESULT_STATUS = {"PASS": "passed", "FAIL": "failed", "SKIP": "skipped"}


def parse_go_test_json(
    lines: Iterable[str], *, killed: bool = False, returncode: int | None = 0
) -> GoTestRun:
    """Split ``go test -json`` events per top-level test.

    Subtests (``TestA/case``) are folded into their top-level test's log. Non-JSON lines (build
    errors printed by ``go`` itself) go to the package output. Tests that started and never
    finished get ``timeout`` when the run timed out (Go's ``panic: test timed out`` or
    ``killed``), else ``failed``.
    """
    tests: dict[str, TestOutcome] = {}
    package_output: list[str] = []
    timed_out = killed
    build_failed = False
    in_panic = False
    started: dict[str, datetime.datetime] = {}
    reported: dict[str, tuple[str, float]] = {}
    last_time: datetime.datetime | None = None
    for raw in lines:
        raw = raw.rstrip("\n")
        if not raw.strip():
            continue
        try:
            ev = json.loads(raw)
        except ValueError:
            package_output.append(raw + "\n")
            continue
        if not isinstance(ev, dict):
            continue
        action = ev.get("Action")
        test = ev.get("Test")
        when = _parse_time(ev.get("Time"))
        if when is not None:
            last_time = when
        top = test.split("/", 1)[0] if test else None
        if action == "build-output":
            package_output.append(ev.get("Output", ""))
            continue
        if action == "build-fail":
            build_failed = True
            continue
        if top and top not in tests:
            tests[top] = TestOutcome(name=top, package=ev.get("Package", ""))
            if when is not None:
                started[top] = when
        if action == "output":
            text = ev.get("Output", "")
            if "panic: test timed out after" in text:
                timed_out = in_panic = True
            if in_panic:
                # Go's timeout panic and goroutine dump (test2json attributes it to any test)
                package_output.append(text)
                if text.startswith(("FAIL\t", "ok  \t")):
                    in_panic = False
                continue
            if text.startswith("FAIL\t") and "[build failed]" in text:
                build_failed = True
            owner = _prefix_owner(text, tests) or top
            if owner:
                tests[owner].output.append(text)
            else:
                package_output.append(text)
            result = _RESULT_LINE.match(text)
            if result and "/" not in result["name"]:
                reported[result["name"]] = (_RESULT_STATUS[result["word"]], float(result["secs"]))
        elif action in ("pass", "fail", "skip") and top and test == top:
            outcome = tests[top]
            outcome.status = {"pass": "passed", "fail": "failed", "skip": "skipped"}[action]
            outcome.duration = float(ev.get("Elapsed") or 0.0)
    for t in tests.values():
        if t.status == "running" and t.name in reported:
            # test2json holds a test's pass/fail event until the line after its "--- PASS" line;
            # when a parallel test hangs, that line never comes: the result line is the outcome.
            t.status, t.duration = reported[t.name]
        if t.status == "running":
            t.status = "timeout" if timed_out else "failed"
            if t.name in started and last_time is not None:
                t.duration = max((last_time - started[t.name]).total_seconds(), 0.0)
            t.output.append(
                f"--- {t.status.upper()}: {t.name} was still running when the run ended "
                f"({'killed at the timeout' if timed_out else 'test binary exited'})\n"
            )
    return GoTestRun(tests, package_output, timed_out, build_failed, returncode)


def _parse_time(text: Any) -> datetime.datetime | None:
    """RFC 3339 time of a test2json event (nanoseconds truncated to microseconds)."""
    if not isinstance(text, str):
        return None
    text = re.sub(r"(\.\d{6})\d+", r"\1", text).replace("Z", "+00:00")
    try:
        return datetime.datetime.fromisoformat(text)
    except ValueError:
        return None


def _prefix_owner(text: str, tests: Mapping[str, TestOutcome]) -> str | None:
    # Terratest's logger prints "TestName 2024-01-01T00:00:00Z logger.go:66: ..." (terratest_log_parser).
    head = text.split(" ", 1)[0]
    top = head.split("/", 1)[0]
    return top if top in tests and len(head) < len(text) else None


def write_junit(path: Path, run: GoTestRun, *, suite: str = "terratest") -> None:
    """JUnit XML (Ant/Jenkins ``testsuites`` schema as read by GitHub test reporters).

    One ``testcase`` per top-level test: ``failure`` for failed, ``error`` (type ``timeout``) for
    tests killed at the timeout, ``skipped`` for skipped; ``system-out`` holds the test's log.
    """
    cases = sorted(run.tests.values(), key=lambda t: t.name)
    root = ET.Element("testsuites")
    ts = ET.SubElement(
        root,
        "testsuite",
        name=suite,
        tests=str(len(cases)),
        failures=str(sum(t.status == "failed" for t in cases)),
        errors=str(sum(t.status == "timeout" for t in cases)),
        skipped=str(sum(t.status == "skipped" for t in cases)),
        time=f"{sum(t.duration for t in cases):.3f}",
    )
    for t in cases:
        tc = ET.SubElement(
            ts, "testcase", name=t.name, classname=t.package or suite, time=f"{t.duration:.3f}"
        )
        log = "".join(t.output)
        if t.status == "failed":
            ET.SubElement(tc, "failure", message=f"{t.name} failed", type="failure").text = _tail(log)
        elif t.status == "timeout":
            ET.SubElement(
                tc, "error", message=f"{t.name} still running at the timeout", type="timeout"
            ).text = _tail(log)
        elif t.status == "skipped":
            ET.SubElement(tc, "skipped", message=f"{t.name} skipped")
        ET.SubElement(tc, "system-out").text = log
    if run.package_output:
        ET.SubElement(ts, "system-out").text = "".join(run.package_output)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def _tail(text: str, lines: int = 60) -> str:
    return "".join(text.splitlines(keepends=True)[-lines:])


def run_go_test(
    test_dir: Path,
    tests: Sequence[str],
    *,
    go: Path,
    env: Mapping[str, str],
    timeout: float,
    parallel: int | None = None,
    raw_log: Path | None = None,
    kill_after: float | None = None,
    build_timeout: float | None = 1800,
    kill_when: Callable[[str], bool] | None = None,
) -> GoTestRun:
    """Run ``go test -json`` for exactly ``tests`` in ``test_dir``; never raises on test failure.

    Args:
        test_dir: directory holding ``go.mod`` (or inside a module).
        tests: top-level test names; anchored ``-run '^(A|B)$'``.
        go: path of the ``go`` binary.
        env: environment for ``go`` (GOTOOLCHAIN, PATH with terraform, TERRATEST_TERRAFORM_BINARY).
        timeout: seconds, passed as ``-timeout``; the process group is killed at timeout + 30 s.
        parallel: ``-parallel N`` (default: Go's GOMAXPROCS).
        raw_log: where to save the raw JSON event stream.
        kill_after: seconds after which the process group is killed (default timeout + 30 s,
            for a test binary that ignores Go's own timeout).
        build_timeout: the test binaries are first built (``go test -run '^$'``, which runs no
            test) within this many seconds, so compiling Terratest's dependencies on a cold cache
            never eats into ``timeout``; ``None`` skips that step.
        kill_when: called with each line of the ``go test -json`` stream as it arrives; when it
            returns True the process group is killed at once, exactly as at ``kill_after`` (lets a
            caller end a run on an event, e.g. a test that must be cut off once another passed).
    """
    if build_timeout is not None:
        built = _run_group(
            [str(go), "test", "-json", "-count=1", "-run", "^$", "./..."], test_dir, env, build_timeout
        )
        if built[0] or built[1] != 0:
            run = parse_go_test_json(built[2].splitlines(), returncode=built[1])
            run.build_failed = True
            if built[0]:
                run.package_output.append(f"building the tests took longer than {build_timeout:g}s; killed\n")
            if raw_log is not None:
                raw_log.parent.mkdir(parents=True, exist_ok=True)
                raw_log.write_text(built[2], encoding="utf-8")
            return run
    pattern = "^(" + "|".join(re.escape(t) for t in tests) + ")$"
    cmd = [str(go), "test", "-json", "-count=1", "-run", pattern, f"-timeout={max(int(timeout), 1)}s"]
    if parallel:
        cmd.append(f"-parallel={parallel}")
    cmd.append("./...")
    killed, returncode, out = _run_group(
        cmd, test_dir, env, kill_after if kill_after is not None else timeout + _GRACE, kill_when=kill_when
    )
    lines = out.splitlines()
    if raw_log is not None:
        raw_log.parent.mkdir(parents=True, exist_ok=True)
        raw_log.write_text(out, encoding="utf-8")
    return parse_go_test_json(lines, killed=killed, returncode=returncode)


def _run_group(
    cmd: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    limit: float,
    *,
    kill_when: Callable[[str], bool] | None = None,
) -> tuple[bool, int | None, str]:
    """Run ``cmd`` in its own session; kill the whole group after ``limit`` seconds, or as soon as
    ``kill_when(line)`` is True for a line of its output.

    Returns ``(killed, returncode, combined stdout+stderr)``. The group is always killed at the
    end, so ``terraform`` children of a killed test binary do not linger.
    """
    killed = threading.Event()
    proc = subprocess.Popen(
        list(cmd),
        cwd=cwd,
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )

    def kill() -> None:
        if proc.poll() is None:  # not when it has just ended by itself
            killed.set()
        _killpg(proc.pid, signal.SIGKILL)

    timer = threading.Timer(limit, kill)
    timer.daemon = True
    timer.start()
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if kill_when is not None and not killed.is_set() and kill_when(line):
                kill()
        proc.wait()
    finally:
        timer.cancel()
        _killpg(proc.pid, signal.SIGKILL)
    return killed.is_set(), proc.returncode, "".join(lines)


def _killpg(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def test_catalog(
    root: Path,
    modules: Sequence[str],
    *,
    config: Mapping[str, Any],
    go: Path,
    env: Mapping[str, str],
    out_dir: Path,
    timeout: float = 1800,
    parallel: int | None = None,
) -> dict[str, Any]:
    """Run the Terratest tests mapped to ``modules``; returns a results document (check ``test``).

    Writes ``<out_dir>/junit.xml``, ``<out_dir>/logs/<Test>.log`` per test,
    ``<out_dir>/logs/_package.log`` (output outside any test, e.g. build errors) and
    ``<out_dir>/go-test.json`` (raw events). A missing test directory or ``go.mod`` is reported as
    a message and a failed result, not an exception.
    """
    test_dir_name = str(config.get("test_dir") or "test")
    test_dir = root / test_dir_name
    per_module: dict[str, dict[str, Any]] = {
        m: {"status": "skipped", "tests": [], "summary": ""} for m in modules
    }
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "check": "test",
        "status": "passed",
        "modules": per_module,
        "findings": [],
        "artifacts": {},
        "messages": [],
    }
    problem = None
    if not test_dir.is_dir():
        problem = (
            f"{test_dir_name}/: test directory not found in {root} (set checks.test_dir in .catalog-ops.yml)"
        )
    elif not _find_go_mod(test_dir, root):
        problem = f"{test_dir_name}/go.mod: not found; the Terratest suite must be a Go module (run `go mod init` in {test_dir_name}/)"
    if problem:
        doc["status"] = "failed"
        doc["messages"].append(problem)
        for entry in per_module.values():
            entry.update(status="failed", summary=problem)
        return doc
    overrides = config.get("tests") or {}
    mapping = map_tests(discover_tests(test_dir), modules, overrides)
    wanted = sorted({t for names in mapping.values() for t in names})
    for m, names in mapping.items():
        if not names:
            base = m.rsplit("/", 1)[-1]
            per_module[m]["summary"] = (
                f"no Terratest test mapped (expected Test{camel(base)} in {test_dir_name}/)"
            )
    if not wanted:
        doc["messages"].append("no tests to run for the selected modules")
        return doc
    started = time.monotonic()
    run = run_go_test(
        test_dir, wanted, go=go, env=env, timeout=timeout, parallel=parallel, raw_log=out_dir / "go-test.json"
    )
    wall = time.monotonic() - started
    logs = out_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    for t in run.tests.values():
        (logs / f"{_safe_name(t.name)}.log").write_text("".join(t.output), encoding="utf-8")
    (logs / "_package.log").write_text("".join(run.package_output), encoding="utf-8")
    write_junit(out_dir / "junit.xml", run)
    doc["artifacts"] = {
        "junit": str(out_dir / "junit.xml"),
        "logs": str(logs),
        "events": str(out_dir / "go-test.json"),
    }
    doc["duration"] = round(wall, 3)
    if run.timed_out:
        still = sorted(t.name for t in run.tests.values() if t.status == "timeout")
        doc["messages"].append(
            f"go test timed out after {timeout:g}s; still running: {', '.join(still) or '(none reported)'}"
        )
    if run.build_failed or (
        run.returncode not in (0, None)
        and not any(t.status == "failed" or t.status == "timeout" for t in run.tests.values())
        and not run.timed_out
    ):
        doc["messages"].append("go test failed outside any test (build error?): see logs/_package.log")
        doc["status"] = "failed"
    for m, names in mapping.items():
        entry = per_module[m]
        if not names:
            continue
        rows = []
        for name in names:
            found = run.tests.get(name)
            if found is None:
                status = "failed" if (run.build_failed or run.returncode) else "missing"
                rows.append({"name": name, "status": status, "duration": 0.0, "log": None})
                continue
            rows.append(
                {
                    "name": name,
                    "status": found.status,
                    "duration": round(found.duration, 3),
                    "log": str(logs / f"{_safe_name(found.name)}.log"),
                }
            )
        entry["tests"] = rows
        bad = [r for r in rows if r["status"] in ("failed", "timeout", "missing")]
        if all(r["status"] == "skipped" for r in rows):
            entry["status"] = "skipped"
        else:
            entry["status"] = "failed" if bad else "passed"
        counts = {
            s: sum(r["status"] == s for r in rows)
            for s in ("passed", "failed", "skipped", "timeout", "missing")
        }
        entry["summary"] = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    if any(e["status"] == "failed" for e in per_module.values()):
        doc["status"] = "failed"
    return doc


def _find_go_mod(test_dir: Path, root: Path) -> bool:
    d = test_dir.resolve()
    stop = root.resolve().parent
    while True:
        if (d / "go.mod").is_file():
            return True
        if d == stop or d.parent == d:
            return False
        d = d.parent
