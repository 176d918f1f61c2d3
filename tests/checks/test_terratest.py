"""`catalog-ops check test`: real `go test -json` runs of the sample catalog's Terratest suite."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from catalog_ops.checks.terratest import camel, discover_tests, map_tests, parse_go_test_json, run_go_test


def _ev(action: str, test: str | None = None, output: str | None = None, elapsed: float | None = None) -> str:
    ev: dict[str, object] = {
        "Time": "2026-01-01T00:00:00.123456789Z",
        "Action": action,
        "Package": "example.com/t",
    }
    if test:
        ev["Test"] = test
    if output is not None:
        ev["Output"] = output
    if elapsed is not None:
        ev["Elapsed"] = elapsed
    return json.dumps(ev)


def test_sample_suite_runs_for_real(sample_catalog: Path, run_check, check_tools, tmp_path: Path):
    out = tmp_path / "out"
    results = tmp_path / "test.json"
    run = run_check(
        [
            "check",
            "test",
            "--root",
            str(sample_catalog),
            "--out-dir",
            str(out),
            "--results",
            str(results),
            "--timeout",
            "5m",
        ]
    )
    assert run.code == 0, run.out + run.err
    doc = json.loads(results.read_text())
    assert doc["status"] == "passed"
    for module, test in (
        ("modules/naming", "TestNaming"),
        ("modules/network", "TestNetwork"),
        ("modules/service", "TestService"),
    ):
        entry = doc["modules"][module]
        assert entry["status"] == "passed"
        [row] = entry["tests"]
        assert row["name"] == test and row["status"] == "passed" and row["duration"] > 0
        log = Path(row["log"]).read_text()
        # split per test: the Terratest logger lines of this test only, including its apply output
        assert f"{test} " in log and "Apply complete!" in log and "Destroy complete!" in log
        others = {"TestNaming", "TestNetwork", "TestService"} - {test}
        assert not any(line.startswith(f"{o} ") for o in others for line in log.splitlines())
    suite = ET.parse(out / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "0", "0")
    assert sorted(tc.get("name") for tc in suite.iter("testcase")) == [
        "TestNaming",
        "TestNetwork",
        "TestService",
    ]
    assert "| `modules/service` | ✅ passed | 1 passed |" in run.summary
    assert not list(sample_catalog.rglob("terraform.tfstate")), "tests run on a copy of the catalog"


def test_failures_and_hung_test_killed_at_timeout(hang_catalog: Path, run_check, check_tools, tmp_path: Path):
    out = tmp_path / "out"
    run = run_check(
        ["check", "test", "--root", str(hang_catalog), "--out-dir", str(out), "--timeout", "4s", "--json"]
    )
    assert run.code == 1
    doc = json.loads(run.out)
    status = {
        m: (e["status"], [(t["name"], t["status"]) for t in e["tests"]]) for m, e in doc["modules"].items()
    }
    assert status == {
        "modules/broken": ("failed", [("TestBroken", "failed")]),
        "modules/quick": ("passed", [("TestQuick", "passed")]),
        "modules/slow": ("failed", [("TestSlow", "timeout")]),
    }
    assert "go test timed out after 4s; still running: TestSlow" in doc["messages"]
    slow_log = (out / "logs" / "TestSlow.log").read_text()
    assert "TestSlow starting" in slow_log and "still running when the run ended" in slow_log
    assert "panic: test timed out" in (out / "logs" / "_package.log").read_text()
    assert "expected output missing" in (out / "logs" / "TestBroken.log").read_text()
    suite = ET.parse(out / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    cases = {tc.get("name"): tc for tc in suite.iter("testcase")}
    assert cases["TestSlow"].find("error").get("type") == "timeout"  # type: ignore[union-attr]
    assert cases["TestBroken"].find("failure") is not None
    assert cases["TestQuick"].find("failure") is None
    assert "::error title=go-test%3A timeout::TestSlow timeout" in run.err


def test_outer_kill_when_go_timeout_does_not_fire(hang_catalog: Path, check_tools):
    """Go's own -timeout (600 s) never fires here: the outer kill ends the run, and the tests that were
    still running are reported as timed out while the finished ones keep their result.

    The kill is triggered by an event, not a clock: as soon as the JSON stream has shown TestQuick
    pass and TestSlow start (and block), however long the machine took to get there.
    """
    seen: set[str] = set()

    def quick_passed_and_slow_running(line: str) -> bool:
        try:
            event = json.loads(line)
        except ValueError:
            return False
        # test2json may hold TestQuick's "pass" event until its next line, which a hanging
        # parallel test never prints: the "--- PASS" output line is the event to wait for.
        if "--- PASS: TestQuick " in str(event.get("Output", "")):
            seen.add("quick passed")
        if "TestSlow starting" in str(event.get("Output", "")):
            seen.add("slow running")
        return seen == {"quick passed", "slow running"}

    run = run_go_test(
        hang_catalog / "test",
        ["TestSlow", "TestQuick"],
        go=check_tools.go,
        env=dict(check_tools.env),
        timeout=600,
        kill_after=1200,  # a backstop only: the event below ends the run
        kill_when=quick_passed_and_slow_running,
    )
    assert seen == {"quick passed", "slow running"}
    assert run.timed_out and run.returncode is not None
    assert run.tests["TestSlow"].status == "timeout"
    assert run.tests["TestQuick"].status == "passed"


def test_missing_test_dir_and_go_mod_are_clear_messages(
    sample_catalog: Path, run_check, check_tools, tmp_path: Path
):
    (sample_catalog / "test" / "go.mod").unlink()
    run = run_check(["check", "test", "--root", str(sample_catalog), "--out-dir", str(tmp_path / "o")])
    assert run.code == 1
    assert "test/go.mod: not found; the Terratest suite must be a Go module" in run.err
    assert "Traceback" not in run.err
    import shutil

    shutil.rmtree(sample_catalog / "test")
    run = run_check(
        ["check", "test", "--root", str(sample_catalog), "--out-dir", str(tmp_path / "o"), "--json"]
    )
    assert run.code == 1
    doc = json.loads(run.out)
    assert doc["messages"] == [
        f"test/: test directory not found in {sample_catalog} (set checks.test_dir in .catalog-ops.yml)"
    ]
    assert all(e["status"] == "failed" for e in doc["modules"].values())


def test_naming_convention_and_overrides(tmp_path: Path):
    assert camel("network-peering") == "NetworkPeering" and camel("s3_bucket") == "S3Bucket"
    d = tmp_path / "t"
    d.mkdir()
    (d / "a_test.go").write_text(
        'package t\nimport "testing"\nfunc TestNetwork(t *testing.T) {}\nfunc TestNetworkPeering(t *testing.T) {}\n'
        "func TestNetworkPeering_IPv6(t *testing.T) {}\nfunc TestNetworks(t *testing.T) {}\nfunc helper(t *testing.T) {}\n"
        "func TestE2E(t *testing.T) {}\n"
    )
    tests = discover_tests(d)
    assert tests == [
        "TestE2E",
        "TestNetwork",
        "TestNetworkPeering",
        "TestNetworkPeering_IPv6",
        "TestNetworks",
    ]
    mapping = map_tests(
        tests, ["modules/network", "modules/network-peering", "modules/dns"], {"modules/dns": ["TestE2E"]}
    )
    assert mapping == {
        "modules/network": ["TestNetwork"],
        "modules/network-peering": ["TestNetworkPeering", "TestNetworkPeering_IPv6"],
        "modules/dns": ["TestE2E"],
    }


def test_interleaved_output_split_by_terratest_prefix():
    lines = [
        _ev("run", "TestA"),
        _ev("run", "TestB"),
        _ev("output", "TestA", "TestA 2026-01-01T00:00:00Z logger.go:66: apply A\n"),
        # test2json attributes this line to TestA, but Terratest's prefix says TestB
        _ev("output", "TestA", "TestB 2026-01-01T00:00:00Z logger.go:66: apply B\n"),
        _ev("output", "TestB/sub", "    sub detail\n"),
        _ev("pass", "TestB/sub", elapsed=0.1),
        _ev("pass", "TestB", elapsed=2.5),
        _ev("fail", "TestA", elapsed=1.25),
        "not json: build noise",
        _ev("fail", elapsed=3.0),
    ]
    run = parse_go_test_json(lines)
    assert run.tests["TestA"].output == ["TestA 2026-01-01T00:00:00Z logger.go:66: apply A\n"]
    assert run.tests["TestB"].output == [
        "TestB 2026-01-01T00:00:00Z logger.go:66: apply B\n",
        "    sub detail\n",
    ]
    assert (run.tests["TestA"].status, run.tests["TestA"].duration) == ("failed", 1.25)
    assert (run.tests["TestB"].status, run.tests["TestB"].duration) == ("passed", 2.5)
    assert run.package_output == ["not json: build noise\n"]
    assert not run.timed_out


def test_result_line_decides_when_the_result_event_never_came():
    """A parallel test that passed while another hung: test2json emitted its "--- PASS" line but
    holds the "pass" event for a next line that never comes; the kill must not turn it into a
    timeout (this interleaving made the outer-kill test flaky)."""
    lines = [
        _ev("run", "TestQuick"),
        _ev("run", "TestSlow"),
        _ev("cont", "TestQuick"),
        _ev("cont", "TestSlow"),
        _ev("output", "TestSlow", "TestSlow starting\n"),
        _ev("output", "TestQuick", "    hang_test.go:11: quick done\n"),
        _ev("output", "TestQuick", "--- PASS: TestQuick (0.25s)\n"),
        _ev(
            "output", "TestQuick", "    --- FAIL: TestQuick/sub (0.00s)\n"
        ),  # a subtest's line: not the result
    ]
    run = parse_go_test_json(lines, killed=True, returncode=-9)
    assert (run.tests["TestQuick"].status, run.tests["TestQuick"].duration) == ("passed", 0.25)
    assert run.tests["TestSlow"].status == "timeout"
    assert run.timed_out


def test_compile_error_is_reported_not_crashed(hang_catalog: Path, run_check, check_tools, tmp_path: Path):
    (hang_catalog / "test" / "broken_test.go").write_text("package test\n\nfunc oops() { undefined() }\n")
    out = tmp_path / "out"
    run = run_check(["check", "test", "--root", str(hang_catalog), "quick", "--out-dir", str(out), "--json"])
    assert run.code == 1
    doc = json.loads(run.out)
    assert doc["modules"]["modules/quick"]["tests"][0]["status"] == "failed"
    assert "go test failed outside any test (build error?): see logs/_package.log" in doc["messages"]
    assert "undefined: undefined" in (out / "logs" / "_package.log").read_text()
