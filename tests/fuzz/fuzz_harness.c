/*
 * fuzz_harness.c - one fuzz input through a reader's whole path on a real
 * segment (the input format is in fuzz_harness.h).
 *
 * Each input runs up to five passes, each with an oracle, not just "no crash":
 *  1. fbus__validate() on a heap copy of the header bytes of exactly the
 *     segment's size (or the header's, if smaller): under AddressSanitizer any
 *     read past the real size is caught, which a shared mapping cannot show.
 *  2. A latest-frame reader and a lossless reader open the segment itself:
 *     open must give exactly what validation gave; every frame acquire hands
 *     out must be the bytes at its slot's offset, inside the segment, with the
 *     descriptor's seq, size and timestamp; each is read in full, converted to
 *     RGB24 from an exact-size heap copy, released.
 *  3. The same two readers opened on a valid header, and the input laid over
 *     it afterwards: acquire on a validated reader meets hostile descriptors,
 *     `latest`, flags and lossless state (what a writer could do after open).
 *  4. fbus_info_shmid() must agree with validation.
 *  5. (inputs that validate) A reader holding a frame of another, valid segment
 *     sees it superseded and the input take its key: it must follow (or, for
 *     another bus name, stay), keeping the old frame valid until released.
 *
 * The slot semaphore set is damaged too, as any reader the bus admits may: between
 * acquires (passes 2 and 3) and before pass 4, random SETVALs on busy, readers, lreg
 * and credit semaphores, drawn from a generator seeded by the input. The oracles
 * still hold (frames inside the segment, as their descriptors say); an acquire may
 * find the held slot busy or its count at the maximum (FBUS_EAGAIN); a release
 * returns FBUS_EOVERWRITTEN exactly when the descriptor of the held slot changed
 * meanwhile (the harness rewrites one now and then, as a writer would once a
 * hold was zeroed), else 0.
 *
 * The bus's IPC objects are those of protocol 2: the role set (1 semaphore, the
 * writer's, held at 1: a live writer) under the key, and the slot set, made
 * IPC_PRIVATE, whose id every input's header is given at slot_semid (as a
 * lossless[0].pid is made ours), so readers find the set the harness damages.
 *
 * Keeping the bus findable yet never left behind: a reader finds a bus by key
 * (shmget), so segment and semaphore set cannot be IPC_RMID'd right after they
 * are made (a removed segment stays attached, but its key is gone). Instead the
 * key is this process's own, a free one in 0xfbf00000..0xfbffffff (the framebus
 * prefix, so the suite's leftover check sees any); atexit() removes both; and a
 * janitor process forked at set-up waits on a pipe: when this process dies any
 * other way (libFuzzer ends a crash with _Exit, SIGKILL, a timeout), the pipe
 * closes and the janitor removes both by key. A normal exit tells it so first.
 */
#include "fuzz_harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include "format_internal.h"
#include "internal.h"

#define KEY_BASE   0xFBF00000u
#define KEY_SPAN   0x00100000u
#define VALID_CAP  4096u /* the valid header of pass 3: 2 slots of a page after a header page */
#define VALID_SIZE (4096u + 2 * VALID_CAP)

static struct {
    uint32_t key;
    int role_semid; /* under the key: the writer role, 1 semaphore */
    int semid;      /* the slot set, private: named by every header at slot_semid */
    int shmid;
    uint8_t *seg;                 /* read-write mapping of the current segment */
    size_t size;                  /* its real size */
    size_t dirty;                 /* bytes from 0 that differ from the pattern */
    uint8_t *pattern;             /* FBUS_FUZZ_SEG_MAX bytes of the background pattern */
    int janitor_fd;               /* write end of the janitor's pipe */
    struct fbus_shm_header valid; /* a header a writer would write, for pass 3 */
    uint64_t rng;                 /* the damage generator, seeded by each input */
} g = {.role_semid = -1, .semid = -1, .shmid = -1, .janitor_fd = -1};

/* What the inputs reached, for fbus_fuzz_report(). */
static struct {
    unsigned long inputs, valid, opened, frames, lossless_frames, after_open_frames, converted;
    unsigned long followed, damages, overwritten;
} stats;

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

