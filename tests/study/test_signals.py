"""The signal handling of a run, in this process: where a signal raises, where it waits, and the line it ends with."""

from __future__ import annotations

import gc
import os
import signal
import sys
import time
import weakref

import pytest

from aqstudy.study import signals
from aqstudy.study.signals import Interrupted, handling, interrupted_line, interruptible


def _signal_self(number: int = signal.SIGINT) -> None:
    os.kill(os.getpid(), number)
    time.sleep(0.05)  # the handler runs at the next bytecode of the main thread


def test_inside_a_runs_work_a_signal_raises_once_and_the_clean_up_is_not_cut():
    with pytest.raises(Interrupted) as raised, handling(), interruptible():
        try:
            _signal_self()
        except Interrupted:
            _signal_self()  # a second Ctrl-C during the clean-up: recorded, not raised here
            raise
    assert raised.value.signal_name == "SIGINT"
    assert signals.pending() is None  # both belong to the interruption that propagated


def test_outside_a_runs_work_a_signal_waits_for_the_next_safe_point():
    with pytest.raises(Interrupted), handling():
        _signal_self(signal.SIGTERM)  # e.g. while Hydra sets up the next job, or a run's record is written
        assert signals.pending() == "SIGTERM"  # still here: nothing was cut
        with interruptible():  # the next run's work does not start
            pytest.fail("a recorded signal must stop the work before it starts")
    assert signals.pending() is None
    signals._STATE.watchdog.cancel()  # SIGTERM's exit-anyway timer: not for this test process
    signals._STATE.watchdog = None


def _signal_here() -> None:
    os.kill(os.getpid(), signal.SIGINT)
    for _ in range(1000):  # the handler runs here, inside the callback
        pass


def _gc_callback(phase, info) -> None:
    if phase == "start":
        _signal_here()


def _weakref_callback(ref) -> None:
    _signal_here()


class _Node:
    pass


def _in_gc_callback() -> None:
    gc.callbacks.append(_gc_callback)
    try:
        gc.collect()
    finally:
        gc.callbacks.remove(_gc_callback)


def _in_weakref_callback_of_the_collector() -> None:
    node = _Node()
    node.cycle = node  # only the collector frees it (SQLAlchemy's weakref callbacks run so in MLflow)
    _ref = weakref.ref(node, _weakref_callback)
    del node
    gc.collect()


def _in_weakref_callback_at_the_last_reference() -> None:
    node = _Node()
    _ref = weakref.ref(node, _weakref_callback)
    del node  # the callback runs right here


@pytest.mark.parametrize("where", [_in_gc_callback, _in_weakref_callback_of_the_collector,
                                   _in_weakref_callback_at_the_last_reference])
def test_a_signal_landing_where_python_drops_exceptions_is_delivered_after_it(monkeypatch, where):
    # Python prints and drops an exception raised in these callbacks: the signal is delivered again once out.
    dropped, slept = [], []
    monkeypatch.setattr(sys, "unraisablehook", dropped.append)
    with pytest.raises(Interrupted), handling(), interruptible():
        where()
        time.sleep(2)  # the delivery again, 20 ms later, raises out of this sleep
        slept.append(True)
    assert not dropped and not slept


def test_the_line_says_what_was_kept():
    during = Interrupted("SIGINT", run_id="abc", phase="the job", calls=7)
    assert interrupted_line(during, finished_runs=2, sweep=True) == (
        "interrupted by SIGINT: run abc marked KILLED during the job, 7 calls measured; 2 finished runs kept; "
        "rerun with resume=true to run the rest")
    assert interrupted_line(Interrupted("SIGTERM"), finished_runs=1, sweep=False) == (
        "interrupted by SIGTERM: no run was in progress; 1 finished run kept")
    assert interrupted_line(KeyboardInterrupt(), finished_runs=0, sweep=False) == (
        "interrupted by SIGINT: no run was in progress; 0 finished runs kept")
