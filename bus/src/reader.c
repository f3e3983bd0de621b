/*
 * reader.c - attaching a bus read-only and taking frames without a copy.
 *
 * Holding slot j is one atomic semop: { busy[j] == 0 (IPC_NOWAIT),
 * readers[j] += 1 (SEM_UNDO) }. Only after it succeeds is slot j's descriptor
 * read and trusted: the writer cannot change the slot while we hold it.
 * Readers sleep with FUTEX_WAIT on the `published` word of their read-only
 * mapping; the writer wakes them after each commit and on close/supersede.
 *
 * A segment marked superseded (format change) or closed and replaced is
 * followed to the new segment under the same key; frames still held in the
 * old one stay valid (the old mapping is kept until they are released).
 * A follow reader (opts.follow) also waits for a bus that does not exist yet
 * and outlives a bus that was closed or removed (docs/design.md §5).
 *
 * Nothing under the key is trusted before trust.c has checked it: the
 * segment, its role set and the slot set its header names must have one
 * owner, the right sizes, and modes that let nobody else write.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* One attachment. The reader keeps old ones alive while frames in them are held. */
struct rseg {
    int shmid;
    int semid;      /* slot set, from the header, checked */
    int role_semid; /* role set under the key, checked; -1: gone (writer counts as dead) */
    const uint8_t *base;
    const struct fbus_shm_header *hdr;
    struct fbus_segview v;
    unsigned held[FBUS_SLOTS_MAX];
    unsigned held_total;
    struct rseg *next; /* retired list */
};

struct fbus_reader {
    char name[FBUS_NAME_MAX + 1];
    uint32_t key;
    int follow;
    struct rseg *cur; /* NULL: a follow reader with no bus (yet, or any more) */
    struct rseg *retired;
    unsigned held_total;
    /* Lossless mode: index k of its semaphores, or -1; the last frame taken. */
    int lk;
    int larmed;
    int recheck; /* a wait slice passed quietly: look whether the key has a new segment */
    int32_t pid;
    int lk_semid;       /* the slot set lk was taken in */
    int wants_lossless; /* opts.lossless: register in every slot set the bus moves to */
    int last_err;       /* follow: why there is no bus */
    uint64_t lpos;
    /* What the caller was handed: for fbus_frame.missed and the status. */
    uint64_t last_out; /* seq of the last frame handed out; 0: none */
    int renumbered;    /* moved to an unrelated bus: its numbers start again */
    uint64_t frames, missed;
    struct fbus__rate rate;   /* frames acquired per second */
    struct fbus_format nofmt; /* what fbus_reader_format() gives without a bus */
};

#define RD64(p) (*(const volatile uint64_t *)(p))
#define RD32(p) (*(const volatile uint32_t *)(p))

static int fbus_reader_release_slot(fbus_reader *r, struct fbus_frame *f);
static int oldest_after(const struct rseg *s, uint64_t pos, uint64_t *seq);
static struct rseg **find_seg(fbus_reader *r, const struct rseg *s);

/* Internal outcomes of one attempt, never returned to the caller. */
#define TRY_NOTHING_NEW 1
#define TRY_PENDING     2

void fbus_reader_opts_init(struct fbus_reader_opts *opts)
{
    memset(opts, 0, sizeof(*opts));
}

static void seg_free(struct rseg *s)
{
    if (!s)
        return;
    for (unsigned i = 0; i < FBUS_SLOTS_MAX; i++) {
        if (s->held[i])
            fbus__sem_op(s->semid, FBUS_SEM_READERS(i), -(short)s->held[i], SEM_UNDO | IPC_NOWAIT,
                         USHRT_MAX, 0, 0);
    }
    if (s->base)
        shmdt(s->base);
    free(s);
}

/*
 * The slot set the header names and the role set under the key: both must
 * belong to the segment's owner. Holding a slot needs alter on the slot set:
 * semget with 0600 asks the kernel for read and alter now, not at acquire.
 */