static void die(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "fuzz_harness: invariant violated: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

/* ---- Set-up and clean-up ------------------------------------------------------------------ */

static void remove_by_key(uint32_t key)
{
    int id = shmget((key_t)key, 0, 0);

    if (id >= 0)
        shmctl(id, IPC_RMID, NULL);
    id = semget((key_t)key, 0, 0);
    if (id >= 0)
        semctl(id, 0, IPC_RMID);
}

/* The janitor: waits for its parent to go, and cleans up unless told all is done. */
static void janitor(int rfd, uint32_t key, int slot_semid)
{
    char c;
    ssize_t n;
    int null = open("/dev/null", O_RDWR);

    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    /* Hold none of the parent's descriptors: a test runner waits for its pipes to close. */
    for (int fd = 0; fd < 1024; fd++) {
        if (fd != rfd && fd != null)
            close(fd);
    }
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
    }
    do {
        n = read(rfd, &c, 1);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
        remove_by_key(key);
        /* The private set has no key: only its id finds it. */
        semctl(slot_semid, 0, IPC_RMID);
    }
    _exit(0);
}

static int start_janitor(void)
{
    int fds[2];
    pid_t pid;

    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        close(fds[1]);
        janitor(fds[0], g.key, g.semid);
    }
    close(fds[0]);
    g.janitor_fd = fds[1];
    return 0;
}

/*
 * A key nobody uses: the role set is made under it with IPC_EXCL, and no
 * segment may exist; then the private slot set.
 */
static int reserve_key(void)
{
    uint32_t start = (uint32_t)getpid() * 7919u;

    for (uint32_t i = 0; i < 4096; i++) {
        uint32_t key = KEY_BASE | ((start + i) % KEY_SPAN);
        int id = semget((key_t)key, FBUS_ROLE_COUNT, IPC_CREAT | IPC_EXCL | 0600);
        if (id < 0)
            continue;
        if (shmget((key_t)key, 0, 0) >= 0) {
            semctl(id, 0, IPC_RMID);
            continue;
        }
        g.semid = semget(IPC_PRIVATE, FBUS_SEM_COUNT, IPC_CREAT | 0600);
        if (g.semid < 0) {
            semctl(id, 0, IPC_RMID);
            return -1;
        }
        g.key = key;
        g.role_semid = id;
        return 0;
    }
    return -1;
}

static void make_valid_header(void)
{
    struct fbus_shm_header *h = &g.valid;
    struct fbus_format f;

    fbus_format_init(&f, FBUS_FMT_GREY, 64, 48);
    memset(h, 0, sizeof(*h));
    h->magic = FBUS_MAGIC;
    h->abi_version = FBUS_ABI_VERSION;
    h->header_size = sizeof(*h);
    h->slot_count = 2;
    h->slot_capacity = VALID_CAP;
    h->slot0_offset = 4096;
    h->segment_size = VALID_SIZE;
    strcpy(h->name, FBUS_FUZZ_NAME);
    h->format.fourcc = f.fourcc;
    h->format.width = f.width;
    h->format.height = f.height;
    h->format.bytesperline = f.bytesperline;
    h->format.sizeimage = f.sizeimage;
    h->format.nplanes = f.nplanes;
    h->format.plane_stride[0] = f.plane_stride[0];
    h->slot_semid = g.semid;
}

static void teardown_atexit(void)
{
    fbus_fuzz_teardown();
}

int fbus_fuzz_setup(void)
{
    if (g.semid >= 0)
        return 0;
    if (!(g.pattern = malloc(FBUS_FUZZ_SEG_MAX))) {
        fprintf(stderr, "fuzz_harness: out of memory\n");
        return -1;
    }
    for (uint32_t i = 0; i < FBUS_FUZZ_SEG_MAX; i++)
        g.pattern[i] = (uint8_t)(i ^ (i >> 7) ^ (i >> 13) ^ 0x5a);
    if (reserve_key() != 0) {
        fprintf(stderr, "fuzz_harness: no free System V key in 0x%08x..0x%08x: %s\n", KEY_BASE,
                KEY_BASE + KEY_SPAN - 1, strerror(errno));
        return -1;
    }
    make_valid_header();
    if (start_janitor() != 0) {
        fprintf(stderr, "fuzz_harness: cannot start the janitor process: %s\n", strerror(errno));
        semctl(g.semid, 0, IPC_RMID);
        semctl(g.role_semid, 0, IPC_RMID);
        g.semid = g.role_semid = -1;
        return -1;
    }
    atexit(teardown_atexit);
    return 0;
}

