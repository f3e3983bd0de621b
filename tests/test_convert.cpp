/*
 * test_convert.cpp - frame conversion to and from RGB24 for every raw format.
 *
 * Expected pixels are worked out by hand from the BT.601 limited-range
 * integer formulas of convert.c (spelled out in the comments), so a change
 * of coefficient or rounding shows up here, not only a broken layout.
 */
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "framebus/framebus.h"

namespace
{

using Bytes = std::vector<uint8_t>;

/*
 * RGB -> YUV -> RGB may move a channel by this much. 8-bit limited range
 * has 219 luma and 224 chroma steps for 256 RGB levels, so each carries up
 * to half a step of error (0.58 RGB levels from Y, up to 1.0 from Cb into
 * B), and both directions round. Measured over all 2^24 colours the worst
 * case is 3 (1216 colours), which RoundTripEveryColour below checks.
 */
constexpr int kYuvRoundTripTolerance = 3;

const uint32_t kYuvFourccs[] = {FBUS_FMT_YUYV, FBUS_FMT_UYVY, FBUS_FMT_NV12, FBUS_FMT_YU12};
const uint32_t kRawFourccs[] = {FBUS_FMT_YUYV,  FBUS_FMT_UYVY,  FBUS_FMT_NV12, FBUS_FMT_YU12,
                                FBUS_FMT_RGB24, FBUS_FMT_BGR24, FBUS_FMT_GREY};

std::string name(uint32_t fourcc)
{
    char buf[5];
    return fbus_fourcc_str(fourcc, buf);
}

struct fbus_format tight(uint32_t fourcc, uint32_t w, uint32_t h)
{
    struct fbus_format f;
    EXPECT_EQ(0, fbus_format_init(&f, fourcc, w, h));
    return f;
}

/*
 * The same format with every row 5 bytes wider than it needs, and 3 spare
 * bytes before each plane after the first, as a driver with alignment
 * rules might hand out.
 */
struct fbus_format padded(uint32_t fourcc, uint32_t w, uint32_t h)
{
    struct fbus_format f = tight(fourcc, w, h);
    uint32_t offset = 0;
    for (uint32_t p = 0; p < f.nplanes; p++) {
        uint32_t rows = (p == 0 || fourcc == FBUS_FMT_YUYV || fourcc == FBUS_FMT_UYVY) ? h : h / 2;
        f.plane_offset[p] = offset + (p ? 3 : 0);
        f.plane_stride[p] += 5;
        offset = f.plane_offset[p] + f.plane_stride[p] * rows;
    }
    f.bytesperline = f.plane_stride[0];
    f.sizeimage = offset;
    EXPECT_EQ(0, fbus_format_check(&f));
    return f;
}

/*
 * Writes a YUV image into the layout of f: y is w*h luma samples, u and v
 * hold one sample per 2x2 block ((w/2)*(h/2) each). 4:2:2 formats give both
 * rows of a block its chroma. Bytes outside the samples are left alone.
 */
void pack_yuv(const struct fbus_format &f, const uint8_t *y, const uint8_t *u, const uint8_t *v,
              Bytes &buf)
{
    const uint32_t w = f.width, h = f.height, cw = w / 2;
    for (uint32_t r = 0; r < h; r++) {
        for (uint32_t x = 0; x < w; x++) {
            uint32_t c = (r / 2) * cw + x / 2;
            uint8_t *row = &buf[f.plane_offset[0] + (size_t)r * f.plane_stride[0]];
            switch (f.fourcc) {
            case FBUS_FMT_YUYV: /* Y0 Cb Y1 Cr */
                row[2 * x] = y[r * w + x];
                row[4 * (x / 2) + 1] = u[c];
                row[4 * (x / 2) + 3] = v[c];
                break;
            case FBUS_FMT_UYVY: /* Cb Y0 Cr Y1 */
                row[2 * x + 1] = y[r * w + x];
                row[4 * (x / 2)] = u[c];
                row[4 * (x / 2) + 2] = v[c];
                break;
            case FBUS_FMT_NV12: /* Y plane, then CbCr pairs */
                row[x] = y[r * w + x];
                buf[f.plane_offset[1] + (r / 2) * f.plane_stride[1] + 2 * (x / 2)] = u[c];
                buf[f.plane_offset[1] + (r / 2) * f.plane_stride[1] + 2 * (x / 2) + 1] = v[c];
                break;
            case FBUS_FMT_YU12: /* Y plane, Cb plane, Cr plane */
                row[x] = y[r * w + x];
                buf[f.plane_offset[1] + (r / 2) * f.plane_stride[1] + x / 2] = u[c];
                buf[f.plane_offset[2] + (r / 2) * f.plane_stride[2] + x / 2] = v[c];
                break;
            }
        }
    }
}

/* The inverse of pack_yuv() for the chroma: sample of block (bx, by), from row 2*by. */
void unpack_yuv(const struct fbus_format &f, const Bytes &buf, Bytes *y, Bytes *u, Bytes *v)
{
    const uint32_t w = f.width, h = f.height, cw = w / 2;
    y->assign((size_t)w * h, 0);
    u->assign((size_t)cw * (h / 2), 0);
    v->assign((size_t)cw * (h / 2), 0);
    for (uint32_t r = 0; r < h; r++) {
        const uint8_t *row = &buf[f.plane_offset[0] + (size_t)r * f.plane_stride[0]];
        for (uint32_t x = 0; x < w; x++) {
            uint32_t c = (r / 2) * cw + x / 2;
            bool chroma_row = r % 2 == 0;
            switch (f.fourcc) {
            case FBUS_FMT_YUYV:
                (*y)[r * w + x] = row[2 * x];
                if (chroma_row) {
                    (*u)[c] = row[4 * (x / 2) + 1], (*v)[c] = row[4 * (x / 2) + 3];
                }
                break;
            case FBUS_FMT_UYVY:
                (*y)[r * w + x] = row[2 * x + 1];
                if (chroma_row) {
                    (*u)[c] = row[4 * (x / 2)], (*v)[c] = row[4 * (x / 2) + 2];
                }
                break;
            case FBUS_FMT_NV12:
                (*y)[r * w + x] = row[x];
                (*u)[c] = buf[f.plane_offset[1] + (r / 2) * f.plane_stride[1] + 2 * (x / 2)];
                (*v)[c] = buf[f.plane_offset[1] + (r / 2) * f.plane_stride[1] + 2 * (x / 2) + 1];
                break;
            case FBUS_FMT_YU12:
                (*y)[r * w + x] = row[x];
                (*u)[c] = buf[f.plane_offset[1] + (r / 2) * f.plane_stride[1] + x / 2];
                (*v)[c] = buf[f.plane_offset[2] + (r / 2) * f.plane_stride[2] + x / 2];
                break;
            }
        }
    }
}

/* Bytes the converter may touch: sizeimage, with the pad bytes set to 0xAA. */
Bytes frame_buffer(const struct fbus_format &f)
{
    return Bytes(f.sizeimage, 0xAA);
}

Bytes to_rgb(const struct fbus_format &f, const Bytes &src)
{
    Bytes rgb((size_t)f.width * f.height * 3, 0x55);
    EXPECT_EQ(0, fbus_convert_to_rgb24(&f, src.data(), src.size(), rgb.data())) << name(f.fourcc);
    return rgb;
}

Bytes from_rgb(const struct fbus_format &f, const Bytes &rgb)
{
    Bytes dst = frame_buffer(f);
    EXPECT_EQ(0, fbus_convert_from_rgb24(&f, rgb.data(), dst.data())) << name(f.fourcc);
    return dst;
}

/*
 * The 4x4 YUV reference image. Each 2x2 block shares one Cb/Cr pair (so the
 * same samples are valid 4:2:2 and 4:2:0), with C = Y-16, D = Cb-128,
 * E = Cr-128 and
 *   R = clip((298C + 409E + 128) >> 8)
 *   G = clip((298C - 100D - 208E + 128) >> 8)
 *   B = clip((298C + 516D + 128) >> 8)
 */
const uint8_t kRefY[16] = {
    16,  126, 81,  235, /* block A grey axis | block B red chroma */
    235, 255, 81,  81,  /*                                       */
    41,  41,  145, 145, /* block C blue chroma | block D green chroma */
    41,  41,  145, 145,
};
/* Blocks A, B, C, D. */
const uint8_t kRefU[4] = {128, 90, 240, 54};
const uint8_t kRefV[4] = {128, 240, 110, 34};
const uint8_t kRefRgb[16 * 3] = {
    /* Y16 A: C=0, D=E=0: every term 128>>8 = 0. */
    0,
    0,
    0,
    /* Y126 A: C=110: (32780+128)>>8 = 128. */
    128,
    128,
    128,
    /* Y81 B: C=65 D=-38 E=112: R (19370+45808+128)>>8 = 255; G (19370+3800-23296+128)>>8
     * = 2>>8 = 0; B 19370-19608+128 = -110 -> 0. */
    255,
    0,
    0,
    /* Y235 B: C=219: R (65262+45808+128)>>8 = 434 -> 255; G (65262+3800-23296+128)>>8 =
     * 45894>>8 = 179; B (65262-19608+128)>>8 = 45782>>8 = 178. */
    255,
    179,
    178,
    /* Y235 A: (65262+128)>>8 = 255. Y255 A: C=239: 71350>>8 = 278 -> 255. */
    255,
    255,
    255,
    255,
    255,
    255,
    /* Y81 B twice, as above. */
    255,
    0,
    0,
    255,
    0,
    0,
    /* Y41 C: C=25 D=112 E=-18: R (7450-7362+128)>>8 = 0; G (7450-11200+3744+128)>>8 =
     * 122>>8 = 0; B (7450+57792+128)>>8 = 65370>>8 = 255. */
    0,
    0,
    255,
    0,
    0,
    255,
    /* Y145 D: C=129 D=-74 E=-94: R (38442-38446+128)>>8 = 0; G (38442+7400+19552+128)>>8
     * = 65522>>8 = 255; B (38442-38184+128)>>8 = 386>>8 = 1. */
    0,
    255,
    1,
    0,
    255,
    1,
    /* Row 3 repeats row 2. */
    0,
    0,
    255,
    0,
    0,
    255,
    0,
    255,
    1,
    0,
    255,
    1,
};

/*
 * Clipping at the extremes of the 8-bit range, 4x2: both rows
 * Y 255, 0 with Cb=Cr=255 | Y 255, 0 with Cb=Cr=0.
 */
const uint8_t kClipY[8] = {255, 0, 255, 0, 255, 0, 255, 0};
const uint8_t kClipU[2] = {255, 0};
const uint8_t kClipV[2] = {255, 0};
const uint8_t kClipRow[4 * 3] = {
    /* Y255 D=E=127: R (71222+51943+128)>>8 = 481 -> 255; G (71222-12700-26416+128)>>8 =
     * 32234>>8 = 125; B (71222+65532+128)>>8 = 534 -> 255. */
    255,
    125,
    255,
    /* Y0 D=E=127: C=-16: R (-4768+51943+128)>>8 = 184; G (-4768-12700-26416+128) < 0 -> 0;
     * B (-4768+65532+128)>>8 = 60892>>8 = 237. */
    184,
    0,
    237,
    /* Y255 D=E=-128: R (71222-52352+128)>>8 = 74; G (71222+12800+26624+128)>>8 = 432 -> 255;
     * B (71222-66048+128)>>8 = 5302>>8 = 20. */
    74,
    255,
    20,
    /* Y0 D=E=-128: R < 0 -> 0; G (-4768+12800+26624+128)>>8 = 34784>>8 = 135; B < 0 -> 0. */
    0,
    135,
    0,
};

class YuvConvert : public ::testing::TestWithParam<uint32_t>
{
};

std::string param_name(const ::testing::TestParamInfo<uint32_t> &info)
{
    return name(info.param);
}

} // namespace

