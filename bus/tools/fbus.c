/*
 * fbus.c - the admin tool: list, inspect, remove and snapshot buses.
 *
 *   fbus ls
 *   fbus info NAME [--json] [--key 0xKEY]
 *   fbus rm NAME [--force] [--key 0xKEY]
 *   fbus snap NAME FILE.png [--timeout MS] [--key 0xKEY]
 *   fbus wait NAME --seq N [--timeout MS] [--key 0xKEY]
 *
 * Exit codes: enum app_exit (common/advice.h), the same for every framebus
 * program (README "Exit codes"); what to do about an error: app_advice().
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "advice.h"
#include "framebus/framebus.h"
#include "log.h"
#include "png_io.h"

struct args {
    const char *name;
    const char *file;
    uint32_t key;
    int json;
    int force;
    int timeout_ms;
    uint64_t seq;
};

static int usage(FILE *out)
{
    fprintf(out, "usage: fbus ls\n"
                 "       fbus info NAME [--json] [--key 0xKEY]\n"
                 "       fbus rm NAME [--force] [--key 0xKEY]\n"
                 "       fbus snap NAME FILE.png [--timeout MS] [--key 0xKEY]\n"
                 "       fbus wait NAME --seq N [--timeout MS] [--key 0xKEY]\n"
                 "       fbus --version\n");
    return out == stdout ? APP_EXIT_OK : APP_EXIT_USAGE;
}

/* One message a user can act on, for the errors every command meets; returns the exit code. */
static int fail(const struct args *a, int op, int rc)
{
    return app_bus_error(NULL, rc, op, a->name, a->key);
}

static const char *fourcc(uint32_t f, char buf[5])
{
    return f ? fbus_fourcc_str(f, buf) : "-";
}

/* A segment that failed validation: what is known of it (key, owner, mode) and why. */
static void ls_bad_row(const struct fbus_info *i, int rc)
{
    const char *why = rc == FBUS_EPERM ? "no permission" : fbus_strerror(rc);

    printf("%-16s 0x%08x %6d  (%s: owner uid %u, mode 0%03o)\n", i->name[0] ? i->name : "?", i->key,
           i->shmid, why, i->uid, i->mode);
}

static int ls_row(const struct fbus_info *i, int rc, void *ctx)
{
    char fcc[5], geom[32];

    (void)ctx;
    if (rc != 0) {
        ls_bad_row(i, rc);
        return 0;
    }
    snprintf(geom, sizeof(geom), "%ux%u", i->format.width, i->format.height);
    printf(
        "%-16s 0x%08x %6d %-4s %-10s %10" PRIu64 " %5u %7d %7d %-5s %10" PRIu64 " %8" PRIu64 "%s\n",
        i->name, i->key, i->shmid, fourcc(i->format.fourcc, fcc), geom, i->segment_size, i->slots,
        i->readers, i->writer_pid, i->writer_alive ? "alive" : "dead", i->published, i->dropped,
        i->semid < 0    ? " semaphores missing"
        : i->superseded ? " superseded"
        : i->closed     ? " closed"
                        : "");
    return 0;
}

static int cmd_ls(void)
{
    printf("%-16s %-10s %6s %-4s %-10s %10s %5s %7s %7s %-5s %10s %8s\n", "NAME", "KEY", "SHMID",
           "FMT", "SIZE", "BYTES", "SLOTS", "READERS", "WRITER", "STATE", "FRAMES", "DROPS");
    int n = fbus_list(ls_row, NULL);
    if (n < 0) {
        app_log_error(NULL, "cannot scan /proc/sysvipc/shm: %s (is /proc mounted?)",
                      fbus_strerror(n));
        return APP_EXIT_ERROR;
    }
    return APP_EXIT_OK;
}

