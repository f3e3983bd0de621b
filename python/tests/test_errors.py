"""Each bad input gets its exception from one hierarchy (framebus.Error, carrying the library's
code, name and message), never a crash: bad names, formats, sizes, calls out of order, another
writer, a foreign segment under the key, a hostile (scribbled) header, another user."""
import ctypes
import os
import subprocess
import sys

import numpy as np
import pytest

import framebus
from conftest import TOOL, prog

libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
libc.shmdt.argtypes = [ctypes.c_void_p]
IPC_CREAT, IPC_RMID = 0o1000, 0


def bus_key(name):
    h = 0x811C9DC5
    for c in b"framebus:" + name.encode():
        h = ((h ^ c) * 0x01000193) & 0xFFFFFFFF
    return 0xFB000000 | (h & 0xFFFFFF)


def test_hierarchy():
    for cls in (framebus.NoBusError, framebus.BusyError, framebus.CorruptError,
                framebus.WriterGoneError, framebus.ClosedError, framebus.TimeoutError,
                framebus.PermissionError, framebus.ForeignError, framebus.StateError):
        assert issubclass(cls, framebus.Error)
    assert issubclass(framebus.TimeoutError, TimeoutError)
    assert issubclass(framebus.PermissionError, PermissionError)
    assert issubclass(framebus.NameError, ValueError)
    assert framebus.strerror(-10001)[0] == "FBUS_ENOBUS"


@pytest.mark.parametrize("name", ["Bad Name", "a" * 32, "", "x/y", "caps-NO"])
def test_bad_names(name):
    with pytest.raises(framebus.NameError) as e:
        framebus.Reader(name)
    assert e.value.code == -10006 and e.value.name == "FBUS_ENAME"
    with pytest.raises(framebus.NameError):
        framebus.Writer(name, "GREY", 8, 8)
    with pytest.raises(framebus.NameError):
        framebus.info(name)


def test_wrong_types():
    with pytest.raises(TypeError):
        framebus.Reader(123)
    with pytest.raises(TypeError):
        framebus.Writer("x", 1.5, 8, 8)


def test_no_bus(bus):
    name = bus()
    with pytest.raises(framebus.NoBusError) as e:
        framebus.Reader(name)
    assert name in str(e.value) and "no such bus" in str(e.value)
    with pytest.raises(framebus.NoBusError):
        framebus.info(name)


@pytest.mark.parametrize("fmt,w,h", [("FOO", 8, 8), ("YUYV", 7, 8), ("NV12", 8, 7),
                                     ("RGB24", 0, 8), ("RGB24", 20000, 8), (0x12345678, 8, 8)])
def test_bad_formats(bus, fmt, w, h):
    with pytest.raises(framebus.FormatError):
        framebus.Writer(bus(), fmt, w, h)


@pytest.mark.parametrize("kw", [{"slots": 1}, {"slots": 17}, {"mode": 0o7777}])
def test_bad_writer_options(bus, kw):
    with pytest.raises(framebus.Error):
        framebus.Writer(bus(), "GREY", 8, 8, **kw)


def test_calls_out_of_order(bus):
    name = bus()
    w = framebus.Writer(name, "GREY", 8, 4)
    with pytest.raises(framebus.BusyError):
        framebus.Writer(name, "GREY", 8, 4)
    with pytest.raises(framebus.SizeError):
        w.publish(np.zeros(31, np.uint8))
    r = framebus.Reader(name)
    img = np.arange(64, dtype=np.uint8).reshape(8, 8)
    assert w.publish(img[:, ::2])  # not contiguous: copied contiguous first
    with r.read(timeout=1) as f:
        assert np.array_equal(np.asarray(f).reshape(-1), img[:, ::2].reshape(-1))
    r.close()
    with pytest.raises(TypeError):
        w.publish(42)
    c = w.claim()
    with pytest.raises(framebus.StateError):
        w.claim()
    with pytest.raises(framebus.SizeError):
        c.commit(bytesused=1 << 40)
    c.abort()
    with pytest.raises(framebus.StateError):
        c.commit()
    r = framebus.Reader(name)
    w.publish(np.zeros((4, 8), np.uint8))
    f = r.read(timeout=1)
    f.release()
    f.release()  # idempotent
    with pytest.raises(OverflowError):
        r.read(after=-1)
    with pytest.raises(ValueError):
        r.read(timeout=-0.5)
    with pytest.raises(RuntimeError):
        r.__init__(name)
    r.close()
    with pytest.raises(framebus.StateError):
        r.read(timeout=0)
    w.close()
    w.close()  # idempotent
    with pytest.raises(framebus.StateError):
        w.publish(np.zeros((4, 8), np.uint8))
    with pytest.raises(framebus.StateError):
        w.claim()
    with pytest.raises(TypeError):
        framebus.Frame()


