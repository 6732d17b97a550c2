"""core.signals: SIGTERM and SIGHUP unwind inside ``unwinding()``, are held inside ``deferred()``.

Signals are raised in this process with ``signal.raise_signal``, which runs the
Python handler before it returns; each test first checks that the unwinding
handler is in place, so a regression fails an assertion instead of ending pytest.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from dicomframe.core import signals
from dicomframe.core.signals import Terminated, deferred, unwind, unwinding

SIGNALS = [signal.SIGTERM, signal.SIGHUP]


@pytest.fixture(autouse=True)
def default_actions() -> Iterator[None]:
    """SIGTERM and SIGHUP at their default action, as in a fresh process; restored after."""
    previous = {signum: signal.signal(signum, signal.SIG_DFL) for signum in SIGNALS}
    yield
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def test_installed_for_the_block_only() -> None:
    with unwinding():
        assert [signal.getsignal(s) for s in SIGNALS] == [unwind, unwind]
    assert [signal.getsignal(s) for s in SIGNALS] == [signal.SIG_DFL, signal.SIG_DFL]


def test_nested_blocks_keep_the_outer_handler() -> None:
    with unwinding():
        with unwinding():
            pass
        assert signal.getsignal(signal.SIGTERM) is unwind
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_an_ignored_or_handled_signal_is_left_alone() -> None:
    def own(signum: int, frame: Any) -> None:
        pass

    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as under nohup
    signal.signal(signal.SIGTERM, own)
    with unwinding():
        assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
        assert signal.getsignal(signal.SIGTERM) is own
    assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
    assert signal.getsignal(signal.SIGTERM) is own


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_a_signal_unwinds_past_except_exception(signum: int) -> None:
    cleaned = []

    def work() -> None:
        with unwinding():
            assert signal.getsignal(signum) is unwind
            try:
                signal.raise_signal(signum)
            except Exception:  # a per-file "report and go on" must not swallow it
                pytest.fail("Terminated was caught as an Exception")
            finally:
                cleaned.append(True)

    with pytest.raises(Terminated) as info:
        work()
    assert cleaned == [True]
    assert info.value.signum == signum
    assert info.value.code == 128 + signum
    assert str(info.value) == f"stopped by {signal.Signals(signum).name}"


def test_deferred_raises_when_the_block_ends() -> None:
    steps = []

    def work() -> None:
        with unwinding():
            assert signal.getsignal(signal.SIGTERM) is unwind
            with deferred():
                signal.raise_signal(signal.SIGTERM)
                steps.append("after the signal")
                with deferred():  # nested: held until the outer block ends
                    steps.append("inner")
                steps.append("still held")
            steps.append("never")

    with pytest.raises(Terminated):
        work()
    assert steps == ["after the signal", "inner", "still held"]
    assert signals._STATE.depth == 0
    assert signals._STATE.pending is None


def test_other_threads_install_nothing() -> None:
    seen: list[object] = []

    def work() -> None:
        with unwinding(), deferred():
            seen.append(signal.getsignal(signal.SIGTERM))
            seen.append(signals._STATE.depth)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen == [signal.SIG_DFL, 0]
