"""A lossless Reader gets every frame of a PNG replay (fbus-capture --source png:DIR), in
order and intact, checked against OpenCV's decoding of the same files."""
import os

import numpy as np
import pytest

import framebus
from conftest import CAPTURE, wait_for

cv2 = pytest.importorskip("cv2")


@pytest.mark.skipif(not CAPTURE, reason="fbus-capture not built (FBUS_CAPTURE=OFF)")
def test_lossless_png_replay(bus, procs, tmp_path):
    name = bus()
    n, w, h = 40, 48, 32
    rng = np.random.default_rng(5)
    images = []
    for i in range(n):
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)  # BGR, as cv2 writes it
        cv2.imwrite(str(tmp_path / ("f%03d.png" % i)), img)
        images.append(img)
    cap = procs([CAPTURE, "--bus", name, "--source", "png:%s" % tmp_path, "--count", str(n),
                 "--lossless-wait", "5000"])
    assert wait_for(lambda: any(b["name"] == name for b in framebus.buses()), timeout=10)
    got = []
    with framebus.Reader(name, lossless=True) as r:
        while len(got) < n:
            with r.read(timeout=10) as f:
                assert f.missed == 0
                got.append((f.seq, f.to_bgr(), np.asarray(f).copy()))
    rc, out, err = cap.finish()
    assert rc == 0, err
    seqs = [s for s, _, _ in got]
    assert seqs == list(range(seqs[0], seqs[0] + n))  # every frame, in order
    for (seq, bgr, rgb), ref in zip(got, images):
        assert np.array_equal(bgr, ref)  # RGB3 on the bus, converted back
        assert np.array_equal(rgb, cv2.cvtColor(ref, cv2.COLOR_BGR2RGB))
    assert os.path.isdir(tmp_path)
