/*
 * testpattern.c - the built-in moving test image; see testpattern.h.
 */
#include "testpattern.h"

#include <string.h>

static const uint8_t bars[APP_TP_BARS][3] = {
    {255, 255, 255}, {255, 255, 0}, {0, 255, 255}, {0, 255, 0},
    {255, 0, 255},   {255, 0, 0},   {0, 0, 255},   {0, 0, 0},
};

/* 3x5 digits, one row per 3 bits, top row first. */
static const uint16_t digits[10] = {
    075557, 022222, 071747, 071717, 055711, 074717, 074757, 071111, 075757, 075717,
};

void app_tp_bar_color(unsigned i, uint8_t rgb[3])
{
    memcpy(rgb, bars[i % APP_TP_BARS], 3);
}

uint32_t app_tp_strip_rows(uint32_t h)
{
    uint32_t s = h / 16;
    return s < 2 ? 2 : s;
}

static void fill(uint8_t *rgb, uint32_t w, uint32_t x0, uint32_t y0, uint32_t x1, uint32_t y1,
                 const uint8_t c[3])
{
    for (uint32_t y = y0; y < y1; y++) {
        uint8_t *p = rgb + ((uint64_t)y * w + x0) * 3;
        for (uint32_t x = x0; x < x1; x++, p += 3)
            memcpy(p, c, 3);
    }
}

static void draw_number(uint8_t *rgb, uint32_t w, uint32_t y0, uint32_t y1, uint64_t n)
{
    static const uint8_t white[3] = {255, 255, 255};
    char text[24];
    int len = 0;
    uint32_t px = (y1 - y0) / 7; /* a digit is 5 "pixels" tall with a margin */

    do {
        text[len++] = (char)('0' + n % 10);
        n /= 10;
    } while (n && len < (int)sizeof(text));
    if (px == 0)
        return;
    for (int i = 0; i < len; i++) {
        uint16_t g = digits[text[len - 1 - i] - '0'];
        uint32_t x0 = px + (uint32_t)i * 4 * px;
        for (int row = 0; row < 5; row++)
            for (int col = 0; col < 3; col++)
                if (x0 + (col + 1) * px <= w && (g >> ((4 - row) * 3 + (2 - col))) & 1)
                    fill(rgb, w, x0 + col * px, y0 + px + row * px, x0 + (col + 1) * px,
                         y0 + px + (row + 1) * px, white);
    }
}

void app_tp_draw(uint8_t *rgb, uint32_t w, uint32_t h, uint64_t frame)
{
    static const uint8_t grey[3] = {64, 64, 64}, white[3] = {255, 255, 255}, black[3] = {0};
    uint32_t bar_end = h * 2 / 3, strip = app_tp_strip_rows(h);
    uint32_t band_end = h - strip;

    for (unsigned i = 0; i < APP_TP_BARS; i++)
        fill(rgb, w, w * i / APP_TP_BARS, 0, w * (i + 1) / APP_TP_BARS, bar_end, bars[i]);
    fill(rgb, w, 0, bar_end, w, band_end, grey);
    uint32_t box = (band_end - bar_end) / 2;
    if (box > 0 && w > box) {
        uint32_t x = (uint32_t)((frame * 4) % (w - box));
        fill(rgb, w, x, bar_end + box / 2, x + box, bar_end + box / 2 + box, white);
    }
    draw_number(rgb, w, bar_end, band_end, frame);
    for (uint32_t b = 0; b < 32; b++) {
        int bit = (int)((frame >> (31 - b)) & 1);
        fill(rgb, w, w * b / 32, band_end, w * (b + 1) / 32, h, bit ? white : black);
    }
}

int app_tp_decode(const uint8_t *rgb, uint32_t w, uint32_t h, uint32_t row_stride, uint32_t *frame)
{
    uint32_t y = h - app_tp_strip_rows(h) / 2 - 1, v = 0;

    if (w < 64 || h < 16)
        return -1;
    for (uint32_t b = 0; b < 32; b++) {
        uint32_t x = (uint32_t)(((uint64_t)w * (2 * b + 1)) / 64);
        const uint8_t *p = rgb + (uint64_t)y * row_stride + (uint64_t)x * 3;
        unsigned lum = ((unsigned)p[0] + p[1] + p[2]) / 3;
        if (lum > 160)
            v |= 1u << (31 - b);
        else if (lum > 95)
            return -1;
    }
    *frame = v;
    return 0;
}
