/*
 * test_bus.cpp - the bus itself: writer and readers in real processes over
 * real segments and semaphores. Round trips, read-only mappings, torn-frame
 * hunting at full speed, SIGKILL of readers and writers, second writers,
 * format changes and the distinct timeouts.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "fbus_test.h"
#include "pattern.h"

namespace {

struct fbus_format rgb(uint32_t w, uint32_t h)
{
    struct fbus_format f;
    EXPECT_EQ(0, fbus_format_init(&f, FBUS_FMT_RGB24, w, h));
    return f;
}

fbus_writer *open_writer(const std::string &name, uint32_t w = 64, uint32_t h = 48,
                         unsigned slots = 2)
{
    struct fbus_writer_opts o;
    fbus_writer_opts_init(&o);
    o.slots = slots;
    struct fbus_format f = rgb(w, h);
    fbus_writer *wr = nullptr;
    EXPECT_EQ(0, fbus_writer_open(&wr, name.c_str(), &f, &o));
    return wr;
}

int publish_pattern(fbus_writer *w)
{
    struct fbus_wslot s;
    int rc = fbus_writer_claim(w, &s);
    if (rc != 0)
        return rc;
    size_t len = fbus_writer_format(w)->sizeimage;
    fbus_pattern_fill(s.data, len, s.seq);
    return fbus_writer_commit(w, len, 0);
}

/* Semaphore num of the bus's slot set (the one its header names); -1 if there is no bus. */
int semval(const std::string &name, int num)
{
    struct fbus_info info;
    if (fbus_info_get(name.c_str(), 0, &info) != 0 || info.semid < 0)
        return -1;
    return semctl(info.semid, num, GETVAL);
}

/* 1 if the bus's role set (under its key) exists. */
int role_exists(const std::string &name)
{
    return semget((key_t)fbus_key_from_name(name.c_str()), 0, 0) >= 0;
}

} // namespace

class Bus : public BusTest {};

TEST_F(Bus, DataAndMetadataRoundTrip)
{
    std::string n = bus("rt");
    fbus_writer *w = open_writer(n, 64, 48);
    ASSERT_NE(nullptr, w);
    fbus_reader *r;
    ASSERT_EQ(0, fbus_reader_open(&r, n.c_str(), nullptr));

    struct fbus_wslot s;
    ASSERT_EQ(0, fbus_writer_claim(w, &s));
    EXPECT_EQ(0u, (uintptr_t)s.data % 4096) << "slots must be page-aligned";
    EXPECT_GE(s.capacity, 64u * 48 * 3);
    EXPECT_EQ(1u, s.seq);
    fbus_pattern_fill(s.data, 1000, s.seq);
    ASSERT_EQ(0, fbus_writer_commit(w, 1000, 123456789));

    struct fbus_frame f;
    ASSERT_EQ(0, fbus_reader_acquire(r, &f, 0, 1000));
    EXPECT_EQ(1u, f.seq);
    EXPECT_EQ(1000u, f.bytesused);
    EXPECT_EQ(123456789u, f.timestamp_ns);
    EXPECT_EQ(FBUS_FMT_RGB24, f.format.fourcc);
    EXPECT_EQ(64u, f.format.width);
    EXPECT_EQ(48u, f.format.height);
    EXPECT_EQ(64u * 3, f.format.bytesperline);
    EXPECT_EQ((size_t)-1, fbus_pattern_check(f.data, 1000, 1));
    EXPECT_EQ(0u, (uintptr_t)f.data % 4096);
    /* Nothing newer than what we hold: non-blocking says so. */
    struct fbus_frame g;
    EXPECT_EQ(FBUS_EAGAIN, fbus_reader_acquire(r, &g, f.seq, 0));
    EXPECT_EQ(0, fbus_reader_release(r, &f));
    EXPECT_EQ(FBUS_ESTATE, fbus_reader_release(r, &f)) << "double release";

    /* The convenience copy, and a timestamp of 0 meaning now. */
    std::vector<uint8_t> buf(64 * 48 * 3, 0x5A);
    uint64_t before = fbus_now_ns();
    ASSERT_EQ(0, fbus_writer_publish(w, buf.data(), buf.size(), 0));
    ASSERT_EQ(0, fbus_reader_acquire(r, &f, 1, 1000));
    EXPECT_EQ(2u, f.seq);
    EXPECT_GE(f.timestamp_ns, before);
    EXPECT_EQ(0, memcmp(f.data, buf.data(), buf.size()));
    fbus_reader_release(r, &f);

    uint64_t pub, drop;
    fbus_writer_counts(w, &pub, &drop);
    EXPECT_EQ(2u, pub);
    EXPECT_EQ(0u, drop);
    EXPECT_EQ(1, fbus_writer_readers(w));
    fbus_reader_close(r);
    EXPECT_EQ(0, fbus_writer_close(w));
    struct fbus_info info;
    EXPECT_EQ(FBUS_ENOBUS, fbus_info_get(n.c_str(), 0, &info)) << "close removes the segment";
    EXPECT_EQ(-1, semval(n, 0)) << "close removes the slot set";
    EXPECT_EQ(0, role_exists(n)) << "close removes the role set";
}

