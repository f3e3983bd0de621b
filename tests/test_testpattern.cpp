/*
 * test_testpattern.cpp - the built-in test image: bars where they belong, and
 * the frame counter strip reads back, also after YUV round trips and scaling.
 */
#include <gtest/gtest.h>

#include <vector>

#include "framebus/framebus.h"
#include "testpattern.h"

TEST(TestPattern, BarsAreWhereTheySayAndTheCounterReadsBack)
{
    const uint32_t w = 640, h = 480;
    std::vector<uint8_t> img(w * h * 3);
    for (uint64_t frame : {0ull, 1ull, 77ull, 123456ull, 0xFFFFFFFFull}) {
        app_tp_draw(img.data(), w, h, frame);
        for (unsigned i = 0; i < APP_TP_BARS; i++) {
            uint8_t want[3];
            app_tp_bar_color(i, want);
            const uint8_t *p = &img[((h / 3) * w + w * (2 * i + 1) / 16) * 3];
            EXPECT_EQ(want[0], p[0]) << "bar " << i;
            EXPECT_EQ(want[1], p[1]) << "bar " << i;
            EXPECT_EQ(want[2], p[2]) << "bar " << i;
        }
        uint32_t got = 0;
        ASSERT_EQ(0, app_tp_decode(img.data(), w, h, w * 3, &got));
        EXPECT_EQ((uint32_t)frame, got);
    }
}

TEST(TestPattern, CounterSurvivesYuvAndHalfScale)
{
    const uint32_t w = 320, h = 240;
    std::vector<uint8_t> img(w * h * 3), back(w * h * 3);
    app_tp_draw(img.data(), w, h, 4242);
    for (uint32_t fcc : {FBUS_FMT_YUYV, FBUS_FMT_NV12, FBUS_FMT_YU12, FBUS_FMT_GREY}) {
        struct fbus_format f;
        ASSERT_EQ(0, fbus_format_init(&f, fcc, w, h));
        std::vector<uint8_t> raw(f.sizeimage);
        ASSERT_EQ(0, fbus_convert_from_rgb24(&f, img.data(), raw.data()));
        ASSERT_EQ(0, fbus_convert_to_rgb24(&f, raw.data(), raw.size(), back.data()));
        uint32_t got = 0;
        ASSERT_EQ(0, app_tp_decode(back.data(), w, h, w * 3, &got));
        EXPECT_EQ(4242u, got);
    }
    /* Half scale by dropping every other pixel: the strip is still readable. */
    std::vector<uint8_t> half((w / 2) * (h / 2) * 3);
    for (uint32_t y = 0; y < h / 2; y++)
        for (uint32_t x = 0; x < w / 2; x++)
            for (int c = 0; c < 3; c++)
                half[(y * (w / 2) + x) * 3 + c] = img[((2 * y) * w + 2 * x) * 3 + c];
    uint32_t got = 0;
    ASSERT_EQ(0, app_tp_decode(half.data(), w / 2, h / 2, (w / 2) * 3, &got));
    EXPECT_EQ(4242u, got);
}

TEST(TestPattern, DecodeRefusesAnImageWithoutTheStrip)
{
    const uint32_t w = 128, h = 64;
    std::vector<uint8_t> grey(w * h * 3, 128);
    uint32_t got;
    EXPECT_EQ(-1, app_tp_decode(grey.data(), w, h, w * 3, &got));
}
