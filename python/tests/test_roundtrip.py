"""Round trips in every format: the C writer (fbus-testwriter) into a Python Reader, and a
Python Writer into the C reader (fbus-testreader), each frame carrying the test pattern of its
sequence number (tests/support/pattern.h); the numpy views' shapes and strides per format."""
import numpy as np
import pytest

import framebus
from conftest import pattern, prog

W, H = 64, 48
RAW = ["YUYV", "UYVY", "NV12", "I420", "RGB24", "BGR24", "GREY"]
ALL = RAW + ["MJPG"]  # MJPEG: carried as bytes, (bytesused,)
SHAPES = {
    "YUYV": (H, W, 2), "UYVY": (H, W, 2), "RGB24": (H, W, 3), "BGR24": (H, W, 3),
    "GREY": (H, W), "NV12": (H * 3 // 2, W), "I420": (H * 3 // 2, W),
    "MJPG": (W * H * 2,),  # fbus_format_init's upper bound, all of it used by these writers
}


def plane_shapes(fmt):
    if fmt == "NV12":
        return [(H, W), (H // 2, W // 2, 2)]
    if fmt == "I420":
        return [(H, W), (H // 2, W // 2), (H // 2, W // 2)]
    return [SHAPES[fmt]]


@pytest.mark.parametrize("fmt", ALL)
def test_c_writer_to_python_reader(fmt, bus, procs):
    name = bus()
    count = 20
    w = procs([prog("fbus-testwriter"), "--bus", name, "--format", fmt, "--size",
               "%dx%d" % (W, H), "--count", str(count), "--fps", "200", "--keep"])
    w.wait_line("READY")
    got = 0
    with framebus.Reader(name) as r:
        for frame in r:
            with frame:
                a = np.asarray(frame)
                assert a.shape == SHAPES[fmt]
                assert a.dtype == np.uint8 and not a.flags.writeable
                assert frame.bytesused == frame.sizeimage == a.size
                assert np.array_equal(a.reshape(-1), pattern(frame.seq, a.size))
                planes = frame.planes
                assert [p.shape for p in planes] == plane_shapes(fmt)
                # The planes are views of the same bytes, at the format's offsets.
                off = frame.format_info["plane_offset"]
                for i, p in enumerate(planes):
                    assert p.ctypes.data == a.ctypes.data + off[i] - off[0]
                    assert not p.flags.writeable
                got += 1
                del a, planes
            if frame.seq == count:
                break
    assert got >= 2
    rc, out, err = w.finish()
    assert rc == 0, err


@pytest.mark.parametrize("fmt", ALL)
def test_python_writer_to_c_reader(fmt, bus, procs):
    name = bus()
    count = 30
    with framebus.Writer(name, fmt, W, H, slots=4) as w:
        r = procs([prog("fbus-testreader"), "--bus", name, "--count", str(count),
                   "--lossless", "--expect-format", fmt, "--expect-size", "%dx%d" % (W, H)])
        r.wait_line("WAITING")
        assert wait_wait_readers(w)
        size = w.format["sizeimage"]
        for seq in range(1, count + 1):
            if seq % 2:
                assert w.publish(pattern(seq, size))
            else:
                with w.claim() as buf:  # zero copy: fill the slot in place
                    assert buf.flags.writeable
                    if fmt == "MJPG":  # the whole slot, bytes
                        assert buf.ndim == 1 and buf.size >= size
                        buf = buf[:size]
                    assert buf.shape == SHAPES[fmt]
                    buf.reshape(-1)[:] = pattern(seq, size)
                del buf
        rc, out, err = r.finish()
    assert rc == 0, out + err
    assert "torn 0" in out and "bad 0" in out, out


def wait_wait_readers(w, timeout=5.0):
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if w.stats()["readers"] >= 1:
            time.sleep(0.05)  # the lossless reader arms itself after attaching
            return True
        time.sleep(0.01)
    return False


def test_python_to_python_padded_strides(bus):
    """A writer with padded rows (as V4L2 drivers lay them out): every view honours them."""
    name = bus()
    with framebus.Writer(name, "RGB24", W, H, bytesperline=W * 3 + 64) as w, \
            framebus.Reader(name) as r:
        img = np.random.default_rng(1).integers(0, 256, (H, W, 3), dtype=np.uint8)
        with w.claim() as buf:
            assert buf.strides == (W * 3 + 64, 3, 1)
            buf[:] = img
        del buf
        with r.read(timeout=1) as f:
            a = np.asarray(f)
            assert a.strides == (W * 3 + 64, 3, 1) and np.array_equal(a, img)
            assert np.array_equal(f.copy(), img) and f.copy().flags.writeable
            assert np.array_equal(f.to_rgb(), img)
            assert np.array_equal(f.to_bgr(), img[..., ::-1])
            del a


def test_padded_nv12_planes(bus):
    name = bus()
    with framebus.Writer(name, "NV12", W, H, bytesperline=W + 32) as w, \
            framebus.Reader(name) as r:
        with w.claim() as c:
            c[:] = 128  # the whole (h*3/2, w) array, padding skipped
        del c
        with r.read(timeout=1) as f:
            y, uv = f.planes
            assert y.shape == (H, W) and y.strides == (W + 32, 1)
            assert uv.shape == (H // 2, W // 2, 2) and uv.strides == (W + 32, 2, 1)
            # NV12 with padded rows is still OpenCV's (h*3/2, w) array, with strides.
            assert np.asarray(f).shape == (H * 3 // 2, W)
            del y, uv


def test_to_rgb_matches_opencv(bus):
    cv2 = pytest.importorskip("cv2")
    name = bus()
    rng = np.random.default_rng(7)
    with framebus.Writer(name, "I420", W, H) as w, framebus.Reader(name) as r:
        data = rng.integers(16, 235, w.format["sizeimage"], dtype=np.uint8)
        w.publish(data)
        with r.read(timeout=1) as f:
            ref = cv2.cvtColor(np.asarray(f), cv2.COLOR_YUV2RGB_I420)
            # BT.601 limited range both ways; rounding may differ by a little.
            assert np.abs(f.to_rgb().astype(int) - ref.astype(int)).max() <= 3


def test_mjpeg_is_bytes(bus):
    name = bus()
    with framebus.Writer(name, "MJPEG", W, H, slot_size=8192) as w, framebus.Reader(name) as r:
        with w.claim() as buf:
            assert buf.ndim == 1 and buf.size >= 8192
            buf[:5] = np.frombuffer(b"\xff\xd8abc", np.uint8)
            c = None
        del buf
        assert c is None
        c = w.claim()
        np.asarray(c)[:3] = [1, 2, 3]
        c.commit(bytesused=3)
        with r.read(timeout=1) as f:
            a = np.asarray(f)
            assert a.shape == (3,) and list(a) == [1, 2, 3]
            del a
        del c
