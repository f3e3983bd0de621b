/*
 * errors.c - error texts and names, and the library version.
 */
#include <errno.h>
#include <string.h>

#include "framebus/framebus.h"

#define STR_(x) #x
#define STR(x)  STR_(x)

struct fbus_errdesc {
    int code;
    const char *name;
    const char *text;
};

static const struct fbus_errdesc errs[] = {
    {FBUS_OK, "FBUS_OK", "success"},
    {FBUS_ENOBUS, "FBUS_ENOBUS", "no such bus (no writer has created it, or it was removed)"},
    {FBUS_EBUSY, "FBUS_EBUSY",
     "bus busy: a live writer holds it (or, for a lossless reader, all 8 lossless places are "
     "taken)"},
    {FBUS_ECORRUPT, "FBUS_ECORRUPT", "the bus segment is corrupt (failed validation)"},
    {FBUS_EVERSION, "FBUS_EVERSION",
     "the bus speaks another framebus protocol (fbus info shows its number and this one's)"},
    {FBUS_ECOLLISION, "FBUS_ECOLLISION",
     "the key is used by another bus name or by a segment that is not a framebus"},
    {FBUS_ENAME, "FBUS_ENAME", "invalid bus name: use 1-31 characters of [a-z0-9_.-]"},
    {FBUS_EFORMAT, "FBUS_EFORMAT", "unsupported pixel format or impossible frame geometry"},
    {FBUS_ETIMEDOUT, "FBUS_ETIMEDOUT", "timed out: the writer is alive but sent no new frame"},
    {FBUS_EWRITER_GONE, "FBUS_EWRITER_GONE", "writer gone: it died or left without closing"},
    {FBUS_ECLOSED, "FBUS_ECLOSED", "the writer closed the bus"},
    {FBUS_EAGAIN, "FBUS_EAGAIN", "no new frame yet"},
    {FBUS_ENOSLOT, "FBUS_ENOSLOT", "no free slot: readers hold them all; frame dropped"},
    {FBUS_ESTATE, "FBUS_ESTATE", "call out of order"},
    {FBUS_ESIZE, "FBUS_ESIZE", "size out of range"},
    {FBUS_EPERM, "FBUS_EPERM",
     "permission denied on the bus (its mode does not let this user read or hold slots)"},
    {FBUS_EFOREIGN, "FBUS_EFOREIGN",
     "an IPC object under the bus's key belongs to another user or is not a framebus one"},
    {FBUS_EOVERWRITTEN, "FBUS_EOVERWRITTEN",
     "the frame was overwritten while held: a process with access to the bus's semaphores "
     "tampered with them"},
    {FBUS_EREMOVED, "FBUS_EREMOVED", "the bus was removed under its writer (fbus rm, ipcrm)"},
};

static const struct fbus_errdesc *find(int err)
{
    for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
        if (errs[i].code == err)
            return &errs[i];
    }
    return NULL;
}

const char *fbus_strerror(int err)
{
    const struct fbus_errdesc *d = find(err);

    if (d)
        return d->text;
    if (err < 0 && err > -4096)
        return strerror(-err);
    return "unknown error";
}

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
#define errno_name strerrorname_np
#else
/*
 * strerrorname_np is glibc >= 2.32 only: elsewhere (musl, uClibc, older glibc)
 * the names of the errors a bus can plausibly meet. Aliases (EWOULDBLOCK,
 * EDEADLOCK, ENOTSUP) share a value with the name listed.
 */
/* clang-format off: a table reads better in columns */
#define ERRNO_NAME(e)                                                                              \
    {                                                                                              \
        e, #e                                                                                      \
    }
static const struct {
    int e;
    const char *name;
} errno_names[] = {
    ERRNO_NAME(EPERM),
    ERRNO_NAME(ENOENT),
    ERRNO_NAME(ESRCH),
    ERRNO_NAME(EINTR),
    ERRNO_NAME(EIO),
    ERRNO_NAME(ENXIO),
    ERRNO_NAME(E2BIG),
    ERRNO_NAME(ENOEXEC),
    ERRNO_NAME(EBADF),
    ERRNO_NAME(ECHILD),
    ERRNO_NAME(EAGAIN),
    ERRNO_NAME(ENOMEM),
    ERRNO_NAME(EACCES),
    ERRNO_NAME(EFAULT),
    ERRNO_NAME(EBUSY),
    ERRNO_NAME(EEXIST),
    ERRNO_NAME(EXDEV),
    ERRNO_NAME(ENODEV),
    ERRNO_NAME(ENOTDIR),
    ERRNO_NAME(EISDIR),
    ERRNO_NAME(EINVAL),
    ERRNO_NAME(ENFILE),
    ERRNO_NAME(EMFILE),
    ERRNO_NAME(ENOTTY),
    ERRNO_NAME(EFBIG),
    ERRNO_NAME(ENOSPC),
    ERRNO_NAME(ESPIPE),
    ERRNO_NAME(EROFS),
    ERRNO_NAME(EMLINK),
    ERRNO_NAME(EPIPE),
    ERRNO_NAME(EDOM),
    ERRNO_NAME(ERANGE),
    ERRNO_NAME(EDEADLK),
    ERRNO_NAME(ENAMETOOLONG),
    ERRNO_NAME(ENOLCK),
    ERRNO_NAME(ENOSYS),
    ERRNO_NAME(ENOTEMPTY),
    ERRNO_NAME(ELOOP),
    ERRNO_NAME(ENOMSG),
    ERRNO_NAME(EIDRM),
    ERRNO_NAME(ENOSTR),
    ERRNO_NAME(ENODATA),
    ERRNO_NAME(ETIME),
    ERRNO_NAME(EOVERFLOW),
    ERRNO_NAME(EILSEQ),
    ERRNO_NAME(EOPNOTSUPP),
    ERRNO_NAME(ETIMEDOUT),
    ERRNO_NAME(EALREADY),
    ERRNO_NAME(EINPROGRESS),
    ERRNO_NAME(ECANCELED),
    ERRNO_NAME(EOWNERDEAD),
    ERRNO_NAME(EDQUOT),
    ERRNO_NAME(ENOTRECOVERABLE),
};
/* clang-format on */

static const char *errno_name(int e)
{
    for (size_t i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++) {
        if (errno_names[i].e == e)
            return errno_names[i].name;
    }
    return NULL;
}
#endif

const char *fbus_err_name(int err)
{
    const struct fbus_errdesc *d = find(err);

    if (d)
        return d->name;
    if (err < 0 && err > -4096) {
        const char *n = errno_name(-err);
        if (n)
            return n;
    }
    return "EUNKNOWN";
}

unsigned fbus_version(void)
{
    return FBUS_VERSION_HEX;
}

const char *fbus_version_string(void)
{
    return STR(FBUS_VERSION_MAJOR) "." STR(FBUS_VERSION_MINOR) "." STR(FBUS_VERSION_PATCH);
}

unsigned fbus_abi(void)
{
    return FBUS_ABI;
}

unsigned fbus_protocol(void)
{
    return FBUS_PROTOCOL;
}
