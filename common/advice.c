/*
 * advice.c - one table from a framebus error to what the programs say and
 * how they exit; see advice.h. The phrases look at the bus (read-only) to
 * name what a person needs: the live writer's pid, the owner of a segment,
 * both protocol numbers, the other name behind a colliding key.
 */
#include "advice.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#include "framebus/framebus.h"
#include "log.h"

int app_exit_code(int err)
{
    switch (err) {
    case 0:
        return APP_EXIT_OK;
    case FBUS_ENOBUS:
    case FBUS_ENAME:
        return APP_EXIT_NOBUS;
    case FBUS_ETIMEDOUT:
    case FBUS_EAGAIN:
        return APP_EXIT_TIMEOUT;
    case FBUS_EBUSY:
        return APP_EXIT_BUSY;
    case FBUS_ECORRUPT:
    case FBUS_EVERSION:
    case FBUS_ECOLLISION:
    case FBUS_EFOREIGN:
    case FBUS_EOVERWRITTEN:
        return APP_EXIT_CORRUPT;
    case FBUS_EPERM:
    case -EACCES:
    case -EPERM:
        return APP_EXIT_PERM;
    case FBUS_EWRITER_GONE:
    case FBUS_ECLOSED:
    case FBUS_EREMOVED:
        return APP_EXIT_GONE;
    default:
        return APP_EXIT_ERROR;
    }
}

/* The phrase being built: snprintf that appends and never overruns. */
struct phrase {
    char *buf;
    size_t len;
    size_t used;
};

