/*
 * writer_lossless.c - the writer's side of lossless readers (docs/design.md
 * §7): arming them, taking one credit of each per frame
 * (waiting, with a bound, when one has none left), settling credits at
 * commit, and letting them drain before the bus is removed.
 *
 * A reader that made the writer wait out its bound is "lagging": from then
 * on the writer takes its credits without waiting (counting its drops) until
 * it has caught up, so one stalled lossless reader costs the bus one bound,
 * not one bound per frame.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/sem.h>

#include "writer_internal.h"

/*
 * Marks reader k armed from the next frame, once it has set its credit (same
 * pid on both semaphores). A reader a previous writer armed (its pid is in the
 * header and it still holds lreg[k]) is adopted as it is: a restarted writer
 * goes on keeping its frames.
 */
static void arm(fbus_writer *w, unsigned k)
{
    struct fbus_shm_lossless *l = &w->seg.hdr->lossless[k];
    int p = semctl(w->seg.semid, FBUS_SEM_LREG(k), GETPID), credits;

    if (w->armed[k] && w->armed[k] == p)
        return;
    w->armed[k] = 0;
    w->lagging &= ~(1u << k);
    /*
     * Registered by a process that is gone, yet still set: it was raised
     * without SEM_UNDO (nothing this library does). Clear it, or it would
     * hold index k, and the claim's fast path, for ever.
     */
    if (p > 0 && kill(p, 0) < 0 && errno == ESRCH) {
        union fbus_semun zero = {.val = 0};
        semctl(w->seg.semid, FBUS_SEM_LREG(k), SETVAL, zero);
        FBUS_STORE_REL(&l->pid, 0);
        return;
    }
    if (p > 0 && l->pid == p) {
        w->cap[k] = l->credits ? l->credits : w->seg.slots;
        w->armed[k] = p;
        return;
    }
    FBUS_STORE_REL(&l->pid, 0);
    if (p <= 0 || semctl(w->seg.semid, FBUS_SEM_CREDIT(k), GETPID) != p)
        return;
    /*
     * Not armed yet, it has taken no frame: its credit is what it was given, the
     * slot count it saw. That stays its total across a change of slot count.
     */
    if ((credits = semctl(w->seg.semid, FBUS_SEM_CREDIT(k), GETVAL)) <= 0)
        return;
    w->cap[k] = (unsigned)credits;
    l->credits = (uint32_t)credits;
    l->start_seq = w->next_seq;
    l->drops = 0;
    FBUS_STORE_REL(&l->pid, p);
    w->armed[k] = p;
}

static void disarm(fbus_writer *w, unsigned k)
{
    w->armed[k] = 0;
    w->lagging &= ~(1u << k);
    FBUS_STORE_REL(&w->seg.hdr->lossless[k].pid, 0);
}

/*
 * Takes one credit of reader k, waiting in short slices until deadline (and
 * noticing if it dies meanwhile). The take carries SEM_UNDO so that, should we
 * die before the frame is published, the kernel gives it back; commit then
 * settles the undo (see fbus__wl_settle). Returns the credits it had,
 * conservatively (>= 1), or 0 if it timed out, or -1 if the reader is gone.
 */
static int take_credit(fbus_writer *w, unsigned k, int had, uint64_t deadline)
{
    struct sembuf op = {.sem_num = FBUS_SEM_CREDIT(k), .sem_op = -1, .sem_flg = SEM_UNDO};

    for (;;) {
        uint64_t now = fbus_now_ns(), slice = 10000000u;
        if (now >= deadline)
            op.sem_flg |= IPC_NOWAIT;
        else if (deadline - now < slice)
            slice = deadline - now;
        struct timespec ts = fbus__ns_to_ts(slice);
        if (semtimedop(w->seg.semid, &op, 1, &ts) == 0) {
            w->credits |= 1u << k;
            return had > 1 ? had : 1;
        }
        if (errno != EAGAIN && errno != EINTR)
            return -1;
        if (semctl(w->seg.semid, FBUS_SEM_LREG(k), GETVAL) <= 0)
            return -1;
        if (op.sem_flg & IPC_NOWAIT)
            return 0;
    }
}

/*
 * The frame is about to be published: make the credits taken for it final.
 * {+1 with SEM_UNDO, -1 without} leaves the value as it is and brings our undo
 * adjustment back to 0, so it never accumulates (ERANGE after 32767) and is not
 * given back when we exit. With give_back (abort) only the first half runs.
 */