def test_reader_holds_at_most_slots_max(bus):
    name = bus()
    with framebus.Writer(name, "GREY", 8, 4, slots=16) as w, framebus.Reader(name) as r:
        held = []
        for i in range(framebus.SLOTS_MAX):
            w.publish(np.full((4, 8), i, np.uint8))
            held.append(r.read(timeout=1))
        assert not w.publish(np.zeros((4, 8), np.uint8))  # every slot held: dropped
        with pytest.raises(framebus.StateError):
            r.read(timeout=1)
        held.clear()
        assert w.publish(np.zeros((4, 8), np.uint8))
        r.read(timeout=1).release()


def test_foreign_segment_under_key(bus):
    name = bus()
    shmid = libc.shmget(bus_key(name), 4096, IPC_CREAT | 0o600)
    assert shmid >= 0
    try:
        # Whatever the library makes of it (no bus: no semaphore set names it), it is an error.
        with pytest.raises(framebus.Error):
            framebus.Reader(name)
        r = framebus.Reader(name, follow=True)  # said by read, not by open
        with pytest.raises(framebus.Error):
            r.read(timeout=0.3)
        r.close()
    finally:
        libc.shmctl(shmid, IPC_RMID, None)


def scribble(shmid, offset, data):
    addr = libc.shmat(shmid, None, 0)
    assert addr not in (None, ctypes.c_void_p(-1).value)
    ctypes.memmove(addr + offset, data, len(data))
    libc.shmdt(addr)


@pytest.mark.parametrize("seed", range(12))
def test_hostile_header(bus, seed):
    """A bus whose header another admitted process scribbled over: errors, no crash."""
    name = bus()
    w = subprocess.run([prog("fbus-testwriter"), "--bus", name, "--format", "RGB24", "--size",
                        "16x8", "--count", "3", "--keep"], capture_output=True, timeout=30)
    assert w.returncode == 0, w.stderr
    shmid = framebus.info(name)["shmid"]
    rng = np.random.default_rng(seed)
    if seed == 0:  # a huge frame in the format fields
        scribble(shmid, 96 + 4, np.array([16384, 16384, 0xFFFFFFFF], "<u4").tobytes())
    else:
        off = int(rng.integers(0, 1400))
        scribble(shmid, off, rng.integers(0, 256, int(rng.integers(1, 64)), np.uint8).tobytes())
    try:
        r = framebus.Reader(name)
    except framebus.Error:
        return
    with r:
        for _ in range(3):
            try:
                with r.read(timeout=0.1, after=0) as f:
                    a = np.asarray(f)  # when the library hands a frame out, it fits its slot
                    int(a.sum())
                    del a
            except (framebus.Error, BufferError):
                pass
    subprocess.run([TOOL, "rm", "--force", name], capture_output=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user")
def test_other_user_is_refused(bus):
    name = bus()
    with framebus.Writer(name, "GREY", 8, 4, mode=0o600):
        code = ("import os, framebus\n"
                "os.setgid(65534); os.setuid(65534)\n"
                "try:\n"
                "    framebus.Reader(%r)\n"
                "except framebus.PermissionError as e:\n"
                "    print('EPERM', isinstance(e, PermissionError), e.name)\n" % name)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=30)
        assert out.stdout.strip() == "EPERM True FBUS_EPERM", out.stderr