static void drop_segment(void)
{
    if (g.seg)
        shmdt(g.seg);
    if (g.shmid >= 0)
        shmctl(g.shmid, IPC_RMID, NULL);
    g.seg = NULL;
    g.shmid = -1;
    g.size = 0;
}

void fbus_fuzz_teardown(void)
{
    drop_segment();
    if (g.semid >= 0)
        semctl(g.semid, 0, IPC_RMID);
    if (g.role_semid >= 0)
        semctl(g.role_semid, 0, IPC_RMID);
    g.semid = g.role_semid = -1;
    if (g.janitor_fd >= 0) {
        /* All removed: the janitor may go without touching the key again. */
        ssize_t n = write(g.janitor_fd, "x", 1);
        (void)n;
        close(g.janitor_fd);
        g.janitor_fd = -1;
    }
}

/* A segment of exactly `size` bytes under our key, holding the pattern. */
static void ensure_segment(size_t size)
{
    void *p;
    int id;

    if (g.shmid >= 0 && g.size == size)
        return;
    drop_segment();
    id = shmget((key_t)g.key, size, IPC_CREAT | IPC_EXCL | 0600);
    if (id < 0)
        die("shmget(0x%08x, %zu): %s", g.key, size, strerror(errno));
    p = shmat(id, NULL, 0);
    if (p == (void *)-1) {
        shmctl(id, IPC_RMID, NULL);
        die("shmat: %s", strerror(errno));
    }
    g.shmid = id;
    g.seg = p;
    g.size = size;
    memcpy(g.seg, g.pattern, size);
    g.dirty = 0;
}

/* No holds, no lossless readers, the writer role taken (a live writer). */
static void reset_sems(void)
{
    unsigned short v[FBUS_SEM_COUNT] = {0};
    union fbus_semun arg = {.array = v};
    union fbus_semun one = {.val = 1};

    if (semctl(g.semid, 0, SETALL, arg) < 0)
        die("semctl SETALL: %s", strerror(errno));
    if (semctl(g.role_semid, FBUS_SEM_WRITER, SETVAL, one) < 0)
        die("semctl SETVAL writer: %s", strerror(errno));
}

/* xorshift64*: the damage an input does is the same each time it runs. */
static uint32_t rnd(void)
{
    g.rng ^= g.rng >> 12;
    g.rng ^= g.rng << 25;
    g.rng ^= g.rng >> 27;
    return (uint32_t)((g.rng * 2685821657736338717ull) >> 32);
}

static void seed_damage(const uint8_t *data, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a 64 */

    for (size_t i = 0; i < len; i++)
        h = (h ^ data[i]) * 1099511628211ull;
    g.rng = h ? h : 1;
}

/*
 * What a reader with alter on the slot set may do: up to 3 SETVALs, anywhere
 * in busy, readers, lreg and credit, to 0, 1, 2 or the largest value.
 */
static void damage_sems(void)
{
    static const unsigned short vals[] = {0, 1, 2, 32767};
    unsigned n = rnd() % 4;

    for (unsigned i = 0; i < n; i++) {
        union fbus_semun arg = {.val = vals[rnd() % 4]};
        if (semctl(g.semid, (int)(rnd() % FBUS_SEM_COUNT), SETVAL, arg) < 0)
            die("semctl SETVAL (damage): %s", strerror(errno));
        stats.damages++;
    }
}

/*
 * Whether the damage made slot j one no reader may take now: busy[j] raised (it
 * looks like the writer is filling it), or readers[j] at its maximum (no +1).
 */
static int slot_unholdable(unsigned j)
{
    return semctl(g.semid, (int)FBUS_SEM_BUSY(j), GETVAL) != 0 ||
           semctl(g.semid, (int)FBUS_SEM_READERS(j), GETVAL) == 32767;
}

/*
 * Lays the input's bytes over the segment. A non-zero lossless[0].pid becomes
 * ours: a lossless reader here takes index 0 and must find itself armed. The
 * header's slot_semid becomes our slot set's id, as a writer would write it.
 */
