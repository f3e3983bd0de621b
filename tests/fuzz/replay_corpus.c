/*
 * replay_corpus.c - runs fuzz inputs through the fuzz target's checks without
 * libFuzzer, so the corpus (seeds and every crash ever found) is a plain test
 * in any build: gcc, AddressSanitizer, the ARM builds under qemu.
 *
 *   replay_corpus PATH...     each PATH a file or a directory of files
 *
 * Exits 0 after printing how many inputs ran, 1 if a path cannot be read or
 * holds no input; an input that breaks an invariant aborts (fuzz_harness.c).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_harness.h"

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0, n;

    if (!f) {
        fprintf(stderr, "replay_corpus: %s: %s\n", path, strerror(errno));
        return -1;
    }
    do {
        if (len == cap) {
            uint8_t *p = realloc(buf, cap = cap ? cap * 2 : 8192);
            if (!p) {
                fprintf(stderr, "replay_corpus: out of memory\n");
                exit(1);
            }
            buf = p;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
    } while (n > 0);
    fclose(f);
    fbus_fuzz_one(buf, len);
    free(buf);
    return 0;
}

/* Files of a directory in name order (a failure names the same input on every run). */
static int run_dir(const char *dir, int *count)
{
    struct dirent **list;
    int n = scandir(dir, &list, NULL, alphasort), rc = 0;

    if (n < 0) {
        fprintf(stderr, "replay_corpus: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    for (int i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name);
        if (list[i]->d_name[0] != '.' && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            if (run_file(path) != 0)
                rc = -1;
            else
                ++*count;
        }
        free(list[i]);
    }
    free(list);
    return rc;
}

int main(int argc, char **argv)
{
    int count = 0, rc = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: replay_corpus FILE|DIR...\n");
        return 2;
    }
    if (fbus_fuzz_setup() != 0)
        return 1;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay_corpus: %s: %s\n", argv[i], strerror(errno));
            rc = -1;
        } else if (S_ISDIR(st.st_mode)) {
            rc |= run_dir(argv[i], &count);
        } else if (run_file(argv[i]) == 0) {
            count++;
        } else {
            rc = -1;
        }
    }
    printf("replay_corpus: %d inputs, every invariant held\n", count);
    fbus_fuzz_report(stdout);
    if (count == 0)
        fprintf(stderr, "replay_corpus: no inputs found\n");
    return rc != 0 || count == 0 ? 1 : 0;
}
