/*
 * format_internal.h - private pixel-format tables shared by format.c and convert.c.
 *
 * Not installed. Names use the fbus__ prefix of internal non-static symbols.
 */
#ifndef FBUS_FORMAT_INTERNAL_H
#define FBUS_FORMAT_INTERNAL_H

#include <stdint.h>

#include "framebus/framebus.h"

/*
 * Layout of one plane relative to the frame size: a row holds
 * width * bpp / xdiv bytes and the plane has height / ydiv rows.
 */
struct fbus__plane_desc {
    uint8_t bpp;
    uint8_t xdiv;
    uint8_t ydiv;
};

/*
 * What framebus knows about one fourcc. bpp 0 in plane 0 marks a
 * compressed format (MJPEG): no rows, no strides, a byte budget only.
 */
struct fbus__fmt_desc {
    uint32_t fourcc;
    uint8_t nplanes;
    uint8_t walign; /* width must be a multiple of this */
    uint8_t halign; /* height must be a multiple of this */
    struct fbus__plane_desc plane[FBUS_PLANES_MAX];
};

/* The description of fourcc, or NULL if framebus does not know it. */
const struct fbus__fmt_desc *fbus__fmt_lookup(uint32_t fourcc);

/*
 * Bytes a frame of *fmt needs from the start of the slot: the end of its
 * furthest plane (the last row of a padded plane need not carry its
 * padding). Only meaningful for a format that passed fbus_format_check().
 */
uint64_t fbus__format_extent(const struct fbus_format *fmt);

#endif /* FBUS_FORMAT_INTERNAL_H */
