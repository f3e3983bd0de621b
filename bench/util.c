/*
 * util.c - fbus-bench's helpers: statistics, clocks, shared memory for the
 * children's results, forking readers, bus names and their clean-up.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "framebus/framebus.h"

const struct bsize bench_sizes[NSIZES] = {
    {"640x480 YUYV", "vga", FBUS_FMT_YUYV, 640, 480, 640u * 480u * 2u},
    {"1920x1080 RGB24", "1080p", FBUS_FMT_RGB24, 1920, 1080, 1920u * 1080u * 3u},
    {"3840x2160 RGB24", "4k", FBUS_FMT_RGB24, 3840, 2160, 3840u * 2160u * 3u},
};
const unsigned handoff_readers[NHANDOFF] = {1, 4, 8, 16};
const unsigned scale_readers[NSCALE] = {0, 1, 2, 4, 8, 16};
const unsigned wcost_readers[NWCOST] = {0, 1, 4};
const unsigned wpub_readers[NWPUB] = {0, 4};

/* ---- Samples ---- */

void samples_add(struct samples *s, double ns)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        double *v = realloc(s->v, cap * sizeof(*v));
        if (!v)
            return; /* a lost sample in a benchmark is not worth dying for */
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = ns;
}

void samples_free(struct samples *s)
{
    free(s->v);
    memset(s, 0, sizeof(*s));
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted values. */
static double pct(const double *v, size_t n, double p)
{
    size_t k = (size_t)(p / 100.0 * (double)n + 0.999999);

    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return v[k - 1];
}

struct summary samples_summary(struct samples *s)
{
    struct summary m = {0};
    double sum = 0;

    if (s->n == 0)
        return m;
    qsort(s->v, s->n, sizeof(*s->v), cmp_double);
    for (size_t i = 0; i < s->n; i++)
        sum += s->v[i];
    m.n = s->n;
    m.p50 = pct(s->v, s->n, 50);
    m.p99 = pct(s->v, s->n, 99);
    m.max = s->v[s->n - 1];
    m.mean = sum / (double)s->n;
    return m;
}

double median_of(double *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- Clocks ---- */

/* The clock of frame timestamps: the library's own, so both sides compare like with like. */
uint64_t now_ns(void)
{
    return fbus_now_ns();
}

uint64_t thread_cpu_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void sleep_ns(uint64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
                          .tv_nsec = (long)(ns % 1000000000u)};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* ---- Memory ---- */

void *shared_alloc(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    return p == MAP_FAILED ? NULL : p;
}

void shared_free(void *p, size_t bytes)
{
    if (p)
        munmap(p, bytes);
}

void *local_alloc(size_t bytes)
{
    void *p = NULL;

    if (posix_memalign(&p, 4096, bytes) != 0)
        return NULL;
    memset(p, 0x5a, bytes);
    return p;
}

/* ---- Buses ---- */

#define MAX_NAMES 256
static char names[MAX_NAMES][32];
static unsigned nnames;

const char *bus_name(char buf[32])
{
    snprintf(buf, 32, "fbb-%d-%u", (int)getpid(), nnames);
    if (nnames < MAX_NAMES)
        strcpy(names[nnames++], buf);
    return buf;
}

void bus_cleanup_all(void)
{
    for (unsigned i = 0; i < nnames; i++)
        fbus_remove(names[i], 0, 1); /* ENOBUS for the ones closed normally */
}

/* ---- Processes ---- */

static void pin_to(int cpu)
{
    cpu_set_t set;

    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof(set), &set);
}

void pin_writer(int pin)
{
    if (pin)
        pin_to(0);
}

pid_t spawn_child(int (*fn)(void *arg, unsigned index), void *arg, unsigned index, int pin)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    long ncpu;

    if (pid != 0)
        return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(1);
    ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (pin && ncpu > 1)
        pin_to(1 + (int)(index % (unsigned)(ncpu - 1)));
    _exit(fn(arg, index));
}

void reap_children(pid_t *pids, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (pids[i] > 0)
            kill(pids[i], SIGKILL);
    }
    for (unsigned i = 0; i < n; i++) {
        if (pids[i] > 0)
            waitpid(pids[i], NULL, 0);
        pids[i] = 0;
    }
}

int wait_counter(const uint32_t *counter, uint32_t want, unsigned timeout_ms)
{
    uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000u;

    while (__atomic_load_n(counter, __ATOMIC_ACQUIRE) < want) {
        if (now_ns() > deadline)
            return -1;
        sleep_ns(20000);
    }
    return 0;
}

int futex_wait_shared(const uint32_t *word, uint32_t expected, uint64_t timeout_ns)
{
    struct timespec ts = {.tv_sec = (time_t)(timeout_ns / 1000000000u),
                          .tv_nsec = (long)(timeout_ns % 1000000000u)};

    if (syscall(SYS_futex, word, FUTEX_WAIT, expected, &ts, NULL, 0) == 0)
        return 0;
    return errno == EAGAIN || errno == EINTR ? 0 : -errno;
}

void futex_wake_shared(uint32_t *word)
{
    syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

int open_reader_retry(fbus_reader **out, const char *name, unsigned timeout_ms)
{
    uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000u;
    int rc;

    while ((rc = fbus_reader_open(out, name, NULL)) == FBUS_ENOBUS && now_ns() < deadline)
        sleep_ns(1000000);
    return rc;
}

uint64_t rnd64(uint64_t *state)
{
    uint64_t x = *state;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

void progress(const char *fmt, ...)
{
    static uint64_t t0;
    va_list ap;

    if (!t0)
        t0 = now_ns();
    va_start(ap, fmt);
    fprintf(stderr, "fbus-bench [%5.1f s]: ", (double)(now_ns() - t0) / 1e9);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int section_on(const struct bench_opts *o, const char *name)
{
    size_t len = strlen(name);

    if (!o->only)
        return 1;
    for (const char *p = o->only; *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == len && strncmp(p, name, n) == 0)
            return 1;
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}
