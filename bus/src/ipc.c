/*
 * ipc.c - thin wrappers over the System V calls the bus makes, each returning 0
 * (or an id) or a negative code instead of -1 plus errno (the futex: futex.c).
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

int fbus__err_from_errno(int e)
{
    if (e == EACCES || e == EPERM)
        return FBUS_EPERM;
    return -e;
}

/* Returns the shm id of key, FBUS_ENOBUS, FBUS_EPERM or -errno. */
int fbus__shm_lookup(uint32_t key, int need_read)
{
    /* Asking for 0400 makes the kernel check read permission now, not at shmat. */
    int id = shmget((key_t)key, 0, need_read ? 0400 : 0);
    if (id >= 0)
        return id;
    if (errno == ENOENT)
        return FBUS_ENOBUS;
    return fbus__err_from_errno(errno);
}

int fbus__shm_stat(int shmid, uint64_t *size, int *nattch, unsigned *mode, uint32_t *uid)
{
    struct shmid_ds ds;

    if (shmctl(shmid, IPC_STAT, &ds) < 0)
        return errno == EINVAL || errno == EIDRM ? FBUS_ENOBUS : fbus__err_from_errno(errno);
    if (size)
        *size = ds.shm_segsz;
    if (nattch)
        *nattch = (int)ds.shm_nattch;
    if (mode)
        *mode = ds.shm_perm.mode & 0777;
    if (uid)
        *uid = ds.shm_perm.uid;
    return 0;
}

int fbus__shm_attach(int shmid, int readonly, void **base)
{
    /* Always let the kernel pick the address: qemu-arm rejects a given one. */
    void *p = shmat(shmid, NULL, readonly ? SHM_RDONLY : 0);

    if (p == (void *)-1)
        return errno == EINVAL || errno == EIDRM ? FBUS_ENOBUS : fbus__err_from_errno(errno);
    *base = p;
    return 0;
}

/*
 * Non-zero if the process that made segment shmid is gone: a segment whose
 * magic is still 0 then is a bus its writer never finished making.
 */
int fbus__shm_creator_gone(int shmid)
{
    struct shmid_ds ds;

    if (shmctl(shmid, IPC_STAT, &ds) < 0)
        return 0;
    return ds.shm_cpid > 0 && kill(ds.shm_cpid, 0) < 0 && errno == ESRCH;
}

/* Returns the semaphore set id of key, FBUS_ENOBUS, FBUS_EPERM or -errno. */
int fbus__sem_lookup(uint32_t key)
{
    /* 0600 asks for read and alter now: a reader that cannot hold a slot learns it at open. */
    int id = semget((key_t)key, 0, 0600);

    if (id >= 0)
        return id;
    if (errno == ENOENT)
        return FBUS_ENOBUS;
    return fbus__err_from_errno(errno);
}

/* One or two operations, applied atomically. num2 == USHRT_MAX means one. */
int fbus__sem_op(int semid, unsigned short num1, short op1, short flg1, unsigned short num2,
                 short op2, short flg2)
{
    struct sembuf ops[2] = {
        {.sem_num = num1, .sem_op = op1, .sem_flg = flg1},
        {.sem_num = num2, .sem_op = op2, .sem_flg = flg2},
    };
    size_t n = num2 == USHRT_MAX ? 1 : 2;

    for (;;) {
        if (semop(semid, ops, n) == 0)
            return 0;
        if (errno != EINTR)
            break;
    }
    if (errno == EAGAIN)
        return FBUS_EAGAIN;
    if (errno == EINVAL || errno == EIDRM)
        return FBUS_ENOBUS;
    return fbus__err_from_errno(errno);
}

int fbus__sem_getval(int semid, int num)
{
    int v = semctl(semid, num, GETVAL);

    if (v >= 0)
        return v;
    if (errno == EINVAL || errno == EIDRM)
        return FBUS_ENOBUS;
    return fbus__err_from_errno(errno);
}

uint64_t fbus_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t fbus__realtime_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Field 22 of /proc/PID/stat (start time in clock ticks after boot); 0 if unknown. */
uint64_t fbus__proc_starttime(pid_t pid)
{
    char path[64], buf[1024];
    unsigned long long start = 0;
    FILE *f;
    char *p;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "re");
    if (!f)
        return 0;
    p = fgets(buf, sizeof(buf), f);
    fclose(f);
    /* The command name (field 2) may hold spaces and parentheses: skip to the last ')'. */
    if (!p || !(p = strrchr(buf, ')')))
        return 0;
    if (sscanf(p + 1,
               " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
               "%*d %*d %llu",
               &start) != 1)
        return 0;
    return start;
}

unsigned long fbus__page_size(void)
{
    long p = sysconf(_SC_PAGESIZE);

    return p > 0 ? (unsigned long)p : 4096;
}