TEST_F(Bus, WriterStateErrors)
{
    std::string n = bus("st");
    fbus_writer *w = open_writer(n);
    ASSERT_NE(nullptr, w);
    struct fbus_wslot s;
    EXPECT_EQ(FBUS_ESTATE, fbus_writer_commit(w, 10, 0));
    EXPECT_EQ(FBUS_ESTATE, fbus_writer_abort(w));
    ASSERT_EQ(0, fbus_writer_claim(w, &s));
    EXPECT_EQ(FBUS_ESTATE, fbus_writer_claim(w, &s));
    EXPECT_EQ(FBUS_ESIZE, fbus_writer_commit(w, s.capacity + 1, 0));
    EXPECT_EQ(0, fbus_writer_abort(w));
    std::vector<uint8_t> big(1 << 20);
    EXPECT_EQ(FBUS_ESIZE, fbus_writer_publish(w, big.data(), big.size(), 0));
    fbus_writer_close(w);
}

TEST_F(Bus, ReaderHoldingTheOtherSlotMakesTheWriterDropNotBlock)
{
    std::string n = bus("drop");
    fbus_writer *w = open_writer(n);
    fbus_reader *r;
    ASSERT_EQ(0, publish_pattern(w));
    ASSERT_EQ(0, fbus_reader_open(&r, n.c_str(), nullptr));
    struct fbus_frame f;
    ASSERT_EQ(0, fbus_reader_acquire(r, &f, 0, 100)); /* holds seq 1 */
    ASSERT_EQ(0, publish_pattern(w));                 /* seq 2 into the other slot */
    /* Slot of seq 1 is held, slot of seq 2 is latest: nothing to claim. */
    struct fbus_wslot s;
    EXPECT_EQ(FBUS_ENOSLOT, fbus_writer_claim(w, &s));
    uint64_t drop;
    fbus_writer_counts(w, nullptr, &drop);
    EXPECT_EQ(1u, drop);
    fbus_reader_release(r, &f);
    EXPECT_EQ(0, publish_pattern(w));
    fbus_reader_close(r);
    fbus_writer_close(w);
}

TEST_F(Bus, ReaderMappingIsReadOnly)
{
    std::string n = bus("ro");
    fbus_writer *w = open_writer(n);
    ASSERT_EQ(0, publish_pattern(w));
    int pfd[2];
    ASSERT_EQ(0, pipe(pfd));
    pid_t pid = fork();
    if (pid == 0) {
        fbus_reader *r;
        struct fbus_frame f;
        if (fbus_reader_open(&r, n.c_str(), nullptr) || fbus_reader_acquire(r, &f, 0, 1000))
            _exit(10);
        /* Find the mapping holding the frame in our own maps: it must be r--s. */
        std::ifstream maps("/proc/self/maps");
        std::string line, perms = "none";
        uintptr_t a = (uintptr_t)f.data;
        while (std::getline(maps, line)) {
            unsigned long lo, hi;
            char p[8];
            if (sscanf(line.c_str(), "%lx-%lx %4s", &lo, &hi, p) == 3 && a >= lo && a < hi)
                perms = p;
        }
        if (write(pfd[1], perms.c_str(), perms.size()) < 0)
            _exit(11);
        /* Now write through it: the kernel must stop us. */
        signal(SIGSEGV, SIG_DFL);
        *(volatile uint8_t *)f.data = 1;
        _exit(0);
    }
    close(pfd[1]);
    char perms[8] = {0};
    ASSERT_GT(read(pfd[0], perms, sizeof(perms) - 1), 0);
    close(pfd[0]);
    int st = fbus_wait_child(pid, 10000);
    EXPECT_STREQ("r--s", perms);
    EXPECT_EQ(128 + SIGSEGV, st) << "a write through the reader's mapping must fault";
    fbus_writer_close(w);
}