static void print_json(const struct fbus_info *i)
{
    char fcc[5];

    printf("{\"name\":\"%s\",\"key\":\"0x%08x\",\"shmid\":%d,\"semid\":%d,"
           "\"format\":{\"fourcc\":\"%s\",\"width\":%u,\"height\":%u,\"bytesperline\":%u,"
           "\"sizeimage\":%u},",
           i->name, i->key, i->shmid, i->semid, fourcc(i->format.fourcc, fcc), i->format.width,
           i->format.height, i->format.bytesperline, i->format.sizeimage);
    printf("\"abi\":%u,\"library_abi\":%u,\"library_protocol\":%u,", i->abi_version, fbus_abi(),
           fbus_protocol());
    printf("\"slots\":%u,\"slot_capacity\":%" PRIu64 ",\"segment_size\":%" PRIu64
           ",\"mode\":\"0%03o\",\"uid\":%u,\"readers\":%d,\"writer_pid\":%d,"
           "\"writer_alive\":%s,\"closed\":%s,\"superseded\":%s,",
           i->slots, i->slot_capacity, i->segment_size, i->mode, i->uid, i->readers,
           i->writer_pid, i->writer_alive ? "true" : "false", i->closed ? "true" : "false",
           i->superseded ? "true" : "false");
    printf("\"lossless\":[");
    for (unsigned k = 0; k < i->lossless_count; k++)
        printf("%s{\"pid\":%d,\"start_seq\":%" PRIu64 ",\"drops\":%" PRIu64 ",\"pending\":%d}",
               k ? "," : "", i->lossless[k].pid, i->lossless[k].start_seq, i->lossless[k].drops,
               i->lossless[k].pending);
    printf("],");
    printf("\"published\":%" PRIu64 ",\"dropped\":%" PRIu64 ",\"restarts\":%" PRIu64
           ",\"last_seq\":%" PRIu64 ",\"last_timestamp_ns\":%" PRIu64 ",\"age_ms\":%.3f,"
           "\"fps\":%.2f}\n",
           i->published, i->dropped, i->restarts, i->last_seq, i->last_timestamp_ns,
           i->age_ns < 0 ? -1.0 : (double)i->age_ns / 1e6, i->fps);
}

static void print_text(const struct fbus_info *i)
{
    char fcc[5];

    printf("bus:        %s (key 0x%08x, shm %d, sem %d, mode 0%03o, uid %u)\n", i->name, i->key,
           i->shmid, i->semid, i->mode, i->uid);
    printf("format:     %s %ux%u, %u bytes/line, %u bytes/frame\n",
           fourcc(i->format.fourcc, fcc), i->format.width, i->format.height,
           i->format.bytesperline, i->format.sizeimage);
    printf("protocol:   %u (this fbus: %u), library ABI %u\n", i->abi_version, fbus_protocol(),
           fbus_abi());
    printf("slots:      %u x %" PRIu64 " bytes (segment %" PRIu64 " bytes)\n", i->slots,
           i->slot_capacity, i->segment_size);
    printf("writer:     pid %d, %s%s%s\n", i->writer_pid, i->writer_alive ? "alive" : "dead",
           i->closed ? ", bus closed" : "", i->superseded ? ", superseded" : "");
    printf("readers:    %d\n", i->readers);
    printf("frames:     %" PRIu64 " published, %" PRIu64 " dropped, %" PRIu64
           " writer restarts, last seq %" PRIu64 "\n",
           i->published, i->dropped, i->restarts, i->last_seq);
    for (unsigned k = 0; k < i->lossless_count; k++)
        printf("lossless:   pid %d, from frame %" PRIu64 ", %d pending, %" PRIu64 " dropped\n",
               i->lossless[k].pid, i->lossless[k].start_seq, i->lossless[k].pending,
               i->lossless[k].drops);
    if (i->age_ns >= 0)
        printf("last frame: %.1f ms ago; %.2f fps\n", (double)i->age_ns / 1e6, i->fps);
    else
        printf("last frame: none yet\n");
    if (i->semid < 0)
        printf("missing:    its semaphore set (removed by hand?): readers cannot attach; "
               "remove the rest with 'fbus rm %s%s' and restart the writer\n",
               i->name, i->writer_alive ? " --force" : "");
}

