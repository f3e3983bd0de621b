/*
 * testpattern.h - the built-in moving test image (fbus-capture --source test):
 * colour bars, a frame counter in digits, a moving box, and the counter again
 * as a binary strip a program can read back from a screenshot or a PNG.
 *
 *   rows [0, 2h/3)          8 bars: white yellow cyan green magenta red blue black
 *   rows [2h/3, h - strip)  dark grey band: frame number in digits, a box moving right
 *   last `strip` rows       32 cells, most significant bit left: white 1, black 0
 */
#ifndef APP_TESTPATTERN_H
#define APP_TESTPATTERN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define APP_TP_BARS 8

/* Colour of bar i (0..7) as RGB. */
void app_tp_bar_color(unsigned i, uint8_t rgb[3]);
/* Draws frame `frame` into rgb (w*h*3 bytes, packed). w, h >= 16. */
void app_tp_draw(uint8_t *rgb, uint32_t w, uint32_t h, uint64_t frame);
/*
 * Reads the binary strip of an RGB image drawn by app_tp_draw (possibly
 * scaled: any image whose bottom rows hold the strip). row_stride in bytes.
 * Returns 0 and the low 32 bits of the frame number, or -1 if the strip is
 * not there (a cell neither near black nor near white).
 */
int app_tp_decode(const uint8_t *rgb, uint32_t w, uint32_t h, uint32_t row_stride, uint32_t *frame);
/* Height of the binary strip for an image of height h. */
uint32_t app_tp_strip_rows(uint32_t h);

#ifdef __cplusplus
}
#endif

#endif
