"""tests/procs.py: children stopped with their whole group on every path, leftovers found.

The processes here are ``sleep`` and ``sh``; a shell that starts ``sleep`` in the
background stands for a server that forks workers.
"""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests import procs

ROOT = Path(__file__).parents[2]
# A "server" that forks a worker, prints both pids, and waits for the worker.
FORKING = ["sh", "-c", "sleep 600 & echo $$ $!; wait"]
READ_TIMEOUT_S = 120.0


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def pids_of_forking(process: subprocess.Popen[str]) -> tuple[int, int]:
    assert process.stdout is not None
    leader, worker = process.stdout.readline().split()
    return int(leader), int(worker)


def test_started_child_leads_its_own_group_and_session():
    with procs.started(["sleep", "600"]) as process:
        assert os.getpgid(process.pid) == process.pid
        assert os.getsid(process.pid) == process.pid
        assert process.pid in {leftover.pid for leftover in procs.leftovers()}
    assert not alive(process.pid)
    assert process.pid not in {leftover.pid for leftover in procs.leftovers()}


def test_a_failing_block_still_stops_the_server_and_its_workers():
    with pytest.raises(RuntimeError, match="test failed"):  # noqa: PT012
        with procs.started(FORKING, stdout=subprocess.PIPE, text=True) as process:
            leader, worker = pids_of_forking(process)
            raise RuntimeError("test failed")
    assert (alive(leader), alive(worker)) == (False, False)


def test_a_child_that_ignores_sigterm_is_killed_after_the_grace():
    ignoring = ["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done"]
    with procs.started(ignoring, stdout=subprocess.PIPE, text=True, grace=0.5) as process:
        assert process.stdout is not None and process.stdout.readline() == "ready\n"
    assert process.returncode == -signal.SIGKILL


def test_run_returns_like_subprocess_run_and_ends_what_the_command_left():
    done = procs.run(["sh", "-c", "sleep 600 > /dev/null 2>&1 & echo $!"], timeout=READ_TIMEOUT_S,
                     capture_output=True, text=True)
    assert done.returncode == 0
    assert not alive(int(done.stdout.split()[0])), "the background sleep was ended"


def test_run_timeout_kills_the_whole_group_and_keeps_the_output():
    with pytest.raises(subprocess.TimeoutExpired) as expired:
        procs.run(["sh", "-c", "sleep 600 & echo $!; wait"], timeout=2,
                  capture_output=True, text=True)
    assert not alive(int(expired.value.stdout.split()[0]))


def test_a_tracked_child_is_stopped_and_its_orphans_found():
    process = procs.track(subprocess.Popen(FORKING, start_new_session=True,
                                           stdout=subprocess.PIPE, text=True))
    try:
        leader, worker = pids_of_forking(process)
        os.kill(leader, signal.SIGKILL)  # the worker is orphaned, reparented away from us
        process.wait(timeout=READ_TIMEOUT_S)
        assert worker in {leftover.pid for leftover in procs.leftovers()}
        procs.stop_all()
    finally:
        procs.stop(process)
    assert not alive(worker)


def test_track_refuses_a_child_in_the_callers_session():
    child = subprocess.Popen(["sleep", "600"])
    try:
        with pytest.raises(ValueError, match="session of its own"):
            procs.track(child)
    finally:
        child.kill()
        child.wait()


def test_spawn_refuses_to_share_the_callers_session():
    with pytest.raises(ValueError, match="new session"):
        procs.spawn(["true"], start_new_session=False)


def test_a_child_started_outside_the_helper_is_reported_and_killed():
    stray = subprocess.Popen(["sleep", "600"])  # deliberately not through procs
    try:
        found = [leftover for leftover in procs.leftovers() if leftover.pid == stray.pid]
        assert [leftover.command for leftover in found] == ["sleep 600"]
        assert f"pid {stray.pid}" in str(found[0])
        procs.kill_leftovers(found)  # kills and reaps it
        assert not alive(stray.pid)
        assert stray.pid not in {leftover.pid for leftover in procs.leftovers()}
    finally:
        if stray.poll() is None:
            stray.kill()
            stray.wait()


def test_a_worker_outliving_its_leader_is_still_found():
    process = procs.spawn(["sh", "-c", "sleep 600 > /dev/null 2>&1 & echo $!"],
                          stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        worker = int(process.stdout.readline())
        process.wait(timeout=READ_TIMEOUT_S)
        assert worker in {leftover.pid for leftover in procs.leftovers()}
    finally:
        procs.stop(process)
    assert not alive(worker)


PYTEST_STAND_IN = textwrap.dedent("""
    import sys, time
    from tests import procs
    procs.install_signal_handlers()
    try:
        with procs.started(["sleep", "600"]) as server:
            print("started", server.pid, flush=True)
            while True:
                time.sleep(1)  # the test body, until a signal arrives
    except KeyboardInterrupt as exc:
        print("interrupted:", exc, flush=True)
""")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_to_pytest_unwinds_and_stops_the_children(signum):
    with procs.started([sys.executable, "-c", PYTEST_STAND_IN], cwd=ROOT,
                       env={**os.environ, "PYTHONPATH": str(ROOT)},
                       stdout=subprocess.PIPE, text=True) as runner:
        assert runner.stdout is not None
        said, server = runner.stdout.readline().split()
        assert said == "started"
        os.kill(runner.pid, signum)  # the runner only, not its group
        assert runner.wait(timeout=READ_TIMEOUT_S) == 0
        assert runner.stdout.read() == f"interrupted: pytest received {signum.name}\n"
    assert not alive(int(server))


LEAKY_TEST = textwrap.dedent("""
    import subprocess

    def test_leaks_a_process():
        print("leaked", subprocess.Popen(["sleep", "600"]).pid)
""")


def test_the_session_fails_naming_a_process_left_behind(tmp_path):
    (tmp_path / "conftest.py").write_text(
        "from tests.conftest import pytest_configure, pytest_sessionfinish  # noqa: F401\n")
    (tmp_path / "test_leaky.py").write_text(LEAKY_TEST)
    done = procs.run([sys.executable, "-m", "pytest", "-s", "-p", "no:cacheprovider",
                      "-c", os.devnull, "--rootdir", str(tmp_path), str(tmp_path)],
                     cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)},
                     capture_output=True, text=True, timeout=READ_TIMEOUT_S)
    leaked = int(done.stdout.split("leaked ")[1].split()[0])
    assert done.returncode == pytest.ExitCode.TESTS_FAILED, done.stdout
    assert "1 passed" in done.stdout
    assert "processes left behind" in done.stdout
    assert f"pid {leaked} " in done.stdout and "sleep 600" in done.stdout
    assert not alive(leaked)