static int cmd_info(const struct args *a)
{
    struct fbus_info info;
    int rc = fbus_info_get(a->name, a->key, &info);

    if (rc != 0)
        return fail(a, APP_OP_INSPECT, rc);
    if (a->json)
        print_json(&info);
    else
        print_text(&info);
    return APP_EXIT_OK;
}

static int cmd_rm(const struct args *a)
{
    int rc = fbus_remove(a->name, a->key, a->force);

    if (rc != 0)
        return fail(a, APP_OP_REMOVE, rc);
    printf("removed bus '%s'\n", a->name);
    return APP_EXIT_OK;
}

/*
 * A follow reader: open succeeds before the bus exists, and one acquire
 * waits, within its timeout, for the bus to be made and then for the frame.
 */
static int open_reader(const struct args *a, fbus_reader **r)
{
    struct fbus_reader_opts o;

    fbus_reader_opts_init(&o);
    o.key = a->key;
    o.follow = 1;
    return fbus_reader_open(r, a->name, &o);
}

/* Why an acquire of `what` ended without it: which of bus and frame never came. */
static int no_frame(const struct args *a, fbus_reader *r, int rc, const char *what)
{
    struct fbus_reader_status st;

    if (rc == FBUS_ENOBUS && app_bus_shmid(a->name, a->key) < 0) {
        app_log_error(NULL,
                      "bus '%s' never appeared within %d ms; is its writer running? "
                      "(fbus-capture --bus %s; 'fbus ls' lists the buses)",
                      a->name, a->timeout_ms, a->name);
        return APP_EXIT_NOBUS;
    }
    if (rc != FBUS_ETIMEDOUT)
        return fail(a, APP_OP_READ, rc);
    memset(&st, 0, sizeof(st));
    fbus_reader_status(r, &st);
    app_log_error(NULL,
                  "bus '%s' is there (writer pid %d, last frame %" PRIu64 ") but %s came "
                  "within %d ms; is the writer stalled? (try a longer --timeout)",
                  a->name, (int)st.writer_pid, st.last_seq, what, a->timeout_ms);
    return APP_EXIT_TIMEOUT;
}

/* What app_png_write_frame()'s rc means for frame f, and the exit code. */
static int write_failed(const struct args *a, const struct fbus_frame *f, int rc)
{
    char fcc[5];

    if (rc == FBUS_ESIZE)
        app_log_error(NULL,
                      "bus '%s': frame %" PRIu64 " is shorter than its format: %zu bytes, "
                      "%s %ux%u needs %u; its writer published a short frame",
                      a->name, f->seq, f->bytesused, fourcc(f->format.fourcc, fcc), f->format.width,
                      f->format.height, f->format.sizeimage);
    else if (rc == FBUS_EFORMAT)
        app_log_error(NULL, "cannot write '%s': %s frames are not decoded; capture a raw format",
                      a->file, fourcc(f->format.fourcc, fcc));
    else
        app_log_error(NULL, "cannot write '%s': %s (check the directory exists and is writable)",
                      a->file, fbus_strerror(rc));
    return rc == FBUS_ESIZE ? APP_EXIT_CORRUPT : APP_EXIT_ERROR;
}

static int cmd_snap(const struct args *a)
{
    struct fbus_frame f;
    fbus_reader *r;
    int rc;

    if ((rc = open_reader(a, &r)) != 0)
        return fail(a, APP_OP_READ, rc);
    if ((rc = fbus_reader_acquire(r, &f, 0, a->timeout_ms)) != 0) {
        rc = no_frame(a, r, rc, "no frame");
        fbus_reader_close(r);
        return rc;
    }
    rc = app_png_write_frame(a->file, &f.format, f.data, f.bytesused);
    if (rc != 0)
        rc = write_failed(a, &f, rc);
    else
        printf("wrote %s: frame %" PRIu64 ", %ux%u\n", a->file, f.seq, f.format.width,
               f.format.height);
    fbus_reader_release(r, &f);
    fbus_reader_close(r);
    return rc;
}

