/*
 * writer_internal.h - the writer handle, shared by writer.c (slots, publish)
 * and writer_lossless.c (credits of lossless readers).
 */
#ifndef FBUS_WRITER_INTERNAL_H
#define FBUS_WRITER_INTERNAL_H

#include "segment.h"

struct fbus_writer {
    char name[FBUS_NAME_MAX + 1];
    uint32_t key;
    unsigned mode;
    int keep;
    uint32_t slot_size; /* as asked in the options */
    int role_semid;     /* the role set under the key; the slot set is seg.semid */
    struct fbus__wseg seg;
    int claimed; /* slot of fbus_writer_claim(), or -1 */
    uint32_t zc; /* bit i: slot i claimed by fbus_writer_claim_index() */
    uint64_t next_seq;
    uint64_t slot_seq[FBUS_SLOTS_MAX]; /* private copy: which slot is oldest */
    struct fbus__rate rate;            /* publish rate, copied to the header's fps_milli */
    uint64_t lossless_wait_ns;
    int32_t armed[FBUS_LOSSLESS_MAX]; /* pid of the lossless reader armed at k, or 0 */
    unsigned cap[FBUS_LOSSLESS_MAX];  /* credits reader k holds in all: its slot count */
    uint64_t seg_first_seq; /* first frame of this segment after a format change; 0: none */
    uint32_t credits;       /* bit k: a credit of reader k taken by the claim under way */
    uint32_t slot_credits[FBUS_SLOTS_MAX]; /* the same, per claimed slot, until commit */
    uint64_t noslot_since; /* claim found no free slot since then; 0: it found one */
    int tampered;          /* a busy count the writer did not take: rotate the slot set */
    int zc_used;           /* claim_index() was used: slots may be queued to a driver */
    uint32_t lagging;      /* bit k: lossless reader k made us wait out the bound: no more waits */
};

/* writer_lossless.c */
int fbus__wl_gate(fbus_writer *w, uint64_t deadline, unsigned *keep);
void fbus__wl_settle(fbus_writer *w, uint32_t credits, int give_back);
void fbus__wl_drain(fbus_writer *w);

#endif /* FBUS_WRITER_INTERNAL_H */
