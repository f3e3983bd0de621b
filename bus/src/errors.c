/*
 * errors.c - error texts and names, and the library version.
 */
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
    {FBUS_EBUSY, "FBUS_EBUSY", "bus busy: another writer is alive on it"},
    {FBUS_ECORRUPT, "FBUS_ECORRUPT", "the bus segment is corrupt (failed validation)"},
    {FBUS_EVERSION, "FBUS_EVERSION", "the bus was made by an incompatible framebus version"},
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

const char *fbus_err_name(int err)
{
    const struct fbus_errdesc *d = find(err);

    if (d)
        return d->name;
    if (err < 0 && err > -4096) {
        const char *n = strerrorname_np(-err);
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
