"""Ctrl-C and SIGTERM at any moment: the process exits 130 or 143 with one line saying what was kept, never a
traceback, and a run that had started is marked KILLED with the calls measured so far.

A signal's exception is raised at once only while a run does its work (:func:`interruptible`): that is what
breaks Lithops' waits and sleeps. Anywhere else (Hydra setting up the next job of a sweep, a run's MLflow
record being created or written) an exception landing mid-statement leaves half-built objects behind: Hydra
then failed with ``AttributeError … _invalidate_flags_cache`` and exit 1, and a run stayed RUNNING. There the
signal is only recorded, and acted on at the next safe point: the start of a run's work, the end of its
record, the end of the command.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
import time
from contextlib import contextmanager

#: Seconds a command stopped by a signal has to record itself before the process exits regardless (always
#: after SIGTERM; after SIGINT when the command installed the handler, as a run called from a notebook must
#: not end its kernel).
GRACE_S = 30
#: Exit codes of a command stopped by a signal, as a shell reports them (128 + signal number).
SIGNAL_EXIT = {"SIGINT": 130, "SIGTERM": 143}
#: Seconds before a signal that landed where its exception would be dropped is delivered again.
REDELIVER_S = 0.02

#: Signals received and not yet acted on, by name.
_RECEIVED: list[str] = []
#: MLflow run ids of the runs this process ended FINISHED: what an interrupt leaves kept.
KEPT_RUNS: list[str] = []


class _State:
    # Plain class attributes, no dataclass: this module is imported first thing, before a signal can be handled.
    #: Whether the handler raises at once (inside a run's work) or records the signal for later.
    raising: bool = False
    watchdog: threading.Timer | None = None
    #: Whether the process installed the handler for good (:func:`install`).
    installed: bool = False
    #: Whether the garbage collector is running (finalizers and weakref callbacks run within).
    collecting: bool = False
    #: Interrupts raised so far, and whether a signal is due to be delivered again (:func:`_redeliver`).
    delivered: int = 0
    redelivering: bool = False
    #: Whether the command has printed its line for an interrupt (later signals change nothing).
    reported: bool = False


_STATE = _State()


class Interrupted(KeyboardInterrupt):
    """The command was stopped by a signal.

    :param signal_name: ``SIGINT`` or ``SIGTERM``.
    :param run_id: the MLflow run it marked KILLED, if a run had started.
    :param phase: what that run was doing: ``staging``, ``the job`` or ``recording``.
    :param calls: the calls it measured before stopping.
    """

    def __init__(self, signal_name: str = "SIGINT", *, run_id: str | None = None, phase: str | None = None,
                 calls: int = 0):
        super().__init__(signal_name)
        self.signal_name, self.run_id, self.phase, self.calls = signal_name, run_id, phase, calls


def interrupt_on_signal(signum, frame) -> None:
    """Signal handler for SIGINT and SIGTERM: raise :class:`Interrupted` inside a run's work, once; elsewhere,
    record the signal for the next safe point."""
    name = signal.Signals(signum).name
    if (name == "SIGTERM" or _STATE.installed) and _STATE.watchdog is None:
        # Should the clean-up itself hang (an interrupted library holding a lock), the process still ends.
        _STATE.watchdog = threading.Timer(GRACE_S, os._exit, args=(SIGNAL_EXIT[name],))
        _STATE.watchdog.daemon = True
        _STATE.watchdog.start()
    _RECEIVED.append(name)  # cleared once the interrupt is caught; should its exception be dropped, a safe point acts
    if _STATE.raising:
        if _STATE.collecting or _in_finalizer(frame):
            # In the garbage collector (SQLAlchemy's weakref callbacks run there), a __del__ or a weakref
            # callback, the exception would be printed and dropped: deliver the signal again once out.
            _RECEIVED.remove(name)
            if not _STATE.redelivering:
                _STATE.redelivering = True
                timer = threading.Timer(REDELIVER_S, _redeliver, args=(signum, _STATE.delivered))
                timer.daemon = True
                timer.start()
            return
        _STATE.raising = False  # once: the clean-up after it runs undisturbed; later signals are recorded
        _STATE.delivered += 1
        raise Interrupted(name)


def _redeliver(signum: int, delivered: int) -> None:
    # In a timer thread: again to the main thread if the work still runs, else left for the next safe point
    # (nothing, if the interrupt came through meanwhile).
    _STATE.redelivering = False
    if _STATE.delivered != delivered:
        return
    if _STATE.raising:
        os.kill(os.getpid(), signum)
    else:
        _RECEIVED.append(signal.Signals(signum).name)


def _in_finalizer(frame) -> bool:
    import gc
    import weakref

    callbacks = {getattr(getattr(c, "__func__", c), "__code__", None) for c in gc.callbacks}
    while frame is not None:
        code = frame.f_code
        if code.co_name == "__del__" or code in callbacks:
            return True
        # A weakref callback is called with the dead reference as its one argument.
        if code.co_argcount == 1 and isinstance(frame.f_locals.get(code.co_varnames[0]), weakref.ref):
            return True
        frame = frame.f_back
    return False


def _track_collection(phase: str, info: dict) -> None:
    _STATE.collecting = phase == "start"


def _track_gc() -> None:
    import gc

    if _track_collection not in gc.callbacks:
        gc.callbacks.insert(0, _track_collection)  # first: set before any other callback runs


def install() -> None:
    """Make SIGINT and SIGTERM interrupt the whole process as above (``src/run.py`` calls it first thing)."""
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, interrupt_on_signal)
    _track_gc()
    _STATE.installed = True
    atexit.register(_exit_if_interrupted)  # registered first, so it runs after every other exit handler


def exit_interrupted(interrupt: KeyboardInterrupt, *, sweep: bool):
    """Print the one line saying what an interrupt kept and exit with its code (130, 143)."""
    _STATE.reported = True
    print(interrupted_line(interrupt, finished_runs=len(KEPT_RUNS), sweep=sweep), file=sys.stderr)
    raise SystemExit(SIGNAL_EXIT.get(getattr(interrupt, "signal_name", "SIGINT"), 130))


def _exit_if_interrupted() -> None:
    # From here to the process's end a signal is ignored: the interpreter's own clean-up would otherwise put
    # back the default action, which kills the process without a word.
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, signal.SIG_IGN)
    # A signal after the command's last check (its last lines, exit handlers): everything it did is kept.
    if _RECEIVED and not _STATE.reported:
        name = _RECEIVED[0]
        runs = len(KEPT_RUNS)
        print(f"interrupted by {name} as the command ended: {runs} finished run{'s' if runs != 1 else ''} kept",
              file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(SIGNAL_EXIT.get(name, 130))


def pending() -> str | None:
    """The name of a signal received and not yet acted on."""
    return _RECEIVED[0] if _RECEIVED else None


def raise_if_interrupted() -> None:
    """A safe point: raise :class:`Interrupted` for a signal received and not yet acted on."""
    if _RECEIVED:
        name = _RECEIVED[0]
        _RECEIVED.clear()
        _STATE.raising = False  # being acted on: the clean-up after it runs undisturbed
        _STATE.delivered += 1
        raise Interrupted(name)


@contextmanager
def handling():
    """SIGINT and SIGTERM handled as this module says for the block (a run called in-process), unless the
    process installed it already; a signal recorded meanwhile and not acted on raises at the end."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    numbers = (signal.SIGINT, signal.SIGTERM)
    previous = {number: signal.getsignal(number) for number in numbers}
    for number in numbers:
        signal.signal(number, interrupt_on_signal)
    _track_gc()
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    raise_if_interrupted()


