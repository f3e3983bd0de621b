/*
 * fuzz_harness.h - runs one fuzz input through a reader's whole path on a real
 * System V segment: validation, fbus_reader_open, fbus_reader_acquire (latest
 * and lossless), touching and converting every frame handed out, release,
 * close, and fbus_info_shmid. Shared by the libFuzzer target (fuzz_header.c)
 * and the plain corpus replay (replay_corpus.c), so both run the same checks.
 *
 * An input is an image of a segment:
 *
 *   [ size: 4 bytes, little-endian | the segment's first bytes ... ]
 *
 * The segment's real size (what IPC_STAT reports) is `size` (0 counts as 1,
 * anything above FBUS_FUZZ_SEG_MAX as FBUS_FUZZ_SEG_MAX); the bytes after the
 * size word are copied to offset 0 (the header, its descriptors, and slot
 * bytes if the input is that long); the rest of the segment holds a fixed,
 * position-dependent pattern, so a frame handed out at a wrong offset shows.
 * The bus in the segment must be called FBUS_FUZZ_NAME; it lives under a key
 * of this process's own (not the name's), which the reader is given.
 *
 * A violated invariant prints what went wrong and calls abort(): libFuzzer
 * keeps the input as a crash, the replay test fails.
 */
#ifndef FBUS_FUZZ_HARNESS_H
#define FBUS_FUZZ_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FBUS_FUZZ_NAME    "fuzz"
#define FBUS_FUZZ_SEG_MAX (1u << 20)

/*
 * Reserves a key, makes the semaphore set and starts the janitor process that
 * removes both if this process dies without cleaning up. Returns 0, or -1
 * after printing why to stderr.
 */
int fbus_fuzz_setup(void);
/* Runs one input (see above). Returns 0; aborts on a violated invariant. */
int fbus_fuzz_one(const uint8_t *data, size_t len);
/* Prints what the inputs so far reached: validated, opened, frames checked. */
void fbus_fuzz_report(FILE *out);
/* Removes the segment and the semaphore set. Also registered with atexit(). */
void fbus_fuzz_teardown(void);

#endif /* FBUS_FUZZ_HARNESS_H */
