/*
 * segment.h - the writer's side of a bus's IPC objects: the semaphore set and
 * the data segment, created, re-attached or superseded.
 */
#ifndef FBUS_SEGMENT_H
#define FBUS_SEGMENT_H

#include "internal.h"

struct fbus__semset {
    int semid;
    int created; /* this call made the set (so a failed open removes it) */
};

/* A segment as the writer holds it (attached read-write). */
struct fbus__wseg {
    int shmid;
    int semid; /* the slot set its header names */
    uint8_t *base;
    struct fbus_shm_header *hdr;
    uint64_t size;
    unsigned slots;
    uint64_t capacity;
    uint64_t slot0;
    struct fbus_format format;
};

/* The role set under key: made, or an existing one this user made. FBUS_EAGAIN: retry. */
int fbus__role_open(uint32_t key, unsigned mode, struct fbus__semset *set);
int fbus__wseg_open(struct fbus__wseg *s, const char *name, uint32_t key, unsigned mode,
                    const struct fbus_format *fmt, unsigned slots, uint32_t slot_size);
int fbus__wseg_supersede(struct fbus__wseg *s, const char *name, uint32_t key, unsigned mode,
                         const struct fbus_format *fmt, unsigned slots, uint32_t slot_size);
int fbus__wseg_rotate(struct fbus__wseg *s, const char *name, uint32_t key, unsigned mode,
                      uint32_t slot_size);
void fbus__wseg_mark(struct fbus__wseg *s, uint32_t flag);

#endif /* FBUS_SEGMENT_H */