TEST_P(YuvConvert, ReferenceImageToRgb)
{
    for (bool pad : {false, true}) {
        SCOPED_TRACE(pad ? "padded" : "tight");
        struct fbus_format f = pad ? padded(GetParam(), 4, 4) : tight(GetParam(), 4, 4);
        Bytes src = frame_buffer(f);
        pack_yuv(f, kRefY, kRefU, kRefV, src);
        EXPECT_EQ(Bytes(kRefRgb, kRefRgb + sizeof(kRefRgb)), to_rgb(f, src));
    }
}

TEST_P(YuvConvert, ClipsAtTheExtremes)
{
    struct fbus_format f = tight(GetParam(), 4, 2);
    Bytes src = frame_buffer(f);
    pack_yuv(f, kClipY, kClipU, kClipV, src);
    Bytes want;
    for (int row = 0; row < 2; row++) {
        for (uint8_t b : kClipRow) {
            want.push_back(b);
        }
    }
    EXPECT_EQ(want, to_rgb(f, src));
}

/*
 * RGB -> YUV of pure colours, with
 *   Y  = ((66R + 129G + 25B + 128) >> 8) + 16
 *   Cb = ((-38R - 74G + 112B + 128) >> 8) + 128
 *   Cr = ((112R - 94G - 18B + 128) >> 8) + 128
 * white (235,128,128), black (16,128,128), red: Y (16830+128)>>8 = 66 -> 82,
 * Cb -9690 -> 90, Cr 28560 -> 240; blue: Y 41, Cb 240, Cr -4590 -> 110;
 * green: Y (32895+128)>>8 = 128 -> 144, Cb -18870 -> 54, Cr -23970 -> 34.
 * Chroma is that of the rounded mean RGB of the pixels sharing it.
 */
