/*
 * test_threads.cpp - one process, one writer thread and many reader threads,
 * each with its own handle on the same bus (the API's rule: one handle per
 * thread). Proves that handles share no hidden state (the library has no
 * globals to race on) and runs the whole protocol - latest and lossless
 * readers, format change, open/close churn, inspection - fast and in one
 * process, which is what ThreadSanitizer can watch (scripts/tsan).
 *
 * TSan sees races between threads through the same addresses; each handle
 * maps the segment at its own address, so a torn frame would not be a TSan
 * report here: the pattern check of every frame catches that instead.
 */
#include <unistd.h>

#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "fbus_test.h"
#include "pattern.h"

#if defined(__has_feature)
#if __has_feature(thread_sanitizer) && !defined(__SANITIZE_THREAD__)
#define __SANITIZE_THREAD__ 1
#endif
#endif

#if defined(__SANITIZE_THREAD__)
#include <errno.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/syscall.h>

/*
 * ThreadSanitizer does not intercept shmat/shmdt. When one handle detaches and another
 * attaches a segment at the same address, TSan still holds the old mapping's accesses there
 * and reports a "race" between two different segments (seen here after a format change).
 * So under TSan this test program attaches every segment over a fresh anonymous reservation
 * (an mmap, which TSan sees and resets its state for) with SHM_REMAP. Nothing else changes.
 */
extern "C" void *shmat(int shmid, const void *addr, int flags)
{
    struct shmid_ds ds;

    if (!addr && shmctl(shmid, IPC_STAT, &ds) == 0) {
        void *p = mmap(nullptr, ds.shm_segsz, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p != MAP_FAILED) {
            long r = syscall(SYS_shmat, shmid, p, flags | SHM_REMAP);
            if (r != -1)
                return (void *)r;
            int e = errno;
            munmap(p, ds.shm_segsz);
            errno = e;
            return (void *)-1;
        }
    }
    return (void *)syscall(SYS_shmat, shmid, addr, flags);
}
#endif