/* Reader child: verifies every byte of every frame for `ms`; reports counts on fd. */
static void verify_reader(const std::string &n, int fd, int ms)
{
    fbus_reader *r = nullptr;
    for (int i = 0; i < 200 && fbus_reader_open(&r, n.c_str(), nullptr) != 0; i++)
        usleep(5000);
    uint64_t last = 0, frames = 0, torn = 0, backwards = 0;
    uint64_t end = fbus_now_ns() + (uint64_t)ms * 1000000;
    while (r && fbus_now_ns() < end) {
        struct fbus_frame f;
        int rc = fbus_reader_acquire(r, &f, last, 200);
        if (rc == FBUS_ECLOSED)
            break;
        if (rc != 0)
            continue;
        if (fbus_pattern_check(f.data, f.bytesused, f.seq) != (size_t)-1)
            torn++;
        if (f.seq <= last)
            backwards++;
        last = f.seq;
        frames++;
        fbus_reader_release(r, &f);
    }
    fbus_reader_close(r);
    char buf[128];
    int len = snprintf(buf, sizeof(buf), "%llu %llu %llu\n", (unsigned long long)frames,
                       (unsigned long long)torn, (unsigned long long)backwards);
    if (write(fd, buf, (size_t)len) < 0)
        _exit(12);
    _exit(0);
}

TEST_F(Bus, FourReadersAtFullSpeedNeverSeeATornFrame)
{
    std::string n = bus("torn");
    fbus_writer *w = open_writer(n, 320, 240, 3);
    ASSERT_NE(nullptr, w);
    int pfd[2];
    ASSERT_EQ(0, pipe(pfd));
    std::vector<pid_t> kids;
    for (int i = 0; i < 4; i++) {
        pid_t p = fork();
        if (p == 0)
            verify_reader(n, pfd[1], 1500);
        kids.push_back(p);
    }
    close(pfd[1]);
    uint64_t end = fbus_now_ns() + 1700ull * 1000000;
    while (fbus_now_ns() < end)
        publish_pattern(w);
    uint64_t pub, drop;
    fbus_writer_counts(w, &pub, &drop);
    for (pid_t p : kids)
        EXPECT_EQ(0, fbus_wait_child(p, 10000));
    FILE *in = fdopen(pfd[0], "r");
    for (int i = 0; i < 4; i++) {
        unsigned long long frames = 0, torn = 1, back = 1;
        ASSERT_EQ(3, fscanf(in, "%llu %llu %llu", &frames, &torn, &back));
        EXPECT_GT(frames, 50u) << "reader " << i << " saw too few frames";
        EXPECT_EQ(0u, torn) << "reader " << i << " saw a torn frame";
        EXPECT_EQ(0u, back) << "reader " << i << " saw sequence numbers go backwards";
    }
    fclose(in);
    EXPECT_GT(pub, 1000u);
    RecordProperty("published", std::to_string(pub));
    RecordProperty("dropped", std::to_string(drop));
    fbus_writer_close(w);
}

