"""examples/python/edges.py: read a bus, run OpenCV's Canny, publish to a second bus; each
output frame is checked against cv2.Canny on the very input frame (paired by timestamp)."""
import os
import signal
import sys
import time

import numpy as np
import pytest

import framebus
from conftest import SOURCE_DIR, wait_for

cv2 = pytest.importorskip("cv2")
EDGES = os.path.join(SOURCE_DIR, "examples", "python", "edges.py")


def scene(i, w=80, h=60):
    img = np.zeros((h, w, 3), np.uint8)
    cv2.rectangle(img, (5 + i, 5), (40 + i, 30 + i % 7), (200, 80, 30), -1)
    cv2.circle(img, (60, 40), 8 + i % 5, (30, 220, 120), -1)
    return img


@pytest.mark.parametrize("fmt", ["RGB24", "NV12"])
def test_edges_example(bus, procs, fmt):
    src, dst = bus(), bus()
    inputs = {}
    with framebus.Writer(src, fmt, 80, 60) as w, framebus.Reader(dst, follow=True) as r:
        # Run on until SIGINT: a writer that closes its bus right after its last frame can
        # close before a latest-frame reader took it.
        p = procs([sys.executable, EDGES, "--in", src, "--out", dst, "--timeout", "60"])
        # Importing cv2 takes seconds on a loaded machine; a dead edges.py says why at once.
        attached = wait_for(lambda: w.stats()["readers"] >= 1 or p.p.poll() is not None,
                            timeout=120)
        assert attached and p.p.poll() is None, p.finish()
        checked = 0
        for i in range(8):
            img = scene(i)
            ts = time.monotonic_ns()
            if fmt == "RGB24":
                w.publish(img, timestamp_ns=ts)
                grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
            else:
                yuv = cv2.cvtColor(img, cv2.COLOR_RGB2YUV_I420)
                y = yuv[:60]
                uv = np.stack([yuv[60:75].reshape(30, 40), yuv[75:].reshape(30, 40)], axis=-1)
                w.publish(np.concatenate([y.reshape(-1), uv.reshape(-1)]), timestamp_ns=ts)
                grey = y
            inputs[ts] = cv2.Canny(grey, 50, 150)
            with r.read(timeout=30) as f:
                out = np.asarray(f)
                assert f.format == "GREY" and out.shape == (60, 80)
                assert f.timestamp_ns in inputs
                assert np.array_equal(out, inputs[f.timestamp_ns])
                assert out.any()  # the scene has edges
                checked += 1
                del out
        p.p.send_signal(signal.SIGINT)
        rc, out, err = p.finish()
        assert rc == 0, err
        assert " frames" in out  # SIGINT may come before it counted the 8th
    assert checked == 8