namespace {

struct ReaderStats {
    uint64_t frames = 0, first = 0, last = 0, gaps = 0, disorder = 0, torn = 0, wrong_format = 0;
    uint64_t formats_seen = 0; /* distinct widths, as a bit set of the two used */
    int end_rc = 0;
    bool opened = false;
};

fbus_reader *open_reader(const std::string &n, int lossless)
{
    struct fbus_reader_opts o;
    fbus_reader_opts_init(&o);
    o.lossless = lossless;
    fbus_reader *r = nullptr;
    for (int i = 0; i < 1000 && fbus_reader_open(&r, n.c_str(), &o) == FBUS_ENOBUS; i++)
        usleep(1000);
    return r;
}

/* Checks one frame: whole, labelled right, in order. */
void check(const struct fbus_frame &f, ReaderStats *s, bool lossless)
{
    if (fbus_pattern_check(f.data, f.bytesused, f.seq) != (size_t)-1)
        s->torn++;
    if (f.bytesused != f.format.sizeimage)
        s->wrong_format++;
    s->formats_seen |= f.format.width == 64 ? 1 : 2;
    if (!s->first)
        s->first = f.seq;
    else if (f.seq <= s->last)
        s->disorder++;
    else if (f.seq != s->last + 1)
        s->gaps += lossless ? 1 : 0;
    s->last = f.seq;
    s->frames++;
}

/* A reader thread: reads until the bus closes; a lossless one takes its time now and then. */
void reader_thread(const std::string &n, bool lossless, ReaderStats *s, std::atomic<int> *ready,
                   unsigned seed)
{
    fbus_reader *r = open_reader(n, lossless);
    std::mt19937 rng(seed);
    s->opened = r != nullptr;
    ready->fetch_add(1);
    if (!r)
        return;
    struct fbus_frame f;
    int rc;
    while ((rc = fbus_reader_acquire(r, &f, lossless ? 0 : s->last, 10000)) == 0) {
        check(f, s, lossless);
        if (lossless && rng() % 8 == 0)
            usleep(rng() % 2000);
        fbus_reader_release(r, &f);
    }
    s->end_rc = rc;
    fbus_reader_close(r);
}

/* Publishes count frames of fmt carrying the pattern of their sequence number. */
void publish(fbus_writer *w, const struct fbus_format &fmt, int count, int pause_us,
             uint64_t *published)
{
    for (int i = 0; i < count; i++) {
        struct fbus_wslot s;
        int rc = fbus_writer_claim(w, &s);
        if (rc == FBUS_ENOSLOT)
            continue;
        ASSERT_EQ(0, rc);
        fbus_pattern_fill(s.data, fmt.sizeimage, s.seq);
        ASSERT_EQ(0, fbus_writer_commit(w, fmt.sizeimage, 0));
        ++*published;
        if (pause_us)
            usleep(pause_us);
    }
}

fbus_writer *open_writer(const std::string &n, unsigned w, unsigned h, unsigned slots)
{
    struct fbus_format f;
    EXPECT_EQ(0, fbus_format_init(&f, FBUS_FMT_RGB24, w, h));
    struct fbus_writer_opts o;
    fbus_writer_opts_init(&o);
    o.slots = slots;
    o.lossless_wait_ms = 10000; /* sanitizers are slow: a lossless reader must never miss one */
    fbus_writer *wr = nullptr;
    EXPECT_EQ(0, fbus_writer_open(&wr, n.c_str(), &f, &o));
    return wr;
}

void wait_ready(std::atomic<int> &ready, int n)
{
    for (int i = 0; i < 10000 && ready.load() < n; i++)
        usleep(1000);
    ASSERT_EQ(n, ready.load());
}

/*
 * A writer thread changes the format halfway (slots1 slots before, slots2 after; 0: the same)
 * under three latest-frame reader threads and a lossless one.
 */
void format_change(const std::string &n, unsigned slots1, unsigned slots2)
{
    fbus_writer *w = open_writer(n, 64, 48, slots1);
    ASSERT_NE(nullptr, w);
    std::vector<ReaderStats> st(4);
    std::atomic<int> ready{0};
    std::vector<std::thread> th;
    for (int i = 0; i < 4; i++)
        th.emplace_back(reader_thread, n, i == 3, &st[i], &ready, 200 + i);
    wait_ready(ready, 4);
    uint64_t published = 0;
    std::thread wt([&] {
        publish(w, *fbus_writer_format(w), 150, 1000, &published);
        struct fbus_format f2;
        fbus_format_init(&f2, FBUS_FMT_RGB24, 128, 96);
        ASSERT_EQ(0, fbus_writer_set_format(w, &f2, slots2));
        publish(w, f2, 150, 1000, &published);
    });
    wt.join();
    /* The lossless reader keeps up: close has nothing to wait for (its bound is 10 s). */
    uint64_t t0 = fbus_now_ns();
    EXPECT_EQ(0, fbus_writer_close(w));
    EXPECT_LT(fbus_now_ns() - t0, 2000000000u) << "close waited for a lossless reader that is done";
    for (auto &t : th)
        t.join();
    for (int i = 0; i < 4; i++) {
        const ReaderStats &s = st[i];
        SCOPED_TRACE(i == 3 ? "lossless reader" : "latest reader " + std::to_string(i));
        EXPECT_EQ(0u, s.torn);
        EXPECT_EQ(0u, s.wrong_format) << "a frame is labelled with its own format";
        EXPECT_EQ(0u, s.disorder);
        EXPECT_EQ(3u, s.formats_seen) << "saw both formats";
        EXPECT_EQ(FBUS_ECLOSED, s.end_rc) << fbus_err_name(s.end_rc);
    }
    /* Across a format change the writer waits for lossless readers in the old segment too. */
    EXPECT_EQ(300u, st[3].frames);
    EXPECT_EQ(0u, st[3].gaps);
    EXPECT_EQ(300u, published);
}

} // namespace

class Threads : public BusTest {};

TEST_F(Threads, WriterAndReaderThreadsEachWithItsOwnHandle)
{
    const int kLatest = 4, kFrames = 400;
    std::string n = bus("thr");
    fbus_writer *w = open_writer(n, 160, 120, 3);
    ASSERT_NE(nullptr, w);
    std::vector<ReaderStats> st(kLatest + 1);
    std::atomic<int> ready{0};
    std::vector<std::thread> th;
    for (int i = 0; i <= kLatest; i++)
        th.emplace_back(reader_thread, n, i == kLatest, &st[i], &ready, 100 + i);
    wait_ready(ready, kLatest + 1);
    uint64_t published = 0;
    std::thread wt([&] { publish(w, *fbus_writer_format(w), kFrames, 500, &published); });
    wt.join();
    uint64_t total = 0, dropped = 0;
    fbus_writer_counts(w, &total, &dropped);
    EXPECT_EQ(0, fbus_writer_close(w));
    for (auto &t : th)
        t.join();

    EXPECT_EQ((uint64_t)kFrames, published)
        << "a lossless reader makes the writer wait, never drop";
    for (int i = 0; i <= kLatest; i++) {
        const ReaderStats &s = st[i];
        SCOPED_TRACE(i == kLatest ? "lossless reader" : "latest reader " + std::to_string(i));
        ASSERT_TRUE(s.opened);
        EXPECT_GT(s.frames, 0u);
        EXPECT_EQ(0u, s.torn);
        EXPECT_EQ(0u, s.wrong_format);
        EXPECT_EQ(0u, s.disorder);
        EXPECT_EQ(FBUS_ECLOSED, s.end_rc) << fbus_err_name(s.end_rc);
    }
    const ReaderStats &l = st[kLatest];
    EXPECT_EQ((uint64_t)kFrames, l.frames);
    EXPECT_EQ(1u, l.first);
    EXPECT_EQ((uint64_t)kFrames, l.last);
    EXPECT_EQ(0u, l.gaps);
    RecordProperty("latest_reader0_frames", std::to_string(st[0].frames));
}