static void say(struct phrase *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(struct phrase *p, const char *fmt, ...)
{
    va_list ap;

    if (p->used + 1 >= p->len)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(p->buf + p->used, p->len - p->used, fmt, ap);
    va_end(ap);
    if (n > 0)
        p->used = p->used + (size_t)n < p->len ? p->used + (size_t)n : p->len - 1;
}

/* What the bus is (rc of fbus_info_get, *info zeroed first, so unknown fields are 0). */
static int look(const char *bus, uint32_t key, struct fbus_info *info)
{
    memset(info, 0, sizeof(*info));
    return bus ? fbus_info_get(bus, key, info) : FBUS_ENOBUS;
}

/*
 * The name of the framebus segment under key when it is not `bus`: "" when
 * there is none or it is bus itself, "?" when the segment is not a bus.
 */
static void other_name(const char *bus, uint32_t key, char *out, size_t len)
{
    struct fbus_info info;
    int shmid = app_bus_shmid(bus, key);

    out[0] = '\0';
    if (shmid < 0)
        return;
    memset(&info, 0, sizeof(info));
    int rc = fbus_info_shmid(shmid, &info);
    if (rc == 0 || rc == FBUS_EWRITER_GONE || rc == FBUS_ECLOSED) {
        if (!bus || strcmp(info.name, bus) != 0)
            snprintf(out, len, "%s", info.name);
    } else if (rc == FBUS_ECOLLISION) {
        snprintf(out, len, "?");
    }
}

/* A key in the framebus range that nothing uses now, to suggest for --key; 0 if none found. */
static uint32_t free_key(uint32_t key)
{
    for (uint32_t i = 1; i < 64; i++) {
        uint32_t k = 0xfb000000u | ((key + i * 0x9e37u) & 0xffffffu);
        if (shmget((key_t)k, 0, 0) < 0 && errno == ENOENT)
            return k;
    }
    return 0;
}

static void say_collision(struct phrase *p, const char *bus, uint32_t key)
{
    char other[FBUS_NAME_MAX + 2];
    uint32_t k = free_key(key);

    other_name(bus, key, other, sizeof(other));
    if (other[0] && strcmp(other, "?") != 0)
        say(p, "its key 0x%08x collides with bus '%s' (two names, one key)", key, other);
    else if (other[0])
        say(p, "its key 0x%08x is taken by a System V segment that is not a bus", key);
    else
        say(p, "its key 0x%08x is taken by another bus or program", key);
    say(p, "; give this bus its own key with --key");
    if (k)
        say(p, " (e.g. --key 0x%08x, the same for its writer and readers)", k);
    say(p, ", or choose another --bus name");
}

static void say_busy(struct phrase *p, int op, const char *bus, uint32_t key)
{
    struct fbus_info info;
    int rc = look(bus, key, &info);

    if (op == APP_OP_LOSSLESS) {
        say(p,
            "the lossless-reader limit is reached: %d lossless readers are attached "
            "(fbus info %s lists their pids); stop one, or read without --lossless",
            FBUS_LOSSLESS_MAX, bus);
        return;
    }
    if (rc == FBUS_ECOLLISION) {
        say_collision(p, bus, key);
        return;
    }
    if (rc == 0 && info.writer_pid > 0)
        say(p, "busy: writer pid %d is alive", (int)info.writer_pid);
    else
        say(p, "busy: another writer is alive on it");
    if (op == APP_OP_REMOVE)
        say(p, "; stop it first, or use --force (its readers then get 'writer gone')");
    else
        say(p, "; stop it or choose another --bus name");
}

int app_bus_shmid(const char *bus, uint32_t key)
{
    if (!key)
        key = bus ? fbus_key_from_name(bus) : 0;
    return key ? shmget((key_t)key, 0, 0) : -1;
}

static void say_nobus(struct phrase *p, int op, const char *bus, uint32_t key)
{
    int shmid = app_bus_shmid(bus, key);

    if (shmid >= 0) {
        /* The segment is there, so what is missing is its semaphore set. */
        say(p,
            "half removed: its segment (shm %d, key 0x%08x) is there but its semaphore "
            "set is missing; remove the rest with 'fbus rm %s --force' and restart the "
            "writer",
            shmid, key, bus);
        return;
    }
    say(p, "no such bus");
    if (op == APP_OP_READ || op == APP_OP_LOSSLESS)
        say(p, "; is its writer running? (fbus-capture --bus %s; 'fbus ls' lists the buses)", bus);
    else
        say(p, " ('fbus ls' lists the buses)");
}

/* Owner and mode of the segment under key from /proc, which shows them to every user. */
static void proc_owner(uint32_t key, struct fbus_info *info)
{
    char line[512];
    FILE *f = fopen("/proc/sysvipc/shm", "re");

    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        long long k;
        unsigned mode, uid;
        if (sscanf(line, "%lld %*d %o %*u %*d %*d %*u %u", &k, &mode, &uid) == 3 &&
            (uint32_t)k == key) {
            info->mode = mode & 0777;
            info->uid = uid;
            break;
        }
    }
    fclose(f);
}

static void say_perm(struct phrase *p, int op, const char *bus, uint32_t key)
{
    struct fbus_info info;

    look(bus, key, &info);
    if (!info.mode)
        proc_owner(key, &info);
    say(p, "permission denied");
    if (info.mode)
        say(p, ": it belongs to uid %u, mode 0%03o", info.uid, info.mode);
    if (op == APP_OP_WRITE)
        say(p, "; run as its owner, or have it removed (fbus rm %s, as its owner)", bus);
    else if (op == APP_OP_REMOVE)
        say(p, "; only its owner (or root) may remove it");
    else
        say(p, "; ask its owner to admit this user (fbus-capture --mode 0664, or a group "
               "this user is in), or run as the owner");
}

static void say_version(struct phrase *p, const char *bus, uint32_t key)
{
    struct fbus_info info;

    look(bus, key, &info);
    if (info.abi_version)
        say(p,
            "made by an incompatible framebus: the segment speaks protocol %u, this "
            "program protocol %u",
            info.abi_version, fbus_protocol());
    else
        say(p, "made by an incompatible framebus (this program speaks protocol %u)",
            fbus_protocol());
    say(p,
        "; restart its writer with the same framebus as its readers, or remove it "
        "('fbus rm %s', --force while its writer runs)",
        bus);
}