static void overlay(const uint8_t *bytes, size_t n)
{
    const size_t pid_at = offsetof(struct fbus_shm_header, lossless[0].pid);
    const size_t semid_at = offsetof(struct fbus_shm_header, slot_semid);
    int32_t pid;

    memcpy(g.seg, bytes, n);
    if (n >= pid_at + sizeof(pid)) {
        memcpy(&pid, g.seg + pid_at, sizeof(pid));
        if (pid != 0) {
            pid = (int32_t)getpid();
            memcpy(g.seg + pid_at, &pid, sizeof(pid));
        }
    }
    if (n > g.dirty)
        g.dirty = n;
    /* Written even past the input's bytes: a header that validates names a set. */
    if (g.size >= semid_at + sizeof(g.semid)) {
        memcpy(g.seg + semid_at, &g.semid, sizeof(g.semid));
        if (g.dirty < semid_at + sizeof(g.semid))
            g.dirty = semid_at + sizeof(g.semid);
    }
}

/* ---- Oracles --------------------------------------------------------------------------------- */

static int allowed_acquire_rc(int rc)
{
    return rc == FBUS_EAGAIN || rc == FBUS_ECORRUPT || rc == FBUS_ECLOSED;
}

/* Converts the frame from an exact-size heap copy: any read past bytesused is caught. */
static void convert_frame(const struct fbus_frame *f)
{
    const struct fbus_format *fmt = &f->format;
    uint8_t *copy, *rgb;
    int rc, want;

    if (fmt->fourcc == FBUS_FMT_MJPEG)
        return;
    /* The format passed validation: width * height <= sizeimage <= the segment size. */
    if ((uint64_t)fmt->width * fmt->height > FBUS_FUZZ_SEG_MAX)
        die("format %ux%u larger than the segment passed validation", fmt->width, fmt->height);
    copy = malloc(f->bytesused ? f->bytesused : 1);
    rgb = malloc((size_t)fmt->width * fmt->height * 3);
    if (!copy || !rgb)
        die("out of memory");
    memcpy(copy, f->data, f->bytesused);
    rc = fbus_convert_to_rgb24(fmt, copy, f->bytesused, rgb);
    want = f->bytesused < fbus__format_extent(fmt) ? FBUS_ESIZE : 0;
    if (rc != want)
        die("convert: %s, want %s", fbus_err_name(rc), fbus_err_name(want));
    stats.converted += rc == 0;
    free(rgb);
    free(copy);
}

/* A frame must be the bytes at its slot's offset, inside the segment, as its descriptor says. */
static void check_frame(const struct fbus_frame *f, const struct fbus_segview *v, uint64_t after)
{
    const struct fbus_shm_header *h = (const struct fbus_shm_header *)g.seg;
    const struct fbus_shm_slot *d;
    const uint8_t *base;
    uint64_t off;

    if (f->slot >= v->slot_count)
        die("frame in slot %u of %u", f->slot, v->slot_count);
    if (f->seq <= after)
        die("frame seq %llu not after %llu", (unsigned long long)f->seq, (unsigned long long)after);
    off = v->slot0_offset + (uint64_t)f->slot * v->slot_capacity;
    if (f->bytesused > v->slot_capacity || off + f->bytesused > g.size)
        die("frame [%llu, +%zu) outside slot capacity %llu / segment %zu", (unsigned long long)off,
            f->bytesused, (unsigned long long)v->slot_capacity, g.size);
    d = &h->slots[f->slot];
    if (f->seq != d->seq || f->bytesused != d->bytesused || f->timestamp_ns != d->timestamp_ns)
        die("frame does not match descriptor %u", f->slot);
    if (memcmp(&f->format, &v->format, sizeof(f->format)) != 0)
        die("frame format differs from the validated one");
    /* The reader's own mapping starts `off` before the frame: it must hold our header. */
    base = (const uint8_t *)f->data - off;
    if ((uintptr_t)base % 4096 != 0 || memcmp(base, g.seg, g.size < 4096 ? g.size : 4096) != 0)
        die("frame pointer is not at offset %llu of the reader's mapping", (unsigned long long)off);
    /* Reads every byte of the frame. */
    if (memcmp(f->data, g.seg + off, f->bytesused) != 0)
        die("frame bytes differ from the segment's at offset %llu", (unsigned long long)off);
    convert_frame(f);
    stats.frames++;
}

