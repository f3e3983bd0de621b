/*
 * internal.h - helpers shared by the library's files: System V calls with
 * errno folded into return codes, the futex, clocks, and the validated view of
 * a segment that readers and tools work from.
 */
#ifndef FBUS_INTERNAL_H
#define FBUS_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "framebus/framebus.h"
#include "layout.h"

/* POSIX leaves union semun to the caller. */
union fbus_semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
};

/*
 * What a reader may trust about a segment, copied out of the header once
 * after validation, so later changes to the shared bytes cannot move it.
 */
struct fbus_segview {
    int shmid;
    uint64_t size; /* from IPC_STAT, never from the header */
    unsigned slot_count;
    uint64_t slot_capacity;
    uint64_t slot0_offset;
    struct fbus_format format;
    char name[FBUS_NAME_MAX + 1];
    int slot_semid; /* as the header names it: check it with fbus__slotset_trust */
};

/* What IPC_STAT (or /proc/sysvipc) says about an object. */
struct fbus__objinfo {
    uint32_t key;
    int id;
    uint32_t uid, cuid;
    unsigned mode;
    uint64_t size; /* bytes of a segment, semaphores of a set */
    int nattch;
    int cpid;
};

#define FBUS__ANY_UID 0xFFFFFFFFu

/* trust.c: 0, FBUS_EFOREIGN, FBUS_ENOBUS, FBUS_EPERM or -errno. */
int fbus__seg_trust(int shmid, uint32_t expect_uid, struct fbus__objinfo *o);
int fbus__role_trust(int semid, uint32_t expect_uid);
int fbus__slotset_trust(int semid, uint32_t expect_uid, unsigned seg_mode);
int fbus__proc_shm(uint32_t key, struct fbus__objinfo *o);
int fbus__proc_sem(uint32_t key, struct fbus__objinfo *o);

/*
 * rate.c - one way to count a rate, for the writer's publish rate and a
 * reader's acquire rate: events over windows of about a second.
 */
struct fbus__rate {
    uint64_t start_ns, events;
    uint64_t milli; /* events per second x1000 over the last closed window */
};
/* Counts one event at now; returns 1 when a window closed and milli changed. */
int fbus__rate_tick(struct fbus__rate *r, uint64_t now);
/* milli as events per second, 0 if the last window closed more than 2 s before now. */
double fbus__rate_fps(const struct fbus__rate *r, uint64_t now);

/* validate.c */
int fbus__validate(const void *base, uint64_t real_size, struct fbus_segview *view);

/* ipc.c */
int fbus__shm_lookup(uint32_t key, int need_read);
int fbus__shm_stat(int shmid, uint64_t *size, int *nattch, unsigned *mode, uint32_t *uid);
int fbus__shm_attach(int shmid, int readonly, void **base);
int fbus__shm_creator_gone(int shmid);
int fbus__sem_lookup(uint32_t key);
int fbus__sem_op(int semid, unsigned short num1, short op1, short flg1, unsigned short num2,
                 short op2, short flg2);
int fbus__sem_getval(int semid, int num);
uint64_t fbus__realtime_ns(void);
uint64_t fbus__proc_starttime(pid_t pid);
unsigned long fbus__page_size(void);
int fbus__err_from_errno(int e);

/* futex.c: the timeout in the kernel's own layout, right with a 64-bit time_t on 32-bit. */
void fbus__futex_wake(uint32_t *word);
int fbus__futex_wait(const uint32_t *word, uint32_t expected, uint64_t timeout_ns);

/*
 * A duration in ns as libc's semtimedop takes it. Unlike the raw futex call,
 * the wrapper copes with a 64-bit time_t on 32-bit itself: glibc >= 2.34 maps it
 * to __semtimedop64 under _TIME_BITS=64 (semtimedop_time64, else the old call
 * with a converted timeout), and musl's calls semtimedop_time64 or converts.
 */
static inline struct timespec fbus__ns_to_ts(uint64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
                          .tv_nsec = (long)(ns % 1000000000u)};
    return ts;
}

/* Relaxed and acquire/release accesses to shared words. */
#define FBUS_LOAD(p)         __atomic_load_n((p), __ATOMIC_RELAXED)
#define FBUS_LOAD_ACQ(p)     __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define FBUS_STORE(p, v)     __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define FBUS_STORE_REL(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

#endif /* FBUS_INTERNAL_H */