TEST_F(Bus, KilledReaderHoldingAFrameLosesNoSlot)
{
    std::string n = bus("kr");
    fbus_writer *w = open_writer(n, 64, 48, 2);
    ASSERT_EQ(0, publish_pattern(w));
    int pfd[2];
    ASSERT_EQ(0, pipe(pfd));
    pid_t pid = fork();
    if (pid == 0) {
        fbus_reader *r;
        struct fbus_frame f;
        if (fbus_reader_open(&r, n.c_str(), nullptr) || fbus_reader_acquire(r, &f, 0, 1000))
            _exit(10);
        char c = (char)('0' + f.slot);
        if (write(pfd[1], &c, 1) != 1)
            _exit(11);
        pause();
        _exit(0);
    }
    close(pfd[1]);
    char c = 0;
    ASSERT_EQ(1, read(pfd[0], &c, 1));
    close(pfd[0]);
    int slot = c - '0';
    /* While it holds the slot the writer goes on, into the other slot. */
    EXPECT_EQ(1, semval(n, FBUS_SLOTS_MAX + slot));
    ASSERT_EQ(0, publish_pattern(w));
    kill(pid, SIGKILL);
    EXPECT_EQ(128 + SIGKILL, fbus_wait_child(pid, 5000));
    /* SEM_UNDO gave the hold back: every slot is usable again, nothing dropped. */
    EXPECT_EQ(0, semval(n, FBUS_SLOTS_MAX + slot));
    for (int i = 0; i < 10; i++)
        EXPECT_EQ(0, publish_pattern(w)) << "frame " << i;
    uint64_t drop;
    fbus_writer_counts(w, nullptr, &drop);
    EXPECT_EQ(0u, drop);
    fbus_writer_close(w);
}

/* Starts the test writer; returns its pid after it printed READY. */
static pid_t start_writer(const std::vector<std::string> &args, int *fd)
{
    pid_t p = fbus_spawn(fbus_prog_argv(fbus_test_prog("fbus-testwriter"), args), fd);
    std::string line;
    EXPECT_TRUE(fbus_read_line(*fd, &line, 10000));
    EXPECT_EQ("READY", line);
    return p;
}

TEST_F(Bus, WriterKilledMidFillNeverShowsThatFrameAndANewWriterCarriesOn)
{
    std::string n = bus("kw");
    int fd;
    pid_t wp = start_writer({"--bus", n, "--size", "160x120", "--fps", "200", "--stall-at", "30"},
                            &fd);
    fbus_reader *r;
    ASSERT_EQ(0, fbus_reader_open(&r, n.c_str(), nullptr));
    std::string line;
    ASSERT_TRUE(fbus_read_line(fd, &line, 10000));
    EXPECT_EQ("STALLED 30", line);
    close(fd);
    /* Half of frame 30 is in its slot; kill the writer right there. */
    kill(wp, SIGKILL);
    fbus_wait_child(wp, 5000);
    struct fbus_frame f;
    uint64_t last = 0;
    int rc;
    while ((rc = fbus_reader_acquire(r, &f, last, 300)) == 0) {
        EXPECT_EQ((size_t)-1, fbus_pattern_check(f.data, f.bytesused, f.seq));
        last = f.seq;
        fbus_reader_release(r, &f);
    }
    EXPECT_EQ(FBUS_EWRITER_GONE, rc);
    EXPECT_EQ(29u, last) << "frame 29 is the last whole one";
    struct fbus_info info;
    ASSERT_EQ(0, fbus_info_get(n.c_str(), 0, &info));
    EXPECT_FALSE(info.writer_alive);

    /* A new writer re-attaches to the same segment; the reader carries on. */
    wp = start_writer({"--bus", n, "--size", "160x120", "--fps", "200", "--count", "40"}, &fd);
    int got = 0;
    while ((rc = fbus_reader_acquire(r, &f, last, 2000)) == 0) {
        EXPECT_EQ((size_t)-1, fbus_pattern_check(f.data, f.bytesused, f.seq))
            << "torn frame " << f.seq;
        EXPECT_GT(f.seq, last);
        last = f.seq;
        got++;
        fbus_reader_release(r, &f);
    }
    EXPECT_EQ(FBUS_ECLOSED, rc);
    EXPECT_GT(got, 10);
    EXPECT_EQ(0, fbus_wait_child(wp, 10000));
    close(fd);
    fbus_reader_close(r);
}

