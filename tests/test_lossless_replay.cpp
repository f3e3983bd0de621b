/*
 * test_lossless_replay.cpp - the test-rig path end to end: 500 PNG frames
 * replayed by fbus-capture --lossless-wait into a lossless reader that is
 * deliberately slow and jittery. It must see all 500, in order, each one
 * pixel-exact; a latest-frame reader beside it sees gaps but no torn frame.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>

#include "fbus_test.h"
#include "png_io.h"
#include "testpattern.h"

#ifdef FBUS_CAPTURE

namespace {

const uint32_t kW = 128, kH = 64;
const int kFrames = 500;

struct Counts {
    unsigned long long frames = 0, first = 0, last = 0, disorder = 0, gaps = 0, wrong = 0;
};

/* Child: reads until the bus closes, checks each frame against the pattern of its seq. */
[[noreturn]] void reader_child(const std::string &n, bool lossless, int fd)
{
    struct fbus_reader_opts o;
    fbus_reader_opts_init(&o);
    o.lossless = lossless;
    fbus_reader *r = nullptr;
    for (int i = 0; i < 2000 && fbus_reader_open(&r, n.c_str(), &o) != 0; i++)
        usleep(5000);
    std::vector<uint8_t> want(kW * kH * 3);
    std::mt19937 rng(lossless ? 11 : 12);
    Counts c;
    struct fbus_frame f;
    while (r && fbus_reader_acquire(r, &f, c.last, 10000) == 0) {
        /* File k was drawn as frame k+1, so frame seq carries the pattern of seq. */
        app_tp_draw(want.data(), kW, kH, f.seq);
        if (f.bytesused != want.size() || memcmp(f.data, want.data(), want.size()) != 0)
            c.wrong++;
        if (!c.first)
            c.first = f.seq;
        else if (f.seq != c.last + 1)
            (f.seq > c.last + 1 ? c.gaps : c.disorder)++;
        c.last = f.seq;
        c.frames++;
        if (lossless)
            usleep(rng() % 3000); /* slow and jittery: 0-3 ms a frame */
        fbus_reader_release(r, &f);
    }
    fbus_reader_close(r);
    if (write(fd, &c, sizeof(c)) != sizeof(c))
        _exit(11);
    _exit(r ? 0 : 10);
}

} // namespace

class LosslessReplay : public BusTest {
  protected:
    void SetUp() override
    {
        char tmpl[] = "/tmp/fbus-llr-XXXXXX";
        ASSERT_NE(nullptr, mkdtemp(tmpl));
        dir_ = tmpl;
        std::vector<uint8_t> img(kW * kH * 3);
        for (int k = 0; k < kFrames; k++) {
            app_tp_draw(img.data(), kW, kH, (uint64_t)k + 1);
            char name[64];
            snprintf(name, sizeof(name), "/f%04d.png", k);
            ASSERT_EQ(0, app_png_write_rgb24((dir_ + name).c_str(), img.data(), kW, kH));
        }
    }
    void TearDown() override
    {
        EXPECT_EQ(0, system(("rm -rf '" + dir_ + "'").c_str()));
        BusTest::TearDown();
    }
    std::string dir_;
};

TEST_F(LosslessReplay, SlowJitteryRigSeesAll500PixelExactBesideALatestReader)
{
    std::string n = bus("rig");
    int lp[2], tp[2];
    ASSERT_EQ(0, pipe(lp));
    ASSERT_EQ(0, pipe(tp));
    int cfd;
    pid_t cap = fbus_spawn(fbus_prog_argv(FBUS_CAPTURE, {"--bus", n, "--source", "png:" + dir_,
                                                         "--count", std::to_string(kFrames),
                                                         "--lossless-wait", "5000"}),
                           &cfd);
    pid_t lr = fork();
    if (lr == 0)
        reader_child(n, true, lp[1]);
    pid_t tr = fork();
    if (tr == 0)
        reader_child(n, false, tp[1]);
    close(lp[1]);
    close(tp[1]);
    EXPECT_EQ(0, fbus_wait_child(cap, 120000)) << "fbus-capture exits 0 after 500 frames";
    close(cfd);
    EXPECT_EQ(0, fbus_wait_child(lr, 30000));
    EXPECT_EQ(0, fbus_wait_child(tr, 30000));
    Counts l, t;
    ASSERT_EQ((ssize_t)sizeof(l), read(lp[0], &l, sizeof(l)));
    ASSERT_EQ((ssize_t)sizeof(t), read(tp[0], &t, sizeof(t)));
    close(lp[0]);
    close(tp[0]);
    EXPECT_EQ((unsigned long long)kFrames, l.frames) << "the rig saw every frame";
    EXPECT_EQ(1u, l.first);
    EXPECT_EQ((unsigned long long)kFrames, l.last);
    EXPECT_EQ(0u, l.gaps);
    EXPECT_EQ(0u, l.disorder);
    EXPECT_EQ(0u, l.wrong) << "every frame pixel-exact";
    EXPECT_GT(t.frames, 0u);
    EXPECT_EQ(0u, t.wrong) << "the latest reader never sees a torn frame";
    EXPECT_EQ(0u, t.disorder);
    RecordProperty("latest_reader_frames", std::to_string(t.frames));
    RecordProperty("latest_reader_gaps", std::to_string(t.gaps));
}

#else
TEST(LosslessReplay, NotBuilt)
{
    GTEST_SKIP() << "NOT RUN: fbus-capture is not built (FBUS_CAPTURE=OFF)";
}
#endif
