/*
 * writer.c - the one process that stores into a bus: takes the writer role,
 * creates or re-attaches the segment, claims slots, publishes frames and
 * wakes the readers.
 *
 * Slot protocol (docs/design.md §3), every hold with SEM_UNDO so the
 * kernel gives it back if this process dies:
 *   claim:   { readers[i] == 0, busy[i] == 0, busy[i] += 1, lreg[*] == 0 }  one semop
 *   commit:  descriptor, { busy[i] -= 1, busy[i] == 0 }, latest, published, FUTEX_WAKE
 * The writer never claims the latest slot. It never waits for a latest-frame
 * reader; it waits, bounded, only for lossless readers (writer_lossless.c).
 * Readers may alter the slot set, so the writer checks what it relies on:
 * a busy count it did not take, or no free slot for FBUS__WEDGE_NS, and it
 * moves the bus to a new segment and slot set (fbus__wseg_rotate).
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

#include "writer_internal.h"

/* No free slot for this long: the slot set is wedged or held by stalled readers. */
#define FBUS__WEDGE_NS 1000000000ull

void fbus_writer_opts_init(struct fbus_writer_opts *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->slots = FBUS_SLOTS_DEFAULT;
    opts->mode = FBUS_MODE_DEFAULT;
}

static int check_open_args(const char *name, const struct fbus_format *fmt,
                           const struct fbus_writer_opts *o)
{
    if (fbus_name_check(name) != 0)
        return FBUS_ENAME;
    if (!fmt || fbus_format_check(fmt) != 0)
        return FBUS_EFORMAT;
    if (o->slots < FBUS_SLOTS_MIN || o->slots > FBUS_SLOTS_MAX)
        return FBUS_ESIZE;
    /* The writer itself must read and write what it creates. */
    if ((o->mode & ~0777u) || (o->mode & 0600) != 0600)
        return -EINVAL;
    return 0;
}

/* Takes the writer role: one atomic "is it free? then it is mine", undone at death. */
static int take_role(int semid)
{
    int rc = fbus__sem_op(semid, FBUS_SEM_WRITER, 0, IPC_NOWAIT, FBUS_SEM_WRITER, 1,
                          SEM_UNDO | IPC_NOWAIT);
    return rc == FBUS_EAGAIN ? FBUS_EBUSY : rc;
}

static void drop_role(int semid)
{
    fbus__sem_op(semid, FBUS_SEM_WRITER, -1, SEM_UNDO | IPC_NOWAIT, USHRT_MAX, 0, 0);
}

/* Picks the next sequence number and the slot ages from what the segment holds. */
static void load_seqs(fbus_writer *w)
{
    const struct fbus_shm_header *h = w->seg.hdr;
    uint64_t top = h->last_seq;

    for (unsigned i = 0; i < FBUS_SLOTS_MAX; i++) {
        w->slot_seq[i] = i < w->seg.slots ? h->slots[i].seq : 0;
        if (w->slot_seq[i] > top)
            top = w->slot_seq[i];
    }
    w->next_seq = top + 1;
}

