/*
 * fbus-torture.c - fault injection: one writer, latest-frame readers and
 * lossless readers, all separate processes; for N rounds a random one is
 * SIGKILLed at a random moment (inside claim, copy, commit, acquire, release,
 * wherever it happens to be) and started again. Invariants, checked all along:
 *   - no reader ever gets a torn or wrongly-labelled frame (pattern of its seq);
 *   - latest readers see sequence numbers only grow; lossless readers see every
 *     frame in order, except frames the writer reported it stopped waiting for;
 *   - the writer never stalls longer than its lossless bound (plus slack);
 *   - no slot is lost for good: after the run every busy/readers semaphore is 0
 *     and a fresh writer can use every slot;
 *   - nothing is left in /proc/sysvipc afterwards.
 *
 *   fbus-torture [--rounds N] [--bus NAME] [--latest N] [--lossless N] [--seed S]
 *
 * Prints "torture: rounds … kills … frames verified … violations …"; exit 0
 * only with zero violations.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "framebus/framebus.h"
#include "pattern.h"

#define MAX_PROCS   16
#define WAIT_MS     100 /* the writer's lossless bound */
#define STALL_SLACK 400 /* ms on top of the bound before a claim counts as a stall */

/* Shared with every child (MAP_SHARED anonymous): counters only ever added to. */
struct stats {
    uint64_t frames;     /* frames verified by readers */
    uint64_t torn;       /* pattern wrong */
    uint64_t backwards;  /* latest reader: seq did not grow */
    uint64_t ll_gaps;    /* lossless reader: frames skipped */
    uint64_t ll_disorder;
    uint64_t stalls;     /* writer claim longer than bound + slack */
    uint64_t published;
    int stop;
};

static struct stats *st;
static const char *bus;
static char default_bus[32];

enum role { WRITER, LATEST, LOSSLESS };

static void add(uint64_t *c, uint64_t v)
{
    __atomic_fetch_add(c, v, __ATOMIC_RELAXED);
}

static uint32_t frame_size(uint64_t seq)
{
    /* Mostly tiny frames, so kills land in the semops as often as in the copy. */
    return seq % 8 == 0 ? 64 * 1024 : 256 + (uint32_t)(seq % 61) * 8;
}

static void writer_main(void)
{
    struct fbus_format f;
    struct fbus_writer_opts o;
    fbus_writer *w = NULL;

    fbus_format_init(&f, FBUS_FMT_GREY, 256, 256);
    fbus_writer_opts_init(&o);
    o.slots = 3;
    o.lossless_wait_ms = WAIT_MS;
    /* The previous writer may still be dying: its role frees when the kernel undoes it. */
    for (int i = 0; i < 2000 && fbus_writer_open(&w, bus, &f, &o) != 0; i++)
        usleep(1000);
    if (!w)
        _exit(3);
    while (!__atomic_load_n(&st->stop, __ATOMIC_RELAXED)) {
        struct fbus_wslot s;
        uint64_t t0 = fbus_now_ns();
        int rc = fbus_writer_claim(w, &s);
        if (fbus_now_ns() - t0 > (WAIT_MS + STALL_SLACK) * 1000000ull)
            add(&st->stalls, 1);
        if (rc != 0)
            continue;
        uint32_t len = frame_size(s.seq);
        fbus_pattern_fill(s.data, len, s.seq);
        if (fbus_writer_commit(w, len, 0) == 0)
            add(&st->published, 1);
    }
    fbus_writer_close(w);
    _exit(0);
}

static int check(const struct fbus_frame *fr)
{
    if (fr->bytesused != frame_size(fr->seq) ||
        fbus_pattern_check(fr->data, fr->bytesused, fr->seq) != (size_t)-1) {
        add(&st->torn, 1);
        fprintf(stderr, "torture: pid %d: torn or mislabelled frame %" PRIu64 "\n", getpid(),
                fr->seq);
        return -1;
    }
    add(&st->frames, 1);
    return 0;
}

