"""A fork server for Lithops' localhost runner: one interpreter per run imports the functions' modules once.

Lithops localhost v1 starts a new runner process for every job (``python localhost-runner-v1.py run_job
<job file>``), and a study run has two jobs: the maps, then the reduce. Each runner paid the interpreter start
and the imports again (Lithops' worker modules, duckdb, pyarrow: ~0.35 s of a ~2.5 s run, measured), and the
reduce job's runner could only start once the map job's runner had exited.

With the server, a process's first run starts ONE interpreter at its beginning (inside the measured run, in
parallel with the host's own set-up), which imports ``backend.preload`` and Lithops' worker and then waits.
Lithops still starts its runtime once per job, exactly as configured: the runtime is the launcher of
:mod:`aqstudy.backends.localhost.local_runtime`, which finds the server through ``$AQSTUDY_FORK_SERVER`` and asks
it for a fork
that runs the runner with the launcher's argv, working directory, environment and stdin/stdout/stderr (passed
over the socket), and relays the fork's exit status as its own. The server stops when a ``with serving(...)``
block ends; one started by :func:`kept` serves the process's later runs with the same settings, and stops
when a run fails or is interrupted, or when the process exits. Either way it stops when the process that
started it dies.

Semantics Lithops relies on are kept: a job's runner is a fresh process (a fork that has run nothing of an
earlier job) in a process group of its own, and killing the launcher (Lithops kills a job's process group
when it stops a job) kills the fork and the workers it forked. Where the server cannot be used (not Linux, a
launcher whose settings differ from the server's), the launcher runs the runner itself, as before.
"""

from __future__ import annotations

import atexit
import json
import os
import secrets
import signal
import socket
import struct
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

#: The environment variable that tells the launcher where the run's server listens (an abstract socket name).
ADDRESS_ENV = "AQSTUDY_FORK_SERVER"
#: Environment variables a fork must agree on with the server: Lithops derives its temp dir from TMPDIR once,
#: at import, and the server imported Lithops before any job existed.
MUST_MATCH = ("TMPDIR",)
#: Request header: the JSON body's length (the client's three standard descriptors ride on it).
_HEADER = struct.Struct("!Q")
#: Seconds the server has to exit once the run is over before it is killed.
_STOP_TIMEOUT_S = 5


def supported() -> bool:
    """The server needs Linux: abstract Unix sockets, descriptor passing and ``pidfd_open``."""
    return sys.platform.startswith("linux") and hasattr(os, "pidfd_open") and hasattr(socket, "send_fds")


@contextmanager
def serving(*, python: str, preload: list[str], preload_idle: list[str] = ()) -> Iterator[str | None]:
    """Run a fork server for the launchers started inside this block; yields its address (None: unsupported).

    :param python: the interpreter of the server (the one the launcher would otherwise run).
    :param preload: modules to import once, ``module:function`` to also call a function (as in
        :func:`aqstudy.backends.localhost.local_runtime.launcher`); the launcher only uses a server with the same list.
    :param preload_idle: the same, done once the server has forked its first runner (while the maps run): for
        what only a later job needs, so the first job does not wait for it (say, pandas for the original
        study's reduce).
    """
    if not supported():
        yield None
        return
    server, address = _start(python=python, preload=preload, preload_idle=preload_idle)
    try:
        with _announced(address):
            yield address
    finally:
        _stop_server(server)


@contextmanager
def kept(*, python: str, preload: list[str], preload_idle: list[str] = ()) -> Iterator[str | None]:
    """:func:`serving`, with the server kept for this process's next run with the same settings.

    A sweep in one process (``src/run.py -m``, ``src/tune.py``, the benchmarks) then pays the server's
    imports (~0.7 s) once, like its first run, whose imports overlap MLflow's, instead of making every later
    run wait for them before its first map: each job still gets a freshly forked runner. A run that ends by
    an exception stops the server (and whatever it still runs); the rest stop when the process exits.
    """
    if not supported():
        yield None
        return
    key = (python, tuple(preload), tuple(preload_idle), os.environ.get("TMPDIR"))
    entry = _KEPT.get(key)
    if entry is None or entry[0].poll() is not None:
        if not _KEPT:
            atexit.register(_stop_kept)
        entry = _KEPT[key] = _start(python=python, preload=preload, preload_idle=preload_idle)
    try:
        with _announced(entry[1]):
            yield entry[1]
    except BaseException:
        _KEPT.pop(key, None)
        _stop_server(entry[0])
        raise


#: Servers kept by :func:`kept`, by (python, preload, preload_idle, TMPDIR): (process, address).
_KEPT: dict[tuple, tuple[subprocess.Popen, str]] = {}


def _stop_kept() -> None:
    while _KEPT:
        _stop_server(_KEPT.popitem()[1][0])