int fbus_writer_open(fbus_writer **out, const char *name, const struct fbus_format *fmt,
                     const struct fbus_writer_opts *opts)
{
    struct fbus_writer_opts defaults;
    struct fbus__semset set;
    fbus_writer *w;
    int rc;

    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!opts) {
        fbus_writer_opts_init(&defaults);
        opts = &defaults;
    }
    if ((rc = check_open_args(name, fmt, opts)) != 0)
        return rc;
    if (!(w = calloc(1, sizeof(*w))))
        return -ENOMEM;
    strcpy(w->name, name);
    w->key = opts->key ? opts->key : fbus_key_from_name(name);
    w->mode = opts->mode;
    w->keep = opts->keep;
    w->slot_size = opts->slot_size;
    w->claimed = -1;
    w->lossless_wait_ns =
        (uint64_t)(opts->lossless_wait_ms ? opts->lossless_wait_ms : FBUS_LOSSLESS_WAIT_DEFAULT) *
        1000000u;

    /* EAGAIN: the role set went away under us (its writer failed and removed it). */
    for (int tries = 0; tries < 8; tries++) {
        if ((rc = fbus__role_open(w->key, w->mode, &set)) == FBUS_EAGAIN)
            continue;
        if (rc != 0)
            goto fail_free;
        w->role_semid = set.semid;
        if ((rc = take_role(w->role_semid)) != FBUS_ENOBUS)
            break;
        rc = FBUS_EAGAIN;
    }
    /* A loser never removes the set: the winner is using it. */
    if (rc != 0)
        goto fail_free;
    rc = fbus__wseg_open(&w->seg, w->name, w->key, w->mode, fmt, opts->slots, w->slot_size);
    if (rc != 0)
        goto fail_role;
    load_seqs(w);
    *out = w;
    return 0;

fail_role:
    /* We hold the role: nobody else uses a set we made. Others waiting on it retry. */
    if (set.created)
        semctl(w->role_semid, 0, IPC_RMID);
    else
        drop_role(w->role_semid);
fail_free:
    free(w);
    return rc == FBUS_EAGAIN ? FBUS_EBUSY : rc;
}

/*
 * Slots the writer may fill, oldest first: never the latest, never one it has
 * claimed already, and never one of the `keep` newest frames (a lossless
 * reader has not consumed them). The newest frame is not always the latest: a
 * writer killed between descriptor and `latest` leaves a whole, newer frame
 * behind. Returns how many.
 */
static unsigned candidates(const fbus_writer *w, unsigned keep, unsigned order[FBUS_SLOTS_MAX])
{
    uint32_t latest = w->seg.hdr->latest;
    int any = w->seg.hdr->last_seq != 0;
    unsigned all[FBUS_SLOTS_MAX], n = 0, m = 0;

    for (unsigned i = 0; i < w->seg.slots; i++) {
        unsigned j = n++;
        while (j > 0 && w->slot_seq[all[j - 1]] > w->slot_seq[i]) {
            all[j] = all[j - 1];
            j--;
        }
        all[j] = i;
    }
    n = keep >= n ? 0 : n - keep;
    for (unsigned j = 0; j < n; j++) {
        unsigned i = all[j];
        if (!(any && i == latest) && !(w->zc & (1u << i)) && (int)i != w->claimed)
            order[m++] = i;
    }
    return m;
}

/* One atomic semop: nobody reads slot i, and now it is ours (undone if we die). */
static int hold_slot(fbus_writer *w, unsigned i, uint64_t deadline)
{
    struct sembuf ops[3] = {
        {.sem_num = FBUS_SEM_READERS(i), .sem_op = 0, .sem_flg = IPC_NOWAIT},
        {.sem_num = FBUS_SEM_BUSY(i), .sem_op = 0, .sem_flg = IPC_NOWAIT},
        {.sem_num = FBUS_SEM_BUSY(i), .sem_op = 1, .sem_flg = SEM_UNDO},
    };
    uint64_t now = fbus_now_ns();
    struct timespec ts = fbus__ns_to_ts(deadline > now ? deadline - now : 0);

    /* A deadline means: wait for the readers to let go (only with lossless readers). */
    if (deadline)
        ops[0].sem_flg = 0;
    while (semtimedop(w->seg.semid, ops, 3, deadline ? &ts : NULL) != 0) {
        if (errno == EINVAL || errno == EIDRM)
            return FBUS_EREMOVED;
        if (errno != EINTR)
            return errno == EAGAIN ? FBUS_EAGAIN : fbus__err_from_errno(errno);
    }
    return 0;
}