static void reader_main(int lossless)
{
    struct fbus_reader_opts o;
    fbus_reader *r = NULL;
    uint64_t last = 0;

    fbus_reader_opts_init(&o);
    o.lossless = lossless;
    while (!r && !__atomic_load_n(&st->stop, __ATOMIC_RELAXED)) {
        if (fbus_reader_open(&r, bus, &o) != 0)
            usleep(1000);
    }
    while (r && !__atomic_load_n(&st->stop, __ATOMIC_RELAXED)) {
        struct fbus_frame fr;
        int rc = fbus_reader_acquire(r, &fr, last, 200);
        if (rc == FBUS_ECLOSED || rc == FBUS_ENOBUS) {
            fbus_reader_close(r);
            r = NULL;
            last = 0; /* a new registration starts afresh */
            while (!r && !__atomic_load_n(&st->stop, __ATOMIC_RELAXED))
                if (fbus_reader_open(&r, bus, &o) != 0)
                    usleep(1000);
            continue;
        }
        if (rc != 0)
            continue;
        check(&fr);
        if (!lossless && last && fr.seq <= last)
            add(&st->backwards, 1);
        if (lossless && last && fr.seq != last + 1)
            fprintf(stderr, "torture: pid %d: lossless reader got %" PRIu64 " after %" PRIu64
                            " at %.3f s\n",
                    getpid(), fr.seq, last, (double)fbus_now_ns() / 1e9);
        if (lossless && last && fr.seq != last + 1)
            add(fr.seq > last + 1 ? &st->ll_gaps : &st->ll_disorder,
                fr.seq > last + 1 ? fr.seq - last - 1 : 1);
        last = fr.seq;
        fbus_reader_release(r, &fr);
    }
    fbus_reader_close(r);
    _exit(0);
}

static pid_t start(enum role role)
{
    pid_t p = fork();
    if (p == 0) {
        srand((unsigned)getpid());
        if (role == WRITER)
            writer_main();
        reader_main(role == LOSSLESS);
    }
    return p;
}

/*
 * Lossless drops the writer reported since the last look. The header keeps a
 * running count per armed reader (reset when a new reader takes the place):
 * add what grew, per reader pid.
 */
static uint64_t new_drops(void)
{
    static struct {
        int32_t pid;
        uint64_t drops;
    } seen[FBUS_LOSSLESS_MAX];
    struct fbus_info info;
    uint64_t d = 0;

    if (fbus_info_get(bus, 0, &info) != 0)
        return 0;
    for (unsigned k = 0; k < info.lossless_count; k++) {
        const struct fbus_lossless_info *l = &info.lossless[k];
        unsigned j = 0;
        while (j < FBUS_LOSSLESS_MAX && seen[j].pid != l->pid && seen[j].pid != 0)
            j++;
        if (j == FBUS_LOSSLESS_MAX) { /* forget the oldest entry */
            memmove(seen, seen + 1, sizeof(seen) - sizeof(seen[0]));
            j = FBUS_LOSSLESS_MAX - 1;
            seen[j].pid = 0;
        }
        if (seen[j].pid != l->pid) {
            seen[j].pid = l->pid;
            seen[j].drops = 0;
        }
        if (l->drops > seen[j].drops)
            d += l->drops - seen[j].drops;
        seen[j].drops = l->drops;
    }
    return d;
}

/*
 * Every busy/readers/lreg semaphore of the slot set the header names must be back at 0 once
 * all processes are gone (the set under the key is the writer's role set: 1 semaphore).
 * *semid: that set, for the leftover check.
 */
static int slots_all_free(int *semid)
{
    /* The slot set's layout (bus/src/layout.h): busy[16], readers[16], lreg[8], credit[8]. */
    enum { NSEMS = 3 * FBUS_SLOTS_MAX, CHECKED = 2 * FBUS_SLOTS_MAX + FBUS_LOSSLESS_MAX };
    unsigned short v[NSEMS];
    union {
        int val;
        struct semid_ds *buf;
        unsigned short *array;
    } arg;
    struct semid_ds ds;
    struct fbus_info info;
    int bad = 0;

    *semid = -1;
    if (fbus_info_get(bus, 0, &info) != 0 || info.slot_semid < 0)
        return -1;
    *semid = info.slot_semid;
    /* GETALL writes nsems values: only into an array that size. */
    arg.buf = &ds;
    if (semctl(*semid, 0, IPC_STAT, arg) < 0 || ds.sem_nsems != NSEMS)
        return -1;
    arg.array = v;
    if (semctl(*semid, 0, GETALL, arg) < 0)
        return -1;
    for (int i = 0; i < CHECKED; i++) {
        if (v[i]) {
            fprintf(stderr, "torture: semaphore %d still %u after every process died\n", i, v[i]);
            bad++;
        }
    }
    return bad;
}