TEST_F(Bus, RestartedWriterReattachesTheSameSegment)
{
    std::string n = bus("re");
    int fd;
    pid_t wp = start_writer({"--bus", n, "--fps", "100"}, &fd);
    struct fbus_info a, b;
    ASSERT_EQ(0, fbus_info_get(n.c_str(), 0, &a));
    kill(wp, SIGKILL);
    fbus_wait_child(wp, 5000);
    close(fd);
    fbus_writer *w = open_writer(n);
    ASSERT_NE(nullptr, w);
    ASSERT_EQ(0, fbus_info_get(n.c_str(), 0, &b));
    EXPECT_EQ(a.shmid, b.shmid);
    EXPECT_EQ(1u, b.restarts);
    EXPECT_EQ(getpid(), b.writer_pid);
    EXPECT_TRUE(b.writer_alive);
    fbus_writer_close(w);
}

TEST_F(Bus, SecondWriterIsRefusedNamingTheLiveWriter)
{
    std::string n = bus("two");
    int fd;
    pid_t wp = start_writer({"--bus", n, "--fps", "50"}, &fd);
    ProgResult r = fbus_run(fbus_prog_argv(fbus_test_prog("fbus-testwriter"), {"--bus", n}));
    EXPECT_EQ(3, r.status);
    EXPECT_NE(std::string::npos, r.err.find("busy: writer pid " + std::to_string(wp)))
        << r.err;
    /* In-process too: the error code, and info names the pid. */
    struct fbus_format f = rgb(64, 48);
    fbus_writer *w = nullptr;
    EXPECT_EQ(FBUS_EBUSY, fbus_writer_open(&w, n.c_str(), &f, nullptr));
    EXPECT_EQ(nullptr, w);
    struct fbus_info info;
    ASSERT_EQ(0, fbus_info_get(n.c_str(), 0, &info));
    EXPECT_EQ(wp, info.writer_pid);
    kill(wp, SIGTERM);
    EXPECT_EQ(0, fbus_wait_child(wp, 5000));
    close(fd);
}

TEST_F(Bus, ReadersFollowAFormatChange)
{
    std::string n = bus("fc");
    fbus_writer *w = open_writer(n, 64, 48);
    fbus_reader *r;
    ASSERT_EQ(0, fbus_reader_open(&r, n.c_str(), nullptr));
    ASSERT_EQ(0, publish_pattern(w));
    struct fbus_frame old, f;
    ASSERT_EQ(0, fbus_reader_acquire(r, &old, 0, 1000));
    EXPECT_EQ(64u, old.format.width);

    struct fbus_format nf;
    ASSERT_EQ(0, fbus_format_init(&nf, FBUS_FMT_YUYV, 320, 240));
    ASSERT_EQ(0, fbus_writer_set_format(w, &nf, 3));
    ASSERT_EQ(0, publish_pattern(w));
    ASSERT_EQ(0, fbus_reader_acquire(r, &f, old.seq, 1000));
    EXPECT_EQ(FBUS_FMT_YUYV, f.format.fourcc);
    EXPECT_EQ(320u, f.format.width);
    EXPECT_EQ(240u, f.format.height);
    EXPECT_EQ(2u, f.seq) << "sequence numbers go on across the change";
    EXPECT_EQ((size_t)-1, fbus_pattern_check(f.data, f.bytesused, f.seq));
    /* The frame held from before the change is still intact. */
    EXPECT_EQ((size_t)-1, fbus_pattern_check(old.data, old.bytesused, old.seq));
    EXPECT_EQ(0, fbus_reader_release(r, &old));
    EXPECT_EQ(0, fbus_reader_release(r, &f));
    struct fbus_info info;
    ASSERT_EQ(0, fbus_info_get(n.c_str(), 0, &info));
    EXPECT_EQ(3u, info.slots);
    fbus_reader_close(r);
    fbus_writer_close(w);
}

