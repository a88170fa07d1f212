"""Ctrl-C as a request: the first SIGINT or SIGTERM sets the flag, a second SIGINT aborts, handlers come back."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from wganlab.training.signals import stop_requests


def test_the_first_signal_requests_a_stop_and_the_second_sigint_aborts():
    before = signal.getsignal(signal.SIGINT)
    with stop_requests() as flag:
        assert flag.requested is False
        os.kill(os.getpid(), signal.SIGTERM)
        assert flag.requested is True
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before  # the caller's handler is back


def test_without_abort_a_second_sigint_only_repeats_the_request():
    with stop_requests(second_sigint_aborts=False) as flag:
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)
        assert flag.requested is True


def test_off_the_main_thread_signals_stay_with_their_owner():
    seen = []

    def worker() -> None:
        with stop_requests() as flag:
            seen.append(flag.requested)

    before = signal.getsignal(signal.SIGINT)
    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen == [False] and signal.getsignal(signal.SIGINT) is before
