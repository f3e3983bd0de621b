/*
 * figures.c - what fbus-view counts and shows of the frames it follows: drops
 * (fbus_frame.missed, pauses excluded), capture -> acquire latency
 * percentiles per one-second window, the --stats line, the state in words,
 * and frame copies for slow work. The bus itself is follow.c's (and the
 * library's).
 */
#include "follow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define REPORT_PERIOD_NS 1000000000ull

static const char TAG[] = "follow";

void follow_count_frame(struct follow *f, const struct fbus_frame *fr, uint64_t now)
{
    char a[5], b[5];

    if (!f->skip_gap) {
        f->drops += fr->missed;
        f->win_drops += fr->missed;
    }
    f->skip_gap = 0;
    f->last_seq = fr->seq;
    f->frames++;
    f->win_frames++;
    if (fr->timestamp_ns && now >= fr->timestamp_ns && f->nlat < FOLLOW_LAT_SAMPLES) {
        uint64_t us = (now - fr->timestamp_ns) / 1000;
        f->lat_us[f->nlat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
    }
    if (memcmp(&f->fmt, &fr->format, sizeof(fr->format)) == 0)
        return;
    if (f->fmt.fourcc)
        app_log_info(TAG, "bus '%s': format %s %ux%u -> %s %ux%u", f->bus,
                     fbus_fourcc_str(f->fmt.fourcc, a), f->fmt.width, f->fmt.height,
                     fbus_fourcc_str(fr->format.fourcc, b), fr->format.width, fr->format.height);
    f->fmt = fr->format;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of the sorted samples, in ms; -1 without samples. */
static double percentile_ms(const uint32_t *v, unsigned n, unsigned pct)
{
    if (n == 0)
        return -1;
    unsigned rank = (n * pct + 99) / 100;
    return v[rank ? rank - 1 : 0] / 1000.0;
}

int follow_tick(struct follow *f, uint64_t now, struct follow_report *rep)
{
    struct fbus_reader_status st;

    if (!f->win_start_ns) {
        f->win_start_ns = now;
        return 0;
    }
    if (now - f->win_start_ns < REPORT_PERIOD_NS)
        return 0;
    qsort(f->lat_us, f->nlat, sizeof(f->lat_us[0]), cmp_u32);
    rep->fps = (double)f->win_frames * 1e9 / (double)(now - f->win_start_ns);
    rep->writer_fps = fbus_reader_status(f->r, &st) == 0 ? st.fps : 0;
    rep->lat_p50_ms = percentile_ms(f->lat_us, f->nlat, 50);
    rep->lat_p99_ms = percentile_ms(f->lat_us, f->nlat, 99);
    rep->drops = f->win_drops;
    rep->drops_total = f->drops;
    rep->frames_total = f->frames;
    rep->last_seq = f->last_seq;
    f->last = *rep;
    f->win_start_ns = now;
    f->win_frames = 0;
    f->win_drops = 0;
    f->nlat = 0;
    return 1;
}

static const char *state_word(enum follow_state s)
{
    static const char *const words[] = {"waiting", "live", "gone", "closed", "failed"};
    return s >= 0 && (unsigned)s < sizeof(words) / sizeof(words[0]) ? words[s] : "starting";
}

void follow_format_report(const struct follow *f, const struct follow_report *rep, char *buf,
                          size_t len)
{
    snprintf(buf, len,
             "fps=%.1f lat_p50_ms=%.3f lat_p99_ms=%.3f drops=%llu drops_total=%llu frames=%llu "
             "seq=%llu state=%s writer_fps=%.1f\n",
             rep->fps, rep->lat_p50_ms, rep->lat_p99_ms, (unsigned long long)rep->drops,
             (unsigned long long)rep->drops_total, (unsigned long long)rep->frames_total,
             (unsigned long long)rep->last_seq, state_word(f->state), rep->writer_fps);
}

const char *follow_state_text(const struct follow *f, char *buf, size_t len)
{
    switch (f->state) {
    case FOLLOW_STARTING:
    case FOLLOW_WAITING:
        snprintf(buf, len, "waiting for bus '%s'…", f->bus);
        break;
    case FOLLOW_LIVE:
        snprintf(buf, len, "live");
        break;
    case FOLLOW_GONE:
        snprintf(buf, len, "writer gone");
        break;
    case FOLLOW_CLOSED:
        snprintf(buf, len, "bus closed by its writer");
        break;
    case FOLLOW_FAILED:
        snprintf(buf, len, "%s", fbus_strerror(f->err));
        break;
    }
    return buf;
}

int follow_copy_take(struct follow_copy *c, const struct fbus_frame *fr)
{
    if (c->cap < fr->bytesused || !c->data) {
        uint8_t *p = realloc(c->data, fr->bytesused ? fr->bytesused : 1);
        if (!p)
            return -1;
        c->data = p;
        c->cap = fr->bytesused;
    }
    memcpy(c->data, fr->data, fr->bytesused);
    c->len = fr->bytesused;
    c->fmt = fr->format;
    c->seq = fr->seq;
    c->timestamp_ns = fr->timestamp_ns;
    c->missed = fr->missed;
    return 0;
}

void follow_copy_free(struct follow_copy *c)
{
    free(c->data);
    memset(c, 0, sizeof(*c));
}
