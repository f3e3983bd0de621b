/*
 * fuzz_header.c - the libFuzzer target: arbitrary header and descriptor bytes
 * through a reader's validation and acquire path on a real segment. The work
 * and the input format are in fuzz_harness.h; scripts/fuzz builds and runs it.
 */
#include <stdlib.h>

#include "fuzz_harness.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (fbus_fuzz_setup() != 0)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    return fbus_fuzz_one(data, len);
}