TEST_F(Bus, FormatChangeAcrossProcesses)
{
    std::string n = bus("fcp");
    int fd;
    pid_t wp = start_writer({"--bus", n, "--size", "64x48", "--fps", "200", "--count", "200",
                             "--change-at", "50", "--size2", "128x96", "--format2", "YUYV"},
                            &fd);
    fbus_reader *r;
    ASSERT_EQ(0, fbus_reader_open(&r, n.c_str(), nullptr));
    struct fbus_frame f;
    uint64_t last = 0;
    bool saw_old = false, saw_new = false;
    while (fbus_reader_acquire(r, &f, last, 2000) == 0) {
        EXPECT_EQ((size_t)-1, fbus_pattern_check(f.data, f.bytesused, f.seq));
        if (f.seq < 50) {
            saw_old = saw_old || f.format.width == 64;
            EXPECT_EQ(FBUS_FMT_RGB24, f.format.fourcc);
        } else {
            saw_new = saw_new || f.format.width == 128;
            EXPECT_EQ(FBUS_FMT_YUYV, f.format.fourcc);
        }
        last = f.seq;
        fbus_reader_release(r, &f);
    }
    EXPECT_TRUE(saw_old);
    EXPECT_TRUE(saw_new);
    EXPECT_EQ(0, fbus_wait_child(wp, 10000));
    close(fd);
    fbus_reader_close(r);
}

TEST_F(Bus, TimeoutsTellNoBusFromWriterGoneFromClosed)
{
    std::string n = bus("to");
    fbus_reader *r = nullptr;
    EXPECT_EQ(FBUS_ENOBUS, fbus_reader_open(&r, n.c_str(), nullptr));

    /* Writer alive, nothing new: a plain timeout, after about the time asked. */
    fbus_writer *w = open_writer(n);
    ASSERT_EQ(0, fbus_reader_open(&r, n.c_str(), nullptr));
    struct fbus_frame f;
    uint64_t t0 = fbus_now_ns();
    EXPECT_EQ(FBUS_ETIMEDOUT, fbus_reader_acquire(r, &f, 0, 100));
    EXPECT_GE(fbus_now_ns() - t0, 90u * 1000000);
    EXPECT_EQ(FBUS_EAGAIN, fbus_reader_acquire(r, &f, 0, 0));
    EXPECT_EQ(-EINVAL, fbus_reader_acquire(r, &f, 0, -1));
    /* Closed: the reader, still attached, is told at once, not after its timeout. */
    fbus_writer_close(w);
    t0 = fbus_now_ns();
    EXPECT_EQ(FBUS_ECLOSED, fbus_reader_acquire(r, &f, 0, 5000));
    EXPECT_LT(fbus_now_ns() - t0, 4000ull * 1000000);
    fbus_reader_close(r);

    /* Writer killed: "writer gone". */
    int fd;
    pid_t wp = start_writer({"--bus", n, "--fps", "100"}, &fd);
    ASSERT_EQ(0, fbus_reader_open(&r, n.c_str(), nullptr));
    kill(wp, SIGKILL);
    fbus_wait_child(wp, 5000);
    close(fd);
    uint64_t last = 0;
    int rc;
    while ((rc = fbus_reader_acquire(r, &f, last, 200)) == 0) {
        last = f.seq;
        fbus_reader_release(r, &f);
    }
    EXPECT_EQ(FBUS_EWRITER_GONE, rc);
    fbus_reader_close(r);
}

/*
 * The writer publishes and closes (removing the bus) before the reader looks: the last frame
 * still reaches it once, although its slot set is gone and it cannot be held; then "closed".
 */
TEST_F(Bus, LastFrameOfARemovedBusIsHandedOutOnce)
{
    std::string n = bus("last");
    fbus_writer *w = open_writer(n);
    fbus_reader *r = nullptr;
    ASSERT_EQ(0, fbus_reader_open(&r, n.c_str(), nullptr));
    ASSERT_EQ(0, publish_pattern(w));
    ASSERT_EQ(0, publish_pattern(w));
    ASSERT_EQ(0, fbus_writer_close(w));
    struct fbus_frame f;
    ASSERT_EQ(0, fbus_reader_acquire(r, &f, 0, 1000)) << "the last frame was lost";
    EXPECT_EQ(2u, f.seq);
    EXPECT_EQ((size_t)-1, fbus_pattern_check(f.data, f.bytesused, f.seq));
    EXPECT_EQ(0, fbus_reader_release(r, &f));
    EXPECT_EQ(FBUS_ECLOSED, fbus_reader_acquire(r, &f, 2, 1000));
    fbus_reader_close(r);
}