static int trust_sets(struct rseg *s, uint32_t key, const struct fbus__objinfo *o)
{
    int rc, id;

    rc = fbus__slotset_trust(s->v.slot_semid, o->uid, o->mode);
    if (rc == FBUS_ENOBUS)
        return FBUS_ECORRUPT; /* the header names a set that is gone */
    if (rc != 0)
        return rc;
    s->semid = s->v.slot_semid;
    /*
     * +1 and -1 in one atomic call changes nothing, and needs alter: learn it at open.
     * The kernel checks permission before it applies anything, so ERANGE (a count some
     * process set to its maximum) says alter was granted.
     */
    rc = fbus__sem_op(s->semid, FBUS_SEM_READERS(0), 1, IPC_NOWAIT, FBUS_SEM_READERS(0), -1,
                      IPC_NOWAIT);
    if (rc != 0 && rc != -ERANGE)
        return rc == FBUS_ENOBUS ? FBUS_ECORRUPT : rc;
    if ((id = semget((key_t)key, 0, 0400)) < 0) {
        /* No role set: no writer can be alive; the bus is still readable. */
        if (errno == ENOENT)
            return 0;
        return errno == EACCES ? FBUS_EFOREIGN : fbus__err_from_errno(errno);
    }
    if ((rc = fbus__role_trust(id, o->uid)) != 0)
        return rc == FBUS_ENOBUS ? 0 : rc;
    s->role_semid = id;
    return 0;
}

/* Attaches the segment now under key, read-only, validated, and its semaphore sets. */
static int seg_attach(const char *name, uint32_t key, struct rseg **out)
{
    struct rseg *s;
    void *base;
    int rc, id;

    struct fbus__objinfo o;

    if ((id = fbus__shm_lookup(key, 1)) < 0)
        return id;
    if (!(s = calloc(1, sizeof(*s))))
        return -ENOMEM;
    s->shmid = id;
    s->semid = -1;
    s->role_semid = -1;
    if ((rc = fbus__seg_trust(id, FBUS__ANY_UID, &o)) != 0)
        goto fail;
    s->v.size = o.size;
    if ((rc = fbus__shm_attach(id, 1, &base)) != 0)
        goto fail;
    s->base = base;
    s->hdr = base;
    if ((rc = fbus__validate(base, s->v.size, &s->v)) != 0)
        goto fail;
    if (strcmp(s->v.name, name) != 0) {
        rc = FBUS_ECOLLISION;
        goto fail;
    }
    s->v.shmid = id;
    if ((rc = trust_sets(s, key, &o)) != 0)
        goto fail;
    *out = s;
    return 0;
fail:
    seg_free(s);
    return rc;
}

/*
 * Takes a free lossless index k in the current slot set: lreg[k] first
 * (SEM_UNDO), then its credit. The writer arms k only once both carry our
 * pid, so a credit left by an earlier reader of k is never used for us.
 */
static int lossless_register(fbus_reader *r)
{
    int semid = r->cur->semid;

    for (unsigned k = 0; k < FBUS_LOSSLESS_MAX; k++) {
        int rc = fbus__sem_op(semid, FBUS_SEM_LREG(k), 0, IPC_NOWAIT, FBUS_SEM_LREG(k), 1,
                              SEM_UNDO | IPC_NOWAIT);
        if (rc == FBUS_EAGAIN)
            continue;
        if (rc != 0)
            return rc;
        union fbus_semun arg = {.val = (int)r->cur->v.slot_count};
        if (semctl(semid, FBUS_SEM_CREDIT(k), SETVAL, arg) < 0) {
            rc = fbus__err_from_errno(errno);
            fbus__sem_op(semid, FBUS_SEM_LREG(k), -1, SEM_UNDO | IPC_NOWAIT, USHRT_MAX, 0, 0);
            return rc;
        }
        r->lk = (int)k;
        r->lk_semid = semid;
        r->larmed = 0;
        return 0;
    }
    return FBUS_EBUSY;
}

