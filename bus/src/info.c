/*
 * info.c - inspecting and removing buses: what `fbus ls/info/rm` show and do.
 * Buses are found by scanning /proc/sysvipc/shm for the magic; there are no
 * registry files to go stale.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include "internal.h"

#define RD64(p) (*(const volatile uint64_t *)(p))
#define RD32(p) (*(const volatile uint32_t *)(p))

static void fill_state(const struct fbus_shm_header *h, struct fbus_info *info)
{
    uint64_t last_pub = RD64(&h->last_publish_ns);
    uint32_t flags = __atomic_load_n(&h->flags, __ATOMIC_ACQUIRE);

    info->writer_pid = *(const volatile int32_t *)&h->writer_pid;
    info->closed = !!(flags & FBUS_HF_CLOSED);
    info->superseded = !!(flags & FBUS_HF_SUPERSEDED);
    info->published = RD64(&h->frames_published);
    info->dropped = RD64(&h->frames_dropped);
    info->restarts = RD64(&h->writer_restarts);
    info->last_seq = RD64(&h->last_seq);
    info->created_ns = RD64(&h->created_realtime_ns);
    info->age_ns = -1;
    if (last_pub) {
        uint64_t now = fbus_now_ns();
        info->age_ns = now > last_pub ? (int64_t)(now - last_pub) : 0;
    }
    uint32_t j = __atomic_load_n(&h->latest, __ATOMIC_ACQUIRE);
    if (j < info->slots)
        info->last_timestamp_ns = RD64(&h->slots[j].timestamp_ns);
    /* The writer refreshes the rate once a second; older than two, it is stale. */
    if (info->age_ns >= 0 && info->age_ns < 2000000000 && info->writer_alive)
        info->fps = (double)RD64(&h->fps_milli) / 1000.0;
}

/*
 * Lossless readers: alive by their semaphore, position facts from the writer's
 * header entry. info->semid was checked to hold exactly FBUS_SEM_COUNT.
 */
static void fill_lossless(const struct fbus_shm_header *h, struct fbus_info *info)
{
    unsigned short v[FBUS_SEM_COUNT];
    union fbus_semun arg = {.array = v};

    if (info->semid < 0 || semctl(info->semid, 0, GETALL, arg) < 0)
        return;
    for (unsigned k = 0; k < FBUS_LOSSLESS_MAX; k++) {
        if (!v[FBUS_SEM_LREG(k)])
            continue;
        struct fbus_lossless_info *l = &info->lossless[info->lossless_count++];
        l->pid = __atomic_load_n(&h->lossless[k].pid, __ATOMIC_ACQUIRE);
        l->start_seq = RD64(&h->lossless[k].start_seq);
        l->drops = RD64(&h->lossless[k].drops);
        uint32_t given = RD32(&h->lossless[k].credits);
        /* given comes from the header (untrusted): no more than a set's semaphore can hold. */
        int64_t pending = (int64_t)(given ? given : info->slots) - v[FBUS_SEM_CREDIT(k)];
        l->pending = pending < 0 ? 0 : pending > 32767 ? 32767 : (int)pending;
    }
}

/* The slot set the header names and the role set under the key, if they are the owner's. */
static void fill_writer(struct fbus_info *info, const struct fbus_segview *view, int nattch)
{
    int role, v;

    info->semid = -1;
    if (fbus__slotset_trust(view->slot_semid, info->uid, info->mode) == 0)
        info->semid = view->slot_semid;
    info->slot_semid = info->semid;
    role = info->key ? semget((key_t)info->key, 0, 0) : -1;
    v = role >= 0 && fbus__role_trust(role, info->uid) == 0
            ? fbus__sem_getval(role, FBUS_SEM_WRITER)
            : 0;
    info->writer_alive = v > 0;
    info->readers = nattch - (info->writer_alive && !info->closed ? 1 : 0);
    if (info->readers < 0)
        info->readers = 0;
}