/* A release of a frame whose descriptor did not change: 0, always. */
static void release_whole(fbus_reader *r, struct fbus_frame *f)
{
    int rc = fbus_reader_release(r, f);

    if (rc != 0)
        die("release of an untouched frame: %s", fbus_err_name(rc));
}

/*
 * What a writer does once a process zeroed readers[j] behind a reader's back:
 * it rewrites slot j. The reader must say so at release (FBUS_EOVERWRITTEN);
 * the descriptor is put back after.
 */
static void release_overwritten(fbus_reader *r, struct fbus_frame *f)
{
    struct fbus_shm_slot *d = &((struct fbus_shm_header *)g.seg)->slots[f->slot];
    uint64_t seq = d->seq;
    int rc;

    d->seq = seq + 1000;
    rc = fbus_reader_release(r, f);
    d->seq = seq;
    if (rc != FBUS_EOVERWRITTEN)
        die("release of a frame overwritten while held: %s", fbus_err_name(rc));
    stats.overwritten++;
}

/*
 * Latest-frame reader: the latest frame, nothing newer after it, the same
 * frame again while holding it (unless the damage made its slot unholdable);
 * releases out of order; a double release; sometimes an overwrite while held.
 */
static void take_latest(fbus_reader *r, const struct fbus_segview *v)
{
    struct fbus_frame f[3];
    int rc;

    rc = fbus_reader_acquire(r, &f[0], 0, 0);
    if (rc != 0) {
        if (!allowed_acquire_rc(rc))
            die("acquire: %s", fbus_err_name(rc));
        return;
    }
    check_frame(&f[0], v, 0);
    damage_sems();
    rc = fbus_reader_acquire(r, &f[1], f[0].seq, 0);
    if (rc == 0)
        die("acquire after seq %llu gave seq %llu on an unchanged segment",
            (unsigned long long)f[0].seq, (unsigned long long)f[1].seq);
    if (!allowed_acquire_rc(rc))
        die("acquire (after): %s", fbus_err_name(rc));
    damage_sems();
    rc = fbus_reader_acquire(r, &f[1], f[0].seq - 1, 0);
    if (rc == FBUS_EAGAIN && slot_unholdable(f[0].slot)) {
        release_whole(r, &f[0]);
        return;
    }
    if (rc != 0 || f[1].seq != f[0].seq || f[1].slot != f[0].slot)
        die("second acquire of the held frame: %s", fbus_err_name(rc));
    check_frame(&f[1], v, f[0].seq - 1);
    damage_sems();
    rc = fbus_reader_acquire(r, &f[2], 0, 0);
    if (rc == FBUS_EAGAIN && slot_unholdable(f[0].slot)) {
        release_whole(r, &f[1]);
        release_whole(r, &f[0]);
        return;
    }
    if (rc != 0 || f[2].seq != f[0].seq)
        die("third acquire of the held frame: %s", fbus_err_name(rc));
    release_whole(r, &f[1]);
    release_whole(r, &f[0]);
    if (fbus_reader_release(r, &f[0]) != FBUS_ESTATE)
        die("double release not refused");
    if (rnd() % 4 == 0)
        release_overwritten(r, &f[2]);
    /* Otherwise f[2] stays held: close must give it back. */
}

/*
 * Lossless reader: every frame left, oldest first, each released before the
 * next; the damage between acquires may make a slot busy (nothing to take).
 */
static void take_lossless(fbus_reader *r, const struct fbus_segview *v)
{
    uint64_t last = 0;

    for (int i = 0; i <= FBUS_SLOTS_MAX; i++) {
        struct fbus_frame f;
        damage_sems();
        int rc = fbus_reader_acquire(r, &f, 0, 0);
        if (rc != 0) {
            if (!allowed_acquire_rc(rc))
                die("lossless acquire: %s", fbus_err_name(rc));
            return;
        }
        check_frame(&f, v, last);
        stats.lossless_frames++;
        last = f.seq;
        release_whole(r, &f);
    }
    die("lossless reader got more frames than there are slots");
}