TEST_P(YuvConvert, KnownColoursFromRgb)
{
    /* 4x2: red blue green green / white black green green. */
    const uint8_t rgb[] = {255, 0,   0,   0, 0, 255, 0, 255, 0, 0, 255, 0,
                           255, 255, 255, 0, 0, 0,   0, 255, 0, 0, 255, 0};
    struct fbus_format f = tight(GetParam(), 4, 2);
    Bytes y, u, v;
    unpack_yuv(f, from_rgb(f, Bytes(rgb, rgb + sizeof(rgb))), &y, &u, &v);

    EXPECT_EQ(Bytes({82, 41, 144, 144, 235, 16, 144, 144}), y);
    if (GetParam() == FBUS_FMT_YUYV || GetParam() == FBUS_FMT_UYVY) {
        /* unpack_yuv() reads the chroma of row 0: red+blue -> mean (128, 0, 128):
         * Cb (-4864+14336+128)>>8 = 37 -> 165, Cr (14336-2304+128)>>8 = 47 -> 175. */
        EXPECT_EQ(Bytes({165, 54}), u);
        EXPECT_EQ(Bytes({175, 34}), v);
        /* Row 1: white+black -> mean (128, 128, 128): Cb = Cr = 128. */
        Bytes both = from_rgb(f, Bytes(rgb, rgb + sizeof(rgb)));
        const uint8_t *row1 = &both[f.bytesperline];
        uint8_t cb = GetParam() == FBUS_FMT_YUYV ? row1[1] : row1[0];
        uint8_t cr = GetParam() == FBUS_FMT_YUYV ? row1[3] : row1[2];
        EXPECT_EQ(128, cb);
        EXPECT_EQ(128, cr);
    } else {
        /* Block red, blue / white, black -> mean ((510+2)>>2, (255+2)>>2, (510+2)>>2) =
         * (128, 64, 128): Cb (-4864-4736+14336+128)>>8 = 19 -> 147,
         * Cr (14336-6016-2304+128)>>8 = 24 -> 152. */
        EXPECT_EQ(Bytes({147, 54}), u);
        EXPECT_EQ(Bytes({152, 34}), v);
    }
}