/* A fresh writer must get every slot: claim+commit 2x slots frames with nobody reading. */
static int fresh_writer_uses_every_slot(void)
{
    struct fbus_format f;
    struct fbus_writer_opts o;
    fbus_writer *w;
    int bad = 0;

    fbus_format_init(&f, FBUS_FMT_GREY, 256, 256);
    fbus_writer_opts_init(&o);
    o.slots = 3;
    if (fbus_writer_open(&w, bus, &f, &o) != 0)
        return 1;
    for (int i = 0; i < 6; i++) {
        struct fbus_wslot s;
        if (fbus_writer_claim(w, &s) != 0 || fbus_writer_commit(w, 16, 0) != 0)
            bad++;
    }
    return fbus_writer_close(w) != 0 || bad;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"rounds", 1, 0, 'r'}, {"bus", 1, 0, 'b'},  {"latest", 1, 0, 'l'},
        {"lossless", 1, 0, 'L'}, {"seed", 1, 0, 's'}, {0, 0, 0, 0},
    };
    int rounds = 1000, nlatest = 2, nlossless = 2, c;
    unsigned seed = (unsigned)time(NULL);
    pid_t procs[MAX_PROCS];
    enum role roles[MAX_PROCS];
    uint64_t kills[3] = {0};

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'r': rounds = atoi(optarg); break;
        case 'b': bus = optarg; break;
        case 'l': nlatest = atoi(optarg); break;
        case 'L': nlossless = atoi(optarg); break;
        case 's': seed = (unsigned)strtoul(optarg, NULL, 10); break;
        default: return 2;
        }
    }
    if (!bus) {
        /* "t.<pid>." like the test suite's names: the leftover check knows whose it is. */
        snprintf(default_bus, sizeof(default_bus), "t.%d.torture", (int)getpid());
        bus = default_bus;
    }
    int n = 1 + nlatest + nlossless;
    if (n > MAX_PROCS || nlossless > FBUS_LOSSLESS_MAX)
        return 2;
    srand(seed);
    st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (st == MAP_FAILED)
        return 1;
    memset(st, 0, sizeof(*st));
    for (int i = 0; i < n; i++) {
        roles[i] = i == 0 ? WRITER : i <= nlatest ? LATEST : LOSSLESS;
        procs[i] = start(roles[i]);
    }
    uint64_t drops = 0, t0 = fbus_now_ns();
    for (int round = 0; round < rounds; round++) {
        usleep(1000 + (unsigned)(rand() % 8000));
        int v = rand() % n;
        drops += new_drops();
        if (getenv("FBUS_TORTURE_TRACE"))
            fprintf(stderr, "kill %s pid %d at %.3f s\n",
                    roles[v] == WRITER ? "writer" : roles[v] == LATEST ? "latest" : "lossless",
                    procs[v], (double)fbus_now_ns() / 1e9);
        kill(procs[v], SIGKILL);
        waitpid(procs[v], NULL, 0);
        kills[roles[v]]++;
        procs[v] = start(roles[v]);
    }
    /* Let them run a moment after the last kill, then stop everyone. */
    usleep(200000);
    drops += new_drops();
    /* SIGKILL, not a stop flag: a clean close would remove what we want to inspect. */
    for (int i = n - 1; i >= 0; i--)
        kill(procs[i], SIGKILL);
    for (int i = 0; i < n; i++)
        waitpid(procs[i], NULL, 0);
    int slot_semid;
    int lost = slots_all_free(&slot_semid);
    int unusable = lost == 0 ? fresh_writer_uses_every_slot() : 1;
    struct fbus_info info;
    /* After the fresh writer's close: no segment, no role set, no slot set of the last bus. */
    int left = fbus_info_get(bus, 0, &info) != FBUS_ENOBUS ||
               semget((key_t)fbus_key_from_name(bus), 0, 0) >= 0 ||
               (slot_semid >= 0 && semctl(slot_semid, 0, GETVAL) >= 0);
    if (left) {
        fbus_remove(bus, 0, 1);
        if (slot_semid >= 0)
            semctl(slot_semid, 0, IPC_RMID);
    }
    /* A lossless gap is only legal where the writer said it stopped waiting. */
    uint64_t ll_bad = st->ll_gaps > drops ? st->ll_gaps - drops : 0;
    uint64_t violations = st->torn + st->backwards + st->ll_disorder + ll_bad + st->stalls +
                          (lost != 0) + (uint64_t)unusable + (uint64_t)left;
    printf("torture: seed %u, %d rounds in %.1f s, kills %" PRIu64 " (writer %" PRIu64
           ", latest %" PRIu64 ", lossless %" PRIu64 "), frames published %" PRIu64
           ", frames verified %" PRIu64 ", lossless gaps %" PRIu64 " (writer-reported drops %" PRIu64
           "), violations %" PRIu64 " (torn %" PRIu64 ", backwards %" PRIu64 ", disorder %" PRIu64
           ", unexplained gaps %" PRIu64 ", stalls %" PRIu64 ", slots lost %d, leftovers %d)\n",
           seed, rounds, (double)(fbus_now_ns() - t0) / 1e9, kills[0] + kills[1] + kills[2],
           kills[0], kills[1], kills[2], st->published, st->frames, st->ll_gaps, drops, violations,
           st->torn, st->backwards, st->ll_disorder, ll_bad, st->stalls, lost, left);
    return violations ? 1 : 0;
}
