/*
 * headless.c - fbus-view without a window: --snapshot (one PNG of the latest
 * frame), --record (N frames as numbered PNGs plus an index of their
 * sequence numbers) and --stats (a line a second).
 *
 * A frame is copied out of its slot and released before it is encoded: PNG
 * encoding takes milliseconds to a tenth of a second, and a reader holding a
 * slot that long would make the writer drop frames (docs/design.md §3). --record
 * hands the copies to an encoder thread through a bounded queue, so the
 * frames it records are consecutive as long as the encoder keeps up on
 * average; when it does not, the recorder waits for room *before* taking the
 * next frame (never while holding one) and the skipped sequence numbers show
 * up as gaps in index.txt.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "follow.h"
#include "log.h"
#include "png_io.h"
#include "view.h"

static const char TAG[] = "headless";

#define MS           1000000ull
#define QUEUE_MAX    64                  /* copies waiting for the encoder */
#define QUEUE_BUDGET (64u * 1024 * 1024) /* bytes of copies waiting, at most */
#define PATH_BYTES   4096

/* ---- shared ----------------------------------------------------------- */

/* Prints one --stats line when a second has passed. */
static void stats_tick(struct follow *f, int on)
{
    struct follow_report rep;
    char line[256];

    if (follow_tick(f, fbus_now_ns(), &rep) && on) {
        follow_format_report(f, &rep, line, sizeof(line));
        fputs(line, stdout);
        fflush(stdout);
    }
}

/* Why no frame came within ms, naming the bus and what never came; the exit code. */
static int no_frame(const struct follow *f, const char *what, int ms)
{
    const char *b = f->bus;

    switch (f->state) {
    case FOLLOW_STARTING:
    case FOLLOW_WAITING:
        app_log_error(TAG,
                      "%s: no bus '%s' appeared within %d ms; is its writer running? "
                      "(fbus-capture --bus %s; 'fbus ls' lists the buses)",
                      what, b, ms, b);
        return app_exit_code(FBUS_ENOBUS);
    case FOLLOW_LIVE:
        app_log_error(TAG,
                      "%s: bus '%s' is there and its writer alive, but no frame came within %d ms "
                      "(its source may be stalled; a longer --timeout waits more)",
                      what, b, ms);
        return app_exit_code(FBUS_ETIMEDOUT);
    case FOLLOW_GONE:
        app_log_error(TAG,
                      "%s: bus '%s' is there but its writer is gone (it died without closing "
                      "it), and no frame came within %d ms; restart the writer",
                      what, b, ms);
        return app_exit_code(FBUS_EWRITER_GONE);
    case FOLLOW_CLOSED:
        app_log_error(TAG,
                      "%s: bus '%s' was closed by its writer, and no new one came within %d ms",
                      what, b, ms);
        return app_exit_code(FBUS_ECLOSED);
    case FOLLOW_FAILED:
        break;
    }
    /* follow.c has just said why, with the advice: only what it ends. */
    app_log_error(TAG, "%s: given up on bus '%s' (%s)", what, b, fbus_err_name(f->err));
    return app_exit_code(f->err);
}

/*
 * Waits up to timeout_ms (or until SIGINT/SIGTERM) for the next frame, the
 * bus included, and copies it out of its slot. A bus that is there but
 * unusable (permission, corrupt...) ends the wait at once: no timeout fixes
 * it. Returns 0, 1 on timeout, stop or an unusable bus, -1 out of memory.
 */
static int take_copy(struct follow *f, struct follow_copy *c, int timeout_ms, int stats)
{
    uint64_t deadline = fbus_now_ns() + (uint64_t)timeout_ms * MS;
    struct fbus_frame fr;

    while (!view_stop) {
        uint64_t now = fbus_now_ns();
        int slice = VIEW_SLICE_MS;
        if (now >= deadline)
            return 1;
        if (deadline - now < (uint64_t)slice * MS)
            slice = (int)((deadline - now + MS - 1) / MS);
        int rc = follow_next(f, &fr, slice);
        stats_tick(f, stats);
        if (rc != 0 && f->state == FOLLOW_FAILED)
            return 1;
        if (rc != 0)
            continue;
        rc = follow_copy_take(c, &fr);
        follow_release(f, &fr);
        return rc;
    }
    return 1;
}