void fbus__wl_settle(fbus_writer *w, uint32_t credits, int give_back)
{
    for (unsigned k = 0; credits && k < FBUS_LOSSLESS_MAX; k++) {
        if (!(credits & (1u << k)))
            continue;
        fbus__sem_op(w->seg.semid, FBUS_SEM_CREDIT(k), 1, SEM_UNDO | IPC_NOWAIT,
                     give_back ? USHRT_MAX : FBUS_SEM_CREDIT(k), -1, IPC_NOWAIT);
        credits &= ~(1u << k);
    }
}

/*
 * How many of reader k's unconsumed frames sit in this segment, given `had`
 * credits before this frame's (>= 1). After a change to fewer slots (than the
 * credits it was given) all of them may: then wait, polling up to the deadline,
 * for it to consume some, so that one slot is left to claim. Frames still in
 * the old segment do not count: they are not in the way.
 */
static unsigned unconsumed_here(fbus_writer *w, unsigned k, int had, uint64_t deadline)
{
    uint64_t here = w->seg_first_seq ? w->next_seq - w->seg_first_seq : UINT64_MAX;

    for (;;) {
        uint64_t n = had >= (int)w->cap[k] ? 0 : w->cap[k] - (unsigned)had;
        if (n > here)
            n = here;
        if (n < w->seg.slots || fbus_now_ns() >= deadline)
            return n < w->seg.slots ? (unsigned)n : w->seg.slots - 1;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
        had = semctl(w->seg.semid, FBUS_SEM_CREDIT(k), GETVAL) + 1; /* + the one we took */
    }
}

/*
 * Before each frame: arms new lossless readers and takes a credit from each
 * armed one. *keep: how many of the newest frames must survive this claim.
 * Returns the number of armed readers that are not lagging.
 */
int fbus__wl_gate(fbus_writer *w, uint64_t deadline, unsigned *keep)
{
    /* The set was checked to hold exactly FBUS_SEM_COUNT semaphores (trust.c). */
    unsigned short v[FBUS_SEM_COUNT];
    union fbus_semun arg = {.array = v};
    uint64_t now = fbus_now_ns();
    int armed = 0;

    *keep = 0;
    if (semctl(w->seg.semid, 0, GETALL, arg) < 0)
        return 0;
    for (unsigned k = 0; k < FBUS_LOSSLESS_MAX; k++) {
        if (!v[FBUS_SEM_LREG(k)]) {
            if (w->armed[k])
                disarm(w, k);
            continue;
        }
        arm(w, k);
        if (!w->armed[k])
            continue;
        uint32_t bit = 1u << k;
        /* Caught up (every frame given back): it may make us wait again. */
        if ((w->lagging & bit) && v[FBUS_SEM_CREDIT(k)] >= w->cap[k])
            w->lagging &= ~bit;
        uint64_t until = w->lagging & bit ? now : deadline;
        int had = take_credit(w, k, v[FBUS_SEM_CREDIT(k)], until);
        if (had < 0) {
            disarm(w, k);
            continue;
        }
        if (had == 0)
            w->lagging |= bit;
        /* Only readers that are keeping up may make claim wait for a slot. */
        if (!(w->lagging & bit))
            armed++;
        /*
         * Timed out: the oldest frame it has not consumed that a claim can take
         * is overwritten, so it keeps none here (keeping its newest slots-1
         * left one candidate, the oldest: the frame it holds while stopped,
         * and every claim failed until the set rotated). Its credits count
         * against what it was given, not the slot count now.
         */
        unsigned unconsumed = had == 0 ? 0 : unconsumed_here(w, k, had, until);
        if (had == 0)
            w->seg.hdr->lossless[k].drops++;
        if (unconsumed > *keep)
            *keep = unconsumed;
    }
    return armed;
}

/*
 * Before the semaphore set goes, lossless readers get the frames they are owed:
 * wait (up to the lossless bound) until each has given back all its credits.
 */
void fbus__wl_drain(fbus_writer *w)
{
    uint64_t deadline = fbus_now_ns() + w->lossless_wait_ns;

    for (unsigned k = 0; k < FBUS_LOSSLESS_MAX; k++) {
        while (w->armed[k] && semctl(w->seg.semid, FBUS_SEM_LREG(k), GETVAL) > 0 &&
               semctl(w->seg.semid, FBUS_SEM_CREDIT(k), GETVAL) < (int)w->cap[k] &&
               fbus_now_ns() < deadline) {
            struct timespec ts = {0, 2000000};
            nanosleep(&ts, NULL);
        }
    }
}