TEST_F(Threads, ReaderThreadsFollowAFormatChange)
{
    format_change(bus("thf"), 2, 0);
}

/*
 * Known bugs (reported with issue 7; fix proposed): a lossless reader is given as many
 * credits as there are slots when it registers, and the writer counts them against the slot
 * count of the moment. After 2 -> 3 slots, close waits its whole lossless bound for a frame
 * that is not pending, and every reader times out (FBUS_ETIMEDOUT) instead of seeing
 * FBUS_ECLOSED. After 4 -> 2 slots, the writer overwrites a frame the lossless reader has not
 * read, without waiting and without counting a drop. Enable both once fixed.
 */
TEST_F(Threads, ReaderThreadsFollowAFormatChangeToMoreSlots)
{
    format_change(bus("thm"), 2, 3);
}

TEST_F(Threads, ReaderThreadsFollowAFormatChangeToFewerSlots)
{
    format_change(bus("ths"), 4, 2);
}

/* Handles come and go in several threads while frames flow and tools inspect the bus. */
TEST_F(Threads, OpenCloseChurnAndInspectionWhileTheWriterPublishes)
{
    std::string n = bus("thc");
    fbus_writer *w = open_writer(n, 160, 120, 2);
    ASSERT_NE(nullptr, w);
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> taken{0}, bad{0}, infos{0};
    uint64_t published = 0;
    std::thread wt([&] {
        while (!stop.load())
            publish(w, *fbus_writer_format(w), 1, 200, &published);
    });
    std::vector<std::thread> th;
    for (int t = 0; t < 3; t++) {
        th.emplace_back([&] {
            for (int round = 0; round < 150; round++) {
                fbus_reader *r = nullptr;
                if (fbus_reader_open(&r, n.c_str(), nullptr) != 0) {
                    bad++;
                    continue;
                }
                struct fbus_frame f[2];
                int held = 0;
                for (int k = 0; k < 2; k++) {
                    if (fbus_reader_acquire(r, &f[k], k ? f[0].seq : 0, 2000) != 0)
                        break;
                    held++;
                    if (fbus_pattern_check(f[k].data, f[k].bytesused, f[k].seq) != (size_t)-1)
                        bad++;
                    taken++;
                }
                /* Every other round leaves its frames held: close must give them back. */
                for (int k = 0; round % 2 == 0 && k < held; k++)
                    fbus_reader_release(r, &f[k]);
                fbus_reader_close(r);
            }
        });
    }
    th.emplace_back([&] {
        for (int round = 0; round < 100; round++) {
            struct fbus_info info;
            if (fbus_info_get(n.c_str(), 0, &info) != 0 || !info.writer_alive)
                bad++;
            if (fbus_list(nullptr, nullptr) < 1)
                bad++;
            infos++;
        }
    });
    for (auto &t : th)
        t.join();
    stop = true;
    wt.join();
    struct fbus_info info;
    ASSERT_EQ(0, fbus_info_get(n.c_str(), 0, &info));
    EXPECT_EQ(0, info.readers) << "every handle detached";
    /* No slot leaked: with every handle gone the writer can publish twice in a row. */
    uint64_t dropped = 0, dropped_after = 0;
    fbus_writer_counts(w, nullptr, &dropped);
    publish(w, *fbus_writer_format(w), 2, 0, &published);
    fbus_writer_counts(w, nullptr, &dropped_after);
    EXPECT_EQ(dropped, dropped_after);
    EXPECT_EQ(0, fbus_writer_close(w));
    EXPECT_EQ(0u, bad.load());
    EXPECT_EQ(3u * 150 * 2, taken.load());
    EXPECT_EQ(100u, infos.load());
    RecordProperty("published", std::to_string(published));
    RecordProperty("dropped", std::to_string(dropped));
}
