/*
 * segment.c - making, re-attaching and superseding a bus segment, and the
 * two semaphore sets beside it (docs/design.md §2, §3, §5).
 * Only the writer calls this. Every object found under the key is checked
 * before use (trust.c): another user may have made it.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include "segment.h"

/* What survives a format change: readers must see sequence numbers go on growing. */
struct carry {
    uint64_t last_seq;
    uint64_t published;
    uint64_t dropped;
    uint64_t restarts;
    uint64_t generation;
};

/* Only the writer writes: the bus mode's read bits say who else may look. */
static unsigned seg_mode(unsigned mode)
{
    return 0600u | (mode & 0044u);
}

int fbus__role_open(uint32_t key, unsigned mode, struct fbus__semset *set)
{
    /* Readers may read the role (GETVAL: is a writer alive?), never alter it. */
    int id = semget((key_t)key, FBUS_ROLE_COUNT, IPC_CREAT | IPC_EXCL | (int)seg_mode(mode));
    int rc;

    set->created = id >= 0;
    if (id >= 0) {
        set->semid = id;
        return 0;
    }
    if (errno != EEXIST)
        return fbus__err_from_errno(errno);
    if ((id = semget((key_t)key, 0, 0)) < 0) {
        if (errno == ENOENT)
            return FBUS_EAGAIN; /* removed meanwhile: look again */
        /* It exists and this user may not even see it: not one this user made. */
        return errno == EACCES ? FBUS_EFOREIGN : fbus__err_from_errno(errno);
    }
    rc = fbus__role_trust(id, (uint32_t)geteuid());
    if (rc == FBUS_ENOBUS)
        return FBUS_EAGAIN;
    if (rc != 0)
        return rc;
    set->semid = id;
    return 0;
}

/* A new slot set, private: there is no key under which anyone could have made it first. */
static int slotset_make(unsigned mode, int *semid)
{
    /* Holding a slot needs alter: whoever may read the segment gets alter on this set. */
    unsigned readers = mode & 0044u;
    int id = semget(IPC_PRIVATE, FBUS_SEM_COUNT, IPC_CREAT | (int)(0600u | readers | readers >> 1));

    if (id < 0)
        return fbus__err_from_errno(errno);
    *semid = id;
    return 0;
}

static uint64_t round_up(uint64_t v, uint64_t to)
{
    return (v + to - 1) / to * to;
}

static void format_to_shm(const struct fbus_format *f, struct fbus_shm_format *s)
{
    memset(s, 0, sizeof(*s));
    s->fourcc = f->fourcc;
    s->width = f->width;
    s->height = f->height;
    s->bytesperline = f->bytesperline;
    s->sizeimage = f->sizeimage;
    s->nplanes = f->nplanes;
    for (unsigned i = 0; i < f->nplanes && i < FBUS_PLANES_MAX; i++) {
        s->plane_offset[i] = f->plane_offset[i];
        s->plane_stride[i] = f->plane_stride[i];
    }
}

/* Slot and segment sizes for a format; FBUS_ESIZE if they do not fit this process. */
static int plan(const struct fbus_format *fmt, unsigned slots, uint32_t slot_size, uint64_t *slot0,
                uint64_t *cap, uint64_t *total)
{
    uint64_t page = fbus__page_size() < 4096 ? 4096 : fbus__page_size();
    uint64_t want = fmt->sizeimage > slot_size ? fmt->sizeimage : slot_size;

    *slot0 = round_up(sizeof(struct fbus_shm_header), page);
    *cap = round_up(want, page);
    *total = *slot0 + *cap * slots;
    if (*total > (uint64_t)SIZE_MAX / 2)
        return FBUS_ESIZE;
    return 0;
}

/*
 * A new segment under key for fmt. semid names the slot set to use; -1 makes
 * a new one, only once the segment exists, and names it in the header at
 * once (before the header's size, which says the name is there): a writer
 * killed while making its bus leaves at most a segment that names its set,
 * which the next writer removes with it (fbus__wseg_open), never a set that
 * nothing names (docs/design.md section 5).
 */