static void lossless_unregister(fbus_reader *r)
{
    if (r->lk >= 0)
        fbus__sem_op(r->lk_semid, FBUS_SEM_LREG(r->lk), -1, SEM_UNDO | IPC_NOWAIT, USHRT_MAX, 0, 0);
    r->lk = -1;
    r->larmed = 0;
}

/* The current segment goes: kept on the retired list while frames in it are held. */
static void drop_cur(fbus_reader *r)
{
    if (!r->cur)
        return;
    if (r->cur->held_total) {
        r->cur->next = r->retired;
        r->retired = r->cur;
    } else {
        seg_free(r->cur);
    }
    r->cur = NULL;
}

/*
 * Makes next the current segment. A lossless reader registered in another
 * slot set registers again in next's (the writer moved to a new set).
 * related: next replaced ours (same numbering); otherwise its numbers start
 * again, and the next frame is handed out whatever after_seq says.
 */
static int switch_to(fbus_reader *r, struct rseg *next, int related)
{
    int rc;

    drop_cur(r);
    r->cur = next;
    if (!related && r->last_out)
        r->renumbered = 1;
    if (r->wants_lossless && (r->lk < 0 || r->lk_semid != next->semid)) {
        lossless_unregister(r);
        if ((rc = lossless_register(r)) != 0)
            return rc;
    }
    return 0;
}

int fbus_reader_open(fbus_reader **out, const char *name, const struct fbus_reader_opts *opts)
{
    fbus_reader *r;
    struct rseg *s = NULL;
    int rc;

    if (!out)
        return -EINVAL;
    *out = NULL;
    if (fbus_name_check(name) != 0)
        return FBUS_ENAME;
    if (!(r = calloc(1, sizeof(*r))))
        return -ENOMEM;
    strcpy(r->name, name);
    r->key = opts && opts->key ? opts->key : fbus_key_from_name(name);
    r->lk = -1;
    r->pid = (int32_t)getpid();
    r->follow = opts && opts->follow;
    r->wants_lossless = opts && opts->lossless;
    rc = seg_attach(r->name, r->key, &s);
    if (rc == 0)
        rc = switch_to(r, s, 1);
    if (rc != 0 && !r->follow) {
        fbus_reader_close(r);
        return rc;
    }
    r->last_err = rc;
    *out = r;
    return 0;
}

/* The slot holding the oldest frame newer than pos, or -1. *seq: its number. */
static int oldest_after(const struct rseg *s, uint64_t pos, uint64_t *seq)
{
    uint64_t best = UINT64_MAX;
    int at = -1;

    for (unsigned j = 0; j < s->v.slot_count; j++) {
        uint64_t q = RD64(&s->hdr->slots[j].seq);
        if (q > pos && q < best) {
            best = q;
            at = (int)j;
        }
    }
    if (seq)
        *seq = best;
    return at;
}

/* A follow reader without a bus looks for one. 0 with r->cur set, or why not. */
static int find_bus(fbus_reader *r)
{
    struct rseg *next;
    int rc = seg_attach(r->name, r->key, &next);

    if (rc == 0)
        rc = switch_to(r, next, 0);
    r->last_err = rc;
    return rc;
}

/*
 * Moves to the segment that replaced ours, if there is one yet: after a format
 * change or close (the writer marked ours), or, checked after a quiet wait
 * slice, after a dead writer's bus was removed and made anew under the key.
 */
static int follow(fbus_reader *r)
{
    uint32_t flags = __atomic_load_n(&r->cur->hdr->flags, __ATOMIC_ACQUIRE);
    int marked = !!(flags & (FBUS_HF_SUPERSEDED | FBUS_HF_CLOSED));
    struct rseg *next;
    int id;

    if (!marked && !r->recheck)
        return 0;
    r->recheck = 0;
    /* A lossless reader first takes what is left for it in the old segment (if it can). */
    if (marked && r->lk >= 0 && r->larmed && oldest_after(r->cur, r->lpos, NULL) >= 0 &&
        fbus__sem_getval(r->cur->semid, FBUS_SEM_BUSY(0)) != FBUS_ENOBUS)
        return 0;
    id = fbus__shm_lookup(r->key, 1);
    if (id >= 0 && id != r->cur->shmid && seg_attach(r->name, r->key, &next) == 0) {
        /* Superseded: the writer carried the numbers on. Anything else may start again. */
        int related = (flags & FBUS_HF_SUPERSEDED) ||
                      RD64(&next->hdr->generation) > RD64(&r->cur->hdr->generation);
        return switch_to(r, next, related);
    }
    if (!marked)
        return 0;
    return flags & FBUS_HF_SUPERSEDED ? TRY_PENDING : FBUS_ECLOSED;
}

