/*
 * test_zerocopy.cpp - claiming given slots (the V4L2 USERPTR path): several
 * open at once, committed in any order, never the latest nor a held slot.
 */
#include <signal.h>

#include "fbus_test.h"
#include "pattern.h"

class ZeroCopy : public BusTest {};

TEST_F(ZeroCopy, SeveralSlotsClaimedAtOnceCommittedInAnyOrder)
{
    std::string n = bus("zc");
    struct fbus_format f;
    fbus_format_init(&f, FBUS_FMT_GREY, 64, 64);
    struct fbus_writer_opts o;
    fbus_writer_opts_init(&o);
    o.slots = 4;
    fbus_writer *w;
    ASSERT_EQ(0, fbus_writer_open(&w, n.c_str(), &f, &o));
    fbus_reader *r;
    ASSERT_EQ(0, fbus_reader_open(&r, n.c_str(), nullptr));

    struct fbus_wslot s[4];
    for (unsigned i = 0; i < 4; i++) {
        ASSERT_EQ(0, fbus_writer_claim_index(w, i, &s[i])) << i;
        EXPECT_EQ(i, s[i].index);
    }
    EXPECT_EQ(FBUS_ENOSLOT, fbus_writer_claim_index(w, 2, &s[2])) << "claimed twice";
    uint64_t dropped = 1;
    fbus_writer_counts(w, nullptr, &dropped);
    EXPECT_EQ(0u, dropped) << "a refused claim_index() loses no frame";
    EXPECT_EQ(FBUS_ESIZE, fbus_writer_claim_index(w, 4, &s[0]));
    /* The driver fills buffer 2 first, then 0: sequence numbers follow commit order. */
    fbus_pattern_fill(s[2].data, f.sizeimage, 1);
    ASSERT_EQ(0, fbus_writer_commit_index(w, 2, f.sizeimage, 0));
    fbus_pattern_fill(s[0].data, f.sizeimage, 2);
    ASSERT_EQ(0, fbus_writer_commit_index(w, 0, f.sizeimage, 0));
    EXPECT_EQ(FBUS_ESTATE, fbus_writer_commit_index(w, 0, f.sizeimage, 0));

    struct fbus_frame fr;
    ASSERT_EQ(0, fbus_reader_acquire(r, &fr, 0, 100));
    EXPECT_EQ(2u, fr.seq);
    EXPECT_EQ(0u, fr.slot);
    EXPECT_EQ((size_t)-1, fbus_pattern_check(fr.data, fr.bytesused, fr.seq));
    /* Slot 0 is latest and held; slot 2 is free again. */
    EXPECT_EQ(FBUS_ENOSLOT, fbus_writer_claim_index(w, 0, &s[0]));
    fbus_writer_counts(w, nullptr, &dropped);
    EXPECT_EQ(0u, dropped) << "a refused claim_index() loses no frame";
    ASSERT_EQ(0, fbus_writer_claim_index(w, 2, &s[2]));
    /* Slots 1 and 3 were never filled: abort gives them back unseen. */
    EXPECT_EQ(0, fbus_writer_abort_index(w, 1));
    EXPECT_EQ(FBUS_ESTATE, fbus_writer_abort_index(w, 1));
    fbus_pattern_fill(s[3].data, f.sizeimage, 3);
    ASSERT_EQ(0, fbus_writer_commit_index(w, 3, f.sizeimage, 0));
    fbus_reader_release(r, &fr);
    ASSERT_EQ(0, fbus_reader_acquire(r, &fr, 2, 100));
    EXPECT_EQ(3u, fr.seq);
    EXPECT_EQ(3u, fr.slot);
    EXPECT_EQ((size_t)-1, fbus_pattern_check(fr.data, fr.bytesused, fr.seq));
    /* Slot 0 is no longer latest nor held: it can be queued again. */
    fbus_reader_release(r, &fr);
    EXPECT_EQ(0, fbus_writer_claim_index(w, 0, &s[0]));
    ASSERT_EQ(0, fbus_writer_claim_index(w, 1, &s[1]));
    /* Slots 0, 1, 2 are queued to the driver, 3 is latest: the ordinary claim finds none. */
    struct fbus_wslot plain;
    EXPECT_EQ(FBUS_ENOSLOT, fbus_writer_claim(w, &plain));
    fbus_reader_close(r);
    EXPECT_EQ(0, fbus_writer_close(w)) << "close gives back the slots still claimed";
}

TEST_F(ZeroCopy, WriterKilledWithSlotsQueuedLosesNone)
{
    std::string n = bus("zck");
    pid_t p = fork();
    if (p == 0) {
        struct fbus_format f;
        fbus_format_init(&f, FBUS_FMT_GREY, 64, 64);
        struct fbus_writer_opts o;
        fbus_writer_opts_init(&o);
        o.slots = 3;
        fbus_writer *w;
        struct fbus_wslot s;
        if (fbus_writer_open(&w, n.c_str(), &f, &o) || fbus_writer_claim_index(w, 0, &s) ||
            fbus_writer_claim_index(w, 1, &s) || fbus_writer_claim_index(w, 2, &s))
            _exit(1);
        raise(SIGKILL);
    }
    EXPECT_EQ(128 + SIGKILL, fbus_wait_child(p, 10000));
    struct fbus_format f;
    fbus_format_init(&f, FBUS_FMT_GREY, 64, 64);
    struct fbus_writer_opts o;
    fbus_writer_opts_init(&o);
    o.slots = 3;
    fbus_writer *w;
    ASSERT_EQ(0, fbus_writer_open(&w, n.c_str(), &f, &o));
    struct fbus_wslot s;
    for (unsigned i = 0; i < 3; i++)
        EXPECT_EQ(0, fbus_writer_claim_index(w, i, &s)) << "slot " << i << " came back";
    fbus_writer_close(w);
}
