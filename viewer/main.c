/*
 * main.c - fbus-view: shows a framebus bus in a window, or without one
 * writes a snapshot, records frames or prints statistics.
 *
 *   fbus-view --bus NAME [--headless] [--snapshot FILE.png] [--record DIR --count N]
 *             [--stats] [--scale F] [--fullscreen] [--timeout MS]
 *
 * This file parses the options and picks the mode; follow.c keeps the
 * reader attached whatever the writer does, window.c and headless.c use it.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "framebus/framebus.h"
#include "log.h"
#include "view.h"

static const char TAG[] = "main";

volatile sig_atomic_t view_stop;

static void usage(FILE *to)
{
    fprintf(to,
            "usage: fbus-view --bus NAME [--headless] [--snapshot FILE.png]\n"
            "                 [--record DIR --count N] [--stats] [--scale F] [--fullscreen]\n"
            "                 [--timeout MS] [--verbose]\n"
            "  --bus NAME         the bus to show (waits for it to appear)\n"
            "  --headless         no window, even where there is a display\n"
            "  --snapshot FILE    write the latest frame as a PNG and exit\n"
            "  --record DIR       write --count N frames as DIR/frame-000001.png... and\n"
            "                     DIR/index.txt (sequence number of each), then exit\n"
            "  --stats            print fps, capture->acquire latency and drops each second\n"
            "  --scale F          window size = frame size x F (default: 1, fitted to screen)\n"
            "  --fullscreen       start full screen (key f toggles)\n"
            "  --timeout MS       --snapshot/--record: wait this long for the bus and a frame\n"
            "                     (default %d); --headless --stats: stop when no frame came\n"
            "                     for this long (default: run until stopped)\n"
            "window keys: space pause, s snapshot, f fullscreen, q/Esc quit\n",
            VIEW_TIMEOUT_DEFAULT_MS);
#ifndef FBUS_HAVE_SDL
    fprintf(to, "this fbus-view was built without SDL2: no window, headless modes only\n");
#endif
}

static int parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
    char *end;

    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || *s == '-' || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_scale(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);

    if (end == s || *end || !(v > 0.0 && v <= 16.0))
        return -1;
    *out = v;
    return 0;
}

/* An option without a value. Returns 0, or -1 if ch is not one. */
static int parse_flag(int ch, struct view_opts *o)
{
    switch (ch) {
    case 'H':
        o->headless = 1;
        return 0;
    case 's':
        o->stats = 1;
        return 0;
    case 'F':
        o->fullscreen = 1;
        return 0;
    case 'v':
        app_log_verbose();
        return 0;
    default:
        return -1;
    }
}

static const char *value_hint(int ch)
{
    switch (ch) {
    case 'c':
        return "--count (1..999999)";
    case 'x':
        return "--scale (0 < F <= 16)";
    default:
        return "--timeout (milliseconds)";
    }
}

/* An option with a number. Returns 0, or -1 for a value out of range. */
static int parse_number(int ch, struct view_opts *o)
{
    unsigned long v;

    switch (ch) {
    case 'c':
        if (parse_ulong(optarg, 999999, &v) != 0 || v == 0)
            return -1;
        o->count = v;
        return 0;
    case 'x':
        return parse_scale(optarg, &o->scale);
    default:
        if (parse_ulong(optarg, INT_MAX, &v) != 0)
            return -1;
        o->timeout_ms = (int)v;
        o->timeout_given = 1;
        return 0;
    }
}

/* One option; returns 0 or -1 (the message is printed). */
static int parse_one(int ch, struct view_opts *o)
{
    switch (ch) {
    case 'b':
        o->bus = optarg;
        return 0;
    case 'S':
        o->snapshot = optarg;
        return 0;
    case 'R':
        o->record = optarg;
        return 0;
    case 'c':
    case 'x':
    case 't':
        if (parse_number(ch, o) == 0)
            return 0;
        app_log_error(TAG, "invalid value '%s' for %s", optarg, value_hint(ch));
        return -1;
    default:
        return parse_flag(ch, o); /* -1 for '?': getopt said why */
    }
}

/* Options that only make sense together. */
static int check_opts(const struct view_opts *o)
{
    if (!o->bus) {
        app_log_error(TAG, "--bus NAME is required (see 'fbus ls' for the buses there are)");
        return -1;
    }
    if (fbus_name_check(o->bus) != 0) {
        app_log_error(TAG, "invalid bus name '%s': 1-%d characters of [a-z0-9_.-]", o->bus,
                      FBUS_NAME_MAX);
        return -1;
    }
    if (o->snapshot && o->record) {
        app_log_error(TAG, "--snapshot and --record: choose one");
        return -1;
    }
    if (!o->record != !o->count) {
        app_log_error(TAG, "--record DIR and --count N go together");
        return -1;
    }
    return 0;
}

static int parse(int argc, char **argv, struct view_opts *o)
{
    static const struct option lo[] = {
        {"bus", required_argument, NULL, 'b'},      {"headless", no_argument, NULL, 'H'},
        {"snapshot", required_argument, NULL, 'S'}, {"record", required_argument, NULL, 'R'},
        {"count", required_argument, NULL, 'c'},    {"stats", no_argument, NULL, 's'},
        {"scale", required_argument, NULL, 'x'},    {"fullscreen", no_argument, NULL, 'F'},
        {"timeout", required_argument, NULL, 't'},  {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    int ch;

    while ((ch = getopt_long(argc, argv, "v", lo, NULL)) != -1) {
        if (ch == 'h') {
            usage(stdout);
            exit(VIEW_EXIT_OK);
        }
        if (parse_one(ch, o) != 0)
            return -1;
    }
    if (optind < argc) {
        app_log_error(TAG, "unexpected argument '%s' (see --help)", argv[optind]);
        return -1;
    }
    return check_opts(o);
}

static void on_signal(int sig)
{
    (void)sig;
    view_stop = 1;
}

static void install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv)
{
    struct view_opts o = {.timeout_ms = VIEW_TIMEOUT_DEFAULT_MS};
    char why[256];
    int rc;

    app_log_init(argv[0]);
    if (parse(argc, argv, &o) != 0)
        return VIEW_EXIT_USAGE;
    install_signals();
    if (o.snapshot)
        return headless_snapshot(&o);
    if (o.record)
        return headless_record(&o);
    if (!o.headless) {
        rc = window_run(&o, why, sizeof(why));
        if (rc >= 0)
            return rc;
        app_log_warn(TAG, "no window: %s; running headless (--stats)", why);
    }
    return headless_stats(&o);
}