static void say_corrupt(struct phrase *p, const char *bus, uint32_t key)
{
    struct fbus_info info;
    int rc = look(bus, key, &info);

    /* A sound header whose slot semaphore set is gone: removed by hand (ipcrm -s). */
    if (rc == 0 && info.semid < 0) {
        say(p,
            "its segment (shm %d) is there but its semaphore set is missing (removed by "
            "hand?); remove the rest with 'fbus rm %s%s' and restart the writer",
            info.shmid, bus, info.writer_alive ? " --force" : "");
        return;
    }
    say(p,
        "not a usable bus (corrupt or half-made header); if no writer uses it, remove it "
        "with 'fbus rm %s --force' and restart the writer",
        bus);
}

static void say_foreign(struct phrase *p, const char *bus, uint32_t key)
{
    char line[256];

    fbus_foreign_describe(key, line, sizeof(line));
    if (line[0])
        say(p, "an IPC object under its key cannot be trusted: %s", line);
    else
        say(p,
            "an IPC object under its key 0x%08x cannot be trusted (another user's, or "
            "malformed); 'ipcs -a' shows it, 'fbus info %s' says more",
            key, bus);
}

/* The errors that need no look at the bus. */
static int say_plain(struct phrase *p, int err, int op, const char *bus)
{
    switch (err) {
    case FBUS_ENAME:
        say(p, "invalid bus name: use 1-31 characters of a-z 0-9 _ . -");
        return 1;
    case FBUS_ETIMEDOUT:
        say(p, "no frame came in time: its writer is alive but sends nothing (stalled?); "
               "try a longer --timeout");
        return 1;
    case FBUS_EWRITER_GONE:
        say(p,
            "its writer is gone (died, or left without closing); restart the writer (it "
            "takes the bus over), or remove the stale bus with 'fbus rm %s'",
            bus);
        return 1;
    case FBUS_ECLOSED:
        say(p, "closed by its writer; start the writer again, or remove it with 'fbus rm %s'", bus);
        return 1;
    case FBUS_EREMOVED:
        say(p, "the bus was removed under its writer (fbus rm --force, ipcrm); re-make it "
               "(restart the writer) or stop");
        return 1;
    case FBUS_EOVERWRITTEN:
        say(p, "a held frame was overwritten: some process changed the bus's semaphores "
               "(every admitted reader can); admit only trusted users (README 'Permissions')");
        return 1;
    }
    if (op == APP_OP_WRITE && (err == FBUS_ESIZE || err == -ENOSPC || err == -EINVAL)) {
        say(p,
            "%s; too large for the System V limits? check sysctl kernel.shmmax, "
            "kernel.shmall, kernel.shmmni, kernel.sem, or use fewer or smaller slots",
            fbus_strerror(err));
        return 1;
    }
    return 0;
}

const char *app_advice(int err, int op, const char *bus, uint32_t key, char *buf, size_t len)
{
    struct phrase p = {buf, len, 0};

    if (!buf || !len)
        return buf;
    buf[0] = '\0';
    if (!bus)
        bus = "NAME";
    if (!key)
        key = fbus_key_from_name(bus);
    if (say_plain(&p, err, op, bus))
        return buf;
    switch (err) {
    case FBUS_ENOBUS:
        say_nobus(&p, op, bus, key);
        break;
    case FBUS_EBUSY:
        say_busy(&p, op, bus, key);
        break;
    case FBUS_ECOLLISION:
        say_collision(&p, bus, key);
        break;
    case FBUS_ECORRUPT:
        say_corrupt(&p, bus, key);
        break;
    case FBUS_EPERM:
        say_perm(&p, op, bus, key);
        break;
    case FBUS_EVERSION:
        say_version(&p, bus, key);
        break;
    case FBUS_EFOREIGN:
        say_foreign(&p, bus, key);
        break;
    default:
        say(&p, "%s (%s)", fbus_strerror(err), fbus_err_name(err));
    }
    return buf;
}

int app_bus_error(const char *tag, int err, int op, const char *bus, uint32_t key)
{
    char advice[512];

    app_log_error(tag, "bus '%s': %s", bus ? bus : "?",
                  app_advice(err, op, bus, key, advice, sizeof(advice)));
    return app_exit_code(err);
}