/* Holds slot j and checks its descriptor. 0, TRY_NOTHING_NEW, FBUS_EAGAIN (busy) or error. */
static int try_hold(fbus_reader *r, unsigned j, uint64_t after, struct fbus_frame *f)
{
    struct rseg *s = r->cur;
    const struct fbus_shm_slot *d = &s->hdr->slots[j];
    uint64_t seq;
    uint32_t used;
    int rc;

    rc = fbus__sem_op(s->semid, FBUS_SEM_BUSY(j), 0, IPC_NOWAIT, FBUS_SEM_READERS(j), 1,
                      SEM_UNDO | IPC_NOWAIT);
    /* readers[j] at its maximum (set so by some process): not holdable now, like busy. */
    if (rc == -ERANGE)
        return FBUS_EAGAIN;
    /*
     * Closed, and its slot set already removed: the writer marks the bus closed before it
     * removes anything, and nobody ever writes a removed segment again. Its last frame is
     * handed out without a hold (release then has nothing to give back).
     */
    if (rc == FBUS_ENOBUS && (__atomic_load_n(&s->hdr->flags, __ATOMIC_ACQUIRE) & FBUS_HF_CLOSED) &&
        fbus__shm_lookup(r->key, 0) != s->shmid)
        rc = 0;
    if (rc != 0)
        return rc;
    seq = RD64(&d->seq);
    used = RD32(&d->bytesused);
    if (seq == 0 || seq <= after || used > s->v.slot_capacity) {
        fbus__sem_op(s->semid, FBUS_SEM_READERS(j), -1, SEM_UNDO | IPC_NOWAIT, USHRT_MAX, 0, 0);
        return used > s->v.slot_capacity ? FBUS_ECORRUPT : TRY_NOTHING_NEW;
    }
    f->data = s->base + s->v.slot0_offset + (uint64_t)j * s->v.slot_capacity;
    f->bytesused = used;
    f->seq = seq;
    f->timestamp_ns = RD64(&d->timestamp_ns);
    f->format = s->v.format;
    f->slot = j;
    f->missed = 0;
    f->priv_ = s;
    s->held[j]++;
    s->held_total++;
    r->held_total++;
    return 0;
}

/*
 * One look at the bus: 0 with a frame, TRY_* to wait, or an error. *word: the
 * futex value seen. A closed bus still hands out its last frame if it is new.
 */
static int attempt(fbus_reader *r, uint64_t after, struct fbus_frame *f, uint32_t *word)
{
    int rc = follow(r);
    int closed = rc == FBUS_ECLOSED;

    if (rc != 0 && !closed)
        return rc;
    for (int spins = 0; spins < 64; spins++) {
        const struct fbus_shm_header *h = r->cur->hdr;
        uint32_t j;

        *word = __atomic_load_n(&h->published, __ATOMIC_ACQUIRE);
        j = __atomic_load_n(&h->latest, __ATOMIC_ACQUIRE);
        if (j >= r->cur->v.slot_count)
            return FBUS_ECORRUPT;
        /* A cheap unlocked look first: no semop while nothing is new. */
        if (RD64(&h->slots[j].seq) <= after)
            return closed ? FBUS_ECLOSED : TRY_NOTHING_NEW;
        rc = try_hold(r, j, after, f);
        if (rc == TRY_NOTHING_NEW || (rc == FBUS_ENOBUS && closed))
            return closed ? FBUS_ECLOSED : rc;
        if (rc != FBUS_EAGAIN)
            return rc;
        /* busy[latest]: `latest` moved on while we looked. Look again. */
    }
    return TRY_NOTHING_NEW;
}

