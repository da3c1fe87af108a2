"""The run's fork server for Lithops' localhost runners: a launcher run through it behaves as if run alone.

The launcher is what Lithops executes once per job; these tests execute it the way Lithops does (its own
session, pipes for stdout and stderr) with a small script standing in for Lithops' runner.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aqstudy.backends.localhost import fork_server
from aqstudy.backends.localhost.local_runtime import launcher

pytestmark = pytest.mark.skipif(not fork_server.supported(), reason="the fork server needs Linux")

RUNNER = """\
import json, os, sys
print(json.dumps(['colorsys' in sys.modules, sys.argv[1:], os.getcwd(), os.environ.get('AQ_PROBE'), os.getppid()]))
print('to stderr', file=sys.stderr)
sys.exit(int(os.environ.get('AQ_EXIT', '0')))
"""


def _launch(runtime: str, script: Path, *, cwd: Path, env: dict | None = None, **kwargs):
    return subprocess.run([runtime, str(script), "run_job", "a b"], cwd=cwd, env=env or dict(os.environ),
                          capture_output=True, text=True, start_new_session=True, **kwargs)


def _gone(pid: int, *, within_s: float = 10) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def runtime(tmp_path: Path) -> str:
    return launcher(python=sys.executable, preload=["colorsys"], folder=tmp_path / "runtime")


def test_the_server_forks_the_runner_with_the_launchers_arguments_io_environment_and_exit_code(tmp_path, runtime):
    script = tmp_path / "runner.py"
    script.write_text(RUNNER)
    (tmp_path / "cwd").mkdir()
    with fork_server.serving(python=sys.executable, preload=["colorsys"]) as address:
        assert os.environ[fork_server.ADDRESS_ENV] == address
        out = _launch(runtime, script, cwd=tmp_path / "cwd",
                      env={**os.environ, "AQ_PROBE": "seen", "AQ_EXIT": "3"})
    assert fork_server.ADDRESS_ENV not in os.environ
    imported, argv, cwd, probe, parent = json.loads(out.stdout)
    assert (out.returncode, imported, argv, cwd, probe) == (3, True, ["run_job", "a b"], str(tmp_path / "cwd"), "seen")
    assert out.stderr == "to stderr\n"
    # Forked by the server, not by the launcher: the launcher's process is not the runner's parent.
    alone = _launch(runtime, script, cwd=tmp_path / "cwd", env={**os.environ, "AQ_PROBE": "seen"})
    assert alone.returncode == 0 and json.loads(alone.stdout)[4] != parent


def test_a_runner_run_through_the_server_is_a_child_of_the_server(tmp_path, runtime):
    script = tmp_path / "runner.py"
    script.write_text("import os\nprint(os.getppid(), os.getpid(), os.getpgid(0) == os.getpid())\n")
    with fork_server.serving(python=sys.executable, preload=["colorsys"]):
        launched = subprocess.Popen([runtime, str(script)], stdout=subprocess.PIPE, text=True,
                                    start_new_session=True)
        stdout, _ = launched.communicate()
    parent, child, leader = stdout.split()
    assert int(parent) != launched.pid and int(child) != launched.pid  # not exec'ed by the launcher itself
    assert leader == "True"  # a process group of its own, as a runner started by Lithops


def test_without_a_server_or_with_other_settings_the_launcher_runs_the_runner_itself(tmp_path, runtime):
    script = tmp_path / "runner.py"
    script.write_text("import os, sys\nprint('colorsys' in sys.modules, os.getpid())\n")
    env = {k: v for k, v in os.environ.items() if k != fork_server.ADDRESS_ENV}
    launched = subprocess.Popen([runtime, str(script)], stdout=subprocess.PIPE, text=True, env=env)
    assert launched.communicate()[0].split() == ["True", str(launched.pid)]  # exec'ed: same process
    with fork_server.serving(python=sys.executable, preload=["colorsys"]):
        # Lithops derives its temp dir from TMPDIR once: a launcher with another TMPDIR must not share the server.
        env = {**os.environ, "TMPDIR": str(tmp_path)}
        launched = subprocess.Popen([runtime, str(script)], stdout=subprocess.PIPE, text=True, env=env)
        assert launched.communicate()[0].split() == ["True", str(launched.pid)]
        # Nor a launcher that preloads other modules.
        other = launcher(python=sys.executable, preload=["json"], folder=tmp_path / "runtime")
        launched = subprocess.Popen([other, str(script)], stdout=subprocess.PIPE, text=True)
        assert launched.communicate()[0].split() == ["False", str(launched.pid)]


def test_a_runner_killed_by_a_signal_is_reported_as_killed_by_it(tmp_path, runtime):
    script = tmp_path / "runner.py"
    script.write_text("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n")
    with fork_server.serving(python=sys.executable, preload=["colorsys"]):
        assert _launch(runtime, script, cwd=tmp_path).returncode == -signal.SIGKILL


def test_killing_the_launchers_process_group_kills_the_runner_and_its_children(tmp_path, runtime):
    script = tmp_path / "runner.py"
    pids = tmp_path / "pids"
    script.write_text(f"import os, time\nchild = os.fork() or os.getpid()\n"
                      f"open({str(pids)!r} + str(os.getpid()), 'w').close()\ntime.sleep(120)\n")
    with fork_server.serving(python=sys.executable, preload=["colorsys"]):
        launched = subprocess.Popen([runtime, str(script)], start_new_session=True)
        deadline = time.monotonic() + 20
        while len(list(tmp_path.glob("pids*"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        started = [int(path.name[4:]) for path in tmp_path.glob("pids*")]
        assert len(started) == 2
        os.killpg(launched.pid, signal.SIGKILL)  # what Lithops does to stop a job
        launched.wait()
        assert all(_gone(pid) for pid in started)


def test_the_end_of_the_run_stops_the_server_and_the_runners_it_still_runs(tmp_path, runtime):
    script = tmp_path / "runner.py"
    marker = tmp_path / "pid"
    script.write_text(f"import os, time\nopen({str(marker)!r}, 'w').write(str(os.getpid()))\ntime.sleep(120)\n")
    with fork_server.serving(python=sys.executable, preload=["colorsys"]):
        launched = subprocess.Popen([runtime, str(script)], start_new_session=True)
        deadline = time.monotonic() + 20
        while not (marker.exists() and marker.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        runner = int(marker.read_text())
    assert _gone(runner)
    assert launched.wait(10) != 0  # the launcher reports that its runner did not finish


def test_a_server_whose_preload_fails_leaves_the_launcher_to_fail_naming_the_module(tmp_path):
    script = tmp_path / "runner.py"
    script.write_text("print('ran')\n")
    runtime = launcher(python=sys.executable, preload=["no_such_module_x"], folder=tmp_path / "runtime")
    with fork_server.serving(python=sys.executable, preload=["no_such_module_x"]):
        failed = _launch(runtime, script, cwd=tmp_path)
    assert failed.returncode != 0 and "no_such_module_x" in failed.stderr


def test_a_run_has_a_fork_server_only_on_localhost_with_a_preload_and_not_turned_off(compose):
    from contextlib import nullcontext

    from aqstudy.backends import backend_named

    cfg = compose()
    assert cfg.backend.fork_server is True and cfg.backend.preload
    assert not isinstance(backend_named("localhost").runtime(cfg), nullcontext)
    for overrides in (["backend.fork_server=false"], ["backend.preload=[]"]):
        assert isinstance(backend_named("localhost").runtime(compose(*overrides)), nullcontext)
    lam = compose("backend=aws_lambda", "storage=s3")
    assert isinstance(backend_named("aws_lambda").runtime(lam), nullcontext)


def test_a_kept_server_serves_the_next_run_and_a_failed_run_stops_it(tmp_path, runtime):
    script = tmp_path / "runner.py"
    script.write_text(RUNNER)
    settings = {"python": sys.executable, "preload": ["colorsys"]}
    with fork_server.kept(**settings) as first:
        key = (sys.executable, ("colorsys",), (), os.environ.get("TMPDIR"))
        server = fork_server._KEPT[key][0]
        assert json.loads(_launch(runtime, script, cwd=tmp_path).stdout.splitlines()[0])[4] != os.getpid()
    assert fork_server.ADDRESS_ENV not in os.environ  # announced only while a run lasts
    with fork_server.kept(**settings) as second:
        assert second == first and server.poll() is None
        ran = json.loads(_launch(runtime, script, cwd=tmp_path).stdout.splitlines()[0])
        assert ran[0] is True and ran[4] == server.pid  # forked by the kept server, with its preload
    with pytest.raises(RuntimeError), fork_server.kept(**settings):
        raise RuntimeError("the run failed")
    assert server.wait(10) is not None and key not in fork_server._KEPT
    with fork_server.kept(**settings) as third:
        assert third != first
    fork_server._stop_server(fork_server._KEPT.pop(key)[0])