static int open_reader(fbus_reader **r, int lossless)
{
    struct fbus_reader_opts o;

    fbus_reader_opts_init(&o);
    o.key = g.key;
    o.lossless = lossless;
    return fbus_reader_open(r, FBUS_FUZZ_NAME, &o);
}

/* ---- Passes ---------------------------------------------------------------------------------- */

/* Pass 1: validation of an exact-size heap copy. Returns its result; *v is the view. */
static int pass_validate(struct fbus_segview *v)
{
    size_t n = g.size < sizeof(struct fbus_shm_header) ? g.size : sizeof(struct fbus_shm_header);
    uint8_t *copy = malloc(n);
    int rc;

    if (!copy)
        die("out of memory");
    memcpy(copy, g.seg, n);
    rc = fbus__validate(copy, g.size, v);
    free(copy);
    /* FBUS_ENOBUS: magic still 0, a header being made (the reader retries). */
    if (rc != 0 && rc != FBUS_ECORRUPT && rc != FBUS_EVERSION && rc != FBUS_ENOBUS)
        die("validate: %s", fbus_err_name(rc));
    if (rc == 0 && (v->slot0_offset + v->slot_count * v->slot_capacity > g.size ||
                    v->format.sizeimage > v->slot_capacity || fbus_format_check(&v->format) != 0 ||
                    fbus_name_check(v->name) != 0))
        die("validate accepted an impossible geometry");
    return rc;
}

/* Pass 2: readers open the input as it is. */
static void pass_open(int vrc, const struct fbus_segview *v)
{
    int want = vrc == 0 && strcmp(v->name, FBUS_FUZZ_NAME) != 0 ? FBUS_ECOLLISION : vrc;
    fbus_reader *r = NULL;
    int rc = open_reader(&r, 0);

    if (rc != want)
        die("open: %s, validation says %s", fbus_err_name(rc), fbus_err_name(want));
    if (rc != 0)
        return;
    stats.opened++;
    if (memcmp(fbus_reader_format(r), &v->format, sizeof(v->format)) != 0)
        die("reader format differs from the validated one");
    take_latest(r, v);
    fbus_reader_close(r);
    /* The damage may have filled every lreg[k]: a new lossless reader starts clean. */
    reset_sems();
    if ((rc = open_reader(&r, 1)) != 0)
        die("lossless open: %s", fbus_err_name(rc));
    take_lossless(r, v);
    fbus_reader_close(r);
}

/* Pass 3: readers opened on a valid header meet the input afterwards. */
static void pass_after_open(const uint8_t *bytes, size_t n)
{
    struct fbus_segview v;
    fbus_reader *r = NULL, *rl = NULL;
    int rc;

    if (g.size < VALID_SIZE)
        return;
    memcpy(g.seg, &g.valid, sizeof(g.valid));
    if (g.dirty < sizeof(g.valid))
        g.dirty = sizeof(g.valid);
    if (fbus__validate(g.seg, g.size, &v) != 0)
        die("the harness's valid header does not validate");
    reset_sems();
    if ((rc = open_reader(&r, 0)) != 0 || (rc = open_reader(&rl, 1)) != 0)
        die("open on the valid header: %s", fbus_err_name(rc));
    overlay(bytes, n);
    unsigned long before = stats.frames;
    take_latest(r, &v);
    take_lossless(rl, &v);
    stats.after_open_frames += stats.frames - before;
    fbus_reader_close(rl);
    fbus_reader_close(r);
}

/*
 * Pass 5 (inputs that validate): a reader holding a frame of a valid segment A
 * sees A superseded and removed, and the input, as segment B, take the key. It
 * must follow to B (or stay on A if B is another bus), keep A's frame valid
 * until released, and hand out B's frames under the same checks.
 */
