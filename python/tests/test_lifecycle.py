"""The reader life cycle through the library: writer killed and restarted under a Reader,
format change, follow readers (open before the bus, carry on after close), timeouts, Ctrl-C in
a blocking read, the GIL released while blocked, one Reader shared between threads."""
import signal
import threading
import time

import numpy as np
import pytest

import framebus
from conftest import pattern, prog, python_child, wait_for


def start_writer(procs, name, *extra, fmt="RGB24", size="32x16"):
    w = procs([prog("fbus-testwriter"), "--bus", name, "--format", fmt, "--size", size,
               *extra])
    w.wait_line("READY")
    return w


def check(frame):
    a = np.asarray(frame)
    assert np.array_equal(a.reshape(-1), pattern(frame.seq, a.size)), frame
    del a


def test_writer_killed_and_restarted(bus, procs):
    name = bus()
    w = start_writer(procs, name, "--fps", "100", "--count", "100000")
    with framebus.Reader(name) as r:
        with r.read(timeout=2) as f:
            check(f)
        w.kill()
        t0 = time.monotonic()
        with pytest.raises(framebus.WriterGoneError) as e:
            while True:  # frames published before the kill may still come
                r.read(timeout=0.5).release()
        assert e.value.name == "FBUS_EWRITER_GONE" and "bus '%s'" % name in str(e.value)
        assert time.monotonic() - t0 < 10
        last = r.status()["last_seq"]
        w2 = start_writer(procs, name, "--fps", "100", "--count", "100000")
        with r.read(timeout=2) as f:  # the same Reader goes on with the new writer
            check(f)
            assert f.seq > last
        assert r.status()["state"] == "live"
        assert framebus.info(name)["restarts"] >= 1
        w2.kill()


def test_format_change(bus, procs):
    name = bus()
    w = start_writer(procs, name, "--fps", "200", "--count", "40", "--keep", "--change-at", "10",
                   "--size2", "16x8", "--format2", "GREY")
    shapes = []
    with framebus.Reader(name) as r:
        for f in r:
            with f:
                check(f)
                shapes.append(np.asarray(f).shape)
    assert shapes[0] == (16, 32, 3) and shapes[-1] == (8, 16)
    w.finish()


def test_follow_reader(bus):
    name = bus()
    with framebus.Reader(name, follow=True) as r:
        assert r.status()["state"] == "nobus"
        with pytest.raises(framebus.NoBusError):
            r.read(timeout=0.2)
        w = framebus.Writer(name, "GREY", 16, 8)
        w.publish(np.full((8, 16), 1, np.uint8))
        with r.read(timeout=2) as f:
            assert np.asarray(f)[0, 0] == 1
        w.close()
        with pytest.raises(framebus.ClosedError):
            r.read(timeout=0.2)
        # A new bus under the name, another format: the follow reader goes on.
        with framebus.Writer(name, "RGB24", 8, 4) as w2:
            w2.publish(np.full((4, 8, 3), 2, np.uint8))
            with r.read(timeout=2) as f:
                assert np.asarray(f).shape == (4, 8, 3)


def test_timeout(bus):
    name = bus()
    with framebus.Writer(name, "GREY", 16, 8), framebus.Reader(name) as r:
        t0 = time.monotonic()
        with pytest.raises(framebus.TimeoutError) as e:
            r.read(timeout=0.3)
        took = time.monotonic() - t0
        assert 0.25 <= took < 5.0
        assert isinstance(e.value, TimeoutError) and e.value.code == -10008
        with pytest.raises(framebus.AgainError):
            r.read(timeout=0)
        with pytest.raises(ValueError):
            r.read(timeout=-1)


def test_bound_reader_sees_close(bus):
    name = bus()
    w = framebus.Writer(name, "GREY", 16, 8, keep=True)
    r = framebus.Reader(name)
    w.close()
    t0 = time.monotonic()
    with pytest.raises(framebus.ClosedError):
        r.read(timeout=5)
    assert time.monotonic() - t0 < 3  # at once, not after the 5 s
    assert list(r) == []  # iteration ends on a closed bus
    r.close()


def test_ctrl_c_interrupts_blocking_read(bus):
    name = bus()
    with framebus.Writer(name, "GREY", 16, 8):
        child = python_child(
            "import framebus, sys\n"
            "r = framebus.Reader(%r)\n"
            "print('READING', flush=True)\n"
            "try:\n"
            "    r.read(timeout=None)\n"
            "except KeyboardInterrupt:\n"
            "    print('INTERRUPTED', flush=True)\n"
            "    sys.exit(7)\n" % name)
        assert child.stdout.readline().strip() == "READING"
        time.sleep(0.3)
        t0 = time.monotonic()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=5)
        took = time.monotonic() - t0
        assert child.returncode == 7, err
        assert "INTERRUPTED" in out
        assert took < 3.0  # a read that was not interrupted would never end


def test_gil_released_while_blocked(bus):
    name = bus()
    with framebus.Writer(name, "GREY", 16, 8), framebus.Reader(name) as r:
        errors = []

        def blocked():
            try:
                r.read(timeout=1.0)
            except framebus.TimeoutError:
                pass
            except Exception as e:  # pragma: no cover
                errors.append(e)

        t = threading.Thread(target=blocked)
        t.start()
        time.sleep(0.05)
        n, t0 = 0, time.monotonic()
        while time.monotonic() - t0 < 0.5:
            n += 1
        t.join()
        assert not errors
        # With the GIL held by the blocked read this thread would not run at all.
        assert n > 10000


def test_reader_shared_between_threads(bus, procs):
    name = bus()
    start_writer(procs, name, "--fps", "300", "--count", "100000", "--slots", "8")
    frames = []
    errors = []
    with framebus.Reader(name) as r:
        def worker():
            try:
                for _ in range(15):
                    f = r.read(timeout=2)
                    check(f)
                    frames.append(f)  # released later, from another thread
            except Exception as e:
                errors.append(e)

        def releaser():
            for _ in range(200):
                while frames:
                    frames.pop().release()
                time.sleep(0.002)

        threads = [threading.Thread(target=worker) for _ in range(3)]
        threads.append(threading.Thread(target=releaser))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # StateError: more than SLOTS_MAX frames held at once is the library's limit.
        assert all(isinstance(e, framebus.StateError) for e in errors), errors
        frames.clear()
        assert wait_for(lambda: r.status()["held"] == 0)
        assert r.status()["frames"] >= 15