def _start(*, python: str, preload: list[str], preload_idle: list[str]) -> tuple[subprocess.Popen, str]:
    """Start a server process. The socket is bound here, before the process starts, so a launcher never finds
    it missing: a request made while the server is still importing waits in the socket's backlog."""
    address = f"aqstudy-{os.getpid()}-{secrets.token_hex(8)}"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind("\0" + address)
    listener.listen(64)
    try:
        server = subprocess.Popen(
            [python, "-m", "aqstudy.backends.localhost.fork_server", str(listener.fileno()), json.dumps(list(preload)),
             json.dumps(list(preload_idle))],
            stdin=subprocess.PIPE, pass_fds=[listener.fileno()],
            # Its own session: a Ctrl-C in the terminal reaches the run, which then stops the server itself.
            start_new_session=True,
        )
    finally:
        listener.close()  # the server holds it now; should the server die, launchers see the refusal at once
    return server, address


@contextmanager
def _announced(address: str) -> Iterator[None]:
    """The server's address in the environment, which Lithops passes on to the launchers it starts."""
    previous = os.environ.get(ADDRESS_ENV)
    os.environ[ADDRESS_ENV] = address
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(ADDRESS_ENV, None)
        else:
            os.environ[ADDRESS_ENV] = previous


def _stop_server(server: subprocess.Popen) -> None:
    server.stdin.close()  # the lifeline; should this process die instead, the server sees EOF all the same
    server.terminate()
    try:
        server.wait(_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def client_code(*, fallback: list[str]) -> str:
    """The launcher's Python (stdlib only, run with ``-S``): run the runner through the server, else ``fallback``.

    :param fallback: the command (without the runner's arguments) that runs the runner without a server.
    """
    return _CLIENT.replace("FALLBACK", repr(list(fallback)))


_CLIENT = """\
import json, os, signal, socket, struct, sys
args, fallback = sys.argv[1:], FALLBACK
def run_alone():
    os.execv(fallback[0], fallback + args)
try:
    request = json.dumps({"argv": args, "cwd": os.getcwd(), "env": dict(os.environ),
                          "fallback": fallback}).encode()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.connect("\\0" + os.environ["AQSTUDY_FORK_SERVER"])
    socket.send_fds(server, [struct.pack("!Q", len(request))], [0, 1, 2])
    server.sendall(request)
except (OSError, KeyError):
    run_alone()
reply = b""
while True:
    try:
        chunk = server.recv(256)
    except OSError:
        chunk = b""
    if not chunk:
        break
    reply += chunk
_, forked, reply = reply.decode().rpartition("forked\\n")
kind, _, value = reply.partition(" ")
if kind == "fallback" or not forked and not reply:
    run_alone()  # told to, or the server went away before forking (e.g. its preload failed)
if kind == "exit":
    os._exit(int(value))
if kind == "signal":
    try:
        signal.signal(int(value), signal.SIG_DFL)
    except (OSError, ValueError):
        pass  # SIGKILL and SIGSTOP have no handler to reset
    os.kill(os.getpid(), int(value))
sys.stderr.write("aqstudy fork server: it ended before the runner did (" + repr(reply) + "); see its output\\n")
os._exit(1)
"""


# ----------------------------------------------------------------------------------------------------------
# The server process: ``python -m aqstudy.backends.localhost.fork_server <listening fd> <preload json>``.


def _preload(entries: list[str]) -> None:
    import importlib

    for entry in entries:
        module, _, function = entry.partition(":")
        loaded = importlib.import_module(module)
        if function:
            getattr(loaded, function)()


def _receive(connection: socket.socket) -> tuple[dict, list[int]]:
    header, fds, _, _ = socket.recv_fds(connection, _HEADER.size, 3)
    if len(header) != _HEADER.size:
        for fd in fds:
            os.close(fd)
        raise ConnectionError("a short request")
    (length,) = _HEADER.unpack(header)
    body = b""
    while len(body) < length:
        chunk = connection.recv(min(1 << 20, length - len(body)))
        if not chunk:
            break
        body += chunk
    return json.loads(body), fds


def _compatible(request: dict, preload_fallback: list[str]) -> bool:
    env = request.get("env", {})
    return (all(env.get(name) == os.environ.get(name) for name in MUST_MATCH)
            and request.get("fallback") == preload_fallback)


def _run_child(request: dict, fds: list[int]) -> None:
    """In the fork: become the launcher's runner process, run the runner script, never return."""
    import runpy
    import traceback

    code = 1
    try:
        os.setsid()  # a process group of its own: killing it kills the workers the runner forks
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        for fd in fds:
            if fd > 2:
                os.close(fd)
        for number in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGPIPE):
            signal.signal(number, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})  # blocked by the server around the fork
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = list(request["argv"])
        code = 0
        try:
            runpy.run_path(sys.argv[0], run_name="__main__")
        except SystemExit as stop:
            if isinstance(stop.code, int) or stop.code is None:
                code = stop.code or 0
            else:
                print(stop.code, file=sys.__stderr__)
                code = 1
        except BaseException:
            traceback.print_exc(file=sys.__stderr__)
            code = 1
    finally:
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(code)