static void take_slot(fbus_writer *w, unsigned i, struct fbus_wslot *slot)
{
    /* Invalidate first: should we die mid-copy, no reader trusts this slot. */
    FBUS_STORE(&w->seg.hdr->slots[i].seq, 0);
    w->slot_seq[i] = 0;
    w->slot_credits[i] = w->credits;
    w->credits = 0;
    slot->index = i;
    slot->data = w->seg.base + w->seg.slot0 + (uint64_t)i * w->seg.capacity;
    slot->capacity = (size_t)w->seg.capacity;
    slot->seq = w->next_seq;
}

/*
 * No slot after all: the credits taken for it go back. A failed claim() is a
 * lost frame; a failed claim_index() is not (the slot is queued again later).
 */
static int claim_failed(fbus_writer *w, int rc, int is_drop)
{
    fbus__wl_settle(w, w->credits, 1);
    w->credits = 0;
    if (rc == FBUS_ENOSLOT && is_drop)
        fbus_writer_count_drop(w);
    return rc;
}

/*
 * The common case in one system call: no lossless reader registered (every
 * lreg[k] is 0) and the oldest candidate free. Checking the lreg semaphores in
 * the same atomic semop spares the GETALL of the lossless gate. Any EAGAIN
 * (a reader holds the slot, or a lossless reader appeared) takes the full path.
 */
static int claim_fast(fbus_writer *w, struct fbus_wslot *slot)
{
    struct sembuf ops[3 + FBUS_LOSSLESS_MAX];
    unsigned order[FBUS_SLOTS_MAX];

    for (unsigned k = 0; k < FBUS_LOSSLESS_MAX; k++) {
        if (w->armed[k])
            return FBUS_EAGAIN;
        ops[3 + k] = (struct sembuf){FBUS_SEM_LREG(k), 0, IPC_NOWAIT};
    }
    if (candidates(w, 0, order) == 0)
        return FBUS_EAGAIN;
    ops[0] = (struct sembuf){FBUS_SEM_READERS(order[0]), 0, IPC_NOWAIT};
    ops[1] = (struct sembuf){FBUS_SEM_BUSY(order[0]), 0, IPC_NOWAIT};
    ops[2] = (struct sembuf){FBUS_SEM_BUSY(order[0]), 1, SEM_UNDO | IPC_NOWAIT};
    if (semop(w->seg.semid, ops, 3 + FBUS_LOSSLESS_MAX) != 0)
        return errno == EINVAL || errno == EIDRM ? FBUS_EREMOVED : FBUS_EAGAIN;
    w->claimed = (int)order[0];
    take_slot(w, order[0], slot);
    return 0;
}

/*
 * No slot for a long time, or a busy count we did not take: whatever readers
 * did to the slot set, a new segment and set end it (held frames stay valid
 * in the old segment). Not for a zero-copy writer: its slots are a driver's
 * buffers, and they cannot move under it.
 */
static int maybe_rotate(fbus_writer *w, uint64_t now)
{
    int rc;

    if (w->zc_used ||
        (!w->tampered && (!w->noslot_since || now - w->noslot_since < FBUS__WEDGE_NS)))
        return FBUS_EAGAIN;
    if ((rc = fbus__wseg_rotate(&w->seg, w->name, w->key, w->mode, w->slot_size)) != 0)
        return rc;
    w->tampered = 0;
    w->noslot_since = 0;
    memset(w->armed, 0, sizeof(w->armed));
    load_seqs(w);
    w->seg_first_seq = 0;
    return 0;
}

