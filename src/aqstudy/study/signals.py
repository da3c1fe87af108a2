"""Ctrl-C and SIGTERM end a run alike: the calls measured so far are kept, the run is marked KILLED, Lithops'
temp data is cleaned, and the process exits 130 or 143."""

from __future__ import annotations

from contextlib import contextmanager

#: Seconds a run stopped by SIGTERM has to record itself before the process exits regardless.
SIGTERM_GRACE_S = 30


#: Signals received and not yet acted on. Python raises a signal's exception wherever the main thread is;
#: inside a garbage-collector callback (SQLAlchemy registers some, MLflow triggers them) the exception is
#: printed and dropped, so the signal is also remembered here and acted on at the next check.
_RECEIVED: list[str] = []


def interrupt_on_signal(signum, frame) -> None:
    """Signal handler: Ctrl-C and SIGTERM end a run alike (measured calls kept, run KILLED, temp data
    cleaned, exit 130 or 143). ``src/run.py`` installs it for the whole process."""
    import signal
    import threading

    name = signal.Signals(signum).name
    _RECEIVED.append(name)
    if name == "SIGTERM":
        # Should the clean-up itself hang (an interrupted library holding a lock), the process still ends.
        import os

        watchdog = threading.Timer(SIGTERM_GRACE_S, os._exit, args=(143,))
        watchdog.daemon = True
        watchdog.start()
    raise Interrupted(name)


def raise_if_interrupted() -> None:
    """Act on a signal whose exception was dropped (see :data:`_RECEIVED`)."""
    if _RECEIVED:
        name = _RECEIVED[0]
        _RECEIVED.clear()
        raise Interrupted(name)


@contextmanager
def signals_as_interrupt():
    """:func:`interrupt_on_signal` for SIGINT and SIGTERM while a run lasts; a signal whose exception was
    dropped stops the process once the run has ended."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, interrupt_on_signal) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    except KeyboardInterrupt:
        _RECEIVED.clear()  # delivered
        raise
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    raise_if_interrupted()


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal; ``signal_name`` says which."""

    def __init__(self, signal_name: str = "SIGINT"):
        super().__init__(signal_name)
        self.signal_name = signal_name
