/*
 * test_format.cpp - pixel format layouts (fbus_format_init), validation of
 * caller-filled formats (fbus_format_check) and fourcc names.
 */
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "framebus/framebus.h"

namespace
{

struct Layout {
    uint32_t fourcc;
    uint32_t width, height;
    uint32_t bytesperline, sizeimage, nplanes;
    uint32_t offset[FBUS_PLANES_MAX];
    uint32_t stride[FBUS_PLANES_MAX];
};

/* Expected layouts, worked out from the definition of each format. */
const Layout kLayouts[] = {
    /* 2 bytes a pixel: 640*2 = 1280 a row, * 480 rows. */
    {FBUS_FMT_YUYV, 640, 480, 1280, 614400, 1, {0, 0, 0}, {1280, 0, 0}},
    {FBUS_FMT_UYVY, 640, 480, 1280, 614400, 1, {0, 0, 0}, {1280, 0, 0}},
    /* Odd heights are fine for 4:2:2. */
    {FBUS_FMT_YUYV, 2, 3, 4, 12, 1, {0, 0, 0}, {4, 0, 0}},
    /* Y 640*480 = 307200, then CbCr pairs 640 bytes a row * 240 rows = 153600. */
    {FBUS_FMT_NV12, 640, 480, 640, 460800, 2, {0, 307200, 0}, {640, 640, 0}},
    /* Y 307200, Cb 320*240 = 76800 at 307200, Cr 76800 at 384000. */
    {FBUS_FMT_YU12, 640, 480, 640, 460800, 3, {0, 307200, 384000}, {640, 320, 320}},
    {FBUS_FMT_YU12, 2, 2, 2, 6, 3, {0, 4, 5}, {2, 1, 1}},
    /* 3 bytes a pixel; odd sizes allowed: 641*3 = 1923, * 3 rows = 5769. */
    {FBUS_FMT_RGB24, 641, 3, 1923, 5769, 1, {0, 0, 0}, {1923, 0, 0}},
    {FBUS_FMT_BGR24, 641, 3, 1923, 5769, 1, {0, 0, 0}, {1923, 0, 0}},
    {FBUS_FMT_GREY, 3, 5, 3, 15, 1, {0, 0, 0}, {3, 0, 0}},
    {FBUS_FMT_GREY, 1, 1, 1, 1, 1, {0, 0, 0}, {1, 0, 0}},
    /* MJPEG: no rows; a 2 bytes a pixel budget, 640*480*2. */
    {FBUS_FMT_MJPEG, 640, 480, 0, 614400, 1, {0, 0, 0}, {0, 0, 0}},
    /* The largest frames: 16384^2 * 3 and * 1.5 still fit in 32 bits. */
    {FBUS_FMT_RGB24, 16384, 16384, 49152, 805306368u, 1, {0, 0, 0}, {49152, 0, 0}},
    {FBUS_FMT_NV12, 16384, 16384, 16384, 402653184u, 2, {0, 268435456u, 0}, {16384, 16384, 0}},
    {FBUS_FMT_MJPEG, 16384, 16384, 0, 536870912u, 1, {0, 0, 0}, {0, 0, 0}},
};

const uint32_t kAllFourccs[] = {FBUS_FMT_YUYV,  FBUS_FMT_UYVY,  FBUS_FMT_NV12, FBUS_FMT_YU12,
                                FBUS_FMT_RGB24, FBUS_FMT_BGR24, FBUS_FMT_GREY, FBUS_FMT_MJPEG};

std::string fourcc_name(uint32_t fourcc)
{
    char buf[5];
    return fbus_fourcc_str(fourcc, buf);
}

struct fbus_format make(uint32_t fourcc, uint32_t w, uint32_t h)
{
    struct fbus_format f;
    EXPECT_EQ(0, fbus_format_init(&f, fourcc, w, h)) << fourcc_name(fourcc) << " " << w << "x" << h;
    return f;
}

} // namespace

TEST(FormatInit, ExactLayoutOfEveryFormat)
{
    for (const Layout &e : kLayouts) {
        SCOPED_TRACE(fourcc_name(e.fourcc) + " " + std::to_string(e.width) + "x" +
                     std::to_string(e.height));
        struct fbus_format f;
        memset(&f, 0xA5, sizeof(f));
        ASSERT_EQ(0, fbus_format_init(&f, e.fourcc, e.width, e.height));
        EXPECT_EQ(e.fourcc, f.fourcc);
        EXPECT_EQ(e.width, f.width);
        EXPECT_EQ(e.height, f.height);
        EXPECT_EQ(e.bytesperline, f.bytesperline);
        EXPECT_EQ(e.sizeimage, f.sizeimage);
        EXPECT_EQ(e.nplanes, f.nplanes);
        for (int p = 0; p < FBUS_PLANES_MAX; p++) {
            EXPECT_EQ(e.offset[p], f.plane_offset[p]) << "plane " << p;
            EXPECT_EQ(e.stride[p], f.plane_stride[p]) << "plane " << p;
        }
        EXPECT_EQ(0, fbus_format_check(&f));
    }
}

