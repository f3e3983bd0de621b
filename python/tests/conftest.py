"""Shared fixtures of the framebus Python tests (run by ctest as Python.<file>).

The environment comes from python/CMakeLists.txt: PYTHONPATH (the build tree's package),
FBUS_TOOL, FBUS_PROGDIR (fbus-testwriter, fbus-testreader), FBUS_CAPTURE, FBUS_SOURCE_DIR.
Every test gets its own bus names and removes them afterwards.
"""
import itertools
import os
import subprocess
import sys
import time

import numpy as np
import pytest

import framebus

TOOL = os.environ.get("FBUS_TOOL", "fbus")
PROGDIR = os.environ.get("FBUS_PROGDIR", "")
CAPTURE = os.environ.get("FBUS_CAPTURE", "")
SOURCE_DIR = os.environ.get("FBUS_SOURCE_DIR",
                            os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
_counter = itertools.count()


def prog(name):
    return os.path.join(PROGDIR, name)


def pattern(seq, nbytes):
    """tests/support/pattern.h in numpy: the bytes of frame `seq`."""
    n = (nbytes + 7) // 8
    k = np.arange(n, dtype=np.uint64)
    s = np.uint64(seq)
    with np.errstate(over="ignore"):
        w = (s * np.uint64(0x9E3779B97F4A7C15)) ^ (k * np.uint64(0xD6E8FEB86659FD93)) ^ s
    return w.astype("<u8").view(np.uint8)[:nbytes]


class Buses:
    """Unique bus names for one test, removed (fbus rm --force) at its end."""

    def __init__(self):
        self.names = []

    def __call__(self):
        name = "py%d-%d" % (os.getpid() % 100000, next(_counter))
        self.names.append(name)
        return name

    def cleanup(self):
        for n in self.names:
            subprocess.run([TOOL, "rm", "--force", n], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=False)


@pytest.fixture
def bus():
    b = Buses()
    yield b
    b.cleanup()


class Proc:
    """A child program, killed at the end of the test if still running."""

    def __init__(self, args, **kw):
        self.p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, **kw)

    def wait_line(self, want, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.p.stdout.readline()
            if not line:
                break
            if line.startswith(want):
                return line
        raise AssertionError("%s never printed %r (stderr: %s)" %
                             (self.p.args[0], want, self.p.stderr.read() if
                              self.p.poll() is not None else "still running"))

    def finish(self, timeout=30.0):
        out, err = self.p.communicate(timeout=timeout)
        return self.p.returncode, out, err

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


@pytest.fixture
def procs():
    started = []

    def start(args, **kw):
        p = Proc(args, **kw)
        started.append(p)
        return p

    yield start
    for p in started:
        p.kill()


def wait_for(cond, timeout=5.0, step=0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


def python_child(code, **kw):
    """A python3 child running code with this package importable."""
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


__all__ = ["framebus", "np", "pattern", "prog", "wait_for", "python_child", "TOOL", "CAPTURE",
           "SOURCE_DIR"]