static int create(struct fbus__wseg *s, const char *name, uint32_t key, unsigned mode,
                  const struct fbus_format *fmt, unsigned slots, uint32_t slot_size,
                  const struct carry *c, int semid)
{
    struct fbus_shm_header *h;
    void *base;
    int id, rc;

    memset(s, 0, sizeof(*s));
    s->semid = -1; /* until it is the segment's */
    if ((rc = plan(fmt, slots, slot_size, &s->slot0, &s->capacity, &s->size)) != 0)
        return rc;
    id = shmget((key_t)key, (size_t)s->size, IPC_CREAT | IPC_EXCL | (int)seg_mode(mode));
    if (id < 0) {
        if (errno == EEXIST)
            return FBUS_EAGAIN; /* we hold the role: someone else's segment, look at it */
        if (errno == EINVAL)
            return FBUS_ESIZE; /* larger than kernel.shmmax */
        return fbus__err_from_errno(errno);
    }
    if ((rc = fbus__shm_attach(id, 0, &base)) != 0) {
        shmctl(id, IPC_RMID, NULL);
        return rc;
    }
    h = base;
    if (semid < 0) {
        if ((rc = slotset_make(mode, &semid)) != 0) {
            shmdt(base);
            shmctl(id, IPC_RMID, NULL);
            return rc;
        }
    }
    h->slot_semid = semid;
    FBUS_STORE_REL(&h->header_size, (uint32_t)sizeof(*h));
    s->shmid = id;
    s->semid = semid;
    s->base = base;
    s->hdr = h;
    s->slots = slots;
    s->format = *fmt;
    h->abi_version = FBUS_ABI_VERSION;
    h->slot_count = slots;
    h->slot_capacity = s->capacity;
    h->slot0_offset = s->slot0;
    h->segment_size = s->size;
    h->created_realtime_ns = fbus__realtime_ns();
    strncpy(h->name, name, sizeof(h->name) - 1);
    h->writer_pid = (int32_t)getpid();
    h->writer_starttime = fbus__proc_starttime(getpid());
    format_to_shm(fmt, &h->format);
    h->last_seq = c->last_seq;
    h->published = (uint32_t)c->last_seq;
    h->frames_published = c->published;
    h->frames_dropped = c->dropped;
    h->writer_restarts = c->restarts;
    h->generation = c->generation;
    /* The magic goes last: a reader that sees it sees a whole header. */
    FBUS_STORE_REL(&h->magic, FBUS_MAGIC);
    return 0;
}

void fbus__wseg_mark(struct fbus__wseg *s, uint32_t flag)
{
    __atomic_fetch_or(&s->hdr->flags, flag, __ATOMIC_RELEASE);
    /* Readers asleep in acquire look at the flags when they wake. */
    fbus__futex_wake(&s->hdr->published);
}

/* Marks s superseded, removes it (it lives on until its last reader detaches). */
static void retire(struct fbus__wseg *s, struct carry *c)
{
    const struct fbus_shm_header *h = s->hdr;

    c->last_seq = h->last_seq;
    c->published = h->frames_published;
    c->dropped = h->frames_dropped;
    c->restarts = h->writer_restarts;
    c->generation = h->generation + 1;
    fbus__wseg_mark(s, FBUS_HF_SUPERSEDED);
    shmctl(s->shmid, IPC_RMID, NULL);
    shmdt(s->base);
    s->base = NULL;
    s->hdr = NULL;
}

int fbus__wseg_supersede(struct fbus__wseg *s, const char *name, uint32_t key, unsigned mode,
                         const struct fbus_format *fmt, unsigned slots, uint32_t slot_size)
{
    int semid = s->semid;
    struct carry c;

    retire(s, &c);
    return create(s, name, key, mode, fmt, slots, slot_size, &c, semid);
}

/*
 * The same format in a new segment with a new slot set: what a writer does
 * when the slot set stopped making sense (every slot held for too long, busy
 * counts it did not take). Frames readers hold stay valid in the old
 * segment, which nobody writes any more; the old set goes at once, and with
 * it whatever a process left in it.
 */
int fbus__wseg_rotate(struct fbus__wseg *s, const char *name, uint32_t key, unsigned mode,
                      uint32_t slot_size)
{
    struct fbus_format fmt = s->format;
    int old = s->semid;
    struct carry c;

    retire(s, &c);
    /* At once: the retired segment cannot be found by name any more, nor then its set. */
    semctl(old, 0, IPC_RMID);
    s->semid = -1;
    return create(s, name, key, mode, &fmt, s->slots ? s->slots : FBUS_SLOTS_MIN, slot_size, &c,
                  -1);
}

static int same_layout(const struct fbus_segview *v, const struct fbus_format *fmt, unsigned slots,
                       uint32_t slot_size)
{
    struct fbus_shm_format a, b;
    uint64_t slot0, cap, total;

    if (plan(fmt, slots, slot_size, &slot0, &cap, &total) != 0)
        return 0;
    format_to_shm(fmt, &a);
    format_to_shm(&v->format, &b);
    return memcmp(&a, &b, sizeof(a)) == 0 && v->slot_count == slots && v->slot_capacity == cap &&
           v->slot0_offset == slot0;
}

/* Takes over a segment whose writer is dead (we hold the writer role, so it is). */
static void reattach(struct fbus__wseg *s, const struct fbus_segview *v)
{
    struct fbus_shm_header *h = s->hdr;

    s->slots = v->slot_count;
    s->capacity = v->slot_capacity;
    s->slot0 = v->slot0_offset;
    s->format = v->format;
    h->writer_pid = (int32_t)getpid();
    h->writer_starttime = fbus__proc_starttime(getpid());
    h->writer_restarts++;
    __atomic_fetch_and(&h->flags, ~FBUS_HF_CLOSED, __ATOMIC_RELEASE);
}