static int claim_slow(fbus_writer *w, struct fbus_wslot *slot)
{
    unsigned order[FBUS_SLOTS_MAX], keep, n;
    uint64_t deadline;
    int armed;

    deadline = fbus_now_ns() + w->lossless_wait_ns;
    deadline = fbus_now_ns() + w->lossless_wait_ns;
    armed = fbus__wl_gate(w, deadline, &keep);
    n = candidates(w, keep, order);
    for (unsigned k = 0; k < n; k++) {
        int rc = hold_slot(w, order[k], 0);
        if (rc == FBUS_EAGAIN)
            continue;
        if (rc != 0)
            return claim_failed(w, rc, 1);
        w->claimed = (int)order[k];
        take_slot(w, order[k], slot);
        return 0;
    }
    if (armed && n > 0 && hold_slot(w, order[0], deadline) == 0) {
        w->claimed = (int)order[0];
        take_slot(w, order[0], slot);
        return 0;
    }
    return claim_failed(w, FBUS_ENOSLOT, 0);
}

int fbus_writer_claim(fbus_writer *w, struct fbus_wslot *slot)
{
    int rc;

    if (!w || !slot)
        return -EINVAL;
    if (w->claimed >= 0)
        return FBUS_ESTATE;
    if (!w->tampered && (rc = claim_fast(w, slot)) != FBUS_EAGAIN) {
        if (rc == 0)
            w->noslot_since = 0;
        return rc;
    }
    for (int round = 0;; round++) {
        rc = round == 0 && w->tampered ? FBUS_ENOSLOT : claim_slow(w, slot);
        if (rc == 0)
            w->noslot_since = 0;
        if (rc != FBUS_ENOSLOT || round > 0)
            break;
        uint64_t now = fbus_now_ns();
        if (!w->noslot_since)
            w->noslot_since = now;
        if ((rc = maybe_rotate(w, now)) != 0) {
            rc = rc == FBUS_EAGAIN ? FBUS_ENOSLOT : rc;
            break;
        }
    }
    if (rc == FBUS_ENOSLOT)
        fbus_writer_count_drop(w);
    return rc;
}

int fbus_writer_claim_index(fbus_writer *w, unsigned index, struct fbus_wslot *slot)
{
    unsigned order[FBUS_SLOTS_MAX], keep, n;
    int rc = FBUS_ENOSLOT;

    if (!w || !slot)
        return -EINVAL;
    if (index >= w->seg.slots)
        return FBUS_ESIZE;
    if (w->claimed >= 0)
        return FBUS_ESTATE;
    if (w->zc & (1u << index))
        return FBUS_ENOSLOT;
    w->zc_used = 1;
    fbus__wl_gate(w, fbus_now_ns() + w->lossless_wait_ns, &keep);
    n = candidates(w, keep, order);
    for (unsigned k = 0; k < n; k++) {
        if (order[k] == index) {
            rc = hold_slot(w, index, 0);
            break;
        }
    }
    if (rc != 0)
        return claim_failed(w, rc == FBUS_EAGAIN ? FBUS_ENOSLOT : rc, 0);
    w->zc |= 1u << index;
    take_slot(w, index, slot);
    return 0;
}

int fbus_writer_claim_slots(fbus_writer *w, struct fbus_wslot *slots, unsigned max)
{
    unsigned got = 0;

    if (!w || (!slots && max))
        return -EINVAL;
    if (w->claimed >= 0)
        return FBUS_ESTATE;
    /* One at a time, as claim_index() would: each slot takes its own lossless credits. */
    while (got < max) {
        unsigned order[FBUS_SLOTS_MAX], n = candidates(w, 0, order), k;
        int rc = FBUS_ENOSLOT;
        for (k = 0; k < n && rc == FBUS_ENOSLOT; k++)
            rc = fbus_writer_claim_index(w, order[k], &slots[got]);
        if (rc == FBUS_ENOSLOT)
            break;
        if (rc != 0)
            return got ? (int)got : rc;
        got++;
    }
    return (int)got;
}

static void update_rate(fbus_writer *w, uint64_t now)
{
    if (fbus__rate_tick(&w->rate, now))
        w->seg.hdr->fps_milli = w->rate.milli;
}