TEST_P(YuvConvert, FromRgbHonoursPaddingAndLeavesItAlone)
{
    struct fbus_format t = tight(GetParam(), 4, 4), p = padded(GetParam(), 4, 4);
    Bytes rgb(kRefRgb, kRefRgb + sizeof(kRefRgb));
    Bytes yt, ut, vt, yp, up, vp;
    Bytes dst = from_rgb(p, rgb);
    unpack_yuv(t, from_rgb(t, rgb), &yt, &ut, &vt);
    unpack_yuv(p, dst, &yp, &up, &vp);
    EXPECT_EQ(yt, yp);
    EXPECT_EQ(ut, up);
    EXPECT_EQ(vt, vp);

    /* Every byte that is not a sample keeps its 0xAA: find them by packing zeros. */
    Bytes zero(16, 0), probe(p.sizeimage, 0xAA);
    pack_yuv(p, zero.data(), zero.data(), zero.data(), probe);
    for (size_t i = 0; i < dst.size(); i++) {
        if (probe[i] == 0xAA) {
            EXPECT_EQ(0xAA, dst[i]) << "padding byte " << i << " written";
        }
    }
}

TEST_P(YuvConvert, RoundTripWithinTolerance)
{
    /* Uniform 2x2 blocks of random colours: subsampling loses nothing, only rounding. */
    const uint32_t w = 64, h = 32;
    std::mt19937 rng(1234);
    Bytes rgb((size_t)w * h * 3);
    for (uint32_t by = 0; by < h; by += 2) {
        for (uint32_t bx = 0; bx < w; bx += 2) {
            uint8_t c[3] = {(uint8_t)rng(), (uint8_t)rng(), (uint8_t)rng()};
            for (uint32_t k = 0; k < 4; k++) {
                memcpy(&rgb[((by + k / 2) * w + bx + k % 2) * 3], c, 3);
            }
        }
    }
    for (bool pad : {false, true}) {
        struct fbus_format f = pad ? padded(GetParam(), w, h) : tight(GetParam(), w, h);
        Bytes back = to_rgb(f, from_rgb(f, rgb));
        for (size_t i = 0; i < rgb.size(); i++) {
            ASSERT_LE(std::abs(back[i] - rgb[i]), kYuvRoundTripTolerance)
                << "byte " << i << (pad ? " padded" : " tight");
        }
    }
}