/* Lossless: the frame after the last one taken (or the oldest left, after a gap). */
static int attempt_lossless(fbus_reader *r, struct fbus_frame *f, uint32_t *word)
{
    int rc = follow(r);
    int closed = rc == FBUS_ECLOSED;
    const struct fbus_shm_header *h;

    if (rc != 0 && !closed)
        return rc;
    h = r->cur->hdr;
    *word = __atomic_load_n(&h->published, __ATOMIC_ACQUIRE);
    if (!r->larmed) {
        const struct fbus_shm_lossless *l = &h->lossless[r->lk];
        if (__atomic_load_n(&l->pid, __ATOMIC_ACQUIRE) != r->pid)
            return closed ? FBUS_ECLOSED : TRY_NOTHING_NEW; /* armed at the next claim */
        r->lpos = RD64(&l->start_seq) - 1;
        r->larmed = 1;
    }
    for (int spins = 0; spins < 64; spins++) {
        uint64_t want;
        int j = oldest_after(r->cur, r->lpos, &want);
        if (j < 0)
            return closed ? FBUS_ECLOSED : TRY_NOTHING_NEW;
        rc = try_hold(r, (unsigned)j, r->lpos, f);
        if (rc == 0 && f->seq == want) {
            r->lpos = f->seq;
            return 0;
        }
        if (rc == 0)
            fbus_reader_release_slot(r, f); /* overwritten meanwhile: look again */
        else if (rc != FBUS_EAGAIN && rc != TRY_NOTHING_NEW)
            return rc == FBUS_ENOBUS && closed ? FBUS_ECLOSED : rc;
    }
    return TRY_NOTHING_NEW;
}

/* 1 while the writer holds its role, 0 if not (or no role set), or a negative code. */
static int writer_alive(const struct rseg *s)
{
    int v;

    if (s->role_semid < 0)
        return 0;
    v = fbus__sem_getval(s->role_semid, FBUS_SEM_WRITER);
    return v == FBUS_ENOBUS ? 0 : v < 0 ? v : v > 0;
}

/*
 * Why a wait ended with nothing: closed, removed (the slot set or the
 * segment is gone from the key, e.g. `fbus rm`), writer gone, or a timeout.
 */
static int timeout_reason(fbus_reader *r)
{
    uint32_t flags;
    int alive;

    if (!r->cur)
        return r->last_err && r->last_err != FBUS_ENOBUS ? r->last_err : FBUS_ENOBUS;
    flags = __atomic_load_n(&r->cur->hdr->flags, __ATOMIC_ACQUIRE);
    /*
     * Replaced while we waited (a format change or a rotation whose old slot set is gone
     * already): the answer is about the segment that replaced it, or, while that one is
     * still being made, a plain timeout.
     */
    if (flags & FBUS_HF_SUPERSEDED) {
        r->recheck = 1;
        follow(r);
        flags = __atomic_load_n(&r->cur->hdr->flags, __ATOMIC_ACQUIRE);
        if (flags & FBUS_HF_SUPERSEDED)
            return FBUS_ETIMEDOUT;
    }
    if (flags & FBUS_HF_CLOSED)
        return FBUS_ECLOSED;
    if (fbus__sem_getval(r->cur->semid, FBUS_SEM_BUSY(0)) == FBUS_ENOBUS)
        return FBUS_ENOBUS;
    if ((alive = writer_alive(r->cur)) < 0)
        return alive;
    if (alive > 0)
        return FBUS_ETIMEDOUT;
    return fbus__shm_lookup(r->key, 0) == FBUS_ENOBUS ? FBUS_ENOBUS : FBUS_EWRITER_GONE;
}