/* The directory part of path, for messages. */
static void dir_of(const char *path, char *dir, size_t len)
{
    const char *slash = strrchr(path, '/');

    if (!slash)
        snprintf(dir, len, ".");
    else if (slash == path)
        snprintf(dir, len, "/");
    else
        snprintf(dir, len, "%.*s", (int)(slash - path), path);
}

/* Why directory dir cannot take our files (rc from app_dir_open), in words a user can act on. */
static void dir_error(const char *what, const char *dir, int rc)
{
    if (rc == -ELOOP)
        app_log_error(TAG,
                      "%s: directory '%s' is a symbolic link owned by another user; fbus-view "
                      "does not follow those: give the directory it points to",
                      what, dir);
    else
        app_log_error(TAG, "%s: directory '%s': %s", what, dir, strerror(-rc));
}

/* fd if the caller may create files in it; else closes it and returns the -errno. */
static int writable_dir(int fd)
{
    if (fd >= 0 && faccessat(fd, ".", W_OK, 0) != 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

/* Fails early, before any waiting, on an output path that cannot be written. */
static int check_output(const char *path)
{
    char dir[PATH_BYTES], what[PATH_BYTES + 32];
    const char *name;
    struct stat st;
    int fd;

    if (!*path || path[strlen(path) - 1] == '/' || (stat(path, &st) == 0 && S_ISDIR(st.st_mode))) {
        app_log_error(TAG, "cannot write '%s': it is a directory; give a file name (x.png)", path);
        return -1;
    }
    dir_of(path, dir, sizeof(dir));
    snprintf(what, sizeof(what), "cannot write '%s'", path);
    fd = writable_dir(app_dir_open_parent(path, &name));
    if (fd < 0) {
        dir_error(what, dir, fd);
        return -1;
    }
    close(fd);
    return 0;
}

/* Why a PNG could not be written, in words a user can act on. */
static void png_error(const char *path, int rc, uint32_t fourcc)
{
    if (rc == FBUS_EFORMAT && fourcc == FBUS_FMT_MJPEG)
        app_log_error(TAG,
                      "cannot write '%s': the bus carries MJPG, which fbus-view does not "
                      "decode; ask the writer for a raw format (e.g. --format YUYV)",
                      path);
    else if (rc == -EEXIST)
        app_log_error(TAG,
                      "cannot write '%s': a file by that name appeared while recording "
                      "(another program writes into the directory?); it was left as it is",
                      path);
    else
        app_log_error(TAG, "cannot write '%s': %s", path, fbus_strerror(rc));
}

static void warn_if_stale(const struct follow_copy *c)
{
    uint64_t now = fbus_now_ns();

    if (c->timestamp_ns && now > c->timestamp_ns && now - c->timestamp_ns > 1000 * MS)
        app_log_warn(TAG, "frame %llu is %.1f s old: the writer may be stalled or gone",
                     (unsigned long long)c->seq, (double)(now - c->timestamp_ns) / 1e9);
}

/* ---- --snapshot ------------------------------------------------------- */

int headless_snapshot(const struct view_opts *o)
{
    struct follow f;
    struct follow_copy c = {0};
    int rc, ret;

    if (check_output(o->snapshot) != 0)
        return VIEW_EXIT_OUTPUT;
    if ((rc = follow_init(&f, o->bus)) != 0)
        return app_exit_code(rc);
    rc = take_copy(&f, &c, o->timeout_ms, o->stats);
    if (rc == 0) {
        warn_if_stale(&c);
        rc = app_png_write_frame(o->snapshot, &c.fmt, c.data, c.len);
        if (rc == 0)
            app_log_info(TAG, "wrote %s: frame %llu", o->snapshot, (unsigned long long)c.seq);
        else
            png_error(o->snapshot, rc, c.fmt.fourcc);
        ret = rc == 0 ? VIEW_EXIT_OK : VIEW_EXIT_OUTPUT;
    } else if (rc < 0) {
        app_log_error(TAG, "out of memory copying a frame");
        ret = VIEW_EXIT_INTERNAL;
    } else {
        ret = view_stop ? VIEW_EXIT_NOFRAME : no_frame(&f, "snapshot", o->timeout_ms);
    }
    follow_copy_free(&c);
    follow_fini(&f);
    return ret;
}

/* ---- --stats ---------------------------------------------------------- */

int headless_stats(const struct view_opts *o)
{
    struct follow f;
    struct fbus_frame fr;
    uint64_t last = fbus_now_ns(), limit = (uint64_t)o->timeout_ms * MS;
    int rc, ret = VIEW_EXIT_OK;

    if ((rc = follow_init(&f, o->bus)) != 0)
        return app_exit_code(rc);
    while (!view_stop && ret == VIEW_EXIT_OK) {
        if ((rc = follow_next(&f, &fr, VIEW_SLICE_MS)) == 0) {
            follow_release(&f, &fr);
            last = fbus_now_ns();
        }
        stats_tick(&f, 1);
        /* With --timeout, as --snapshot: no frame for that long (the bus included) ends it. */
        if (o->timeout_given && (fbus_now_ns() - last >= limit || f.state == FOLLOW_FAILED))
            ret = no_frame(&f, "stats", o->timeout_ms);
    }
    follow_fini(&f);
    return ret;
}

/* ---- --record --------------------------------------------------------- */

/* What index.txt says about one recorded frame. */
struct rec_entry {
    uint64_t seq, gap, timestamp_ns;
    uint32_t fourcc, width, height;
};

struct recorder {
    const char *dir;
    int dirfd; /* dir, opened once: every file is made relative to it */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct follow_copy q[QUEUE_MAX];
    unsigned long qn[QUEUE_MAX]; /* file number of each queued copy */
    unsigned head, count;
    size_t bytes; /* of the queued copies */
    int done;     /* no more copies will come */
    int err;      /* first encoder error */
    unsigned long err_n;
    uint32_t err_fourcc;
};

static void frame_name(char *buf, size_t len, unsigned long n)
{
    snprintf(buf, len, "frame-%06lu.png", n);
}

/* Takes the oldest copy off the queue; 0 when the queue is empty and done. */
static int rec_pop(struct recorder *r, struct follow_copy *c, unsigned long *n)
{
    pthread_mutex_lock(&r->mu);
    while (!r->count && !r->done)
        pthread_cond_wait(&r->cv, &r->mu);
    if (!r->count) {
        pthread_mutex_unlock(&r->mu);
        return 0;
    }
    *c = r->q[r->head];
    *n = r->qn[r->head];
    memset(&r->q[r->head], 0, sizeof(*c));
    r->head = (r->head + 1) % QUEUE_MAX;
    r->count--;
    pthread_mutex_unlock(&r->mu);
    return 1;
}

static void *rec_encoder(void *arg)
{
    struct recorder *r = arg;
    struct follow_copy c;
    unsigned long n;
    char name[32];

    while (rec_pop(r, &c, &n)) {
        int rc = 0;
        if (!__atomic_load_n(&r->err, __ATOMIC_RELAXED)) {
            frame_name(name, sizeof(name), n);
            rc = app_png_write_frame_at(r->dirfd, name, APP_NOREPLACE, &c.fmt, c.data, c.len);
        }
        pthread_mutex_lock(&r->mu);
        r->bytes -= c.cap;
        if (rc != 0 && !r->err) {
            r->err = rc;
            r->err_n = n;
            r->err_fourcc = c.fmt.fourcc;
        }
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
        follow_copy_free(&c);
    }
    return NULL;
}

/* Waits until the queue has room for a copy of about `need` bytes. Returns the encoder error. */
static int rec_wait_room(struct recorder *r, size_t need)
{
    int err;

    pthread_mutex_lock(&r->mu);
    while (!r->err && !view_stop &&
           (r->count == QUEUE_MAX || (r->count && r->bytes + need > QUEUE_BUDGET)))
        pthread_cond_wait(&r->cv, &r->mu);
    err = r->err;
    pthread_mutex_unlock(&r->mu);
    return err;
}

static void rec_push(struct recorder *r, struct follow_copy *c, unsigned long n)
{
    pthread_mutex_lock(&r->mu);
    unsigned tail = (r->head + r->count) % QUEUE_MAX;
    r->q[tail] = *c;
    r->qn[tail] = n;
    r->count++;
    r->bytes += c->cap;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    memset(c, 0, sizeof(*c)); /* the queue owns the buffer now */
}

static void rec_finish(struct recorder *r, pthread_t th)
{
    pthread_mutex_lock(&r->mu);
    r->done = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(th, NULL);
}

/* frame-NNNNNN.png, as frame_name() makes them. */
static int is_frame_name(const char *s)
{
    if (strlen(s) != 16 || strncmp(s, "frame-", 6) != 0 || strcmp(s + 12, ".png") != 0)
        return 0;
    for (int i = 6; i < 12; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
    }
    return 1;
}

/* A file of an earlier recording in the directory dirfd, into name; 0 if none. */
static int find_recording(int dirfd, char *name, size_t len)
{
    int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *e;
    int found = 0;

    if (!d) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    while (!found && (e = readdir(d)) != NULL) {
        found = strcmp(e->d_name, "index.txt") == 0 || is_frame_name(e->d_name);
        if (found)
            snprintf(name, len, "%s", e->d_name);
    }
    closedir(d);
    return found;
}

/*
 * Makes DIR (one level) if needed and opens it. A DIR that holds a
 * recording already is refused: overwriting it would leave a mix of two
 * recordings, and the names could be links another user planted there.
 * Returns the directory's descriptor, or -1 (said why).
 */
static int rec_prepare_dir(const char *dir)
{
    char old[256];
    int fd;

    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        app_log_error(TAG, "cannot create record directory '%s': %s", dir, strerror(errno));
        return -1;
    }
    if ((fd = app_dir_open(dir)) == -ENOTDIR) {
        app_log_error(TAG, "record directory '%s' is not a directory", dir);
        return -1;
    }
    fd = writable_dir(fd);
    if (fd < 0) {
        dir_error("cannot record", dir, fd);
        return -1;
    }
    if (find_recording(fd, old, sizeof(old))) {
        app_log_error(TAG,
                      "record directory '%s' already holds a recording (%s); fbus-view does not "
                      "overwrite one: remove it or give a new directory",
                      dir, old);
        close(fd);
        return -1;
    }
    return fd;
}

static int write_index_lines(FILE *fp, const struct rec_entry *e, unsigned long n)
{
    char a[5];

    fprintf(fp, "# file seq gap timestamp_ns format width height\n");
    for (unsigned long i = 0; i < n; i++) {
        fprintf(fp, "frame-%06lu.png %llu %llu %llu %s %u %u\n", i + 1,
                (unsigned long long)e[i].seq, (unsigned long long)e[i].gap,
                (unsigned long long)e[i].timestamp_ns, fbus_fourcc_str(e[i].fourcc, a), e[i].width,
                e[i].height);
    }
    return fflush(fp) == 0 && fsync(fileno(fp)) == 0 && !ferror(fp) ? 0 : -1;
}

/* DIR/index.txt, written like the PNGs: into a temporary file, then renamed, never replacing. */
static int rec_write_index(int dirfd, const char *dir, const struct rec_entry *e, unsigned long n)
{
    struct app_file f;
    FILE *fp = NULL;
    int rc = app_file_create(&f, dirfd, "index.txt"), dup_fd = -1;

    if (rc == 0 && ((dup_fd = fcntl(f.fd, F_DUPFD_CLOEXEC, 0)) < 0 || !(fp = fdopen(dup_fd, "w"))))
        rc = -errno;
    if (rc == 0 && write_index_lines(fp, e, n) != 0)
        rc = errno ? -errno : -EIO;
    if (fp && fclose(fp) != 0 && rc == 0)
        rc = -errno;
    else if (!fp && dup_fd >= 0)
        close(dup_fd);
    if (rc == 0)
        rc = app_file_commit(&f, APP_NOREPLACE);
    else
        app_file_abort(&f);
    if (rc != 0) {
        char path[PATH_BYTES + 16];
        snprintf(path, sizeof(path), "%s/index.txt", dir);
        png_error(path, rc, 0);
    }
    return rc;
}

struct rec_run {
    struct follow f;
    struct recorder r;
    struct rec_entry *entries;
    unsigned long n; /* frames taken */
    size_t last_size;
};

/* Takes one frame into the queue. Returns 0, or a view_exit code to stop with. */
static int rec_one(struct rec_run *run, const struct view_opts *o)
{
    struct follow_copy c = {0};
    char what[64];
    int rc;

    if ((rc = rec_wait_room(&run->r, run->last_size)) != 0 || view_stop)
        return rc ? VIEW_EXIT_OUTPUT : VIEW_EXIT_NOFRAME;
    rc = take_copy(&run->f, &c, o->timeout_ms, o->stats);
    if (rc != 0) {
        follow_copy_free(&c);
        if (rc < 0)
            return VIEW_EXIT_INTERNAL;
        if (view_stop)
            return VIEW_EXIT_NOFRAME;
        snprintf(what, sizeof(what), "record (after %lu of %lu frames)", run->n, o->count);
        return no_frame(&run->f, run->n ? what : "record", o->timeout_ms);
    }
    struct rec_entry *e = &run->entries[run->n++];
    *e = (struct rec_entry){.seq = c.seq,
                            .gap = run->n > 1 ? c.missed : 0,
                            .timestamp_ns = c.timestamp_ns,
                            .fourcc = c.fmt.fourcc,
                            .width = c.fmt.width,
                            .height = c.fmt.height};
    run->last_size = c.cap;
    rec_push(&run->r, &c, run->n);
    return 0;
}

static int rec_report(struct rec_run *run, const struct view_opts *o, int ret)
{
    if (run->r.err) {
        char name[32], path[PATH_BYTES + 32];
        frame_name(name, sizeof(name), run->r.err_n);
        snprintf(path, sizeof(path), "%s/%s", o->record, name);
        png_error(path, run->r.err, run->r.err_fourcc);
        return VIEW_EXIT_OUTPUT;
    }
    if (rec_write_index(run->r.dirfd, o->record, run->entries, run->n) != 0)
        return VIEW_EXIT_OUTPUT;
    if (run->n) {
        unsigned long long first = run->entries[0].seq, last = run->entries[run->n - 1].seq;
        unsigned long long missed = 0;
        /* The gaps, not last - first: a bus made anew while recording numbers from 1 again. */
        for (unsigned long i = 0; i < run->n; i++)
            missed += run->entries[i].gap;
        app_log_info(TAG, "recorded %lu frames (seq %llu..%llu, %llu missed) into %s/", run->n,
                     first, last, missed, o->record);
    }
    return ret;
}

int headless_record(const struct view_opts *o)
{
    struct rec_run run = {.r = {.dir = o->record}};
    pthread_t th;
    int ret = VIEW_EXIT_OK;

    if ((run.r.dirfd = rec_prepare_dir(o->record)) < 0)
        return VIEW_EXIT_OUTPUT;
    if (!(run.entries = calloc(o->count, sizeof(*run.entries)))) {
        app_log_error(TAG, "out of memory for %lu index entries", o->count);
        close(run.r.dirfd);
        return VIEW_EXIT_INTERNAL;
    }
    pthread_mutex_init(&run.r.mu, NULL);
    pthread_cond_init(&run.r.cv, NULL);
    if (pthread_create(&th, NULL, rec_encoder, &run.r) != 0) {
        app_log_error(TAG, "cannot start the encoder thread");
        close(run.r.dirfd);
        free(run.entries);
        return VIEW_EXIT_INTERNAL;
    }
    if ((ret = follow_init(&run.f, o->bus)) != 0)
        ret = app_exit_code(ret);
    while (ret == VIEW_EXIT_OK && run.n < o->count)
        ret = rec_one(&run, o);
    follow_fini(&run.f);
    rec_finish(&run.r, th);
    ret = rec_report(&run, o, ret);
    pthread_cond_destroy(&run.r.cv);
    pthread_mutex_destroy(&run.r.mu);
    close(run.r.dirfd);
    free(run.entries);
    return ret;
}