TEST(FormatInit, EveryFourccAtSmallestAndLargestSizePassesCheck)
{
    for (uint32_t fourcc : kAllFourccs) {
        SCOPED_TRACE(fourcc_name(fourcc));
        struct fbus_format f = make(fourcc, 2, 2);
        EXPECT_EQ(0, fbus_format_check(&f));
        f = make(fourcc, FBUS_DIM_MAX, FBUS_DIM_MAX);
        EXPECT_EQ(0, fbus_format_check(&f));
    }
}

TEST(FormatInit, RejectsOddSizesWhereChromaIsShared)
{
    struct fbus_format f;
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_init(&f, FBUS_FMT_YUYV, 641, 480));
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_init(&f, FBUS_FMT_UYVY, 1, 1));
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_init(&f, FBUS_FMT_NV12, 641, 480));
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_init(&f, FBUS_FMT_NV12, 640, 481));
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_init(&f, FBUS_FMT_YU12, 641, 480));
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_init(&f, FBUS_FMT_YU12, 640, 481));
    /* Formats without subsampling take any size. */
    EXPECT_EQ(0, fbus_format_init(&f, FBUS_FMT_UYVY, 640, 481));
    EXPECT_EQ(0, fbus_format_init(&f, FBUS_FMT_RGB24, 1, 1));
    EXPECT_EQ(0, fbus_format_init(&f, FBUS_FMT_BGR24, 3, 7));
    EXPECT_EQ(0, fbus_format_init(&f, FBUS_FMT_GREY, 5, 3));
    EXPECT_EQ(0, fbus_format_init(&f, FBUS_FMT_MJPEG, 5, 3));
}

TEST(FormatInit, RejectsZeroAndHugeSizes)
{
    const uint32_t bad[][2] = {{0, 480},
                               {640, 0},
                               {0, 0},
                               {FBUS_DIM_MAX + 2, 480},
                               {640, FBUS_DIM_MAX + 2},
                               {0xFFFFFFFEu, 2},
                               {2, 0xFFFFFFFEu},
                               {0x80000000u, 0x80000000u}};
    for (uint32_t fourcc : kAllFourccs) {
        for (const auto &wh : bad) {
            struct fbus_format f;
            memset(&f, 0xA5, sizeof(f));
            EXPECT_EQ(FBUS_EFORMAT, fbus_format_init(&f, fourcc, wh[0], wh[1]))
                << fourcc_name(fourcc) << " " << wh[0] << "x" << wh[1];
            /* A failed init leaves no garbage that could pass for a format. */
            EXPECT_EQ(0u, f.fourcc);
            EXPECT_EQ(0u, f.sizeimage);
        }
    }
}

TEST(FormatInit, RejectsUnknownFourccAndNull)
{
    struct fbus_format f;
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_init(&f, FBUS_FOURCC('A', 'B', 'C', 'D'), 640, 480));
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_init(&f, 0, 640, 480));
    /* V4L2's multi-planar NV12M is a different fourcc from NV12. */
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_init(&f, FBUS_FOURCC('N', 'M', '1', '2'), 640, 480));
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_init(nullptr, FBUS_FMT_YUYV, 640, 480));
}

/* ---- fbus_format_check on formats a caller filled in ------------------- */

TEST(FormatCheck, AcceptsPaddedRows)
{
    /* A V4L2 driver that aligns rows to 64 bytes: 1280 -> 1344. */
    struct fbus_format f = make(FBUS_FMT_YUYV, 640, 480);
    f.bytesperline = f.plane_stride[0] = 1344;
    f.sizeimage = 1344 * 480;
    EXPECT_EQ(0, fbus_format_check(&f));
    /* The padding of the last row may be missing. */
    f.sizeimage = 1344 * 479 + 1280;
    EXPECT_EQ(0, fbus_format_check(&f));
    f.sizeimage -= 1;
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_check(&f));
}

TEST(FormatCheck, AcceptsPaddedPlanesInAnyOrder)
{
    struct fbus_format f = make(FBUS_FMT_NV12, 640, 480);
    f.bytesperline = f.plane_stride[0] = 704;
    f.plane_offset[1] = 704 * 480 + 4096; /* a gap between the planes */
    f.plane_stride[1] = 768;
    f.sizeimage = f.plane_offset[1] + 768 * 240;
    EXPECT_EQ(0, fbus_format_check(&f));

    /* CbCr first, then Y. */
    f = make(FBUS_FMT_NV12, 640, 480);
    f.plane_offset[1] = 0;
    f.plane_offset[0] = 640 * 240;
    EXPECT_EQ(0, fbus_format_check(&f));

    /* YV12-like order (Cr before Cb) is a matter of offsets only. */
    f = make(FBUS_FMT_YU12, 640, 480);
    std::swap(f.plane_offset[1], f.plane_offset[2]);
    EXPECT_EQ(0, fbus_format_check(&f));
}