/* A frame is handed out: what it says about frames missed, and the numbering. */
static void hand_out(fbus_reader *r, struct fbus_frame *f)
{
    if (r->last_out && f->seq > r->last_out && !r->renumbered)
        f->missed = f->seq - r->last_out - 1;
    r->renumbered = 0;
    r->last_out = f->seq;
    r->frames++;
    r->missed += f->missed;
    fbus__rate_tick(&r->rate, fbus_now_ns());
}

/*
 * A follow reader outlives its bus: closed, removed or not there yet only
 * mean "wait on" (until the deadline says why nothing came). A bus that is
 * there but unusable (permission, corrupt, foreign) is said at once.
 */
static int follow_outcome(fbus_reader *r, int rc)
{
    if (rc == FBUS_ENOBUS) {
        if (r->cur && timeout_reason(r) == FBUS_ENOBUS)
            drop_cur(r);
        r->last_err = FBUS_ENOBUS;
        return TRY_NOTHING_NEW;
    }
    if (rc == FBUS_ECLOSED)
        return TRY_NOTHING_NEW;
    return rc;
}

static int attempt_any(fbus_reader *r, uint64_t after, struct fbus_frame *f, uint32_t *word)
{
    int rc;

    if (!r->cur && (rc = find_bus(r)) != 0)
        return rc;
    if (r->renumbered)
        after = 0;
    else if (r->follow && after < r->last_out)
        after = r->last_out; /* never the same frame twice */
    rc = r->lk >= 0 ? attempt_lossless(r, f, word) : attempt(r, after, f, word);
    if (rc == FBUS_ENOBUS) {
        /* Our slot set is gone: a bus made anew under the key is worth one look. */
        int old = r->cur->shmid;
        r->recheck = 1;
        int frc = follow(r);
        if (r->cur && r->cur->shmid != old)
            return frc ? frc : TRY_PENDING;
    }
    return rc;
}

int fbus_reader_acquire(fbus_reader *r, struct fbus_frame *f, uint64_t after_seq, int timeout_ms)
{
    uint64_t deadline, now, slice;
    uint32_t word = 0;
    int rc;

    if (!r || !f || timeout_ms < 0)
        return -EINVAL;
    if (r->held_total >= FBUS_SLOTS_MAX)
        return FBUS_ESTATE;
    deadline = fbus_now_ns() + (uint64_t)timeout_ms * 1000000u;
    for (;;) {
        rc = attempt_any(r, after_seq, f, &word);
        if (rc == 0) {
            hand_out(r, f);
            return 0;
        }
        if (r->follow)
            rc = follow_outcome(r, rc);
        if (rc != TRY_NOTHING_NEW && rc != TRY_PENDING)
            return rc == FBUS_ENOBUS && r->cur ? timeout_reason(r) : rc;
        now = fbus_now_ns();
        if (now >= deadline || timeout_ms == 0)
            return timeout_ms == 0 && r->cur && !r->follow ? FBUS_EAGAIN : timeout_reason(r);
        /* Waits are sliced so a reader also notices what no wake-up announces. */
        slice = rc == TRY_PENDING ? 1000000u : 250000000u;
        /* No futex announces a new bus: a follow reader without a live one looks every 20 ms. */
        if (r->follow &&
            (!r->cur || (__atomic_load_n(&r->cur->hdr->flags, __ATOMIC_ACQUIRE) & FBUS_HF_CLOSED)))
            slice = 20000000u;
        if (deadline - now < slice)
            slice = deadline - now;
        if (!r->cur) {
            struct timespec ts = fbus__ns_to_ts(slice);
            nanosleep(&ts, NULL);
            continue;
        }
        rc = fbus__futex_wait(&r->cur->hdr->published, word, slice);
        if (rc == FBUS_ETIMEDOUT)
            r->recheck = 1;
        else if (rc < 0)
            return rc;
    }
}

static struct rseg **find_seg(fbus_reader *r, const struct rseg *s)
{
    if (s && r->cur == s)
        return &r->cur;
    for (struct rseg **p = &r->retired; *p; p = &(*p)->next) {
        if (*p == s)
            return p;
    }
    return NULL;
}

