#!/usr/bin/env python3
"""edges.py - a processing process: reads frames from one bus, runs OpenCV's Canny edge detector
on each, and publishes the edges (GREY, same size) to a second bus that fbus-view can show.

    fbus-capture --bus cam0 --source test &
    python3 examples/python/edges.py --in cam0 --out cam0-edges &
    fbus-view --bus cam0-edges

The input frame is never copied: numpy.asarray(frame) is a read-only view of the slot, and
Canny writes straight into the claimed output slot (a writable view). Each output frame carries
its input frame's timestamp, so a consumer can pair them. docs/python.md explains the API.
"""
import argparse
import sys

import cv2
import numpy as np

import framebus

TO_GREY = {"RGB3": cv2.COLOR_RGB2GRAY, "BGR3": cv2.COLOR_BGR2GRAY,
           "YUYV": cv2.COLOR_YUV2GRAY_YUY2, "UYVY": cv2.COLOR_YUV2GRAY_UYVY}


def grey_of(frame):
    """A grey image of the frame: a view where the format has one (GREY, NV12/I420's Y plane)."""
    fmt = frame.format
    if fmt == "GREY":
        return np.asarray(frame)
    if fmt in ("NV12", "YU12"):
        return frame.planes[0]
    if fmt == "MJPG":
        return cv2.imdecode(np.asarray(frame), cv2.IMREAD_GRAYSCALE)
    return cv2.cvtColor(np.asarray(frame), TO_GREY[fmt])


def canny_into(out, grey, low, high, timestamp_ns):
    """Canny into a claimed slot of out (zero copy when OpenCV takes the view as its output)."""
    claim = out.claim()
    dst = np.asarray(claim)
    edges = cv2.Canny(grey, low, high, edges=dst)
    if edges is not dst and edges.ctypes.data != dst.ctypes.data:
        dst[:] = edges  # OpenCV made its own array: one copy
    del dst, edges
    claim.commit(timestamp_ns=timestamp_ns)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--in", dest="inp", required=True, help="bus to read")
    ap.add_argument("--out", required=True, help="bus to publish the edges to")
    ap.add_argument("--low", type=float, default=50, help="Canny's lower threshold")
    ap.add_argument("--high", type=float, default=150, help="Canny's upper threshold")
    ap.add_argument("--count", type=int, default=0, help="stop after N frames (0: run on)")
    ap.add_argument("--timeout", type=float, default=None,
                    help="seconds to wait for an input frame (default: wait on)")
    args = ap.parse_args(argv)
    out = None
    n = 0
    try:
        with framebus.Reader(args.inp, follow=True) as reader:
            while not args.count or n < args.count:
                with reader.read(timeout=args.timeout) as frame:
                    grey = grey_of(frame)
                    h, w = grey.shape
                    if out is None:
                        out = framebus.Writer(args.out, "GREY", w, h)
                    elif (out.format["width"], out.format["height"]) != (w, h):
                        out.set_format("GREY", w, h)
                    canny_into(out, grey, args.low, args.high, frame.timestamp_ns)
                    del grey
                n += 1
    except framebus.TimeoutError as e:
        print("edges.py: %s" % e, file=sys.stderr)
        return 4
    except framebus.Error as e:
        print("edges.py: %s" % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        if out is not None:
            out.close()
    print("edges.py: %d frames" % n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
