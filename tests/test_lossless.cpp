/*
 * test_lossless.cpp - lossless readers for test rigs: every frame, in order,
 * however slow the reader; latest-frame readers alongside unaffected; a
 * lossless reader that dies or stalls cannot wedge the writer.
 */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <random>

#include "fbus_test.h"
#include "pattern.h"

namespace {

fbus_reader *open_lossless(const std::string &n)
{
    struct fbus_reader_opts o;
    fbus_reader_opts_init(&o);
    o.lossless = 1;
    fbus_reader *r = nullptr;
    for (int i = 0; i < 500; i++) {
        int rc = fbus_reader_open(&r, n.c_str(), &o);
        if (rc != FBUS_ENOBUS)
            break;
        usleep(2000);
    }
    return r;
}

/* Child: reads until closed; reports "frames first last outoforder torn gaps". */
[[noreturn]] void lossless_child(const std::string &n, int fd, int jitter_us, unsigned seed)
{
    fbus_reader *r = open_lossless(n);
    std::mt19937 rng(seed);
    uint64_t frames = 0, first = 0, last = 0, disorder = 0, torn = 0, gaps = 0;
    char ready = 'R';
    if (!r || write(fd, &ready, 1) != 1)
        _exit(10);
    struct fbus_frame f;
    int rc;
    while ((rc = fbus_reader_acquire(r, &f, 0, 5000)) == 0) {
        if (!first)
            first = f.seq;
        else if (f.seq != last + 1)
            (f.seq > last + 1 ? gaps : disorder)++;
        if (fbus_pattern_check(f.data, f.bytesused, f.seq) != (size_t)-1)
            torn++;
        last = f.seq;
        frames++;
        if (jitter_us)
            usleep(rng() % (unsigned)jitter_us);
        fbus_reader_release(r, &f);
    }
    fbus_reader_close(r);
    dprintf(fd, "%llu %llu %llu %llu %llu %llu %d\n", (unsigned long long)frames,
            (unsigned long long)first, (unsigned long long)last, (unsigned long long)disorder,
            (unsigned long long)torn, (unsigned long long)gaps, rc);
    _exit(0);
}

[[noreturn]] void latest_child(const std::string &n, int fd)
{
    fbus_reader *r = nullptr;
    for (int i = 0; i < 500 && fbus_reader_open(&r, n.c_str(), nullptr) != 0; i++)
        usleep(2000);
    uint64_t frames = 0, last = 0, torn = 0, gaps = 0;
    struct fbus_frame f;
    while (r && fbus_reader_acquire(r, &f, last, 5000) == 0) {
        if (fbus_pattern_check(f.data, f.bytesused, f.seq) != (size_t)-1)
            torn++;
        if (last && f.seq > last + 1)
            gaps++;
        last = f.seq;
        frames++;
        fbus_reader_release(r, &f);
    }
    fbus_reader_close(r);
    dprintf(fd, "%llu %llu %llu %llu\n", (unsigned long long)frames, (unsigned long long)last,
            (unsigned long long)torn, (unsigned long long)gaps);
    _exit(0);
}

pid_t fork_child(const std::function<void()> &fn)
{
    pid_t p = fork();
    if (p == 0)
        fn();
    return p;
}

} // namespace

class Lossless : public BusTest {};

TEST_F(Lossless, SlowJitteryReaderSeesAll500InOrderBesideALatestReader)
{
    std::string n = bus("ll");
    int lp[2], tp[2];
    ASSERT_EQ(0, pipe(lp));
    ASSERT_EQ(0, pipe(tp));
    /* The writer exists first, so the reader can register before frame 1. */
    int wfd;
    pid_t w = fbus_spawn(fbus_prog_argv(fbus_test_prog("fbus-testwriter"),
                                        {"--bus", n, "--size", "160x120", "--count", "0",
                                         "--lossless-wait", "10000", "--fps", "1"}),
                         &wfd);
    std::string line;
    ASSERT_TRUE(fbus_read_line(wfd, &line, 10000));
    kill(w, SIGKILL); /* only wanted the bus made; the real writer comes next */
    fbus_wait_child(w, 5000);
    close(wfd);

    pid_t lr = fork_child([&] { lossless_child(n, lp[1], 3000, 7); });
    char ready;
    ASSERT_EQ(1, read(lp[0], &ready, 1));
    pid_t tr = fork_child([&] { latest_child(n, tp[1]); });
    close(lp[1]);
    close(tp[1]);
    w = fbus_spawn(fbus_prog_argv(fbus_test_prog("fbus-testwriter"),
                                  {"--bus", n, "--size", "160x120", "--count", "500",
                                   "--lossless-wait", "10000"}),
                   &wfd);
    EXPECT_EQ(0, fbus_wait_child(w, 120000));
    close(wfd);
    EXPECT_EQ(0, fbus_wait_child(lr, 30000));
    EXPECT_EQ(0, fbus_wait_child(tr, 30000));
    FILE *in = fdopen(lp[0], "r");
    unsigned long long frames, first, last, disorder, torn, gaps;
    int rc;
    ASSERT_EQ(7, fscanf(in, "%llu %llu %llu %llu %llu %llu %d", &frames, &first, &last,
                        &disorder, &torn, &gaps, &rc));
    fclose(in);
    /* Frame numbers continue from the first writer's (it published nothing: fps 1, killed). */
    EXPECT_EQ(500u, frames);
    EXPECT_EQ(first + 499, last);
    EXPECT_EQ(0u, disorder);
    EXPECT_EQ(0u, torn);
    EXPECT_EQ(0u, gaps);
    EXPECT_EQ(FBUS_ECLOSED, rc);
    in = fdopen(tp[0], "r");
    unsigned long long lf, llast, ltorn, lgaps;
    ASSERT_EQ(4, fscanf(in, "%llu %llu %llu %llu", &lf, &llast, &ltorn, &lgaps));
    fclose(in);
    EXPECT_GT(lf, 0u);
    EXPECT_EQ(0u, ltorn) << "the latest reader never sees a torn frame";
    RecordProperty("latest_reader_frames", std::to_string(lf));
    RecordProperty("latest_reader_gaps", std::to_string(lgaps));
}

