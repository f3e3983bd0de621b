/*
 * trust.c - whether the IPC objects of a bus can be trusted. Any local user
 * can create System V objects under any key, and a process that may alter a
 * semaphore set may set any value in it, so nothing is taken on faith: owner,
 * creator, mode and size come from IPC_STAT, and each object must match the
 * others (docs/design.md §8).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include "internal.h"

/* Write bits for group and others: whoever has them could change the object. */
#define OTHERS_WRITE 0022u

static int stat_err(int e)
{
    return e == EINVAL || e == EIDRM ? FBUS_ENOBUS : fbus__err_from_errno(e);
}

int fbus__seg_trust(int shmid, uint32_t expect_uid, struct fbus__objinfo *o)
{
    struct shmid_ds ds;

    if (shmctl(shmid, IPC_STAT, &ds) < 0)
        return stat_err(errno);
    o->uid = ds.shm_perm.uid;
    o->cuid = ds.shm_perm.cuid;
    o->mode = ds.shm_perm.mode & 0777;
    o->size = ds.shm_segsz;
    o->nattch = (int)ds.shm_nattch;
    o->cpid = ds.shm_cpid;
    o->key = (uint32_t)ds.shm_perm.__key;
    /* Given away with IPC_SET, or writable by others: its bytes are not the owner's alone. */
    if (o->uid != o->cuid || (o->mode & OTHERS_WRITE))
        return FBUS_EFOREIGN;
    if (expect_uid != FBUS__ANY_UID && o->uid != expect_uid)
        return FBUS_EFOREIGN;
    return 0;
}

static int sem_stat(int semid, struct semid_ds *ds)
{
    union fbus_semun arg = {.buf = ds};

    return semctl(semid, 0, IPC_STAT, arg) < 0 ? stat_err(errno) : 0;
}

int fbus__role_trust(int semid, uint32_t expect_uid)
{
    struct semid_ds ds;
    int rc = sem_stat(semid, &ds);

    if (rc != 0)
        return rc;
    if (ds.sem_nsems != FBUS_ROLE_COUNT || ds.sem_perm.uid != ds.sem_perm.cuid ||
        (ds.sem_perm.mode & OTHERS_WRITE) || ds.sem_perm.uid != expect_uid)
        return FBUS_EFOREIGN;
    return 0;
}

int fbus__slotset_trust(int semid, uint32_t expect_uid, unsigned seg_mode)
{
    unsigned readers = seg_mode & 0044u, allowed = 0700u | readers | (readers >> 1);
    struct semid_ds ds;
    int rc = sem_stat(semid, &ds);

    if (rc != 0)
        return rc;
    /* A set with a key is not one a writer made for a segment: it made its own, private. */
    if (ds.sem_nsems != FBUS_SEM_COUNT || ds.sem_perm.__key != IPC_PRIVATE ||
        ds.sem_perm.uid != ds.sem_perm.cuid || ds.sem_perm.uid != expect_uid ||
        ((ds.sem_perm.mode & 0777u) & ~allowed))
        return FBUS_EFOREIGN;
    return 0;
}

/*
 * The line of /proc/sysvipc/<kind> for key: it is readable by everyone, unlike
 * IPC_STAT, so a person can be told whose an object is even without access.
 */
static int proc_find(const char *kind, uint32_t key, struct fbus__objinfo *o)
{
    char path[64], line[512];
    int found = 0;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/sysvipc/%s", kind);
    if (!(f = fopen(path, "re")))
        return 0;
    while (!found && fgets(line, sizeof(line), f)) {
        long long k;
        unsigned long long size;
        unsigned perms, uid, gid, cuid;
        int id;
        memset(o, 0, sizeof(*o));
        if (kind[1] == 'h') { /* shm: key shmid perms size cpid lpid nattch uid gid cuid */
            int cpid, lpid, nattch;
            if (sscanf(line, "%lld %d %o %llu %d %d %d %u %u %u", &k, &id, &perms, &size, &cpid,
                       &lpid, &nattch, &uid, &gid, &cuid) != 10)
                continue;
            o->cpid = cpid;
            o->nattch = nattch;
        } else { /* sem: key semid perms nsems uid gid cuid */
            if (sscanf(line, "%lld %d %o %llu %u %u %u", &k, &id, &perms, &size, &uid, &gid,
                       &cuid) != 7)
                continue;
        }
        if ((uint32_t)k != key || key == IPC_PRIVATE)
            continue;
        o->key = key;
        o->id = id;
        o->mode = perms & 0777;
        o->size = size;
        o->uid = uid;
        o->cuid = cuid;
        found = 1;
    }
    fclose(f);
    return found;
}

int fbus__proc_shm(uint32_t key, struct fbus__objinfo *o)
{
    return proc_find("shm", key, o);
}

int fbus__proc_sem(uint32_t key, struct fbus__objinfo *o)
{
    return proc_find("sem", key, o);
}

/* Why an object under the key cannot be a bus's; NULL if it could be. */
static const char *fault(const struct fbus__objinfo *o, int is_sem, int have_other,
                         uint32_t other_uid)
{
    if (is_sem && o->size != FBUS_ROLE_COUNT)
        return "a framebus role set has 1";
    if (o->uid != o->cuid)
        return "its owner is not its creator";
    if (o->mode & OTHERS_WRITE)
        return "others may change it";
    if (have_other && o->uid != other_uid)
        return "its owner differs from the other object's";
    /* Segment and set may agree with each other and still be another user's whole bus. */
    if (o->uid != (uint32_t)geteuid())
        return "not this user's";
    return NULL;
}

const char *fbus_foreign_describe(uint32_t key, char *buf, size_t len)
{
    struct fbus__objinfo m, s;
    int hm = fbus__proc_shm(key, &m), hs = fbus__proc_sem(key, &s);
    const char *fm = hm ? fault(&m, 0, hs, s.uid) : NULL;
    const char *fs = hs ? fault(&s, 1, hm, m.uid) : NULL;
    size_t n = 0;

    if (!buf || len == 0)
        return buf;
    buf[0] = '\0';
    /* Both under suspicion only because they differ: the one that is not ours is the squatter. */
    if (fm && fs && hm && hs && m.uid != s.uid) {
        if (m.uid == (uint32_t)geteuid())
            fm = NULL;
        else if (s.uid == (uint32_t)geteuid())
            fs = NULL;
    }
    if (fs)
        n += (size_t)snprintf(buf + n, len - n,
                              "semaphore set 0x%08x of uid %u (%llu semaphores, mode 0%03o; %s): "
                              "remove it with 'ipcrm -S 0x%08x'",
                              key, s.uid, (unsigned long long)s.size, s.mode, fs, key);
    if (fm && n < len)
        n += (size_t)snprintf(buf + n, len - n,
                              "%sshared-memory segment 0x%08x of uid %u (%llu bytes, mode 0%03o; "
                              "%s): remove it with 'ipcrm -M 0x%08x'",
                              n ? "; " : "", key, m.uid, (unsigned long long)m.size, m.mode, fm,
                              key);
    if ((fm || fs) && n < len)
        snprintf(buf + n, len - n, ", or use another --key");
    return buf;
}