TEST_F(Bus, ClosedWithKeepStaysAndSaysClosed)
{
    std::string n = bus("keep");
    int fd;
    pid_t wp = start_writer({"--bus", n, "--count", "5", "--keep"}, &fd);
    EXPECT_EQ(0, fbus_wait_child(wp, 10000));
    close(fd);
    struct fbus_info info;
    ASSERT_EQ(0, fbus_info_get(n.c_str(), 0, &info));
    EXPECT_TRUE(info.closed);
    EXPECT_FALSE(info.writer_alive);
    EXPECT_EQ(5u, info.published);
    fbus_reader *r;
    ASSERT_EQ(0, fbus_reader_open(&r, n.c_str(), nullptr));
    struct fbus_frame f;
    /* The last frame is still there to take; after it, "closed". */
    ASSERT_EQ(0, fbus_reader_acquire(r, &f, 0, 1000));
    EXPECT_EQ(5u, f.seq);
    fbus_reader_release(r, &f);
    EXPECT_EQ(FBUS_ECLOSED, fbus_reader_acquire(r, &f, 5, 1000));
    fbus_reader_close(r);
    EXPECT_EQ(0, fbus_remove(n.c_str(), 0, 0));
    EXPECT_EQ(FBUS_ENOBUS, fbus_info_get(n.c_str(), 0, &info));
}

TEST_F(Bus, BadNamesSizesAndSlotCounts)
{
    struct fbus_format f = rgb(64, 48);
    fbus_writer *w = nullptr;
    for (const char *bad : {"", "Cam0", "cam 0", "cam/0", "cam0\xc3\xa9",
                            "a-name-that-is-far-too-long-for-a-bus"}) {
        EXPECT_EQ(FBUS_ENAME, fbus_writer_open(&w, bad, &f, nullptr)) << bad;
        fbus_reader *r = nullptr;
        EXPECT_EQ(FBUS_ENAME, fbus_reader_open(&r, bad, nullptr)) << bad;
    }
    EXPECT_EQ(FBUS_ENAME, fbus_writer_open(&w, nullptr, &f, nullptr));
    std::string n = bus("bad");
    struct fbus_format zero = f;
    zero.width = 0;
    EXPECT_EQ(FBUS_EFORMAT, fbus_writer_open(&w, n.c_str(), &zero, nullptr));
    struct fbus_format huge;
    EXPECT_EQ(FBUS_EFORMAT, fbus_format_init(&huge, FBUS_FMT_RGB24, 100000, 100000));
    struct fbus_writer_opts o;
    fbus_writer_opts_init(&o);
    o.slots = 17;
    EXPECT_EQ(FBUS_ESIZE, fbus_writer_open(&w, n.c_str(), &f, &o));
    o.slots = 1;
    EXPECT_EQ(FBUS_ESIZE, fbus_writer_open(&w, n.c_str(), &f, &o));
    o.slots = 2;
    o.mode = 0044;
    EXPECT_EQ(-EINVAL, fbus_writer_open(&w, n.c_str(), &f, &o)) << "writer must own rw";
    EXPECT_EQ(nullptr, w);
    struct fbus_info info;
    EXPECT_EQ(FBUS_ENOBUS, fbus_info_get(n.c_str(), 0, &info)) << "failed opens leave nothing";
    EXPECT_EQ(-1, semval(n, 0));
    EXPECT_EQ(0, role_exists(n));
}