TEST(FormatCheck, RejectsRowsNarrowerThanThePixels)
{
    struct fbus_format f = make(FBUS_FMT_RGB24, 641, 3);
    f.bytesperline = f.plane_stride[0] = 1922;
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_check(&f));

    f = make(FBUS_FMT_YU12, 640, 480);
    f.plane_stride[2] = 319;
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_check(&f));

    /* plane_stride[0] is bytesperline, and they must agree. */
    f = make(FBUS_FMT_GREY, 16, 16);
    f.plane_stride[0] = 17;
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_check(&f));
}

TEST(FormatCheck, RejectsOverlappingPlanes)
{
    struct fbus_format f = make(FBUS_FMT_NV12, 640, 480);
    f.plane_offset[1] -= 1; /* last byte of Y is first byte of CbCr */
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_check(&f));

    f = make(FBUS_FMT_NV12, 640, 480);
    f.plane_offset[1] = 0; /* CbCr on top of Y */
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_check(&f));

    f = make(FBUS_FMT_YU12, 640, 480);
    f.plane_offset[2] = f.plane_offset[1] + 320; /* Cr one row into Cb */
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_check(&f));

    f = make(FBUS_FMT_YU12, 640, 480);
    f.plane_offset[2] = f.plane_offset[1];
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_check(&f));
}

TEST(FormatCheck, RejectsPlanesOutsideSizeimage)
{
    struct fbus_format f = make(FBUS_FMT_NV12, 640, 480);
    f.sizeimage -= 1;
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_check(&f));

    f = make(FBUS_FMT_YU12, 640, 480);
    f.plane_offset[2] += 1;
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_check(&f));

    f = make(FBUS_FMT_YUYV, 640, 480);
    f.sizeimage = 0;
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_check(&f));
}

TEST(FormatCheck, NoIntegerWrapAround)
{
    /* In 32 bits 0x80000000 * 2 rows wraps to 0, and the frame would "fit" in 16 bytes. */
    struct fbus_format f = make(FBUS_FMT_GREY, 16, 3);
    f.bytesperline = f.plane_stride[0] = 0x80000000u;
    f.sizeimage = 16;
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_check(&f));
    f.sizeimage = 0xFFFFFFFFu;
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_check(&f));

    /* offset + plane size wraps past 2^32 back into range. */
    f = make(FBUS_FMT_NV12, 640, 480);
    f.plane_offset[1] = 0xFFFFFFFFu - 1000;
    f.sizeimage = 0xFFFFFFFFu;
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_check(&f));

    f = make(FBUS_FMT_RGB24, FBUS_DIM_MAX, FBUS_DIM_MAX);
    f.bytesperline = f.plane_stride[0] = 0xFFFFFFFFu;
    f.sizeimage = 0xFFFFFFFFu;
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_check(&f));
}

TEST(FormatCheck, RejectsWrongPlaneCountAndStrayPlanes)
{
    struct fbus_format f = make(FBUS_FMT_NV12, 640, 480);
    f.nplanes = 1;
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_check(&f));
    f.nplanes = 3;
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_check(&f));

    f = make(FBUS_FMT_YUYV, 640, 480);
    f.nplanes = 0;
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_check(&f));
    f.nplanes = 0xFFFFFFFFu;
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_check(&f));

    /* Entries past nplanes must be zero. */
    f = make(FBUS_FMT_YUYV, 640, 480);
    f.plane_stride[1] = 1280;
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_check(&f));
    f = make(FBUS_FMT_NV12, 640, 480);
    f.plane_offset[2] = 1;
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_check(&f));
}

TEST(FormatCheck, RejectsBadSizesAndFourcc)
{
    struct fbus_format f = make(FBUS_FMT_GREY, 16, 16);
    f.width = 0;
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_check(&f));
    f = make(FBUS_FMT_GREY, 16, 16);
    f.height = FBUS_DIM_MAX + 1;
    f.sizeimage = 0xFFFFFFFFu;
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_check(&f));

    f = make(FBUS_FMT_YUYV, 640, 480);
    f.width = 639; /* odd: 639*2 still fits in the rows */
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_check(&f));
    f = make(FBUS_FMT_NV12, 640, 480);
    f.height = 479;
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_check(&f));

    f = make(FBUS_FMT_GREY, 16, 16);
    f.fourcc = FBUS_FOURCC('A', 'B', 'C', 'D');
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_check(&f));
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_check(nullptr));
}