static void pass_follow(const uint8_t *bytes, size_t n, size_t size, const struct fbus_segview *vb)
{
    struct fbus_shm_header *h;
    struct fbus_segview va;
    struct fbus_frame a, b;
    fbus_reader *r = NULL;
    int rc, same_bus = strcmp(vb->name, FBUS_FUZZ_NAME) == 0;

    drop_segment();
    ensure_segment(VALID_SIZE);
    h = (struct fbus_shm_header *)g.seg;
    memcpy(h, &g.valid, sizeof(*h));
    h->slots[0].seq = 1;
    h->slots[0].bytesused = h->format.sizeimage;
    h->last_seq = 1;
    h->published = 1;
    reset_sems();
    if (fbus__validate(g.seg, g.size, &va) != 0 || (rc = open_reader(&r, 0)) != 0 ||
        (rc = fbus_reader_acquire(r, &a, 0, 0)) != 0)
        die("follow: segment A unusable");
    check_frame(&a, &va, 0);
    __atomic_fetch_or(&h->flags, FBUS_HF_SUPERSEDED, __ATOMIC_RELEASE);
    drop_segment(); /* A lives on: the reader is attached */
    ensure_segment(size);
    overlay(bytes, n);
    rc = fbus_reader_acquire(r, &b, 0, 0);
    if (rc == 0)
        check_frame(&b, vb, 0);
    else if (!allowed_acquire_rc(rc))
        die("follow: acquire: %s", fbus_err_name(rc));
    /* After B was found, the reader works from B's validated view, else still from A's. */
    if (memcmp(fbus_reader_format(r), same_bus ? &vb->format : &va.format, sizeof(va.format)))
        die("follow: reader %s", same_bus ? "did not follow to B" : "followed another bus");
    if (fbus_reader_release(r, &a) != 0 || (rc == 0 && fbus_reader_release(r, &b) != 0))
        die("follow: release failed");
    stats.followed += same_bus;
    fbus_reader_close(r);
}

/* Pass 4: inspection agrees with validation. */
static void pass_info(int vrc, const struct fbus_segview *v)
{
    struct fbus_info info;
    uint32_t magic = 0;
    int want = vrc, rc;

    if (g.size >= sizeof(magic))
        memcpy(&magic, g.seg, sizeof(magic));
    if (vrc == FBUS_ECORRUPT && (g.size < sizeof(magic) || magic != FBUS_MAGIC))
        want = FBUS_ECOLLISION;
    damage_sems();
    rc = fbus_info_shmid(g.shmid, &info);
    if (rc != want)
        die("info: %s, validation says %s", fbus_err_name(rc), fbus_err_name(want));
    if (info.key != g.key || info.segment_size != g.size)
        die("info: key or size wrong");
    if (rc == 0 && (info.slots != v->slot_count || strcmp(info.name, v->name) != 0 ||
                    memcmp(&info.format, &v->format, sizeof(v->format)) != 0 ||
                    info.lossless_count > FBUS_LOSSLESS_MAX))
        die("info disagrees with validation");
}

void fbus_fuzz_report(FILE *out)
{
    fprintf(
        out,
        "inputs %lu: %lu validated, %lu opened by a reader; frames checked %lu "
        "(lossless %lu, after open %lu), converted to RGB24 %lu; followed to a new segment %lu; "
        "semaphores damaged %lu, overwrites reported %lu\n",
        stats.inputs, stats.valid, stats.opened, stats.frames, stats.lossless_frames,
        stats.after_open_frames, stats.converted, stats.followed, stats.damages, stats.overwritten);
}

int fbus_fuzz_one(const uint8_t *data, size_t len)
{
    uint32_t raw = 0;
    size_t size, n;
    struct fbus_segview v;
    int vrc;

    if (g.semid < 0 && fbus_fuzz_setup() != 0)
        abort();
    for (size_t i = 0; i < 4 && i < len; i++)
        raw |= (uint32_t)data[i] << (8 * i);
    size = raw == 0 ? 1 : raw > FBUS_FUZZ_SEG_MAX ? FBUS_FUZZ_SEG_MAX : raw;
    n = len > 4 ? len - 4 : 0;
    if (n > size)
        n = size;

    ensure_segment(size);
    memcpy(g.seg, g.pattern, g.dirty);
    g.dirty = 0;
    overlay(data + (len > 4 ? 4 : len), n);
    reset_sems();
    seed_damage(data, len);

    stats.inputs++;
    vrc = pass_validate(&v);
    stats.valid += vrc == 0;
    pass_open(vrc, &v);
    pass_info(vrc, &v);
    /* Passes 3 and 5 rewrite the header: the input's own passes come first. */
    pass_after_open(data + (len > 4 ? 4 : len), n);
    if (vrc == 0)
        pass_follow(data + (len > 4 ? 4 : len), n, size, &v);
    return 0;
}
