/*
 * fbus.c - the admin tool: list, inspect, remove and snapshot buses.
 *
 *   fbus ls
 *   fbus info NAME [--json] [--key 0xKEY]
 *   fbus rm NAME [--force] [--key 0xKEY]
 *   fbus snap NAME FILE.png [--timeout MS] [--key 0xKEY]
 *   fbus wait NAME --seq N [--timeout MS] [--key 0xKEY]
 *
 * Exit codes (README "The fbus tool"): 0 ok, 1 other error, 2 usage,
 * 3 no such bus, 4 timed out / no frame, 5 busy (live writer), 6 corrupt or
 * foreign segment, 7 permission denied, 8 writer gone or bus closed.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "framebus/framebus.h"
#include "log.h"
#include "png_io.h"

enum { EX_OK, EX_ERR, EX_USAGE, EX_NOBUS, EX_TIMEOUT, EX_BUSY, EX_CORRUPT, EX_PERM, EX_GONE };

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
    return out == stdout ? EX_OK : EX_USAGE;
}

/* Exit code for a library error. */
static int exit_code(int rc)
{
    switch (rc) {
    case FBUS_ENOBUS:
    case FBUS_ENAME:
        return EX_NOBUS;
    case FBUS_ETIMEDOUT:
    case FBUS_EAGAIN:
        return EX_TIMEOUT;
    case FBUS_EBUSY:
        return EX_BUSY;
    case FBUS_ECORRUPT:
    case FBUS_EVERSION:
    case FBUS_ECOLLISION:
        return EX_CORRUPT;
    case FBUS_EPERM:
        return EX_PERM;
    case FBUS_EWRITER_GONE:
    case FBUS_ECLOSED:
        return EX_GONE;
    default:
        return EX_ERR;
    }
}

/* One message a user can act on, for the errors every command meets. */
static int fail(const char *name, int rc)
{
    const char *hint = "";

    switch (rc) {
    case FBUS_ENOBUS:
        hint = "; is its writer (fbus-capture) running? 'fbus ls' lists the buses";
        break;
    case FBUS_ENAME:
        hint = " (bus names are 1-31 characters of a-z 0-9 _ . -)";
        break;
    case FBUS_EPERM:
        hint = "; the bus's mode does not admit this user: ask its owner for the group, "
               "or run as the owner";
        break;
    case FBUS_ECORRUPT:
    case FBUS_EVERSION:
        hint = "; remove it with 'fbus rm NAME --force' and restart the writer";
        break;
    case FBUS_ECOLLISION:
        hint = "; the key belongs to another bus or program: pick another name or --key";
        break;
    case FBUS_EWRITER_GONE:
        hint = "; restart the writer, or remove the stale bus with 'fbus rm NAME'";
        break;
    }
    app_log_error(NULL, "bus '%s': %s%s", name ? name : "?", fbus_strerror(rc), hint);
    return exit_code(rc);
}

static const char *fourcc(uint32_t f, char buf[5])
{
    return f ? fbus_fourcc_str(f, buf) : "-";
}

static int ls_row(const struct fbus_info *i, int rc, void *ctx)
{
    char fcc[5], geom[32];

    (void)ctx;
    if (rc != 0) {
        printf("%-16s 0x%08x %6d  (%s)\n", i->name[0] ? i->name : "?", i->key, i->shmid,
               fbus_strerror(rc));
        return 0;
    }
    snprintf(geom, sizeof(geom), "%ux%u", i->format.width, i->format.height);
    printf("%-16s 0x%08x %6d %-4s %-10s %10" PRIu64 " %5u %7d %7d %-5s %10" PRIu64 " %8" PRIu64
           "%s\n",
           i->name, i->key, i->shmid, fourcc(i->format.fourcc, fcc), geom, i->segment_size,
           i->slots, i->readers, i->writer_pid, i->writer_alive ? "alive" : "dead", i->published,
           i->dropped, i->superseded ? " superseded" : i->closed ? " closed" : "");
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
        return EX_ERR;
    }
    return EX_OK;
}