TEST(FormatCheck, Mjpeg)
{
    struct fbus_format f = make(FBUS_FMT_MJPEG, 640, 480);
    f.sizeimage = 4 * 1024 * 1024; /* a larger budget is fine */
    EXPECT_EQ(0, fbus_format_check(&f));
    f.sizeimage = 1;
    EXPECT_EQ(0, fbus_format_check(&f));
    f.sizeimage = 0;
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_check(&f));

    f = make(FBUS_FMT_MJPEG, 640, 480);
    f.bytesperline = 1280;
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_check(&f));
    f = make(FBUS_FMT_MJPEG, 640, 480);
    f.plane_stride[0] = 1280;
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_check(&f));
    f = make(FBUS_FMT_MJPEG, 640, 480);
    f.plane_offset[0] = 16;
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_check(&f));
}

/* ---- fourcc names ------------------------------------------------------ */

TEST(Fourcc, Str)
{
    char buf[5];
    EXPECT_STREQ("YUYV", fbus_fourcc_str(FBUS_FMT_YUYV, buf));
    EXPECT_EQ(buf, fbus_fourcc_str(FBUS_FMT_YUYV, buf));
    EXPECT_STREQ("RGB3", fbus_fourcc_str(FBUS_FMT_RGB24, buf));
    EXPECT_STREQ("MJPG", fbus_fourcc_str(FBUS_FMT_MJPEG, buf));
    /* Unknown but printable fourccs print as they are; the rest as '?'. */
    EXPECT_STREQ("Y10 ", fbus_fourcc_str(FBUS_FOURCC('Y', '1', '0', ' '), buf));
    EXPECT_STREQ("????", fbus_fourcc_str(0, buf));
    EXPECT_STREQ("A?B?", fbus_fourcc_str(FBUS_FOURCC('A', 0x01, 'B', 0xFF), buf));
    EXPECT_NE(nullptr, fbus_fourcc_str(FBUS_FMT_YUYV, nullptr));
}

TEST(Fourcc, ParseEveryNameInAnyCase)
{
    const struct {
        const char *name;
        uint32_t fourcc;
    } names[] = {
        {"YUYV", FBUS_FMT_YUYV},   {"UYVY", FBUS_FMT_UYVY},   {"NV12", FBUS_FMT_NV12},
        {"YU12", FBUS_FMT_YU12},   {"I420", FBUS_FMT_YU12},   {"RGB3", FBUS_FMT_RGB24},
        {"RGB24", FBUS_FMT_RGB24}, {"BGR3", FBUS_FMT_BGR24},  {"BGR24", FBUS_FMT_BGR24},
        {"GREY", FBUS_FMT_GREY},   {"GRAY", FBUS_FMT_GREY},   {"Y8", FBUS_FMT_GREY},
        {"MJPG", FBUS_FMT_MJPEG},  {"MJPEG", FBUS_FMT_MJPEG},
    };
    for (const auto &n : names) {
        std::string lower = n.name, mixed = n.name;
        for (size_t i = 0; i < lower.size(); i++) {
            lower[i] = (char)tolower((unsigned char)lower[i]);
            mixed[i] = (i % 2) ? lower[i] : mixed[i];
        }
        EXPECT_EQ(n.fourcc, fbus_fourcc_parse(n.name)) << n.name;
        EXPECT_EQ(n.fourcc, fbus_fourcc_parse(lower.c_str())) << lower;
        EXPECT_EQ(n.fourcc, fbus_fourcc_parse(mixed.c_str())) << mixed;
    }
}

TEST(Fourcc, ParseRejectsUnknown)
{
    for (const char *s : {"", "YUY", "YUYV ", " YUYV", "YUYVV", "XRGB", "NV21", "I42O", "RGB"}) {
        EXPECT_EQ(0u, fbus_fourcc_parse(s)) << "'" << s << "'";
    }
    EXPECT_EQ(0u, fbus_fourcc_parse(nullptr));
}

TEST(Fourcc, StrParseRoundTripAndKnown)
{
    for (uint32_t fourcc : kAllFourccs) {
        char buf[5];
        EXPECT_TRUE(fbus_fourcc_known(fourcc)) << fourcc_name(fourcc);
        EXPECT_EQ(fourcc, fbus_fourcc_parse(fbus_fourcc_str(fourcc, buf))) << buf;
    }
    EXPECT_FALSE(fbus_fourcc_known(0));
    EXPECT_FALSE(fbus_fourcc_known(FBUS_FOURCC('A', 'B', 'C', 'D')));
    EXPECT_FALSE(fbus_fourcc_known(FBUS_FOURCC('Y', 'V', '1', '2')));
}
