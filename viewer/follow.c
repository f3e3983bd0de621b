/*
 * follow.c - the reader life cycle shared by the window and the headless
 * modes; see follow.h.
 *
 * The library already follows a format change (the superseded segment
 * points readers to the new one) and a writer that restarts on the same
 * segment. What it cannot do alone is notice a bus that was removed and
 * made anew under the same key while the writer was away: the old, removed
 * segment stays attached and silent. So a follower whose writer is gone
 * reopens its reader every GONE_REOPEN_NS, and one whose bus was closed or
 * removed goes back to waiting for the name.
 */
#include "follow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "advice.h"
#include "log.h"

#define MS               1000000ull
#define OPEN_RETRY_NS    (100 * MS)  /* waiting for a bus to appear */
#define GONE_REOPEN_NS   (500 * MS)  /* writer gone: look for a new segment */
#define FAILED_RETRY_NS  (1000 * MS) /* unusable bus: try again, it may be fixed */
#define REPORT_PERIOD_NS (1000 * MS)

static const char TAG[] = "follow";

void follow_init(struct follow *f, const char *bus)
{
    memset(f, 0, sizeof(*f));
    f->bus = bus;
    f->state = FOLLOW_STARTING;
    f->last.lat_p50_ms = -1;
    f->last.lat_p99_ms = -1;
}

void follow_fini(struct follow *f)
{
    fbus_reader_close(f->r);
    f->r = NULL;
}

/* What err means for this bus and what to do: the programs' common table (common/advice.h). */
static const char *advice(const struct follow *f, int err, char *buf, size_t len)
{
    return app_advice(err, APP_OP_READ, f->bus, 0, buf, len);
}

/* Says once on stderr what the follower is doing now. */
static void set_state(struct follow *f, enum follow_state s, int err)
{
    char why[512];

    if (f->state == s && (s != FOLLOW_FAILED || f->err == err))
        return;
    f->state = s;
    f->err = err;
    switch (s) {
    case FOLLOW_WAITING:
        app_log_info(TAG, "waiting for bus '%s'… (start its writer, e.g. fbus-capture --bus %s)",
                     f->bus, f->bus);
        break;
    case FOLLOW_LIVE:
        app_log_info(TAG, "bus '%s': writer alive", f->bus);
        break;
    case FOLLOW_GONE:
        app_log_warn(TAG, "bus '%s': writer gone; waiting for it to come back", f->bus);
        break;
    case FOLLOW_CLOSED:
        app_log_info(TAG, "bus '%s': closed by its writer; waiting for it to reopen", f->bus);
        break;
    case FOLLOW_FAILED:
        app_log_error(TAG, "bus '%s': %s (%s; retrying)", f->bus, advice(f, err, why, sizeof(why)),
                      fbus_err_name(err));
        break;
    case FOLLOW_STARTING:
        break;
    }
}

static void close_reader(struct follow *f, uint64_t now, uint64_t retry_ns)
{
    fbus_reader_close(f->r);
    f->r = NULL;
    f->next_open_ns = now + retry_ns;
}

static void try_open(struct follow *f, uint64_t now)
{
    int rc = fbus_reader_open(&f->r, f->bus, NULL);

    if (rc == 0) {
        f->fresh = 1;
        return;
    }
    f->r = NULL;
    if (rc == FBUS_ENOBUS) {
        set_state(f, FOLLOW_WAITING, 0);
        f->next_open_ns = now + OPEN_RETRY_NS;
    } else {
        set_state(f, FOLLOW_FAILED, rc);
        f->next_open_ns = now + FAILED_RETRY_NS;
    }
}

/* An acquire that brought no frame: what it says about the bus. */
static void on_error(struct follow *f, int rc, uint64_t now)
{
    switch (rc) {
    case FBUS_EAGAIN:
        break;
    case FBUS_ETIMEDOUT: /* the writer holds its role: alive, just nothing new */
        set_state(f, FOLLOW_LIVE, 0);
        break;
    case FBUS_EWRITER_GONE:
        if (f->state != FOLLOW_GONE) {
            set_state(f, FOLLOW_GONE, 0);
            f->gone_ns = now;
        } else if (now - f->gone_ns >= GONE_REOPEN_NS) {
            f->gone_ns = now;
            close_reader(f, now, 0);
        }
        break;
    case FBUS_ECLOSED:
        set_state(f, FOLLOW_CLOSED, 0);
        close_reader(f, now, OPEN_RETRY_NS);
        break;
    case FBUS_ENOBUS:
        close_reader(f, now, 0);
        break;
    default:
        set_state(f, FOLLOW_FAILED, rc);
        close_reader(f, now, FAILED_RETRY_NS);
        break;
    }
}

