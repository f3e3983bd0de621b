/*
 * main.c - fbus-bench: framebus's performance record against the physical
 * limits of the machine it runs on (memcpy, a bare futex wake), measured in
 * the same run. See docs/benchmarks.md; scripts/bench runs it and writes that.
 */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

static const char usage[] =
    "usage: fbus-bench [options]\n"
    "  --only LIST       sections, comma-separated: base,handoff,writer,reader,scale,camrate,\n"
    "                    gst (default all; handoff includes the futex baseline it is compared to)\n"
    "  --repeats N       repeats of every section, pooled (default 3)\n"
    "  --rounds N        paced wake-ups per repeat and reader count (default 300)\n"
    "  --pace-us N       mean gap between paced wake-ups, jittered +-50%% (default 1000)\n"
    "  --run-secs S      length of one timed writer run (default 0.5)\n"
    "  --cam-frames N    frames per camera-rate run, 5 of them warm-up (default 55)\n"
    "  --cam-passes N    passes over the camera-rate runs, CPU = median of them (default 3)\n"
    "  --pin             writer on CPU 0, readers on the other CPUs (default: nothing pinned)\n"
    "  --rt              run the latency section under SCHED_FIFO (sets aside other load)\n"
    "  --quick           a smoke run: few samples, figures not meaningful\n"
    "  --json FILE       write every figure and the budget verdicts as JSON\n"
    "  --markdown FILE   write the tables as Markdown (scripts/bench puts them in docs/)\n"
    "  --plot-data FILE  write hand-off p50/p99 per reader count for gnuplot\n"
    "  --peer PATH       fbus-bench-peer (default: beside this program)\n"
    "  --gst-launch PATH gst-launch-1.0 (default: from PATH)\n";

static void on_signal(int sig)
{
    bus_cleanup_all();
    signal(sig, SIG_DFL);
    raise(sig);
}

static const char *loadavg(void)
{
    static char buf[64];
    FILE *f = fopen("/proc/loadavg", "re");

    if (!f || !fgets(buf, sizeof(buf), f))
        strcpy(buf, "unknown\n");
    if (f)
        fclose(f);
    buf[strcspn(buf, "\n")] = 0;
    return buf;
}

static const char *default_peer(void)
{
    static char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 32);
    char *slash;

    if (n <= 0)
        return "fbus-bench-peer";
    path[n] = 0;
    slash = strrchr(path, '/');
    strcpy(slash ? slash + 1 : path, "fbus-bench-peer");
    return path;
}

struct outputs {
    const char *json, *markdown, *plot;
};

static int parse(int argc, char **argv, struct bench_opts *o, struct outputs *out)
{
    static const struct option opts[] = {{"only", 1, 0, 'o'},
                                         {"repeats", 1, 0, 'r'},
                                         {"rounds", 1, 0, 'n'},
                                         {"pace-us", 1, 0, 'p'},
                                         {"run-secs", 1, 0, 's'},
                                         {"pin", 0, 0, 'P'},
                                         {"rt", 0, 0, 'R'},
                                         {"quick", 0, 0, 'q'},
                                         {"json", 1, 0, 'j'},
                                         {"markdown", 1, 0, 'm'},
                                         {"plot-data", 1, 0, 'd'},
                                         {"peer", 1, 0, 'e'},
                                         {"gst-launch", 1, 0, 'g'},
                                         {"help", 0, 0, 'h'},
                                         {"cam-frames", 1, 0, 'c'},
                                         {"cam-passes", 1, 0, 'C'},
                                         {0, 0, 0, 0}};
    int c;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            o->only = optarg;
            break;
        case 'r':
            o->repeats = (unsigned)atoi(optarg);
            break;
        case 'n':
            o->rounds = (unsigned)atoi(optarg);
            break;
        case 'p':
            o->pace_us = (unsigned)atoi(optarg);
            break;
        case 's':
            o->run_secs = atof(optarg);
            break;
        case 'c':
            o->cam_frames = (unsigned)atoi(optarg);
            break;
        case 'C':
            o->cam_passes = (unsigned)atoi(optarg);
            break;
        case 'P':
            o->pin = 1;
            break;
        case 'R':
            o->rt = 1;
            break;
        case 'q':
            o->quick = 1;
            break;
        case 'j':
            out->json = optarg;
            break;
        case 'm':
            out->markdown = optarg;
            break;
        case 'd':
            out->plot = optarg;
            break;
        case 'e':
            o->peer = optarg;
            break;
        case 'g':
            o->gst_launch = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            exit(0);
        default:
            fputs(usage, stderr);
            return -1;
        }
    }
    if (optind != argc || o->repeats < 1 || o->repeats > 16 || o->rounds <= 5 || o->run_secs <= 0 ||
        o->cam_frames < 20 || o->cam_passes < 1 || o->cam_passes > 8) {
        fprintf(stderr,
                "fbus-bench: bad arguments: --repeats 1..16, --rounds > 5, "
                "--run-secs > 0, --cam-frames >= 20, --cam-passes 1..8\n%s",
                usage);
        return -1;
    }
    return 0;
}

static void run_sections(const struct bench_opts *o, struct results *r)
{
    if (section_on(o, "base"))
        bench_memcpy(o, r);
    if (section_on(o, "base") || section_on(o, "handoff"))
        bench_latency(o, r, section_on(o, "handoff"));
    report_text(stderr, r, SEC_BASE | SEC_FUTEX | SEC_HANDOFF);
    if (section_on(o, "writer")) {
        bench_writer(o, r);
        report_text(stderr, r, SEC_WRITER);
    }
    if (section_on(o, "reader")) {
        bench_reader(o, r);
        report_text(stderr, r, SEC_READER);
    }
    if (section_on(o, "scale")) {
        bench_scaling(o, r);
        report_text(stderr, r, SEC_SCALE);
    }
    if (section_on(o, "camrate")) {
        bench_camrate(o, r);
        report_text(stderr, r, SEC_CAMRATE);
    }
    if (section_on(o, "gst")) {
        bench_gst(o, r);
        report_text(stderr, r, SEC_GST);
    }
}

int main(int argc, char **argv)
{
    struct bench_opts o = {.repeats = 3,
                           .rounds = 300,
                           .pace_us = 1000,
                           .run_secs = 0.5,
                           .cam_frames = 55,
                           .cam_passes = 3,
                           .gst_launch = "gst-launch-1.0"};
    struct outputs out = {0};
    static struct results r;
    uint64_t t0 = now_ns();

    if (parse(argc, argv, &o, &out) != 0)
        return 2;
    if (o.quick) {
        o.repeats = 1;
        o.rounds = 30;
        o.run_secs = 0.1;
    }
    if (!o.peer)
        o.peer = default_peer();
    setvbuf(stdout, NULL, _IOLBF, 0);
    atexit(bus_cleanup_all);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);

    progress("start (load average %s)", loadavg());
    run_sections(&o, &r);
    report_text(stdout, &r, ~0u);
    printf("\nfbus-bench: %.0f s\n", (double)(now_ns() - t0) / 1e9);
    if ((out.json && report_json(&r, &o, out.json) != 0) ||
        (out.markdown && report_markdown(&r, &o, out.markdown) != 0) ||
        (out.plot && report_plot_data(&r, out.plot) != 0)) {
        perror("fbus-bench: cannot write an output file");
        return 1;
    }
    return 0;
}