/* Blocks until frame seq (or a later one) is published; prints the one seen. */
static int cmd_wait(const struct args *a)
{
    char what[64];
    struct fbus_frame f;
    fbus_reader *r;
    int rc;

    if ((rc = open_reader(a, &r)) != 0)
        return fail(a, APP_OP_READ, rc);
    rc = fbus_reader_acquire(r, &f, a->seq - 1, a->timeout_ms);
    if (rc == 0) {
        printf("%" PRIu64 "\n", f.seq);
        fbus_reader_release(r, &f);
    } else {
        snprintf(what, sizeof(what), "frame %" PRIu64 " never", a->seq);
        rc = no_frame(a, r, rc, what);
    }
    fbus_reader_close(r);
    return rc;
}

static int parse_u64(const char *s, uint64_t *v, int base)
{
    char *end;

    errno = 0;
    unsigned long long x = strtoull(s, &end, base);
    if (errno || end == s || *end || s[0] == '-')
        return -1;
    *v = x;
    return 0;
}

static int parse_opts(int argc, char **argv, struct args *a)
{
    static const struct option longs[] = {
        {"json", no_argument, NULL, 'j'},       {"force", no_argument, NULL, 'f'},
        {"key", required_argument, NULL, 'k'},  {"timeout", required_argument, NULL, 't'},
        {"seq", required_argument, NULL, 's'},  {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    uint64_t v;
    int c;

    while ((c = getopt_long(argc, argv, "jfk:t:s:h", longs, NULL)) != -1) {
        switch (c) {
        case 'j':
            a->json = 1;
            break;
        case 'f':
            a->force = 1;
            break;
        case 'k':
            if (parse_u64(optarg, &v, 0) || v == 0 || v > UINT32_MAX)
                return app_log_error(NULL, "--key wants a non-zero 32-bit number, e.g. "
                                           "0xfb12ab34"),
                       -1;
            a->key = (uint32_t)v;
            break;
        case 't':
            if (parse_u64(optarg, &v, 10) || v > 86400000)
                return app_log_error(NULL, "--timeout wants milliseconds (0-86400000)"), -1;
            a->timeout_ms = (int)v;
            break;
        case 's':
            if (parse_u64(optarg, &v, 10) || v == 0)
                return app_log_error(NULL, "--seq wants a frame number from 1 up"), -1;
            a->seq = v;
            break;
        default:
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct args a = {.timeout_ms = 2000};
    const char *cmd;

    app_log_init("fbus");
    app_log_set_timestamps(0);
    if (argc < 2)
        return usage(stderr);
    cmd = argv[1];
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("fbus %s\n", fbus_version_string());
        return APP_EXIT_OK;
    }
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help"))
        return usage(stdout);
    if (parse_opts(argc - 1, argv + 1, &a) != 0)
        return usage(stderr);
    char **pos = argv + 1 + optind;
    int npos = argc - 1 - optind;
    if (!strcmp(cmd, "ls") && npos == 0)
        return cmd_ls();
    a.name = npos > 0 ? pos[0] : NULL;
    if (!strcmp(cmd, "info") && npos == 1)
        return cmd_info(&a);
    if (!strcmp(cmd, "rm") && npos == 1)
        return cmd_rm(&a);
    if (!strcmp(cmd, "snap") && npos == 2) {
        a.file = pos[1];
        return cmd_snap(&a);
    }
    if (!strcmp(cmd, "wait") && npos == 1 && a.seq)
        return cmd_wait(&a);
    return usage(stderr);
}
