#!/usr/bin/env python3
"""pybench.py - what a Python reader pays per frame (scripts/bench runs it; docs/benchmarks.md).

Three readers of the same bus (BGR24 640x480 by default), each measured two ways:
  loop    read the latest frame without waiting + numpy view + release, many times over one
          published frame: the pure per-frame overhead (wall ns per frame);
  stream  a writer process publishes at --fps; the reader takes every new frame for --seconds:
          the reader process's CPU time per frame received.
Readers: the C reader (fbus-pybench-creader), framebus.Reader (numpy.asarray(frame)), and
cv2.VideoCapture("fbussrc bus=... ! appsink", cv2.CAP_GSTREAMER), which needs the fbussrc element
(gstreamer/, GST_PLUGIN_PATH); without it that row says why and is skipped, never made up.

    pybench.py --creader BUILD/python/fbus-pybench-creader [--gst-plugin-path DIR]
               [--markdown FILE] [--quick]
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

import numpy as np

import framebus

W, H, FMT = 640, 480, "BGR24"


def writer_child(name, fps, seconds):
    code = ("import framebus, numpy as np, time\n"
            "w = framebus.Writer(%r, %r, %d, %d, slots=4)\n"
            "img = np.random.default_rng(1).integers(0, 256, (%d, %d, 3), dtype=np.uint8)\n"
            "print('READY', flush=True)\n"
            "t0 = time.monotonic(); n = 0\n"
            "while time.monotonic() - t0 < %f:\n"
            "    w.publish(img); n += 1\n"
            "    time.sleep(max(0, t0 + n / %f - time.monotonic()))\n"
            "w.close()\n" % (name, FMT, W, H, H, W, seconds, fps))
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "READY"
    return p


def py_loop(name, n):
    with framebus.Reader(name) as r:
        best = []
        for _ in range(5):
            t0 = time.perf_counter_ns()
            for _ in range(n):
                f = r.read(timeout=0, after=0)
                a = np.asarray(f)
                del a
                f.release()
            best.append((time.perf_counter_ns() - t0) / n)
    return statistics.median(best)


def py_stream(name, seconds):
    frames = 0
    with framebus.Reader(name) as r:
        c0, t0 = time.process_time_ns(), time.monotonic()
        while time.monotonic() - t0 < seconds:
            with r.read(timeout=1) as f:
                a = np.asarray(f)
                del a
            frames += 1
        cpu = time.process_time_ns() - c0
    return frames, cpu / max(frames, 1)


def c_run(creader, name, mode, arg):
    out = subprocess.run([creader, name, mode, str(arg)], capture_output=True, text=True,
                         timeout=120)
    if out.returncode != 0:
        raise RuntimeError("fbus-pybench-creader: " + out.stderr.strip())
    words = out.stdout.split()
    return dict(zip(words[::2], (float(x) for x in words[1::2])))


def gst_why_not(plugin_path):
    try:
        import cv2
    except ImportError:
        return "python3-opencv is not installed", None
    if "GStreamer:                   YES" not in cv2.getBuildInformation():
        return "this OpenCV is built without GStreamer", None
    env = dict(os.environ)
    if plugin_path:
        env["GST_PLUGIN_PATH"] = plugin_path
    probe = subprocess.run(["gst-inspect-1.0", "fbussrc"], capture_output=True, env=env)
    if probe.returncode != 0:
        return ("no fbussrc element (gstreamer/ not built, or GST_PLUGIN_PATH=%s lacks it)"
                % (plugin_path or "unset")), None
    return None, cv2


def cv2_stream(cv2, name, seconds):
    pipe = ("fbussrc bus=%s ! videoconvert ! video/x-raw,format=BGR ! "
            "appsink drop=true max-buffers=1 sync=false" % name)
    cap = cv2.VideoCapture(pipe, cv2.CAP_GSTREAMER)
    if not cap.isOpened():
        raise RuntimeError("cv2.VideoCapture could not open %r" % pipe)
    frames = 0
    ok, img = cap.read()  # the pipeline's start-up is not a frame's cost
    c0, t0 = time.process_time_ns(), time.monotonic()
    while ok and time.monotonic() - t0 < seconds:
        ok, img = cap.read()
        frames += ok
    cpu = time.process_time_ns() - c0
    cap.release()
    return frames, cpu / max(frames, 1), img.shape if img is not None else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--creader", required=True)
    ap.add_argument("--gst-plugin-path", default=os.environ.get("GST_PLUGIN_PATH", ""))
    ap.add_argument("--markdown")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--fps", type=float, default=100)
    ap.add_argument("--seconds", type=float, default=3)
    a = ap.parse_args()
    n, secs = (2000, 1.0) if a.quick else (20000, a.seconds)
    name = "pybench-%d" % os.getpid()
    rows = []

    # loop: one frame published, read again and again
    with framebus.Writer(name, FMT, W, H, slots=4) as w:
        w.publish(np.zeros((H, W, 3), np.uint8))
        c_loop = c_run(a.creader, name, "loop", n)["ns_per_frame"]
        p_loop = py_loop(name, n)

    def streamed(fn):
        p = writer_child(name, a.fps, secs + 2)
        try:
            time.sleep(0.2)
            return fn()
        finally:
            p.wait(timeout=secs + 20)

    c_st = streamed(lambda: c_run(a.creader, name, "stream", secs))
    p_st = streamed(lambda: py_stream(name, secs))
    rows.append(("C reader (fbus_reader_acquire + release)", "%.0f" % c_loop,
                 "%.0f" % (c_st["cpu_ns_per_frame"] / 1000 * 1000), "%d" % c_st["frames"]))
    rows.append(("Python framebus.Reader (read + numpy.asarray + release)", "%.0f" % p_loop,
                 "%.0f" % p_st[1], "%d" % p_st[0]))
    why, cv2 = gst_why_not(a.gst_plugin_path)
    if cv2 is not None:
        if a.gst_plugin_path:
            os.environ["GST_PLUGIN_PATH"] = a.gst_plugin_path
        g = streamed(lambda: cv2_stream(cv2, name, secs))
        rows.append(("cv2.VideoCapture(fbussrc ! videoconvert ! appsink, CAP_GSTREAMER)", "-",
                     "%.0f" % g[1], "%d" % g[0]))
    else:
        print("pybench: SKIPPED cv2.VideoCapture over fbussrc: %s" % why, file=sys.stderr)
        rows.append(("cv2.VideoCapture over fbussrc", "skipped: " + why, "-", "-"))

    lines = ["%s %dx%d, %d-frame loops (median of 5); stream: a writer process at %g fps for "
             "%g s, CPU time of the reader process per frame received." % (FMT, W, H, n, a.fps,
                                                                             secs), "",
             "| reader | loop: wall ns/frame | stream: CPU ns/frame | frames |",
             "|---|---|---|---|"]
    lines += ["| %s | %s | %s | %s |" % r for r in rows]
    lines += ["", "Python/C per-frame overhead (loop): %.1fx" % (p_loop / c_loop)]
    text = "\n".join(lines) + "\n"
    print(text)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
