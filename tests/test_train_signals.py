"""Ctrl-C and SIGTERM during an epoch's bookkeeping wait until it is written."""

from __future__ import annotations

import os
import signal

import pytest

from specc.train.signals import signals_held


class _StopError(Exception):
    pass


def test_ctrl_c_inside_waits_for_the_block_to_end():
    done = []
    with pytest.raises(KeyboardInterrupt):
        with signals_held(signal.SIGINT, signal.SIGTERM):
            os.kill(os.getpid(), signal.SIGINT)
            done.append("checkpoint")
            os.kill(os.getpid(), signal.SIGINT)  # a second press: one interruption
            done.append("history")
    assert done == ["checkpoint", "history"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_the_handler_in_place_acts_on_it_afterwards():
    def stop(signum, frame):
        raise _StopError(signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        with pytest.raises(_StopError) as raised:
            with signals_held(signal.SIGINT, signal.SIGTERM):
                os.kill(os.getpid(), signal.SIGTERM)
                assert signal.getsignal(signal.SIGTERM) is not stop
        assert raised.value.args == (signal.SIGTERM,)
        assert signal.getsignal(signal.SIGTERM) is stop
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_nothing_is_raised_without_a_signal():
    with signals_held(signal.SIGINT):
        pass
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