TEST_P(YuvConvert, FullHdFrame)
{
    /* Exact-size buffers: a sanitizer build catches any access past a plane. */
    struct fbus_format f = tight(GetParam(), 1920, 1080);
    Bytes rgb((size_t)1920 * 1080 * 3);
    for (size_t i = 0; i < rgb.size(); i++) {
        rgb[i] = (uint8_t)((i / 3 / 1920 + (i / 3) % 1920 / 8) & 0xFF); /* smooth gradient */
    }
    Bytes frame = from_rgb(f, rgb);
    Bytes back = to_rgb(f, frame);
    ASSERT_EQ(rgb.size(), back.size());
    EXPECT_EQ(FBUS_ESIZE, fbus_convert_to_rgb24(&f, frame.data(), frame.size() - 1, back.data()));
}

INSTANTIATE_TEST_SUITE_P(AllYuv, YuvConvert, ::testing::ValuesIn(kYuvFourccs), param_name);

/* Every colour through YUYV (2x1 pairs of one colour: no subsampling loss). */
TEST(Convert, RoundTripEveryColour)
{
    const uint32_t w = 16384, h = 16; /* 2^17 pairs: 128 frames cover 2^24 colours */
    struct fbus_format f = tight(FBUS_FMT_YUYV, w, h);
    Bytes rgb((size_t)w * h * 3), frame(f.sizeimage), back(rgb.size());
    int worst = 0;
    for (uint32_t base = 0; base < (1u << 24); base += w * h / 2) {
        for (uint32_t i = 0; i < w * h / 2; i++) {
            uint32_t c = base + i;
            uint8_t px[6] = {(uint8_t)(c >> 16), (uint8_t)(c >> 8), (uint8_t)c,
                             (uint8_t)(c >> 16), (uint8_t)(c >> 8), (uint8_t)c};
            memcpy(&rgb[(size_t)i * 6], px, 6);
        }
        ASSERT_EQ(0, fbus_convert_from_rgb24(&f, rgb.data(), frame.data()));
        ASSERT_EQ(0, fbus_convert_to_rgb24(&f, frame.data(), frame.size(), back.data()));
        for (size_t i = 0; i < rgb.size(); i++) {
            worst = std::max(worst, std::abs(back[i] - rgb[i]));
        }
    }
    EXPECT_LE(worst, kYuvRoundTripTolerance);
}

/* ---- RGB24, BGR24, GREY: exact --------------------------------------------- */

TEST(Convert, Rgb24IsACopyBothWays)
{
    const Bytes rgb = {1, 2, 3, 4, 5, 6, 7, 8, 9, 250, 251, 252, 0, 128, 255};
    struct fbus_format f = tight(FBUS_FMT_RGB24, 5, 1);
    EXPECT_EQ(rgb, to_rgb(f, rgb));
    EXPECT_EQ(rgb, from_rgb(f, rgb));
}