/* Publishes claimed slot i: descriptor, busy released, latest, published, wake. */
static int publish_slot(fbus_writer *w, unsigned i, size_t bytesused, uint64_t timestamp_ns)
{
    struct fbus_shm_header *h = w->seg.hdr;
    struct fbus_shm_slot *d = &h->slots[i];
    uint64_t now = fbus_now_ns();
    int rc;

    d->timestamp_ns = timestamp_ns ? timestamp_ns : now;
    d->publish_ns = now;
    d->bytesused = (uint32_t)bytesused;
    d->flags = 0;
    /*
     * Credits become final before the frame becomes visible: dying in between
     * leaks a credit (the writer waits more), never the reverse (a frame that
     * took no credit would let the writer overwrite an unread one later).
     */
    fbus__wl_settle(w, w->slot_credits[i], 0);
    w->slot_credits[i] = 0;
    FBUS_STORE(&d->seq, w->next_seq);
    /*
     * busy goes back to 0 before the slot becomes latest, so a reader never
     * finds the latest slot busy and spins; the semop orders the stores above.
     */
    rc = fbus__sem_op(w->seg.semid, FBUS_SEM_BUSY(i), -1, SEM_UNDO | IPC_NOWAIT, FBUS_SEM_BUSY(i),
                      0, IPC_NOWAIT);
    if (rc == FBUS_EAGAIN) {
        /* Someone else raised busy[i]: let go of ours, and move off this set soon. */
        w->tampered = 1;
        rc = fbus__sem_op(w->seg.semid, FBUS_SEM_BUSY(i), -1, SEM_UNDO | IPC_NOWAIT, USHRT_MAX, 0,
                          0);
    }
    if (rc == FBUS_ENOBUS)
        rc = FBUS_EREMOVED;
    w->slot_seq[i] = w->next_seq;
    h->last_seq = w->next_seq;
    h->last_publish_ns = now;
    h->frames_published++;
    update_rate(w, now);
    FBUS_STORE_REL(&h->latest, i);
    FBUS_STORE_REL(&h->published, (uint32_t)w->next_seq);
    w->next_seq++;
    fbus__futex_wake(&h->published);
    return rc;
}

static int give_back(fbus_writer *w, unsigned i)
{
    fbus__wl_settle(w, w->slot_credits[i], 1);
    w->slot_credits[i] = 0;
    return fbus__sem_op(w->seg.semid, FBUS_SEM_BUSY(i), -1, SEM_UNDO | IPC_NOWAIT, USHRT_MAX, 0, 0);
}

int fbus_writer_commit(fbus_writer *w, size_t bytesused, uint64_t timestamp_ns)
{
    unsigned i;

    if (!w)
        return -EINVAL;
    if (w->claimed < 0)
        return FBUS_ESTATE;
    if (bytesused > w->seg.capacity)
        return FBUS_ESIZE;
    i = (unsigned)w->claimed;
    w->claimed = -1;
    return publish_slot(w, i, bytesused, timestamp_ns);
}

int fbus_writer_commit_index(fbus_writer *w, unsigned index, size_t bytesused,
                             uint64_t timestamp_ns)
{
    if (!w)
        return -EINVAL;
    if (index >= FBUS_SLOTS_MAX || !(w->zc & (1u << index)))
        return FBUS_ESTATE;
    if (bytesused > w->seg.capacity)
        return FBUS_ESIZE;
    w->zc &= ~(1u << index);
    return publish_slot(w, index, bytesused, timestamp_ns);
}

int fbus_writer_abort(fbus_writer *w)
{
    unsigned i;

    if (!w)
        return -EINVAL;
    if (w->claimed < 0)
        return FBUS_ESTATE;
    i = (unsigned)w->claimed;
    w->claimed = -1;
    return give_back(w, i);
}

int fbus_writer_abort_index(fbus_writer *w, unsigned index)
{
    if (!w)
        return -EINVAL;
    if (index >= FBUS_SLOTS_MAX || !(w->zc & (1u << index)))
        return FBUS_ESTATE;
    w->zc &= ~(1u << index);
    return give_back(w, index);
}