int fbus_info_shmid(int shmid, struct fbus_info *info)
{
    struct shmid_ds ds;
    struct fbus_segview v;
    void *base;
    int rc;

    memset(info, 0, sizeof(*info));
    info->shmid = shmid;
    info->semid = -1;
    info->slot_semid = -1;
    info->age_ns = -1;
    if (shmctl(shmid, IPC_STAT, &ds) < 0)
        return errno == EINVAL || errno == EIDRM ? FBUS_ENOBUS : fbus__err_from_errno(errno);
    info->key = (uint32_t)ds.shm_perm.__key;
    info->mode = ds.shm_perm.mode & 0777;
    info->uid = ds.shm_perm.uid;
    info->cuid = ds.shm_perm.cuid;
    info->segment_size = ds.shm_segsz;
    if ((rc = fbus__shm_attach(shmid, 1, &base)) != 0)
        return rc;
    const struct fbus_shm_header *h = base;
    if (ds.shm_segsz >= 8)
        info->abi_version = FBUS_LOAD(&h->abi_version);
    rc = fbus__validate(base, ds.shm_segsz, &v);
    /*
     * A header of this protocol that fails validation still names its slot set:
     * kept in slot_semid (semid stays -1), so that removing the bus removes it too.
     */
    if (rc == FBUS_ECORRUPT && ds.shm_segsz >= sizeof(*h) && FBUS_LOAD(&h->magic) == FBUS_MAGIC &&
        info->abi_version == FBUS_ABI_VERSION)
        info->slot_semid = FBUS_LOAD(&h->slot_semid);
    if (rc == FBUS_ECORRUPT && (ds.shm_segsz < 4 || *(const uint32_t *)base != FBUS_MAGIC))
        rc = FBUS_ECOLLISION;
    if (rc == 0) {
        memcpy(info->name, v.name, sizeof(info->name));
        info->format = v.format;
        info->slots = v.slot_count;
        info->slot_capacity = v.slot_capacity;
        info->closed =
            !!(__atomic_load_n(&((const struct fbus_shm_header *)base)->flags, __ATOMIC_ACQUIRE) &
               FBUS_HF_CLOSED);
        fill_writer(info, &v, (int)ds.shm_nattch);
        fill_state(base, info);
        fill_lossless(base, info);
    }
    shmdt(base);
    return rc;
}

int fbus_info_get(const char *name, uint32_t key, struct fbus_info *info)
{
    int id, rc;

    if (!key && fbus_name_check(name) != 0)
        return FBUS_ENAME;
    id = fbus__shm_lookup(key ? key : fbus_key_from_name(name), 0);
    if (id < 0)
        return id;
    rc = fbus_info_shmid(id, info);
    if (rc == 0 && !key && strcmp(info->name, name) != 0)
        return FBUS_ECOLLISION;
    return rc;
}

int fbus_list(fbus_list_fn fn, void *ctx)
{
    char line[512];
    int count = 0, stop = 0;
    FILE *f = fopen("/proc/sysvipc/shm", "re");

    if (!f)
        return -errno;
    if (!fgets(line, sizeof(line), f)) { /* the column titles */
        fclose(f);
        return 0;
    }
    while (!stop && fgets(line, sizeof(line), f)) {
        long long key;
        int shmid;
        struct fbus_info info;

        if (sscanf(line, "%lld %d", &key, &shmid) != 2)
            continue;
        int rc = fbus_info_shmid(shmid, &info);
        int ours = ((uint32_t)key & 0xFF000000u) == 0xFB000000u;
        struct fbus__objinfo o;
        /* IPC_STAT refused: what /proc tells everyone (key, owner, mode) is still worth showing. */
        if (rc == FBUS_EPERM && fbus__proc_shm((uint32_t)key, &o)) {
            info.key = o.key;
            info.uid = o.uid;
            info.cuid = o.cuid;
            info.mode = o.mode;
            info.segment_size = o.size;
        }
        /* Magic still 0 under a framebus key: half-made (its writer died mid-create) or being made.
         */
        if (rc == FBUS_ENOBUS && ours && info.segment_size)
            rc = FBUS_ECORRUPT;
        /* Not ours, or gone meanwhile. Unreadable ones count only with our key prefix. */
        if (rc == FBUS_ECOLLISION || rc == FBUS_ENOBUS)
            continue;
        if (rc == FBUS_EPERM && ((uint32_t)key & 0xFF000000u) != 0xFB000000u)
            continue;
        if (rc < 0 && rc != FBUS_ECORRUPT && rc != FBUS_EVERSION && rc != FBUS_EPERM)
            continue;
        count++;
        if (fn)
            stop = fn(&info, rc, ctx);
    }
    fclose(f);
    return stop ? stop : count;
}