static void count_frame(struct follow *f, const struct fbus_frame *fr, uint64_t now)
{
    if (f->last_seq && fr->seq <= f->last_seq) {
        f->renumbered++; /* a new bus under the name: numbering starts again */
    } else if (f->last_seq && fr->seq > f->last_seq + 1 && !f->skip_gap) {
        f->drops += fr->seq - f->last_seq - 1;
        f->win_drops += fr->seq - f->last_seq - 1;
    }
    f->skip_gap = 0;
    f->last_seq = fr->seq;
    f->frames++;
    f->win_frames++;
    if (fr->timestamp_ns && now >= fr->timestamp_ns && f->nlat < FOLLOW_LAT_SAMPLES) {
        uint64_t us = (now - fr->timestamp_ns) / 1000;
        f->lat_us[f->nlat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
    }
}

static void note_format(struct follow *f, const struct fbus_format *fmt)
{
    char a[5], b[5];

    if (memcmp(&f->fmt, fmt, sizeof(*fmt)) == 0)
        return;
    if (f->fmt.fourcc) {
        app_log_info(TAG, "bus '%s': format %s %ux%u -> %s %ux%u", f->bus,
                     fbus_fourcc_str(f->fmt.fourcc, a), f->fmt.width, f->fmt.height,
                     fbus_fourcc_str(fmt->fourcc, b), fmt->width, fmt->height);
    }
    f->fmt = *fmt;
    f->fmt_changes++;
}

/* Asked only on a change of state: a frame proves a frame, not a live writer. */
static int writer_alive(const struct follow *f)
{
    struct fbus_info info;

    return fbus_info_get(f->bus, 0, &info) != 0 || info.writer_alive;
}

/* A frame came: 1 to hand it out, 0 if it is the one we already had (after a reopen). */
static int accept(struct follow *f, struct fbus_frame *fr, uint64_t now)
{
    if (f->fresh) {
        f->fresh = 0;
        if (f->last_seq && fr->seq == f->last_seq) {
            fbus_reader_release(f->r, fr);
            return 0;
        }
    }
    count_frame(f, fr, now);
    note_format(f, &fr->format);
    if (f->state != FOLLOW_LIVE && !writer_alive(f)) {
        /* The newest frame of a bus whose writer is gone: show it, but say so. */
        if (f->state != FOLLOW_GONE)
            f->gone_ns = now;
        set_state(f, FOLLOW_GONE, 0);
    } else {
        set_state(f, FOLLOW_LIVE, 0);
    }
    return 1;
}

static void sleep_until(uint64_t t)
{
    uint64_t now = fbus_now_ns();

    if (t > now) {
        struct timespec ts = {(time_t)((t - now) / 1000000000u), (long)((t - now) % 1000000000u)};
        nanosleep(&ts, NULL);
    }
}

int follow_next(struct follow *f, struct fbus_frame *frame, int timeout_ms)
{
    uint64_t now = fbus_now_ns(), deadline = now + (uint64_t)timeout_ms * MS;

    for (;;) {
        if (!f->r && now >= f->next_open_ns)
            try_open(f, now);
        if (f->r) {
            int left = deadline > now ? (int)((deadline - now + MS - 1) / MS) : 0;
            int rc = fbus_reader_acquire(f->r, frame, f->fresh ? 0 : f->last_seq, left);
            now = fbus_now_ns();
            if (rc == 0 && accept(f, frame, now))
                return 0;
            if (rc != 0)
                on_error(f, rc, now);
        } else {
            sleep_until(f->next_open_ns < deadline ? f->next_open_ns : deadline);
            now = fbus_now_ns();
        }
        if (now >= deadline)
            return FBUS_ETIMEDOUT;
    }
}

void follow_skip_gap(struct follow *f)
{
    f->skip_gap = 1;
}

void follow_release(struct follow *f, struct fbus_frame *frame)
{
    if (f->r && frame->data)
        fbus_reader_release(f->r, frame);
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
    if (!f->win_start_ns) {
        f->win_start_ns = now;
        return 0;
    }
    if (now - f->win_start_ns < REPORT_PERIOD_NS)
        return 0;
    qsort(f->lat_us, f->nlat, sizeof(f->lat_us[0]), cmp_u32);
    rep->fps = (double)f->win_frames * 1e9 / (double)(now - f->win_start_ns);
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
    static const char *const words[] = {"starting", "waiting", "live", "gone", "closed", "failed"};
    return (unsigned)s < sizeof(words) / sizeof(words[0]) ? words[s] : "?";
}

void follow_format_report(const struct follow *f, const struct follow_report *rep, char *buf,
                          size_t len)
{
    snprintf(buf, len,
             "fps=%.1f lat_p50_ms=%.3f lat_p99_ms=%.3f drops=%llu drops_total=%llu frames=%llu "
             "seq=%llu state=%s\n",
             rep->fps, rep->lat_p50_ms, rep->lat_p99_ms, (unsigned long long)rep->drops,
             (unsigned long long)rep->drops_total, (unsigned long long)rep->frames_total,
             (unsigned long long)rep->last_seq, state_word(f->state));
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
    return 0;
}

void follow_copy_free(struct follow_copy *c)
{
    free(c->data);
    memset(c, 0, sizeof(*c));
}