TEST_F(Bus, KeyCollisionsAreRefused)
{
    std::string a = bus("ca"), b = bus("cb");
    struct fbus_writer_opts o;
    fbus_writer_opts_init(&o);
    o.key = fbus_key_from_name(a.c_str());
    struct fbus_format f = rgb(64, 48);
    fbus_writer *w1 = nullptr, *w2 = nullptr;
    ASSERT_EQ(0, fbus_writer_open(&w1, a.c_str(), &f, &o));
    fbus_writer_close(w1);
    o.keep = 1;
    ASSERT_EQ(0, fbus_writer_open(&w1, a.c_str(), &f, &o));
    ASSERT_EQ(0, fbus_writer_close(w1)); /* kept, closed, writer role free */
    /* Another name on the same key: refused, and the first bus untouched. */
    EXPECT_EQ(FBUS_ECOLLISION, fbus_writer_open(&w2, b.c_str(), &f, &o));
    fbus_reader *r = nullptr;
    struct fbus_reader_opts ro;
    fbus_reader_opts_init(&ro);
    ro.key = o.key;
    EXPECT_EQ(FBUS_ECOLLISION, fbus_reader_open(&r, b.c_str(), &ro));
    struct fbus_info info;
    EXPECT_EQ(0, fbus_info_get(a.c_str(), 0, &info));

    /* A segment that is not a framebus at all holds a key: never touched. */
    uint32_t k = fbus_key_from_name(b.c_str());
    int id = shmget((key_t)k, 4096, IPC_CREAT | IPC_EXCL | 0600);
    ASSERT_GE(id, 0);
    EXPECT_EQ(FBUS_ECOLLISION, fbus_writer_open(&w2, b.c_str(), &f, nullptr));
    /*
     * All zeros reads as a bus being made, or one whose writer died mid-create: not removed
     * without --force (with it, it would be: nothing tells the two apart).
     */
    EXPECT_EQ(FBUS_ECORRUPT, fbus_remove(b.c_str(), 0, 0));
    struct shmid_ds ds;
    EXPECT_EQ(0, shmctl(id, IPC_STAT, &ds)) << "the foreign segment still exists";
    shmctl(id, IPC_RMID, nullptr);
}

TEST_F(Bus, RemovedBusSaysSoAndAReaderMovesToTheNextOneUnderTheName)
{
    std::string n = bus("rmre");
    int fd;
    pid_t wp = start_writer({"--bus", n, "--fps", "100"}, &fd);
    fbus_reader *r;
    ASSERT_EQ(0, fbus_reader_open(&r, n.c_str(), nullptr));
    kill(wp, SIGKILL);
    fbus_wait_child(wp, 5000);
    close(fd);
    ASSERT_EQ(0, fbus_remove(n.c_str(), 0, 0)) << "a dead writer's bus may be removed";
    struct fbus_frame f;
    uint64_t last = 0;
    int rc;
    while ((rc = fbus_reader_acquire(r, &f, last, 300)) == 0) {
        last = f.seq;
        fbus_reader_release(r, &f);
    }
    EXPECT_EQ(FBUS_ENOBUS, rc) << fbus_err_name(rc);
    /* A new bus under the same name: the same reader handle finds it after a quiet slice. */
    fbus_writer *w = open_writer(n, 32, 32);
    ASSERT_EQ(0, publish_pattern(w));
    ASSERT_EQ(0, fbus_reader_acquire(r, &f, 0, 3000));
    EXPECT_EQ(32u, f.format.width);
    EXPECT_EQ((size_t)-1, fbus_pattern_check(f.data, f.bytesused, f.seq));
    fbus_reader_release(r, &f);
    fbus_reader_close(r);
    fbus_writer_close(w);
}

/* A writer killed between shmget and its header leaves zeros: the next writer takes the name back. */
TEST_F(Bus, NextWriterReplacesAHalfMadeSegmentOfADeadWriter)
{
    std::string n = bus("half");
    pid_t p = fork();
    if (p == 0) {
        /* The mode a writer gives its segment: only it may write. */
        int id = shmget((key_t)fbus_key_from_name(n.c_str()), 12288, IPC_CREAT | IPC_EXCL | 0640);
        _exit(id < 0 ? 1 : 0);
    }
    ASSERT_EQ(0, fbus_wait_child(p, 5000));
    fbus_writer *w = open_writer(n);
    ASSERT_NE(nullptr, w) << "the creator is dead: its zeros are no collision";
    ASSERT_EQ(0, publish_pattern(w));
    fbus_writer_close(w);
}