static void print_json(const struct fbus_info *i)
{
    char fcc[5];

    printf("{\"name\":\"%s\",\"key\":\"0x%08x\",\"shmid\":%d,\"semid\":%d,"
           "\"format\":{\"fourcc\":\"%s\",\"width\":%u,\"height\":%u,\"bytesperline\":%u,"
           "\"sizeimage\":%u},",
           i->name, i->key, i->shmid, i->semid, fourcc(i->format.fourcc, fcc), i->format.width,
           i->format.height, i->format.bytesperline, i->format.sizeimage);
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
}

static int cmd_info(const struct args *a)
{
    struct fbus_info info;
    int rc = fbus_info_get(a->name, a->key, &info);

    if (rc != 0)
        return fail(a->name, rc);
    if (a->json)
        print_json(&info);
    else
        print_text(&info);
    return EX_OK;
}

static int cmd_rm(const struct args *a)
{
    struct fbus_info info;
    int rc = fbus_remove(a->name, a->key, a->force);

    if (rc == FBUS_EBUSY) {
        fbus_info_get(a->name, a->key, &info);
        app_log_error(NULL,
                      "bus '%s' is busy: writer pid %d is alive; stop it first, or use "
                      "--force (its readers then get 'writer gone')",
                      a->name, info.writer_pid);
        return EX_BUSY;
    }
    if (rc != 0)
        return fail(a->name, rc);
    printf("removed bus '%s'\n", a->name);
    return EX_OK;
}

static int open_reader(const struct args *a, fbus_reader **r)
{
    struct fbus_reader_opts o;

    fbus_reader_opts_init(&o);
    o.key = a->key;
    return fbus_reader_open(r, a->name, &o);
}

static int cmd_snap(const struct args *a)
{
    struct fbus_frame f;
    fbus_reader *r;
    int rc;

    if ((rc = open_reader(a, &r)) != 0)
        return fail(a->name, rc);
    if ((rc = fbus_reader_acquire(r, &f, 0, a->timeout_ms)) != 0) {
        fbus_reader_close(r);
        if (rc == FBUS_ETIMEDOUT)
            app_log_error(NULL,
                          "bus '%s': no frame within %d ms; is the writer stalled? "
                          "(try a longer --timeout)",
                          a->name, a->timeout_ms);
        return rc == FBUS_ETIMEDOUT ? EX_TIMEOUT : fail(a->name, rc);
    }
    rc = app_png_write_frame(a->file, &f.format, f.data, f.bytesused);
    fbus_reader_release(r, &f);
    fbus_reader_close(r);
    if (rc != 0) {
        app_log_error(NULL, "cannot write '%s': %s%s", a->file, fbus_strerror(rc),
                      rc == FBUS_EFORMAT ? " (MJPEG frames are not decoded; capture a raw format)"
                                         : " (check the directory exists and is writable)");
        return EX_ERR;
    }
    printf("wrote %s: frame %" PRIu64 ", %ux%u\n", a->file, f.seq, f.format.width,
           f.format.height);
    return EX_OK;
}

/* Blocks until frame seq (or a later one) is published; prints the one seen. */
static int cmd_wait(const struct args *a)
{
    struct fbus_frame f;
    fbus_reader *r;
    int rc;

    if ((rc = open_reader(a, &r)) != 0)
        return fail(a->name, rc);
    rc = fbus_reader_acquire(r, &f, a->seq ? a->seq - 1 : 0, a->timeout_ms);
    if (rc == 0) {
        printf("%" PRIu64 "\n", f.seq);
        fbus_reader_release(r, &f);
    }
    fbus_reader_close(r);
    if (rc == FBUS_ETIMEDOUT) {
        app_log_error(NULL, "bus '%s': frame %" PRIu64 " not published within %d ms", a->name,
                      a->seq, a->timeout_ms);
        return EX_TIMEOUT;
    }
    return rc ? fail(a->name, rc) : EX_OK;
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
        return EX_OK;
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