/* Gives the hold back. 0, or FBUS_ESTATE if f is not held by r. */
static int fbus_reader_release_slot(fbus_reader *r, struct fbus_frame *f)
{
    struct rseg **link, *s;

    s = f->priv_;
    if (!s || !(link = find_seg(r, s)) || f->slot >= FBUS_SLOTS_MAX || !s->held[f->slot])
        return FBUS_ESTATE;
    /* ENOBUS: the set is gone with its bus; the hold went with it. */
    fbus__sem_op(s->semid, FBUS_SEM_READERS(f->slot), -1, SEM_UNDO | IPC_NOWAIT, USHRT_MAX, 0, 0);
    s->held[f->slot]--;
    s->held_total--;
    r->held_total--;
    f->priv_ = NULL;
    f->data = NULL;
    if (s != r->cur && s->held_total == 0) {
        *link = s->next;
        seg_free(s);
    }
    return 0;
}

int fbus_reader_release(fbus_reader *r, struct fbus_frame *f)
{
    const struct rseg *s;
    int semid, rc, torn;

    if (!r || !f)
        return -EINVAL;
    s = f->priv_;
    if (!s || !find_seg(r, s) || f->slot >= s->v.slot_count)
        return FBUS_ESTATE;
    semid = s->semid;
    /*
     * The writer never claims a held slot, so a descriptor that changed while
     * we held it means someone set the slot set's counts behind its back.
     */
    torn = RD64(&s->hdr->slots[f->slot].seq) != f->seq;
    if ((rc = fbus_reader_release_slot(r, f)) != 0)
        return rc;
    /* A consumed frame gives its credit back: no SEM_UNDO, the writer takes it. */
    if (r->lk >= 0 && semid == r->lk_semid)
        fbus__sem_op(semid, FBUS_SEM_CREDIT(r->lk), 1, IPC_NOWAIT, USHRT_MAX, 0, 0);
    return torn ? FBUS_EOVERWRITTEN : 0;
}

const struct fbus_format *fbus_reader_format(const fbus_reader *r)
{
    if (!r)
        return NULL;
    return r->cur ? &r->cur->v.format : &r->nofmt;
}

int fbus_reader_status(fbus_reader *r, struct fbus_reader_status *st)
{
    const struct fbus_shm_header *h;

    if (!r || !st)
        return -EINVAL;
    memset(st, 0, sizeof(*st));
    st->frames = r->frames;
    st->missed = r->missed;
    st->reader_fps = fbus__rate_fps(&r->rate, fbus_now_ns());
    st->age_ns = -1;
    if (!r->cur) {
        st->state = FBUS_STATE_NOBUS;
        return 0;
    }
    h = r->cur->hdr;
    st->format = r->cur->v.format;
    st->writer_pid = *(const volatile int32_t *)&h->writer_pid;
    st->last_seq = RD64(&h->last_seq);
    uint64_t last_pub = RD64(&h->last_publish_ns), now = fbus_now_ns();
    if (last_pub)
        st->age_ns = now > last_pub ? (int64_t)(now - last_pub) : 0;
    if (__atomic_load_n(&h->flags, __ATOMIC_ACQUIRE) & FBUS_HF_CLOSED)
        st->state = FBUS_STATE_CLOSED;
    else
        st->state = writer_alive(r->cur) > 0 ? FBUS_STATE_LIVE : FBUS_STATE_GONE;
    /* The writer refreshes its rate once a second; older than two, it is stale. */
    if (st->state == FBUS_STATE_LIVE && st->age_ns >= 0 && st->age_ns < 2000000000)
        st->fps = (double)RD64(&h->fps_milli) / 1000.0;
    return 0;
}

void fbus_reader_close(fbus_reader *r)
{
    if (!r)
        return;
    lossless_unregister(r);
    while (r->retired) {
        struct rseg *s = r->retired;
        r->retired = s->next;
        seg_free(s);
    }
    seg_free(r->cur);
    free(r);
}