@contextmanager
def interruptible():
    """A block a signal may cut at once: a run's set-up, staging and Lithops job, where an interrupt must
    break waits and sleeps. A signal recorded before the block raises at its start."""
    was = _STATE.raising
    try:
        raise_if_interrupted()
        _STATE.raising = threading.current_thread() is threading.main_thread()
        yield
    except KeyboardInterrupt:
        _RECEIVED.clear()  # the signals of this interruption are acted on: it is propagating
        raise
    finally:
        _STATE.raising = was


def hold() -> None:
    """From here to the end of the enclosing :func:`interruptible` block a signal is only recorded: the work
    that could be cut has ended (the Lithops job), what follows records it and is short."""
    _STATE.raising = False


#: Test hook: ``AQSTUDY_PAUSE_AT=<point>`` pauses the command at that named moment (once), after writing the
#: file ``<AQSTUDY_TEST_MARKERS>/at-<point>``, until a signal arrives (at most PAUSE_S), so that a test can
#: interrupt it exactly there with a real signal. Points: ``staging``, ``job``, ``between_jobs``, ``recording``.
PAUSE_ENV, MARKERS_ENV, PAUSE_S = "AQSTUDY_PAUSE_AT", "AQSTUDY_TEST_MARKERS", 60.0
_PAUSED: set[str] = set()


def pause_point(name: str) -> None:
    """A named moment where a test may stop the command (see :data:`PAUSE_ENV`); nothing otherwise."""
    if os.environ.get(PAUSE_ENV) != name or name in _PAUSED:
        return
    _PAUSED.add(name)
    with open(os.path.join(os.environ[MARKERS_ENV], f"at-{name}"), "w") as marker:
        marker.write(str(os.getpid()))
    deadline = time.monotonic() + PAUSE_S
    while not _RECEIVED and time.monotonic() < deadline:
        time.sleep(0.01)  # inside a run's work the signal raises right here


def interrupted_line(interrupt: KeyboardInterrupt, *, finished_runs: int, sweep: bool) -> str:
    """The one line a command prints when a signal stopped it: what was kept (pure).

    :param interrupt: what stopped it (an :class:`Interrupted`, or a plain KeyboardInterrupt).
    :param finished_runs: runs of this command that FINISHED before it (kept in MLflow).
    :param sweep: whether the command was a ``-m`` sweep (then ``resume=true`` runs what is left).
    """
    name = getattr(interrupt, "signal_name", "SIGINT")
    run_id = getattr(interrupt, "run_id", None)
    if run_id:
        calls = getattr(interrupt, "calls", 0)
        now = (f"run {run_id} marked KILLED during {getattr(interrupt, 'phase', None) or 'its work'}, "
               f"{calls} call{'s' if calls != 1 else ''} measured")
    else:
        now = "no run was in progress"
    kept = f"{finished_runs} finished run{'s' if finished_runs != 1 else ''} kept"
    rest = "; rerun with resume=true to run the rest" if sweep else ""
    return f"interrupted by {name}: {now}; {kept}{rest}"