/* Every claim still open goes back (before a format change or close). */
static void abort_all(fbus_writer *w)
{
    if (w->claimed >= 0)
        fbus_writer_abort(w);
    for (unsigned i = 0; w->zc && i < FBUS_SLOTS_MAX; i++) {
        if (w->zc & (1u << i))
            fbus_writer_abort_index(w, i);
    }
}

int fbus_writer_publish(fbus_writer *w, const void *data, size_t len, uint64_t timestamp_ns)
{
    struct fbus_wslot slot;
    int rc;

    if (!w || (!data && len))
        return -EINVAL;
    if (len > w->seg.capacity)
        return FBUS_ESIZE;
    if ((rc = fbus_writer_claim(w, &slot)) != 0)
        return rc;
    memcpy(slot.data, data, len);
    return fbus_writer_commit(w, len, timestamp_ns);
}

int fbus_writer_set_format(fbus_writer *w, const struct fbus_format *fmt, unsigned slots)
{
    if (!w)
        return -EINVAL;
    if (!fmt || fbus_format_check(fmt) != 0)
        return FBUS_EFORMAT;
    if (slots == 0)
        slots = w->seg.slots;
    if (slots < FBUS_SLOTS_MIN || slots > FBUS_SLOTS_MAX)
        return FBUS_ESIZE;
    abort_all(w);
    /* Lossless readers stay armed across the change: their entries move to the new header. */
    struct fbus_shm_lossless keep[FBUS_LOSSLESS_MAX];
    memcpy(keep, w->seg.hdr->lossless, sizeof(keep));
    int rc = fbus__wseg_supersede(&w->seg, w->name, w->key, w->mode, fmt, slots, w->slot_size);
    if (rc == 0) {
        memcpy(w->seg.hdr->lossless, keep, sizeof(keep));
        load_seqs(w);
        w->seg_first_seq = w->next_seq;
    }
    return rc;
}

const struct fbus_format *fbus_writer_format(const fbus_writer *w)
{
    return w ? &w->seg.format : NULL;
}

int fbus_writer_readers(const fbus_writer *w)
{
    int nattch = 0;
    int rc;

    if (!w)
        return -EINVAL;
    if ((rc = fbus__shm_stat(w->seg.shmid, NULL, &nattch, NULL, NULL)) != 0)
        return rc;
    return nattch > 0 ? nattch - 1 : 0;
}

void fbus_writer_counts(const fbus_writer *w, uint64_t *published, uint64_t *dropped)
{
    if (published)
        *published = w ? w->seg.hdr->frames_published : 0;
    if (dropped)
        *dropped = w ? w->seg.hdr->frames_dropped : 0;
}

double fbus_writer_fps(const fbus_writer *w)
{
    return w ? fbus__rate_fps(&w->rate, fbus_now_ns()) : 0;
}

void fbus_writer_count_drop(fbus_writer *w)
{
    if (w)
        w->seg.hdr->frames_dropped++;
}

int fbus_writer_close(fbus_writer *w)
{
    int rc = 0;

    if (!w)
        return 0;
    abort_all(w);
    if (!w->keep)
        fbus__wl_drain(w);
    fbus__wseg_mark(&w->seg, FBUS_HF_CLOSED);
    if (!w->keep) {
        if (shmctl(w->seg.shmid, IPC_RMID, NULL) < 0 && errno != EINVAL && errno != EIDRM)
            rc = -errno;
        if (semctl(w->seg.semid, 0, IPC_RMID) < 0 && errno != EINVAL && errno != EIDRM && !rc)
            rc = -errno;
        if (semctl(w->role_semid, 0, IPC_RMID) < 0 && errno != EINVAL && errno != EIDRM && !rc)
            rc = -errno;
    } else {
        drop_role(w->role_semid);
    }
    shmdt(w->seg.base);
    free(w);
    return rc;
}
