"""No view outlives its memory: a numpy view keeps its frame's slot held after the with-block
ends and releases it when the last view goes; the mapping is read-only (r--s) and writing into
a view raises; a Reader closed under live views keeps them valid; a Writer closed under live
claim views keeps its segment until they go."""
import gc

import numpy as np
import pytest

import framebus

W, H = 32, 16


def maps_perms(addr):
    with open("/proc/self/maps") as f:
        for line in f:
            rng, perms = line.split()[:2]
            lo, hi = (int(x, 16) for x in rng.split("-"))
            if lo <= addr < hi:
                return perms
    return None


def test_read_only_view_and_mapping(bus):
    name = bus()
    with framebus.Writer(name, "GREY", W, H) as w, framebus.Reader(name) as r:
        w.publish(np.full((H, W), 9, np.uint8))
        with r.read(timeout=1) as f:
            a = np.asarray(f)
            assert not a.flags.writeable
            with pytest.raises(ValueError):
                a[0, 0] = 1
            with pytest.raises(ValueError):
                a.setflags(write=True)
            m = memoryview(f)
            assert m.readonly and m.shape == (H, W)
            with pytest.raises(TypeError):
                m[0, 0] = 1
            assert maps_perms(a.ctypes.data) == "r--s"
            assert int(a.sum()) == 9 * W * H
            del a, m


def test_view_keeps_slot_held_after_with(bus):
    """Proved against the writer: with 2 slots, a held latest frame leaves no slot after one
    more publish, so publish drops (returns False) until the hold goes."""
    name = bus()
    with framebus.Writer(name, "GREY", W, H, slots=2) as w, framebus.Reader(name) as r:
        assert w.publish(np.zeros((H, W), np.uint8))
        with r.read(timeout=1) as f:
            view = np.asarray(f)
            sub = view[2:5]  # a view of the view holds it too
        assert f.held and f.views == 1  # the with-block ended, but `view` lives
        assert r.status()["held"] == 1
        assert w.publish(np.ones((H, W), np.uint8))  # the other slot
        assert not w.publish(np.ones((H, W), np.uint8))  # no free slot: the view holds one
        del view
        assert f.held  # `sub` still refers to the memory
        assert int(sub.sum()) == 0
        del sub
        gc.collect()
        assert not f.held and f.views == 0
        assert r.status()["held"] == 0
        assert w.publish(np.ones((H, W), np.uint8))
        with pytest.raises(BufferError):
            np.asarray(f)  # released: no new view
        with pytest.raises(framebus.StateError):
            f.to_rgb()


def test_frame_dropped_releases(bus):
    name = bus()
    with framebus.Writer(name, "GREY", W, H, slots=2) as w, framebus.Reader(name) as r:
        w.publish(np.zeros((H, W), np.uint8))
        f = r.read(timeout=1)
        assert r.status()["held"] == 1
        del f
        assert r.status()["held"] == 0


def test_reader_closed_under_live_views(bus):
    name = bus()
    w = framebus.Writer(name, "RGB24", W, H)
    r = framebus.Reader(name)
    img = np.random.default_rng(3).integers(0, 256, (H, W, 3), dtype=np.uint8)
    w.publish(img)
    a = np.asarray(r.read(timeout=1))  # the Frame object itself is gone at once
    r.close()
    assert r.closed
    with pytest.raises(framebus.StateError):
        r.read(timeout=0)
    del r
    gc.collect()
    assert np.array_equal(a, img)  # still mapped: the view keeps Frame and Reader alive
    w.close()
    assert np.array_equal(a, img)  # the writer removed the bus; our attachment stays
    del a


def test_writer_close_deferred_under_claim_views(bus):
    name = bus()
    w = framebus.Writer(name, "GREY", W, H)
    with w.claim() as buf:
        buf[:] = 5
    w.close()  # `buf` lives: the segment stays until it goes
    buf[:] = 6  # still our memory
    with pytest.raises(framebus.StateError):
        w.publish(np.zeros((H, W), np.uint8))
    assert framebus.info(name)["writer_alive"]
    del buf
    gc.collect()
    with pytest.raises(framebus.NoBusError):
        framebus.info(name)


def test_set_format_refused_under_claim_views(bus):
    name = bus()
    with framebus.Writer(name, "GREY", W, H) as w:
        c = w.claim()
        v = np.asarray(c)
        c.commit()
        with pytest.raises(BufferError):
            w.set_format("RGB24", W, H)
        del v
        w.set_format("RGB24", W, H)
        assert w.format["format"] == "RGB3"
        del c


def test_claim_abort_on_exception(bus):
    name = bus()
    with framebus.Writer(name, "GREY", W, H) as w, framebus.Reader(name) as r:
        with pytest.raises(RuntimeError):
            with w.claim() as buf:
                buf[:] = 1
                raise RuntimeError("processing failed")
        del buf
        with pytest.raises(framebus.AgainError):
            r.read(timeout=0)  # nothing was published
        assert w.stats()["published"] == 0
