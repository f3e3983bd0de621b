/*
 * roundtrip.c - a GoogleTest-free check of the bus on C libraries and clocks
 * other than the host's glibc: built with musl-gcc by scripts/musl-test and for
 * armhf with a 64-bit time_t by scripts/cross-test --time64.
 *
 *   roundtrip [--frames N] [--idle-ms MS] [--max-cpu PERCENT]
 *
 * Checks, each printed as "PASS name: ..." or "FAIL name: ...":
 *   names     fbus_err_name of errno values (musl has no strerrorname_np) and bus codes;
 *   nobus     a reader of a missing bus gets FBUS_ENOBUS;
 *   frames    a forked writer publishes N frames, a forked lossless reader gets each
 *             with the right bytes, size and seq 1..N;
 *   idle      that reader's acquire on the live, idle bus returns FBUS_ETIMEDOUT after
 *             at least MS ms (default 300) and uses less CPU than PERCENT (10) of the
 *             wall time (getrusage): a futex timeout the kernel misreads returns at once
 *             and the library spins to its deadline. Measured under qemu-arm with a
 *             64-bit time_t: 17-25 % of the wall time with that bug, 0.2-0.5 % without;
 *   semtimedop  libc's semtimedop with a MS ms timeout waits as long, with as little CPU.
 * Then "roundtrip: N passed, N failed"; exits 0 only if every check passed. The bus is
 * removed on every path (fbus_remove with force).
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "framebus/framebus.h"

#define W 64
#define H 48

static unsigned frames = 20;
static int idle_ms = 300;
static double max_cpu = 10.0;
static int passed, failed;

/* POSIX leaves union semun to the caller. */
union semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
};

