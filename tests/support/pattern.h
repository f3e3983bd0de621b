/*
 * pattern.h - the test frame pattern: every 64-bit word of frame `seq` is a
 * function of seq and its index, so a reader can prove a frame is whole and
 * is the one its descriptor names. C and C++; header-only.
 */
#ifndef FBUS_TEST_PATTERN_H
#define FBUS_TEST_PATTERN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t fbus_pattern_word(uint64_t seq, size_t k)
{
    return (seq * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)k * 0xD6E8FEB86659FD93ull) ^ seq;
}

static inline void fbus_pattern_fill(void *dst, size_t len, uint64_t seq)
{
    uint64_t *w = (uint64_t *)dst;
    size_t n = len / 8;

    for (size_t k = 0; k < n; k++)
        w[k] = fbus_pattern_word(seq, k);
    if (len % 8) {
        uint64_t last = fbus_pattern_word(seq, n);
        memcpy(w + n, &last, len % 8);
    }
}

/* Index of the first wrong byte, or (size_t)-1 if the frame is whole. */
static inline size_t fbus_pattern_check(const void *src, size_t len, uint64_t seq)
{
    const uint64_t *w = (const uint64_t *)src;
    size_t n = len / 8;

    for (size_t k = 0; k < n; k++) {
        if (w[k] != fbus_pattern_word(seq, k))
            return k * 8;
    }
    if (len % 8) {
        uint64_t last = fbus_pattern_word(seq, n);
        if (memcmp(w + n, &last, len % 8) != 0)
            return n * 8;
    }
    return (size_t)-1;
}

#endif