/*
 * The role set under key: removed when it is owner's (or any, with force and
 * the right to). ENOBUS-like outcomes are success: there is nothing to remove.
 */
static int remove_role(uint32_t key, uint32_t owner, int force)
{
    int semid = key ? semget((key_t)key, 0, 0) : -1;

    if (semid < 0)
        return 0;
    if (!force && fbus__role_trust(semid, owner) != 0)
        return FBUS_EFOREIGN;
    if (semctl(semid, 0, IPC_RMID) < 0 && errno != EINVAL && errno != EIDRM)
        return fbus__err_from_errno(errno);
    return 0;
}

int fbus_remove_shmid(int shmid, int force)
{
    struct fbus_info info;
    int rc = fbus_info_shmid(shmid, &info);

    /*
     * A bad magic under a framebus key, made by this user: a bus gone wrong, not
     * someone else's segment. --force removes it (what the programs advise).
     */
    if (rc == FBUS_ECOLLISION && force && (info.key & 0xFF000000u) == 0xFB000000u &&
        info.uid == (uint32_t)geteuid() && info.cuid == info.uid)
        rc = FBUS_ECORRUPT;

    /*
     * Magic still 0 (the segment exists: IPC_STAT filled its size): a writer died
     * between shmget and its header, or is in between right now. Only --force.
     */
    if (rc == FBUS_ENOBUS && info.segment_size) {
        if (!force)
            return FBUS_ECORRUPT;
        rc = FBUS_ECORRUPT;
    }
    /* A corrupt or foreign-version bus can still be removed: that is how it gets mended. */
    if (rc != 0 && rc != FBUS_ECORRUPT && rc != FBUS_EVERSION)
        return rc;
    if (rc == 0 && info.writer_alive && !force)
        return FBUS_EBUSY;
    if (shmctl(shmid, IPC_RMID, NULL) < 0 && errno != EINVAL && errno != EIDRM)
        return fbus__err_from_errno(errno);
    /* Only sets that belong with this segment: never another user's set under the key. */
    int semid = info.semid;
    if (semid < 0 && info.slot_semid >= 0 &&
        fbus__slotset_trust(info.slot_semid, info.uid, info.mode) == 0)
        semid = info.slot_semid; /* a corrupt header of ours: its set goes with it */
    if (semid >= 0 && semctl(semid, 0, IPC_RMID) < 0 && errno != EINVAL && errno != EIDRM)
        return fbus__err_from_errno(errno);
    return remove_role(info.key, info.uid, force);
}

int fbus_remove(const char *name, uint32_t key, int force)
{
    struct fbus_info info;
    uint32_t k;
    int id, rc;

    if (!key && fbus_name_check(name) != 0)
        return FBUS_ENAME;
    k = key ? key : fbus_key_from_name(name);
    id = fbus__shm_lookup(k, 0);
    if (id == FBUS_ENOBUS) {
        /* A role set left without its segment: remove that alone (if it is this user's). */
        if (semget((key_t)k, 0, 0) < 0)
            return errno == ENOENT ? FBUS_ENOBUS : fbus__err_from_errno(errno);
        return remove_role(k, (uint32_t)geteuid(), force);
    }
    if (id < 0)
        return id;
    rc = fbus_info_shmid(id, &info);
    if (rc == 0 && !key && strcmp(info.name, name) != 0)
        return FBUS_ECOLLISION;
    return fbus_remove_shmid(id, force);
}
