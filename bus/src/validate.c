/*
 * validate.c - the reader's check of a segment header. The header is
 * untrusted input: a bug or a hostile writer may put anything there. Every
 * field a reader relies on is checked against the segment's real size (from
 * IPC_STAT, never from the header) and copied into a private view.
 */
#include <string.h>

#include "internal.h"

static int check_identity(const struct fbus_shm_header *h, uint64_t real_size)
{
    if (real_size < sizeof(uint32_t) * 2)
        return FBUS_ECORRUPT;
    uint32_t magic = FBUS_LOAD_ACQ(&h->magic);
    /* Zero: a writer is between shmget and its last header store. Not there yet. */
    if (magic == 0)
        return FBUS_ENOBUS;
    if (magic != FBUS_MAGIC)
        return FBUS_ECORRUPT;
    if (FBUS_LOAD(&h->abi_version) != FBUS_ABI_VERSION)
        return FBUS_EVERSION;
    if (real_size < sizeof(*h))
        return FBUS_ECORRUPT;
    return 0;
}

static int copy_name(const struct fbus_shm_header *h, char *out)
{
    char tmp[sizeof(h->name)];

    memcpy(tmp, (const void *)h->name, sizeof(tmp));
    if (memchr(tmp, '\0', sizeof(tmp)) == NULL)
        return FBUS_ECORRUPT;
    if (fbus_name_check(tmp) != 0)
        return FBUS_ECORRUPT;
    memcpy(out, tmp, FBUS_NAME_MAX + 1);
    return 0;
}

static int check_geometry(const struct fbus_shm_header *h, uint64_t real_size,
                          struct fbus_segview *v)
{
    v->slot_count = h->slot_count;
    v->slot_capacity = h->slot_capacity;
    v->slot0_offset = h->slot0_offset;
    if (h->header_size < sizeof(*h) || h->header_size > v->slot0_offset)
        return FBUS_ECORRUPT;
    if (v->slot_count < FBUS_SLOTS_MIN || v->slot_count > FBUS_SLOTS_MAX)
        return FBUS_ECORRUPT;
    if (v->slot_capacity == 0 || v->slot_capacity % 4096 || v->slot0_offset % 4096)
        return FBUS_ECORRUPT;
    /* Each term is bounded before the product, so nothing overflows. */
    if (v->slot0_offset > real_size || v->slot_capacity > real_size)
        return FBUS_ECORRUPT;
    if (v->slot_capacity * v->slot_count > real_size - v->slot0_offset)
        return FBUS_ECORRUPT;
    return 0;
}

static int copy_format(const struct fbus_shm_header *h, struct fbus_segview *v)
{
    const struct fbus_shm_format *s = &h->format;
    struct fbus_format *f = &v->format;

    f->fourcc = s->fourcc;
    f->width = s->width;
    f->height = s->height;
    f->bytesperline = s->bytesperline;
    f->sizeimage = s->sizeimage;
    f->nplanes = s->nplanes;
    for (int i = 0; i < FBUS_PLANES_MAX; i++) {
        f->plane_offset[i] = s->plane_offset[i];
        f->plane_stride[i] = s->plane_stride[i];
    }
    if (fbus_format_check(f) != 0)
        return FBUS_ECORRUPT;
    if (f->sizeimage > v->slot_capacity)
        return FBUS_ECORRUPT;
    return 0;
}

/*
 * Validates the header at base, a mapping of real_size bytes, and fills *v.
 * Returns 0, FBUS_ECORRUPT, FBUS_EVERSION, or FBUS_ENOBUS while the magic is
 * still zero (the segment is being made).
 */
int fbus__validate(const void *base, uint64_t real_size, struct fbus_segview *v)
{
    const struct fbus_shm_header *h = base;
    int rc;

    memset(v, 0, sizeof(*v));
    v->size = real_size;
    if ((rc = check_identity(h, real_size)) != 0)
        return rc;
    if ((rc = copy_name(h, v->name)) != 0)
        return rc;
    if ((rc = check_geometry(h, real_size, v)) != 0)
        return rc;
    v->slot_semid = FBUS_LOAD(&h->slot_semid);
    return copy_format(h, v);
}