TEST(Convert, Bgr24SwapsRedAndBlue)
{
    const Bytes bgr = {0, 0, 255, /* red */ 0, 255, 0, /* green */ 255,
                       0, 0, /* blue */
                       1, 2, 3,   4,           5,   6, 7,
                       8, 9};
    const Bytes rgb = {255, 0, 0, 0, 255, 0, 0, 0, 255, 3, 2, 1, 6, 5, 4, 9, 8, 7};
    struct fbus_format f = tight(FBUS_FMT_BGR24, 3, 2);
    EXPECT_EQ(rgb, to_rgb(f, bgr));
    EXPECT_EQ(bgr, from_rgb(f, rgb));
}

TEST(Convert, GreyIsFullRange)
{
    struct fbus_format f = tight(FBUS_FMT_GREY, 3, 2);
    const Bytes grey = {0, 128, 255, 16, 235, 1};
    EXPECT_EQ(Bytes({0, 0, 0, 128, 128, 128, 255, 255, 255, 16, 16, 16, 235, 235, 235, 1, 1, 1}),
              to_rgb(f, grey));
    /* Grey pixels keep their level: (77+150+29)g = 256g. */
    EXPECT_EQ(grey, from_rgb(f, to_rgb(f, grey)));
    /* red (77*255+128)>>8 = 77, green (150*255+128)>>8 = 149, blue (29*255+128)>>8 = 29. */
    const Bytes colours = {255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 10, 20, 30};
    /* (770+3000+870+128)>>8 = 4768>>8 = 18. */
    EXPECT_EQ(Bytes({77, 149, 29, 255, 0, 18}), from_rgb(f, colours));
}

TEST(Convert, PackedRgbAndGreyHonourPadding)
{
    const Bytes rgb = {10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120};
    for (uint32_t fourcc : {FBUS_FMT_RGB24, FBUS_FMT_BGR24, FBUS_FMT_GREY}) {
        SCOPED_TRACE(name(fourcc));
        struct fbus_format t = tight(fourcc, 2, 2), p = padded(fourcc, 2, 2);
        Bytes dt = from_rgb(t, rgb), dp = from_rgb(p, rgb);
        uint32_t row = t.bytesperline;
        for (uint32_t r = 0; r < 2; r++) {
            EXPECT_TRUE(std::equal(&dt[r * row], &dt[r * row] + row, &dp[r * p.bytesperline]));
            for (uint32_t i = row; i < p.bytesperline && r * p.bytesperline + i < dp.size(); i++) {
                EXPECT_EQ(0xAA, dp[r * p.bytesperline + i]) << "padding written";
            }
        }
        EXPECT_EQ(to_rgb(t, dt), to_rgb(p, dp));
    }
}

/* ---- Errors -------------------------------------------------------------- */

TEST(Convert, TooFewBytesUsed)
{
    for (uint32_t fourcc : kRawFourccs) {
        SCOPED_TRACE(name(fourcc));
        struct fbus_format f = tight(fourcc, 4, 2);
        Bytes src(f.sizeimage, 128), rgb(4 * 2 * 3);
        EXPECT_EQ(0, fbus_convert_to_rgb24(&f, src.data(), f.sizeimage, rgb.data()));
        EXPECT_EQ(FBUS_ESIZE, fbus_convert_to_rgb24(&f, src.data(), f.sizeimage - 1, rgb.data()));
        EXPECT_EQ(FBUS_ESIZE, fbus_convert_to_rgb24(&f, src.data(), 0, rgb.data()));
    }
    /* The padding after the last row need not be there: 12 + 8 bytes of 24. */
    struct fbus_format f = tight(FBUS_FMT_YUYV, 4, 2);
    f.bytesperline = f.plane_stride[0] = 12;
    f.sizeimage = 24;
    ASSERT_EQ(0, fbus_format_check(&f));
    Bytes src(24, 128), rgb(4 * 2 * 3);
    EXPECT_EQ(0, fbus_convert_to_rgb24(&f, src.data(), 20, rgb.data()));
    EXPECT_EQ(FBUS_ESIZE, fbus_convert_to_rgb24(&f, src.data(), 19, rgb.data()));
}