TEST_F(Lossless, InProcessOrderAndInfo)
{
    std::string n = bus("lli");
    struct fbus_format f;
    fbus_format_init(&f, FBUS_FMT_GREY, 64, 64);
    struct fbus_writer_opts o;
    fbus_writer_opts_init(&o);
    o.slots = 3;
    o.lossless_wait_ms = 200;
    fbus_writer *w;
    ASSERT_EQ(0, fbus_writer_open(&w, n.c_str(), &f, &o));
    fbus_reader *r = open_lossless(n);
    ASSERT_NE(nullptr, r);
    std::vector<uint8_t> px(f.sizeimage);
    /* 3 slots: the writer may run 3 frames ahead of the reader, then it must wait. */
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(0, fbus_writer_publish(w, px.data(), px.size(), 0)) << i;
    struct fbus_info info;
    ASSERT_EQ(0, fbus_info_get(n.c_str(), 0, &info));
    ASSERT_EQ(1u, info.lossless_count);
    EXPECT_EQ(getpid(), info.lossless[0].pid);
    EXPECT_EQ(1u, info.lossless[0].start_seq);
    EXPECT_EQ(3, info.lossless[0].pending);
    /* Frame 4 would overwrite frame 1, unread: the writer waits its 200 ms, then drops it for us. */
    uint64_t t0 = fbus_now_ns();
    ASSERT_EQ(0, fbus_writer_publish(w, px.data(), px.size(), 0));
    EXPECT_GE(fbus_now_ns() - t0, 150u * 1000000) << "the writer waited for the reader";
    ASSERT_EQ(0, fbus_info_get(n.c_str(), 0, &info));
    EXPECT_EQ(1u, info.lossless[0].drops);
    /* The reader now starts at 2 (1 was overwritten): a gap it can see. */
    struct fbus_frame fr;
    std::vector<uint64_t> seen;
    while (fbus_reader_acquire(r, &fr, 0, 0) == 0) {
        seen.push_back(fr.seq);
        fbus_reader_release(r, &fr);
    }
    EXPECT_EQ((std::vector<uint64_t>{2, 3, 4}), seen);
    /* Having consumed all, the writer is free again: no wait. */
    t0 = fbus_now_ns();
    ASSERT_EQ(0, fbus_writer_publish(w, px.data(), px.size(), 0));
    EXPECT_LT(fbus_now_ns() - t0, 150u * 1000000);
    ASSERT_EQ(0, fbus_reader_acquire(r, &fr, 0, 0));
    EXPECT_EQ(5u, fr.seq);
    fbus_reader_release(r, &fr);
    fbus_reader_close(r);
    ASSERT_EQ(0, fbus_info_get(n.c_str(), 0, &info));
    EXPECT_EQ(0u, info.lossless_count) << "closing forgets the lossless reader";
    fbus_writer_close(w);
}