static void check(int ok, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void check(int ok, const char *name, const char *fmt, ...)
{
    va_list ap;

    printf("%s %s: ", ok ? "PASS" : "FAIL", name);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    if (ok)
        passed++;
    else
        failed++;
}

static unsigned char pattern(uint64_t seq, size_t i)
{
    return (unsigned char)(seq * 31u + i * 7u + (i >> 8));
}

static double cpu_ms(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static void check_names(void)
{
    static const struct {
        int err;
        const char *name;
    } want[] = {{-ENOENT, "ENOENT"},
                {-ETIMEDOUT, "ETIMEDOUT"},
                {-EIDRM, "EIDRM"},
                {-EACCES, "EACCES"},
                {-ENOSPC, "ENOSPC"},
                {FBUS_ENOBUS, "FBUS_ENOBUS"},
                {FBUS_ETIMEDOUT, "FBUS_ETIMEDOUT"}};
    int bad = 0;

    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const char *got = fbus_err_name(want[i].err);

        if (strcmp(got, want[i].name) != 0) {
            printf("  fbus_err_name(%d) = %s, want %s\n", want[i].err, got, want[i].name);
            bad++;
        }
    }
    check(!bad, "names", "%zu errno and bus code names", sizeof(want) / sizeof(want[0]));
}

static void check_nobus(const char *name)
{
    fbus_reader *r = NULL;
    int rc = fbus_reader_open(&r, name, NULL);

    check(rc == FBUS_ENOBUS, "nobus", "reader_open of missing bus '%s': %s", name,
          fbus_err_name(rc));
    fbus_reader_close(r);
}

/* The writer: make the bus, say so, publish when the reader is there, stay until it is done. */
static int writer_main(const char *name, int ready_fd, int go_fd)
{
    struct fbus_format fmt;
    struct fbus_writer_opts opts;
    fbus_writer *w = NULL;
    unsigned char buf[W * H];
    char c;
    int rc;

    fbus_format_init(&fmt, FBUS_FMT_GREY, W, H);
    fbus_writer_opts_init(&opts);
    opts.slots = 3;
    rc = fbus_writer_open(&w, name, &fmt, &opts);
    if (rc < 0) {
        fprintf(stderr, "writer: fbus_writer_open('%s'): %s\n", name, fbus_strerror(rc));
        return 1;
    }
    if (write(ready_fd, "r", 1) != 1 || read(go_fd, &c, 1) != 1)
        goto fail;
    for (uint64_t seq = 1; seq <= frames; seq++) {
        for (size_t i = 0; i < sizeof(buf); i++)
            buf[i] = pattern(seq, i);
        rc = fbus_writer_publish(w, buf, sizeof(buf), 0);
        if (rc < 0) {
            fprintf(stderr, "writer: frame %llu: %s\n", (unsigned long long)seq, fbus_strerror(rc));
            goto fail;
        }
    }
    /* Alive and idle while the reader times out; the reader closing its end ends it. */
    while (read(go_fd, &c, 1) > 0) {
    }
    return fbus_writer_close(w) == 0 ? 0 : 1;
fail:
    fbus_writer_close(w);
    return 1;
}

/* One frame as the writer made it: seq want, every byte, the whole size. */
static int frame_ok(const struct fbus_frame *f, uint64_t want)
{
    const unsigned char *p = f->data;

    if (f->seq != want || f->bytesused != W * H) {
        printf("  frame: seq %llu (want %llu), %zu bytes (want %d)\n", (unsigned long long)f->seq,
               (unsigned long long)want, f->bytesused, W * H);
        return 0;
    }
    for (size_t i = 0; i < f->bytesused; i++) {
        if (p[i] != pattern(want, i)) {
            printf("  frame %llu: byte %zu is %u, want %u\n", (unsigned long long)want, i, p[i],
                   pattern(want, i));
            return 0;
        }
    }
    return 1;
}

static void check_frames(fbus_reader *r)
{
    struct fbus_frame f;
    unsigned got = 0;
    int rc = 0;

    while (got < frames) {
        rc = fbus_reader_acquire(r, &f, 0, 10000);
        if (rc < 0)
            break;
        int ok = frame_ok(&f, got + 1);
        fbus_reader_release(r, &f);
        if (!ok)
            break;
        got++;
    }
    check(got == frames, "frames", "%u of %u frames, right bytes and seq%s%s", got, frames,
          rc < 0 ? "; acquire: " : "", rc < 0 ? fbus_err_name(rc) : "");
}

static void check_idle(fbus_reader *r)
{
    struct fbus_frame f;
    double c0 = cpu_ms(), t0 = (double)fbus_now_ns(), wall, cpu;
    int rc = fbus_reader_acquire(r, &f, frames, idle_ms);

    wall = ((double)fbus_now_ns() - t0) / 1e6;
    cpu = cpu_ms() - c0;
    if (rc == 0)
        fbus_reader_release(r, &f);
    check(rc == FBUS_ETIMEDOUT && wall >= idle_ms && cpu < wall * max_cpu / 100, "idle",
          "acquire(timeout %d ms) on an idle bus: %s after %.1f ms, CPU %.1f ms (%.1f%%)", idle_ms,
          fbus_err_name(rc), wall, cpu, 100 * cpu / wall);
}

/*
 * The reader: attach losslessly, let the writer go, take every frame, then time out once.
 * Exits with the number of its READER_CHECKS that failed (or were not reached).
 */
#define READER_CHECKS 3
static int reader_main(const char *name, int ready_fd, int go_fd)
{
    struct fbus_reader_opts opts;
    fbus_reader *r = NULL;
    char c;
    int rc;

    if (read(ready_fd, &c, 1) != 1)
        return READER_CHECKS;
    fbus_reader_opts_init(&opts);
    opts.lossless = 1;
    rc = fbus_reader_open(&r, name, &opts);
    check(rc == 0, "open", "lossless reader of '%s': %s", name, fbus_err_name(rc));
    if (rc < 0)
        return READER_CHECKS;
    if (write(go_fd, "g", 1) != 1)
        return READER_CHECKS;
    check_frames(r);
    check_idle(r);
    fbus_reader_close(r);
    return failed;
}

/* libc's semtimedop: its wrapper, not ours, must get a 64-bit time_t right. */
static void check_semtimedop(void)
{
    union semun one = {.val = 1};
    struct sembuf zero = {.sem_num = 0, .sem_op = 0, .sem_flg = 0};
    struct timespec ts = {.tv_sec = idle_ms / 1000, .tv_nsec = (idle_ms % 1000) * 1000000L};
    int id = semget(IPC_PRIVATE, 1, 0600), rc, e;
    double c0, t0, wall, cpu;

    if (id < 0 || semctl(id, 0, SETVAL, one) < 0) {
        check(0, "semtimedop", "semget/SETVAL: %s", strerror(errno));
        return;
    }
    c0 = cpu_ms();
    t0 = (double)fbus_now_ns();
    rc = semtimedop(id, &zero, 1, &ts); /* waits for 0: never comes */
    e = errno;
    wall = ((double)fbus_now_ns() - t0) / 1e6;
    cpu = cpu_ms() - c0;
    semctl(id, 0, IPC_RMID);
    check(rc < 0 && e == EAGAIN && wall >= idle_ms && cpu < wall * max_cpu / 100, "semtimedop",
          "wait for zero, timeout %d ms: %s after %.1f ms, CPU %.1f ms (%.1f%%)", idle_ms,
          rc < 0 ? strerror(e) : "success", wall, cpu, 100 * cpu / wall);
}

/* The child's exit status, or 255 when it died on a signal. */
static int wait_child(pid_t pid, const char *what)
{
    int st;

    if (waitpid(pid, &st, 0) < 0)
        return 255;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    printf("  the %s died on signal %d\n", what, WTERMSIG(st));
    return 255;
}

static void parse(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--frames") == 0)
            frames = (unsigned)atoi(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--idle-ms") == 0)
            idle_ms = atoi(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--max-cpu") == 0)
            max_cpu = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--frames N] [--idle-ms MS] [--max-cpu PERCENT]\n", argv[0]);
            exit(2);
        }
    }
    if (frames < 1 || idle_ms < 1) {
        fprintf(stderr, "roundtrip: --frames and --idle-ms take positive numbers\n");
        exit(2);
    }
}

