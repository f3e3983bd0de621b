#!/usr/bin/env python3
"""bench/summary.py - the summary table at the top of docs/benchmarks.md.

Reads one scripts/bench run's raw output - fbus-bench's JSON (the bare futex
loop and the bus at a camera's rate) and the key=value lines of
gstreamer/bench/fbus-gst-bench (fbussink -> fbussrc, shmsink -> shmsrc and
pipewiresink -> pipewiresrc, at 30 fps and flat out) - and prints framebus
against each peer as ratios: latency p50 and p99, fps, CPU per frame. Every
figure comes from that one run; nothing is measured here.

    bench/summary.py BENCH_JSON GST_RAW > summary.md
"""
import json
import statistics
import sys

SIZES = [("640x480", "vga", "640x480 YUYV"), ("1920x1080", "1080p", "1920x1080 RGB24"),
         ("3840x2160", "4k", "3840x2160 RGB24")]
PEERS = [("shm", "GStreamer `shmsink` → `shmsrc`"),
         ("pipewire", "PipeWire `pipewiresink` → `pipewiresrc` (its own daemon)")]


def ratio(a, b):
    """a / b as text with both figures, or a dash when either is missing."""
    if a is None or b is None or b <= 0:
        return "–"
    return f"{a / b:.2f}×"


def cell(a, b, unit):
    if a is None or b is None:
        return "–"
    return f"{ratio(a, b)} ({a:.0f} vs {b:.0f} {unit})"


def number(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def read_gst(path):
    """{(table, pair, size): figures} from gstreamer/bench/run --raw lines: the medians over
    the repeats that ended ok, and what the others ended with."""
    runs, bad = {}, {}
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError:
        return {}
    for line in lines:
        kv = dict(f.split("=", 1) for f in line.split() if "=" in f)
        if kv.get("table") not in ("flat", "camera") or "pair" not in kv or "size" not in kv:
            continue
        key = (kv["table"], kv["pair"], kv["size"])
        if kv.get("result") == "ok":
            runs.setdefault(key, []).append(kv)
        else:
            why = kv.get("result", "?")
            if why == "unavailable":
                why = kv.get("why", why).replace("_", " ")
            bad.setdefault(key, []).append(why)
    out = {}
    for key in set(runs) | set(bad):
        rs = runs.get(key, [])
        med = {"runs": len(rs), "bad": bad.get(key, [])}
        for f in ("fps", "p50_us", "p99_us"):
            vals = [number(r.get(f)) for r in rs]
            vals = [v for v in vals if v is not None]
            med[f] = statistics.median(vals) if vals else None
        # The steady stream's CPU (no start-up) where every frame arrived, else the whole run's.
        cpu = [number(r.get("stream_cpu_us")) or number(r.get("cpu_us")) for r in rs]
        cpu = [v for v in cpu if v is not None]
        med["cpu_us"] = statistics.median(cpu) if cpu else None
        out[key] = med
    return out


def futex_rows(cam):
    """The C library against the bare futex broadcast loop, at a camera's rate."""
    rows = []
    for rate, readers in (("30", "1"), ("30", "8"), ("60", "16")):
        fx = cam.get(rate, {}).get("futex", {}).get(readers)
        bus = cam.get(rate, {}).get("1080p", {}).get(readers)
        if not fx or not bus:
            continue
        cpu_b = bus["writer_cpu_us"] + int(readers) * bus["reader_cpu_us"]
        cpu_f = fx["writer_cpu_us"] + int(readers) * fx["reader_cpu_us"]
        rows.append(f"| bare futex broadcast loop (the floor) | library, {rate} fps, {readers} "
                    f"reader{'s' if readers != '1' else ''}, 1920x1080 | "
                    f"{cell(bus['p50_us'], fx['p50_us'], 'µs')} | "
                    f"{cell(bus['p99_us'], fx['p99_us'], 'µs')} | "
                    f"{ratio(bus['fps'], fx['fps'])} | {cell(cpu_b, cpu_f, 'µs')} |")
    return rows


def peer_rows(gst, pair, label):
    rows = []
    for size, _, _ in SIZES:
        for table in ("camera", "flat"):
            f = gst.get((table, "fbus", size))
            p = gst.get((table, pair, size))
            if not f and not p:
                continue
            mode = "30 fps (live source)" if table == "camera" else "flat out"
            what = f"elements, {mode}, {size} I420"
            if p and not p["runs"]:
                why = "; ".join(sorted(set(p["bad"])))
                rows.append(f"| {label} | {what} | no run ended: {why} "
                            f"({len(p['bad'])} of {len(p['bad'])}) | | | |")
                continue
            g = lambda d, k: d.get(k) if d else None
            extra = ""
            if p and p["bad"]:
                extra = f" ({len(p['bad'])} of {len(p['bad']) + p['runs']} runs: " \
                        f"{', '.join(sorted(set(p['bad'])))})"
            rows.append(f"| {label} | {what}{extra} | "
                        f"{cell(g(f, 'p50_us'), g(p, 'p50_us'), 'µs')} | "
                        f"{cell(g(f, 'p99_us'), g(p, 'p99_us'), 'µs')} | "
                        f"{cell(g(f, 'fps'), g(p, 'fps'), 'fps')} | "
                        f"{cell(g(f, 'cpu_us'), g(p, 'cpu_us'), 'µs')} |")
    return rows


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    try:
        bench = json.load(open(sys.argv[1], encoding="utf-8"))
    except (OSError, ValueError) as e:
        sys.exit(f"bench/summary.py: cannot read {sys.argv[1]}: {e}")
    gst = read_gst(sys.argv[2])
    print("| peer | compared on | latency p50 | latency p99 | fps | CPU per frame |")
    print("|---|---|---|---|---|---|")
    rows = futex_rows(bench.get("camrate", {}))
    for pair, label in PEERS:
        got = peer_rows(gst, pair, label)
        if not got or not any(k[1] == pair for k in gst):
            rows.append(f"| {label} | not run: see the GStreamer elements section | – | – | – "
                        "| – |")
        else:
            rows.extend(got)
    print("\n".join(rows))
    print()
    print("Each cell is framebus / peer (framebus's figure vs the peer's): below 1 is better "
          "for latency and CPU, above 1 for fps. Library rows: the C writer and readers of "
          "`bench/camrate.c`, CPU = the writer's plus every reader's per frame. Element rows: "
          "`fbussink` → `fbussrc` against the peer's elements in the same two-process "
          "GStreamer pipelines (`gstreamer/bench/fbus-gst-bench.c`), CPU = both processes "
          "(and for PipeWire its daemon) per frame delivered over the steady stream, latency = "
          "a stamp written before the sink to the reader's sink pad, medians of the repeats. "
          "Flat out, latency includes the frames queued in front of each sink.")


if __name__ == "__main__":
    main()