TEST_F(Lossless, KilledLosslessReaderDoesNotStopTheWriter)
{
    std::string n = bus("llk");
    struct fbus_format f;
    fbus_format_init(&f, FBUS_FMT_GREY, 64, 64);
    struct fbus_writer_opts o;
    fbus_writer_opts_init(&o);
    o.lossless_wait_ms = 30000; /* long: only the kernel forgetting the reader can free us */
    fbus_writer *w;
    ASSERT_EQ(0, fbus_writer_open(&w, n.c_str(), &f, &o));
    int p[2];
    ASSERT_EQ(0, pipe(p));
    pid_t kid = fork_child([&] {
        fbus_reader *r = open_lossless(n);
        struct fbus_frame fr;
        /* Take one frame and hold it forever. */
        if (!r || fbus_reader_acquire(r, &fr, 0, 10000) != 0)
            _exit(10);
        if (write(p[1], "x", 1) != 1)
            _exit(11);
        pause();
        _exit(0);
    });
    close(p[1]); /* a child that fails closes the pipe: our read sees EOF, no hang */
    std::vector<uint8_t> px(f.sizeimage, 1);
    /* The reader is armed at the first claim after it registered: wait for the registration. */
    struct fbus_info info = {};
    for (int i = 0; i < 2000 && info.lossless_count == 0; i++) {
        if (fbus_info_get(n.c_str(), 0, &info) != 0 || info.lossless_count == 0)
            usleep(5000);
    }
    ASSERT_EQ(1u, info.lossless_count);
    ASSERT_EQ(0, fbus_writer_publish(w, px.data(), px.size(), 0));
    char c;
    ASSERT_EQ(1, read(p[0], &c, 1));
    ASSERT_EQ(0, fbus_writer_publish(w, px.data(), px.size(), 0)); /* 2 slots: ok */
    /* Kill it from the side while the writer is about to wait for it. */
    pid_t killer = fork_child([&] {
        usleep(300000);
        kill(kid, SIGKILL);
        _exit(0);
    });
    uint64_t t0 = fbus_now_ns();
    ASSERT_EQ(0, fbus_writer_publish(w, px.data(), px.size(), 0));
    uint64_t waited = fbus_now_ns() - t0;
    EXPECT_LT(waited, 10000ull * 1000000) << "the writer noticed the death, not its 30 s bound";
    EXPECT_GE(waited, 200ull * 1000000) << "the writer did wait for the living reader";
    for (int i = 0; i < 50; i++)
        ASSERT_EQ(0, fbus_writer_publish(w, px.data(), px.size(), 0));
    fbus_wait_child(killer, 5000);
    fbus_wait_child(kid, 5000);
    close(p[0]);
    ASSERT_EQ(0, fbus_info_get(n.c_str(), 0, &info));
    EXPECT_EQ(0u, info.lossless_count);
    fbus_writer_close(w);
}

TEST_F(Lossless, AtMostEightPerBus)
{
    std::string n = bus("ll8");
    struct fbus_format f;
    fbus_format_init(&f, FBUS_FMT_GREY, 16, 16);
    fbus_writer *w;
    ASSERT_EQ(0, fbus_writer_open(&w, n.c_str(), &f, nullptr));
    std::vector<fbus_reader *> rs;
    for (int i = 0; i < FBUS_LOSSLESS_MAX; i++) {
        rs.push_back(open_lossless(n));
        ASSERT_NE(nullptr, rs.back());
    }
    struct fbus_reader_opts o;
    fbus_reader_opts_init(&o);
    o.lossless = 1;
    fbus_reader *extra = nullptr;
    EXPECT_EQ(FBUS_EBUSY, fbus_reader_open(&extra, n.c_str(), &o));
    fbus_reader_close(rs.back());
    rs.pop_back();
    EXPECT_EQ(0, fbus_reader_open(&extra, n.c_str(), &o)) << "a closed one frees its place";
    fbus_reader_close(extra);
    for (auto *r : rs)
        fbus_reader_close(r);
    fbus_writer_close(w);
}

/*
 * SEM_UNDO adjustments are capped at 32767: an operation one process only ever
 * increments must not carry it. 40,000 frames through a lossless reader prove
 * neither side accumulates an adjustment (ERANGE would stop the writer).
 */
TEST_F(Lossless, FortyThousandFramesNoUndoOverflow)
{
    std::string n = bus("llr");
    struct fbus_format f;
    fbus_format_init(&f, FBUS_FMT_GREY, 16, 16);
    fbus_writer *w;
    ASSERT_EQ(0, fbus_writer_open(&w, n.c_str(), &f, nullptr));
    fbus_reader *r = open_lossless(n);
    ASSERT_NE(nullptr, r);
    std::vector<uint8_t> px(f.sizeimage, 3);
    struct fbus_frame fr;
    uint64_t last = 0;
    for (int i = 0; i < 40000; i++) {
        ASSERT_EQ(0, fbus_writer_publish(w, px.data(), px.size(), 0)) << "frame " << i;
        ASSERT_EQ(0, fbus_reader_acquire(r, &fr, 0, 1000)) << "frame " << i;
        if (last) {
            ASSERT_EQ(last + 1, fr.seq);
        }
        last = fr.seq;
        ASSERT_EQ(0, fbus_reader_release(r, &fr));
    }
    struct fbus_info info;
    ASSERT_EQ(0, fbus_info_get(n.c_str(), 0, &info));
    ASSERT_EQ(1u, info.lossless_count);
    EXPECT_EQ(getpid(), info.lossless[0].pid) << "still armed: no semop failed on the way";
    EXPECT_EQ(0u, info.lossless[0].drops);
    EXPECT_EQ(0, info.lossless[0].pending) << "every credit came back";
    fbus_reader_close(r);
    fbus_writer_close(w);
}