int main(int argc, char **argv)
{
    char name[32], none[32];
    int ready[2], go[2], rfail, wrc;
    pid_t wpid, rpid;

    parse(argc, argv);
    alarm(120); /* a hang fails the test instead of the CI run */
    printf("roundtrip: framebus %s, time_t %zu bits, long %zu bits\n", fbus_version_string(),
           8 * sizeof(time_t), 8 * sizeof(long));
    snprintf(name, sizeof(name), "rt.%d", (int)getpid());
    snprintf(none, sizeof(none), "rt.%d.none", (int)getpid());
    check_names();
    check_nobus(none);
    check_semtimedop();
    fflush(stdout);
    if (pipe(ready) < 0 || pipe(go) < 0)
        return 2;
    wpid = fork();
    if (wpid == 0) {
        close(ready[0]);
        close(go[1]);
        _exit(writer_main(name, ready[1], go[0]));
    }
    rpid = fork();
    if (rpid == 0) {
        close(ready[1]);
        close(go[0]);
        _exit(reader_main(name, ready[0], go[1]));
    }
    close(ready[0]);
    close(ready[1]);
    close(go[0]);
    close(go[1]);
    /* The reader prints its checks itself and exits with how many failed. */
    rfail = wait_child(rpid, "reader");
    rfail = rfail > READER_CHECKS ? READER_CHECKS : rfail;
    passed += READER_CHECKS - rfail;
    failed += rfail;
    wrc = wait_child(wpid, "writer");
    fbus_remove(name, 0, 1);
    check(wrc == 0, "writer", "published %u frames and closed the bus: exit %d", frames, wrc);
    printf("roundtrip: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