/* Attaches the existing segment id read-write and checks it is our bus. */
static int adopt(struct fbus__wseg *s, int id, const char *name, struct fbus_segview *v)
{
    void *base;
    int rc;

    struct fbus__objinfo o;

    memset(s, 0, sizeof(*s));
    s->semid = -1;
    if ((rc = fbus__seg_trust(id, (uint32_t)geteuid(), &o)) != 0)
        return rc;
    s->size = o.size;
    if ((rc = fbus__shm_attach(id, 0, &base)) != 0)
        return rc;
    s->shmid = id;
    s->base = base;
    s->hdr = base;
    rc = fbus__validate(base, s->size, v);
    /* Magic still 0 and its maker gone: a writer died making it (we hold the role). */
    if (rc == FBUS_ENOBUS && fbus__shm_creator_gone(id))
        rc = FBUS_ENOBUS;
    else if ((rc == FBUS_ECORRUPT || rc == FBUS_ENOBUS) &&
             (s->size < 4 || s->hdr->magic != FBUS_MAGIC))
        rc = FBUS_ECOLLISION; /* someone else's segment: never touch it */
    else if (rc == 0 && strcmp(v->name, name) != 0)
        rc = FBUS_ECOLLISION;
    if (rc != 0) {
        shmdt(base);
        s->base = NULL;
        s->hdr = NULL;
    }
    return rc;
}

/*
 * Removes a segment a writer died making, and the slot set it names if the
 * header got as far as naming one (its size is set just after the name) and
 * the set is one we made (keyless, ours, the bus's size): see create().
 */
static void remove_half_made(int id)
{
    const struct fbus_shm_header *h;
    struct fbus__objinfo o;
    void *base;

    if (fbus__seg_trust(id, (uint32_t)geteuid(), &o) == 0 && o.size >= sizeof(*h) &&
        fbus__shm_attach(id, 1, &base) == 0) {
        h = base;
        if (FBUS_LOAD_ACQ(&h->header_size) == sizeof(*h)) {
            int semid = FBUS_LOAD(&h->slot_semid);
            if (fbus__slotset_trust(semid, (uint32_t)geteuid(), o.mode) == 0)
                semctl(semid, 0, IPC_RMID);
        }
        shmdt(base);
    }
    shmctl(id, IPC_RMID, NULL);
}

/* A new bus: a segment, then the slot set it names (create()). */
static int create_fresh(struct fbus__wseg *s, const char *name, uint32_t key, unsigned mode,
                        const struct fbus_format *fmt, unsigned slots, uint32_t slot_size)
{
    struct carry zero = {0};

    return create(s, name, key, mode, fmt, slots, slot_size, &zero, -1);
}

/* The segment is ours: re-attach it, or supersede it, with a slot set we can trust. */
static int take_over(struct fbus__wseg *s, const struct fbus_segview *v, const char *name,
                     uint32_t key, unsigned mode, const struct fbus_format *fmt, unsigned slots,
                     uint32_t slot_size)
{
    struct fbus__objinfo o;

    fbus__seg_trust(s->shmid, FBUS__ANY_UID, &o);
    if (fbus__slotset_trust(v->slot_semid, (uint32_t)geteuid(), o.mode) == 0) {
        s->semid = v->slot_semid;
        if (same_layout(v, fmt, slots, slot_size)) {
            reattach(s, v);
            return 0;
        }
        return fbus__wseg_supersede(s, name, key, mode, fmt, slots, slot_size);
    }
    /* Its set is gone or not one we made: readers follow to a new segment and set. */
    struct carry c;
    s->semid = -1;
    retire(s, &c);
    c.restarts++;
    return create(s, name, key, mode, fmt, slots, slot_size, &c, -1);
}

/*
 * Called with the writer role held, so no other writer of this uid is in
 * here; a segment appearing meanwhile is someone else's and is looked at.
 */
int fbus__wseg_open(struct fbus__wseg *s, const char *name, uint32_t key, unsigned mode,
                    const struct fbus_format *fmt, unsigned slots, uint32_t slot_size)
{
    struct fbus_segview v;
    int id, rc = FBUS_EAGAIN;

    for (int tries = 0; rc == FBUS_EAGAIN && tries < 4; tries++) {
        id = fbus__shm_lookup(key, 0);
        if (id == FBUS_ENOBUS) {
            rc = create_fresh(s, name, key, mode, fmt, slots, slot_size);
            continue;
        }
        if (id < 0)
            /* It exists and this user may not even look at it: someone else's. */
            return id == FBUS_EPERM ? FBUS_EFOREIGN : id;
        rc = adopt(s, id, name, &v);
        if (rc == FBUS_ENOBUS) {
            /* Half made by a dead writer: no reader can have it (it never validated). */
            remove_half_made(id);
            rc = FBUS_EAGAIN;
            continue;
        }
        if (rc != 0)
            return rc;
        return take_over(s, &v, name, key, mode, fmt, slots, slot_size);
    }
    return rc == FBUS_EAGAIN ? FBUS_EFOREIGN : rc;
}