def serve(listener: socket.socket, preload: list[str], preload_idle: list[str] = ()) -> None:
    """Accept requests until stdin reaches EOF; fork one runner per request and report its exit status."""
    import selectors

    from aqstudy.backends.localhost.preload import fallback_command

    _preload(preload)
    # The runner's own imports (~0.1 s); Lithops computes its temp dir from TMPDIR here, hence MUST_MATCH.
    import lithops.worker  # noqa: F401

    idle = list(preload_idle)
    # Stopped by the run with SIGTERM (also while still importing, when the default action is right: no
    # runner exists yet); from here on the finally below kills the runners that are still going.
    signal.signal(signal.SIGTERM, _stop)
    expected_fallback = fallback_command(python=sys.executable, preload=preload)
    sys.stdout.flush()
    sys.stderr.flush()
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    selector.register(sys.stdin.fileno(), selectors.EVENT_READ, "lifeline")
    children: dict[int, tuple[int, socket.socket]] = {}  # pid -> (pidfd, client connection)
    try:
        while True:
            for key, _ in selector.select():
                if key.data == "lifeline":
                    return  # the run is over (or its process died): the finally below kills what still runs
                if key.data == "accept":
                    connection, _ = listener.accept()
                    try:
                        request, fds = _receive(connection)
                    except (OSError, ValueError, ConnectionError):
                        connection.close()
                        continue
                    if not _compatible(request, expected_fallback):
                        for fd in fds:
                            os.close(fd)
                        connection.sendall(b"fallback")
                        connection.close()
                        continue
                    # SIGTERM waits out the fork: raised in the fork's own hooks (logging's lock release),
                    # its SystemExit would be printed with a traceback and dropped instead of stopping us.
                    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
                    pid = os.fork()
                    if pid:
                        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
                    if pid == 0:
                        selector.close()
                        listener.close()
                        for _pidfd, other in children.values():
                            other.close()
                        connection.close()
                        _run_child(request, fds)
                    for fd in fds:
                        os.close(fd)
                    try:
                        connection.sendall(b"forked\n")  # from here on the launcher waits for the runner
                    except OSError:
                        pass
                    pidfd = os.pidfd_open(pid)
                    children[pid] = (pidfd, connection)
                    selector.register(pidfd, selectors.EVENT_READ, ("exited", pid))
                    selector.register(connection, selectors.EVENT_READ, ("client", pid))
                    if idle:
                        _preload_reaping(idle, children, selector)
                        idle = []
                    continue
                kind, pid = key.data
                if pid not in children:
                    continue  # already reported, while the idle preload ran
                if kind == "client":  # the launcher ended or was killed: so does its runner
                    selector.unregister(key.fileobj)
                    _kill_group(pid)
                    continue
                _, status = os.waitpid(pid, 0)
                _report(pid, status, children, selector)
    finally:
        for pid in list(children):
            _kill_group(pid)


def _report(pid: int, status: int, children: dict, selector) -> None:
    """Tell the launcher of runner ``pid`` how it ended, and forget it."""
    pidfd, connection = children.pop(pid)
    for fileobj in (pidfd, connection):
        try:
            selector.unregister(fileobj)
        except (KeyError, ValueError):
            pass
    os.close(pidfd)
    reply = (f"signal {-os.waitstatus_to_exitcode(status)}" if os.WIFSIGNALED(status)
             else f"exit {os.waitstatus_to_exitcode(status)}")
    try:
        connection.sendall(reply.encode())
    except OSError:
        pass
    connection.close()


def _preload_reaping(entries: list[str], children: dict, selector) -> None:
    """:func:`_preload` that still reports a runner's end at once (a tiny first job can end during it).

    Lithops starts the next job only once the launcher of the previous one has exited, and that launcher
    waits for this report: a SIGCHLD handler sends it, since an import cannot be interrupted otherwise.
    """
    def reap(signum, frame):
        for pid in list(children):
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                continue
            if done:
                _report(pid, status, children, selector)

    signal.signal(signal.SIGCHLD, reap)
    try:
        _preload(entries)
    finally:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    reap(None, None)  # one that ended just before the handler was set


def _stop(signum, frame):
    raise SystemExit(0)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def main(argv: list[str]) -> int:
    """Entry point of the server process."""
    listener = socket.socket(fileno=int(argv[0]))
    try:
        serve(listener, json.loads(argv[1]), json.loads(argv[2]) if len(argv) > 2 else [])
    except (KeyboardInterrupt, SystemExit):
        pass
    # Without the interpreter's clean-up of everything preloaded (~0.2 s): the run waits for this exit.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