TEST(Convert, MjpegAndInvalidFormatsAreRefused)
{
    struct fbus_format f = tight(FBUS_FMT_MJPEG, 4, 2);
    Bytes src(f.sizeimage, 0), rgb(4 * 2 * 3, 0);
    EXPECT_EQ(FBUS_EFORMAT, fbus_convert_to_rgb24(&f, src.data(), src.size(), rgb.data()));
    EXPECT_EQ(FBUS_EFORMAT, fbus_convert_from_rgb24(&f, rgb.data(), src.data()));

    /* A format that fbus_format_check() refuses is never walked. */
    f = tight(FBUS_FMT_YUYV, 4, 2);
    f.width = 3;
    EXPECT_EQ(FBUS_EFORMAT, fbus_convert_to_rgb24(&f, src.data(), src.size(), rgb.data()));
    EXPECT_EQ(FBUS_EFORMAT, fbus_convert_from_rgb24(&f, rgb.data(), src.data()));
    f = tight(FBUS_FMT_NV12, 4, 2);
    f.plane_offset[1] = 1000;
    EXPECT_EQ(FBUS_EFORMAT, fbus_convert_to_rgb24(&f, src.data(), src.size(), rgb.data()));
    struct fbus_format zero;
    memset(&zero, 0, sizeof(zero));
    EXPECT_EQ(FBUS_EFORMAT, fbus_convert_to_rgb24(&zero, src.data(), src.size(), rgb.data()));
}

TEST(Convert, NullPointers)
{
    struct fbus_format f = tight(FBUS_FMT_GREY, 4, 2);
    Bytes src(f.sizeimage, 0), rgb(4 * 2 * 3, 0);
    EXPECT_EQ(-EINVAL, fbus_convert_to_rgb24(nullptr, src.data(), src.size(), rgb.data()));
    EXPECT_EQ(-EINVAL, fbus_convert_to_rgb24(&f, nullptr, src.size(), rgb.data()));
    EXPECT_EQ(-EINVAL, fbus_convert_to_rgb24(&f, src.data(), src.size(), nullptr));
    EXPECT_EQ(-EINVAL, fbus_convert_from_rgb24(nullptr, rgb.data(), src.data()));
    EXPECT_EQ(-EINVAL, fbus_convert_from_rgb24(&f, nullptr, src.data()));
    EXPECT_EQ(-EINVAL, fbus_convert_from_rgb24(&f, rgb.data(), nullptr));
}

/* A packed format may start past the slot's first byte (plane_offset[0]): both directions honour it. */
TEST(Convert, PackedFormatsHonourPlaneOffset)
{
    for (uint32_t fourcc : {FBUS_FMT_YUYV, FBUS_FMT_UYVY, FBUS_FMT_RGB24, FBUS_FMT_BGR24,
                            FBUS_FMT_GREY}) {
        char fcc[5];
        SCOPED_TRACE(fbus_fourcc_str(fourcc, fcc));
        struct fbus_format t = tight(fourcc, 4, 2), o = t;
        o.plane_offset[0] = 64;
        o.sizeimage = t.sizeimage + 64;
        ASSERT_EQ(0, fbus_format_check(&o));
        std::vector<uint8_t> rgb(4 * 2 * 3);
        for (size_t i = 0; i < rgb.size(); i++)
            rgb[i] = (uint8_t)(40 + i * 7);
        std::vector<uint8_t> a(t.sizeimage), b(o.sizeimage, 0xAB);
        ASSERT_EQ(0, fbus_convert_from_rgb24(&t, rgb.data(), a.data()));
        ASSERT_EQ(0, fbus_convert_from_rgb24(&o, rgb.data(), b.data()));
        EXPECT_EQ(std::vector<uint8_t>(64, 0xAB), std::vector<uint8_t>(b.begin(), b.begin() + 64))
            << "bytes before the offset untouched";
        EXPECT_EQ(a, std::vector<uint8_t>(b.begin() + 64, b.end()));
        std::vector<uint8_t> ra(rgb.size()), rb(rgb.size());
        ASSERT_EQ(0, fbus_convert_to_rgb24(&t, a.data(), a.size(), ra.data()));
        ASSERT_EQ(0, fbus_convert_to_rgb24(&o, b.data(), b.size(), rb.data()));
        EXPECT_EQ(ra, rb);
    }
}
