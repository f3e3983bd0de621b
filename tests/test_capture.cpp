/*
 * test_capture.cpp - fbus-capture as a real process: the test pattern and
 * PNG replay read back by a reader in this process and by `fbus snap`,
 * --count, --keep, signals, the status line, and every bad input with its
 * exit code and message. Cameras are tested in the vivid VM (tests/vm).
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "fbus_test.h"
#include "png_io.h"
#include "testpattern.h"

#ifdef FBUS_CAPTURE

namespace
{

/* Exit codes, README "Exit codes" (common/advice.h). */
enum { EX_OK = 0, EX_USAGE = 2, EX_BUSY = 5, EX_CORRUPT = 6, EX_GONE = 8, EX_SOURCE = 9 };

std::vector<std::string> capture(const std::vector<std::string> &args)
{
    return fbus_prog_argv(FBUS_CAPTURE, args);
}

bool have_v4l2()
{
    static int have = -1;
    if (have < 0)
        have =
            fbus_run(capture({"--version"})).out.find("camera source: v4l2") != std::string::npos;
    return have;
}

/* Opens bus n as a reader, waiting for the writer to make it. */
fbus_reader *wait_reader(const std::string &n, int ms = 20000)
{
    fbus_reader *r = nullptr;
    for (int i = 0; i < ms / 10; i++) {
        if (fbus_reader_open(&r, n.c_str(), nullptr) == 0)
            return r;
        usleep(10000);
    }
    ADD_FAILURE() << "bus " << n << " did not appear";
    return nullptr;
}

/* Waits until bus n has published at least `frames` frames. */
bool wait_published(const std::string &n, uint64_t frames, int ms = 20000)
{
    struct fbus_info info;
    for (int i = 0; i < ms / 10; i++) {
        if (fbus_info_get(n.c_str(), 0, &info) == 0 && info.published >= frames)
            return true;
        usleep(10000);
    }
    return false;
}

/* True if /proc/sysvipc/{shm,sem} has an object with the key of bus n. */
bool ipc_present(const char *what, const std::string &n)
{
    std::ifstream in(std::string("/proc/sysvipc/") + what);
    std::string line;
    int32_t key = (int32_t)fbus_key_from_name(n.c_str());
    std::getline(in, line);
    while (std::getline(in, line)) {
        long long k;
        if (sscanf(line.c_str(), "%lld", &k) == 1 && (int32_t)k == key)
            return true;
    }
    return false;
}

std::vector<uint8_t> to_rgb(const struct fbus_frame &f)
{
    std::vector<uint8_t> rgb((size_t)f.format.width * f.format.height * 3);
    EXPECT_EQ(0, fbus_convert_to_rgb24(&f.format, f.data, f.bytesused, rgb.data()));
    return rgb;
}

struct TempDir {
    std::string path;
    TempDir()
    {
        char tmpl[] = "/tmp/fbus-capture-test.XXXXXX";
        path = mkdtemp(tmpl) ? tmpl : "";
    }
    ~TempDir()
    {
        if (!path.empty())
            (void)!system(("rm -rf '" + path + "'").c_str());
    }
};

/* A smooth RGB image (gradients plus a per-frame offset): chroma subsampling keeps it close. */
std::vector<uint8_t> smooth_image(uint32_t w, uint32_t h, unsigned k)
{
    std::vector<uint8_t> rgb((size_t)w * h * 3);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            uint8_t *p = &rgb[((size_t)y * w + x) * 3];
            p[0] = (uint8_t)(40 + x * 160 / w + k * 10);
            p[1] = (uint8_t)(60 + y * 140 / h);
            p[2] = (uint8_t)(200 - (x + y) * 120 / (w + h) - k * 5);
        }
    return rgb;
}

/* A noisy image: every byte differs, so only an exact path returns it unchanged. */
std::vector<uint8_t> noise_image(uint32_t w, uint32_t h, unsigned k)
{
    std::vector<uint8_t> rgb((size_t)w * h * 3);
    uint32_t s = 0x9E3779B9u * (k + 1);
    for (auto &b : rgb) {
        s = s * 1664525u + 1013904223u;
        b = (uint8_t)(s >> 24);
    }
    return rgb;
}

void write_png(const std::string &path, const std::vector<uint8_t> &rgb, uint32_t w, uint32_t h)
{
    ASSERT_EQ(0, app_png_write_rgb24(path.c_str(), rgb.data(), w, h)) << path;
}

struct Diff {
    int max = 0;
    double mean = 0;
};

Diff diff(const std::vector<uint8_t> &a, const std::vector<uint8_t> &b)
{
    Diff d;
    double sum = 0;
    for (size_t i = 0; i < a.size() && i < b.size(); i++) {
        int e = abs((int)a[i] - (int)b[i]);
        d.max = std::max(d.max, e);
        sum += e;
    }
    d.mean = a.empty() ? 0 : sum / (double)a.size();
    return d;
}

/* Test names from a fourcc parameter: .../YUYV. */
std::string fourcc_name(const ::testing::TestParamInfo<const char *> &info)
{
    return info.param;
}

} // namespace

class Capture : public BusTest
{
};

/* ---- The test pattern, read back in another process -------------------------------------- */

class CapturePattern : public Capture, public ::testing::WithParamInterface<const char *>
{
};

TEST_P(CapturePattern, FrameCounterIsTheSequenceNumberAndTimestampsIncrease)
{
    std::string n = bus("pat");
    uint32_t fourcc = fbus_fourcc_parse(GetParam());
    pid_t pid =
        fbus_spawn(capture({"--bus", n, "--source", "test", "--format", GetParam(), "--size",
                            "320x240", "--fps", "100", "--count", "60", "--keep"}));
    fbus_reader *r = wait_reader(n);
    ASSERT_NE(nullptr, r);
    struct fbus_format want;
    ASSERT_EQ(0, fbus_format_init(&want, fourcc, 320, 240));
    uint64_t last_seq = 0, last_ts = 0, frames = 0;
    while (last_seq < 60) {
        struct fbus_frame f;
        int rc = fbus_reader_acquire(r, &f, last_seq, 5000);
        if (rc == FBUS_ECLOSED)
            break;
        ASSERT_EQ(0, rc) << fbus_strerror(rc);
        EXPECT_EQ(0, memcmp(&want, &f.format, sizeof(want))) << "format of frame " << f.seq;
        EXPECT_EQ(want.sizeimage, f.bytesused);
        std::vector<uint8_t> rgb = to_rgb(f);
        uint32_t counter = 0;
        EXPECT_EQ(0, app_tp_decode(rgb.data(), 320, 240, 320 * 3, &counter));
        EXPECT_EQ(f.seq, counter) << "the frame counter drawn is the sequence number";
        EXPECT_GT(f.seq, last_seq);
        EXPECT_GT(f.timestamp_ns, last_ts) << "timestamps increase";
        EXPECT_LE(f.timestamp_ns, fbus_now_ns());
        last_seq = f.seq;
        last_ts = f.timestamp_ns;
        frames++;
        fbus_reader_release(r, &f);
    }
    fbus_reader_close(r);
    EXPECT_EQ(EX_OK, fbus_wait_child(pid, 30000));
    EXPECT_GE(frames, 10u) << "the reader saw too few frames";
    struct fbus_info info;
    ASSERT_EQ(0, fbus_info_get(n.c_str(), 0, &info));
    EXPECT_EQ(60u, info.published) << "--count 60";
    EXPECT_EQ(60u, info.last_seq);
    EXPECT_TRUE(info.closed) << "--keep leaves the bus, marked closed";
}

INSTANTIATE_TEST_SUITE_P(Formats, CapturePattern,
                         ::testing::Values("YUYV", "UYVY", "NV12", "YU12", "RGB3", "BGR3", "GREY"),
                         fourcc_name);

TEST_F(Capture, StillPatternAndDefaultsAre640x480Yuyv)
{
    std::string n = bus("still");
    ProgResult res = fbus_run(
        capture({"--bus", n, "--source", "test:still", "--fps", "200", "--count", "5", "--keep"}));
    EXPECT_EQ(EX_OK, res.status) << res.err;
    struct fbus_info info;
    ASSERT_EQ(0, fbus_info_get(n.c_str(), 0, &info));
    EXPECT_EQ(FBUS_FMT_YUYV, info.format.fourcc);
    EXPECT_EQ(640u, info.format.width);
    EXPECT_EQ(480u, info.format.height);
    EXPECT_EQ(5u, info.published);
    EXPECT_EQ(2u, info.slots);
    EXPECT_EQ(0640u, info.mode) << "the default --mode 0660: the group reads, only the writer writes";
}

TEST_F(Capture, SlotsAndModeReachTheBus)
{
    std::string n = bus("opts");
    ProgResult res =
        fbus_run(capture({"--bus", n, "--source", "test", "--size", "64x48", "--slots", "5",
                          "--mode", "0640", "--count", "3", "--fps", "500", "--keep"}));
    EXPECT_EQ(EX_OK, res.status) << res.err;
    struct fbus_info info;
    ASSERT_EQ(0, fbus_info_get(n.c_str(), 0, &info));
    EXPECT_EQ(5u, info.slots);
    EXPECT_EQ(0640u, info.mode);
}

/* ---- Signals ---------------------------------------------------------------------------- */

class CaptureSignal : public Capture, public ::testing::WithParamInterface<int>
{
};

TEST_P(CaptureSignal, StopsCleanlyAndRemovesTheBus)
{
    std::string n = bus("sig");
    pid_t pid =
        fbus_spawn(capture({"--bus", n, "--source", "test", "--size", "160x120", "--fps", "100"}));
    ASSERT_TRUE(wait_published(n, 5));
    ASSERT_TRUE(ipc_present("shm", n));
    ASSERT_TRUE(ipc_present("sem", n));
    kill(pid, GetParam());
    EXPECT_EQ(EX_OK, fbus_wait_child(pid, 10000));
    EXPECT_FALSE(ipc_present("shm", n)) << "segment left in /proc/sysvipc/shm";
    EXPECT_FALSE(ipc_present("sem", n)) << "semaphore set left in /proc/sysvipc/sem";
}

INSTANTIATE_TEST_SUITE_P(IntTerm, CaptureSignal, ::testing::Values(SIGINT, SIGTERM),
                         [](const ::testing::TestParamInfo<int> &i) {
                             return std::string(i.param == SIGINT ? "SIGINT" : "SIGTERM");
                         });

TEST_F(Capture, KeepLeavesTheClosedBusAfterSigterm)
{
    std::string n = bus("keep");
    pid_t pid = fbus_spawn(
        capture({"--bus", n, "--source", "test", "--size", "160x120", "--fps", "100", "--keep"}));
    ASSERT_TRUE(wait_published(n, 5));
    kill(pid, SIGTERM);
    EXPECT_EQ(EX_OK, fbus_wait_child(pid, 10000));
    EXPECT_TRUE(ipc_present("shm", n));
    struct fbus_info info;
    ASSERT_EQ(0, fbus_info_get(n.c_str(), 0, &info));
    EXPECT_TRUE(info.closed);
    EXPECT_FALSE(info.writer_alive);
    EXPECT_GE(info.published, 5u);
    fbus_test_remove(n);
    EXPECT_FALSE(ipc_present("shm", n));
    EXPECT_FALSE(ipc_present("sem", n));
}

TEST_F(Capture, SighupIsIgnored)
{
    std::string n = bus("hup");
    pid_t pid =
        fbus_spawn(capture({"--bus", n, "--source", "test", "--size", "160x120", "--fps", "100"}));
    ASSERT_TRUE(wait_published(n, 2));
    kill(pid, SIGHUP);
    struct fbus_info before, after;
    ASSERT_EQ(0, fbus_info_get(n.c_str(), 0, &before));
    ASSERT_TRUE(wait_published(n, before.published + 10)) << "frames stopped after SIGHUP";
    ASSERT_EQ(0, fbus_info_get(n.c_str(), 0, &after));
    EXPECT_TRUE(after.writer_alive);
    kill(pid, SIGTERM);
    EXPECT_EQ(EX_OK, fbus_wait_child(pid, 10000));
}

TEST_F(Capture, VerboseSaysThePathAndPrintsAStatusLineEverySecond)
{
    std::string n = bus("verb");
    ProgResult res = fbus_run(capture({"--bus", n, "--source", "test", "--size", "160x120", "--fps",
                                       "100", "--count", "250", "--verbose"}));
    EXPECT_EQ(EX_OK, res.status) << res.err;
    EXPECT_NE(std::string::npos, res.err.find("path:")) << res.err;
    size_t last = res.err.rfind("status: ");
    ASSERT_NE(std::string::npos, last) << res.err;
    EXPECT_NE(std::string::npos, res.err.find(" fps, ", last)) << res.err;
    EXPECT_NE(res.err.find("status: "), last) << "250 frames at 100 fps: two lines or more";
    /* The rate is the library's (fbus_writer_fps): by the last line, whole seconds counted. */
    EXPECT_GT(strtod(res.err.c_str() + last + 8, nullptr), 5.0) << res.err;
    EXPECT_NE(std::string::npos, res.err.find(" dropped, ")) << res.err;
    EXPECT_NE(std::string::npos, res.err.find(" readers")) << res.err;
    EXPECT_FALSE(ipc_present("shm", n)) << "without --keep the bus goes at the end";
}

TEST_F(Capture, SecondWriterIsToldThePidOfTheLiveOne)
{
    std::string n = bus("busy");
    pid_t pid =
        fbus_spawn(capture({"--bus", n, "--source", "test", "--size", "160x120", "--fps", "50"}));
    ASSERT_TRUE(wait_published(n, 1));
    ProgResult res = fbus_run(capture({"--bus", n, "--source", "test"}));
    EXPECT_EQ(EX_BUSY, res.status);
    EXPECT_NE(std::string::npos, res.err.find("busy")) << res.err;
    EXPECT_NE(std::string::npos, res.err.find("writer pid " + std::to_string(pid))) << res.err;
    kill(pid, SIGTERM);
    EXPECT_EQ(EX_OK, fbus_wait_child(pid, 10000));
}

/* Two bus names (of this test process) whose keys collide: a birthday search over 24 bits. */
std::pair<std::string, std::string> colliding_names()
{
    std::map<uint32_t, std::string> seen;
    for (unsigned i = 0; i < 1000000; i++) {
        std::string n = "t." + std::to_string(getpid()) + ".k" + std::to_string(i);
        auto it = seen.emplace(fbus_key_from_name(n.c_str()), n);
        if (!it.second)
            return {it.first->second, n};
    }
    return {};
}

TEST_F(Capture, CollidingNamesAreToldTheCollisionAndKey)
{
    auto names = colliding_names();
    ASSERT_FALSE(names.first.empty());
    const std::string &a = names.first, &b = names.second;
    pid_t pid =
        fbus_spawn(capture({"--bus", a, "--source", "test", "--size", "160x120", "--fps", "50"}));
    ASSERT_TRUE(wait_published(a, 1));
    ProgResult res = fbus_run(capture({"--bus", b, "--source", "test", "--count", "3"}));
    EXPECT_EQ(EX_CORRUPT, res.status) << res.err;
    EXPECT_TRUE(res.err.find("collides with bus '" + a + "'") != std::string::npos) << res.err;
    EXPECT_TRUE(res.err.find("--key") != std::string::npos) << res.err;
    EXPECT_TRUE(res.err.find("busy") == std::string::npos) << res.err;
    /* The key it suggests is free: the second bus runs under it. */
    size_t at = res.err.find("e.g. --key ");
    ASSERT_NE(std::string::npos, at) << res.err;
    std::string key = res.err.substr(at + 11, 10);
    res = fbus_run(capture({"--bus", b, "--key", key, "--source", "test", "--count", "3"}));
    EXPECT_EQ(EX_OK, res.status) << res.err;
    kill(pid, SIGTERM);
    EXPECT_EQ(EX_OK, fbus_wait_child(pid, 10000));
    fbus_test_remove(a);
}

TEST_F(Capture, BusRemovedUnderTheWriterSaysSoAndStops)
{
    std::string n = bus("rmd");
    ProgResult rm;
    std::thread remover([&] {
        if (wait_published(n, 1))
            rm = fbus_run(fbus_prog_argv(FBUS_TOOL, {"rm", n, "--force"}));
    });
    ProgResult res = fbus_run(
        capture({"--bus", n, "--source", "test", "--size", "160x120", "--fps", "50"}), 20000);
    remover.join();
    EXPECT_EQ(0, rm.status) << rm.err;
    EXPECT_EQ(EX_GONE, res.status) << res.err;
    EXPECT_NE(std::string::npos, res.err.find("removed under its writer")) << res.err;
    EXPECT_NE(std::string::npos, res.err.find("re-make it")) << res.err;
    EXPECT_EQ(std::string::npos, res.err.find("Invalid argument")) << res.err;
    EXPECT_FALSE(ipc_present("shm", n)) << "not made again";
}

/* ---- PNG replay ------------------------------------------------------------------------- */

class CapturePng : public Capture
{
  protected:
    TempDir dir;
    std::vector<std::vector<uint8_t>> images;
    void make(uint32_t w, uint32_t h, unsigned n, bool smooth)
    {
        for (unsigned k = 0; k < n; k++) {
            images.push_back(smooth ? smooth_image(w, h, k) : noise_image(w, h, k));
            char name[32];
            snprintf(name, sizeof(name), "/f%03u.png", k);
            write_png(dir.path + name, images.back(), w, h);
        }
    }
    std::vector<uint8_t> snap(const std::string &n, uint32_t *w, uint32_t *h)
    {
        std::string out = dir.path + "/snap.out.png";
        ProgResult res = fbus_run(fbus_prog_argv(FBUS_TOOL, {"snap", n, out}));
        EXPECT_EQ(0, res.status) << res.err;
        uint8_t *rgb = nullptr;
        EXPECT_EQ(0, app_png_read_rgb24(out.c_str(), &rgb, w, h));
        std::vector<uint8_t> v(rgb, rgb + (rgb ? (size_t)*w * *h * 3 : 0));
        free(rgb);
        return v;
    }
};

TEST_F(CapturePng, Rgb3ReplayComesBackExactInOrderAndThroughFbusSnap)
{
    make(64, 48, 3, false);
    std::string n = bus("png");
    pid_t pid = fbus_spawn(capture({"--bus", n, "--source", "png:" + dir.path, "--fps", "100"}));
    fbus_reader *r = wait_reader(n);
    ASSERT_NE(nullptr, r);
    uint64_t last = 0;
    for (int i = 0; i < 20; i++) {
        struct fbus_frame f;
        ASSERT_EQ(0, fbus_reader_acquire(r, &f, last, 5000));
        EXPECT_EQ(FBUS_FMT_RGB24, f.format.fourcc);
        ASSERT_EQ(64u * 48 * 3, f.bytesused);
        const auto &want = images[(f.seq - 1) % 3];
        EXPECT_EQ(0, memcmp(want.data(), f.data, want.size()))
            << "frame " << f.seq << " is not file " << (f.seq - 1) % 3 << ": wrong order or data";
        last = f.seq;
        fbus_reader_release(r, &f);
    }
    fbus_reader_close(r);
    EXPECT_GT(last, 3u) << "the sequence loops without --count";
    uint32_t w = 0, h = 0;
    std::vector<uint8_t> got = snap(n, &w, &h);
    EXPECT_EQ(64u, w);
    EXPECT_EQ(48u, h);
    bool match = false;
    for (const auto &img : images)
        match = match || got == img;
    EXPECT_TRUE(match) << "fbus snap of an RGB3 replay must equal one of the PNGs exactly";
    kill(pid, SIGTERM);
    EXPECT_EQ(EX_OK, fbus_wait_child(pid, 10000));
}

/*
 * YUV buses carry BT.601 limited-range 8-bit samples with shared chroma: the
 * documented tolerance (docs/capture.md) on smooth images is 8 per channel at
 * most and 2 on average. The snap must also equal, exactly, what the
 * library's own conversion there and back makes of the file: the bus itself
 * adds nothing.
 */
class CapturePngYuv : public CapturePng, public ::testing::WithParamInterface<const char *>
{
};

TEST_P(CapturePngYuv, SnapIsWithinTheDocumentedTolerance)
{
    make(64, 48, 1, true);
    std::string n = bus("pngyuv");
    pid_t pid = fbus_spawn(capture({"--bus", n, "--source", "png:" + dir.path + "/*.png",
                                    "--format", GetParam(), "--fps", "50"}));
    ASSERT_TRUE(wait_published(n, 1));
    uint32_t w = 0, h = 0;
    std::vector<uint8_t> got = snap(n, &w, &h);
    kill(pid, SIGTERM);
    EXPECT_EQ(EX_OK, fbus_wait_child(pid, 10000));
    ASSERT_EQ(images[0].size(), got.size());
    Diff d = diff(images[0], got);
    EXPECT_LE(d.max, 8) << GetParam();
    EXPECT_LE(d.mean, 2.0) << GetParam();
    struct fbus_format f;
    ASSERT_EQ(0, fbus_format_init(&f, fbus_fourcc_parse(GetParam()), 64, 48));
    std::vector<uint8_t> yuv(f.sizeimage), back(images[0].size());
    ASSERT_EQ(0, fbus_convert_from_rgb24(&f, images[0].data(), yuv.data()));
    ASSERT_EQ(0, fbus_convert_to_rgb24(&f, yuv.data(), yuv.size(), back.data()));
    EXPECT_EQ(back, got) << "the bus changed the frame";
    RecordProperty("max_error", d.max);
}

INSTANTIATE_TEST_SUITE_P(Formats, CapturePngYuv, ::testing::Values("YUYV", "NV12", "YU12"),
                         fourcc_name);

TEST_F(CapturePng, CountStopsAfterNFrames)
{
    make(32, 16, 3, false);
    std::string n = bus("pngcount");
    ProgResult res = fbus_run(capture(
        {"--bus", n, "--source", "png:" + dir.path, "--fps", "200", "--count", "7", "--keep"}));
    EXPECT_EQ(EX_OK, res.status) << res.err;
    struct fbus_info info;
    ASSERT_EQ(0, fbus_info_get(n.c_str(), 0, &info));
    EXPECT_EQ(7u, info.published);
    EXPECT_EQ(32u, info.format.width);
    EXPECT_EQ(FBUS_FMT_RGB24, info.format.fourcc);
}

TEST_F(CapturePng, EveryFileMustHaveTheBusSize)
{
    make(32, 16, 2, false);
    write_png(dir.path + "/f002.png", noise_image(16, 16, 9), 16, 16);
    std::string n = bus("pngsize");
    ProgResult res = fbus_run(capture({"--bus", n, "--source", "png:" + dir.path}));
    EXPECT_EQ(EX_SOURCE, res.status);
    EXPECT_NE(std::string::npos, res.err.find("f002.png is 16x16, but the bus is 32x16"))
        << res.err;
    res = fbus_run(
        capture({"--bus", n, "--source", "png:" + dir.path + "/f000.png", "--size", "64x48"}));
    EXPECT_EQ(EX_SOURCE, res.status);
    EXPECT_NE(std::string::npos, res.err.find("every PNG must have the bus size")) << res.err;
    struct fbus_info info;
    EXPECT_EQ(FBUS_ENOBUS, fbus_info_get(n.c_str(), 0, &info)) << "no bus for a bad source";
}

TEST_F(CapturePng, BrokenFilesAndEmptyGlobsAreClearErrors)
{
    std::string n = bus("pngbad");
    ProgResult res = fbus_run(capture({"--bus", n, "--source", "png:" + dir.path + "/*.png"}));
    EXPECT_EQ(EX_SOURCE, res.status);
    EXPECT_NE(std::string::npos, res.err.find("no file matches")) << res.err;
    std::ofstream(dir.path + "/junk.png") << "this is not a PNG";
    res = fbus_run(capture({"--bus", n, "--source", "png:" + dir.path}));
    EXPECT_EQ(EX_SOURCE, res.status);
    EXPECT_NE(std::string::npos, res.err.find("not a valid PNG")) << res.err;
    res = fbus_run(capture({"--bus", n, "--source", "png:"}));
    EXPECT_EQ(EX_SOURCE, res.status);
    EXPECT_NE(std::string::npos, res.err.find("png:DIR")) << res.err;
}

/* ---- Bad input: exit code, message, and no bus left behind ------------------------------- */

struct BadInput {
    const char *name;              /* of the test case */
    std::vector<std::string> args; /* "@" stands for the test's bus name */
    int status;
    const char *message;
};

class CaptureBadInput : public Capture, public ::testing::WithParamInterface<BadInput>
{
};

TEST_P(CaptureBadInput, ExitsWithAMessageSayingWhatToDo)
{
    std::string n = bus("bad");
    std::vector<std::string> args = GetParam().args;
    for (auto &a : args)
        if (a == "@")
            a = n;
    ProgResult res = fbus_run(capture(args));
    EXPECT_EQ(GetParam().status, res.status) << res.err;
    EXPECT_NE(std::string::npos, res.err.find(GetParam().message)) << res.err;
    EXPECT_EQ(std::string::npos, res.err.find("libv4l2: error")) << "libv4l2's own noise";
    struct fbus_info info;
    EXPECT_EQ(FBUS_ENOBUS, fbus_info_get(n.c_str(), 0, &info)) << "a bus was made anyway";
}

std::string bad_input_name(const ::testing::TestParamInfo<BadInput> &info)
{
    return info.param.name;
}

INSTANTIATE_TEST_SUITE_P(
    Usage, CaptureBadInput,
    ::testing::Values(
        BadInput{"NoBus", {"--source", "test"}, EX_USAGE, "--bus NAME is required"},
        BadInput{
            "BadBusName", {"--bus", "Cam/0", "--source", "test"}, EX_USAGE, "not a valid bus name"},
        BadInput{"ModeNotOctal",
                 {"--bus", "@", "--source", "test", "--mode", "999"},
                 EX_USAGE,
                 "bad --mode"},
        BadInput{"ModeOwnerCannotWrite",
                 {"--bus", "@", "--source", "test", "--mode", "0400"},
                 EX_USAGE,
                 "read and write for the owner"},
        BadInput{
            "ModeWord", {"--bus", "@", "--source", "test", "--mode", "rw"}, EX_USAGE, "bad --mode"},
        BadInput{"SizeWithoutX",
                 {"--bus", "@", "--source", "test", "--size", "640"},
                 EX_USAGE,
                 "WIDTHxHEIGHT"},
        BadInput{"SizeZero",
                 {"--bus", "@", "--source", "test", "--size", "0x480"},
                 EX_USAGE,
                 "bad --size"},
        BadInput{
            "FpsZero", {"--bus", "@", "--source", "test", "--fps", "0"}, EX_USAGE, "bad --fps"},
        BadInput{
            "OneSlot", {"--bus", "@", "--source", "test", "--slots", "1"}, EX_USAGE, "2 to 16"},
        BadInput{"SeventeenSlots",
                 {"--bus", "@", "--source", "test", "--slots", "17"},
                 EX_USAGE,
                 "2 to 16"},
        BadInput{"CountZero",
                 {"--bus", "@", "--source", "test", "--count", "0"},
                 EX_USAGE,
                 "bad --count"},
        BadInput{"UnknownFormat",
                 {"--bus", "@", "--source", "test", "--format", "XYZW"},
                 EX_USAGE,
                 "use YUYV, UYVY"},
        BadInput{"ExtraArgument",
                 {"--bus", "@", "--source", "test", "extra"},
                 EX_USAGE,
                 "unexpected argument"},
        BadInput{"UnknownOption", {"--bus", "@", "--bogus"}, EX_USAGE, ""}),
    bad_input_name);

INSTANTIATE_TEST_SUITE_P(
    Sources, CaptureBadInput,
    ::testing::Values(BadInput{"PatternAsMjpg",
                               {"--bus", "@", "--source", "test", "--format", "MJPG"},
                               EX_SOURCE,
                               "pick a raw --format"},
                      BadInput{"OddWidthYuyv",
                               {"--bus", "@", "--source", "test", "--size", "641x480"},
                               EX_SOURCE,
                               "an even width"},
                      BadInput{"OddHeightNv12",
                               {"--bus", "@", "--source", "test", "--format", "NV12", "--size",
                                "640x481"},
                               EX_SOURCE,
                               "even width and height"},
                      BadInput{"UnknownPattern",
                               {"--bus", "@", "--source", "test:zigzag"},
                               EX_SOURCE,
                               "unknown pattern"},
                      BadInput{"UnknownSourceKind",
                               {"--bus", "@", "--source", "webcam:0"},
                               EX_SOURCE,
                               "unknown --source"}),
    bad_input_name);

class CaptureDevice : public Capture
{
  protected:
    void SetUp() override
    {
        if (!have_v4l2())
            GTEST_SKIP() << "fbus-capture built without libv4l2: the camera errors differ";
    }
    ProgResult run(const std::vector<std::string> &extra)
    {
        std::vector<std::string> a = {"--bus", bus("dev")};
        a.insert(a.end(), extra.begin(), extra.end());
        return fbus_run(capture(a));
    }
};

TEST_F(CaptureDevice, MissingDeviceSaysHowToFindCameras)
{
    ProgResult res = run({"--source", "v4l2:/dev/video-none-73"});
    EXPECT_EQ(EX_SOURCE, res.status);
    EXPECT_NE(std::string::npos,
              res.err.find("/dev/video-none-73: no such device; list cameras with "
                           "'fbus-capture --list' or use --source test"))
        << res.err;
}

TEST_F(CaptureDevice, DevNullAndRegularFilesAreNotV4l2Devices)
{
    TempDir dir;
    std::ofstream(dir.path + "/file") << "x";
    for (std::string p : {std::string("/dev/null"), dir.path + "/file"}) {
        ProgResult res = run({"--source", "v4l2:" + p});
        EXPECT_EQ(EX_SOURCE, res.status) << p;
        EXPECT_NE(std::string::npos, res.err.find(p + ": not a V4L2 device")) << res.err;
        EXPECT_EQ(std::string::npos, res.err.find("libv4l2: error")) << res.err;
    }
    ProgResult res = run({"--source", "v4l2:" + dir.path});
    EXPECT_EQ(EX_SOURCE, res.status);
    EXPECT_NE(std::string::npos, res.err.find("is a directory, not a video device")) << res.err;
    res = run({"--source", "/dev/null"});
    EXPECT_EQ(EX_SOURCE, res.status) << "a bare /dev path means v4l2:";
    EXPECT_NE(std::string::npos, res.err.find("not a V4L2 device")) << res.err;
}

TEST_F(CaptureDevice, NoCameraByDefaultSaysToUseTheTestSource)
{
    if (access("/dev/video0", F_OK) == 0)
        GTEST_SKIP() << "this machine has /dev/video0";
    ProgResult res = run({});
    EXPECT_EQ(EX_SOURCE, res.status);
    EXPECT_NE(std::string::npos, res.err.find("no camera at /dev/video0")) << res.err;
    EXPECT_NE(std::string::npos, res.err.find("--source test")) << res.err;
}

TEST_F(CaptureDevice, ListOfAMissingOrBogusDevice)
{
    ProgResult res = fbus_run(capture({"--list", "/dev/video-none-73"}));
    EXPECT_EQ(EX_SOURCE, res.status);
    EXPECT_NE(std::string::npos, res.err.find("no such device")) << res.err;
    res = fbus_run(capture({"--list", "/dev/null"}));
    EXPECT_EQ(EX_SOURCE, res.status);
    EXPECT_NE(std::string::npos, res.err.find("not a V4L2 device")) << res.err;
}

TEST_F(Capture, HelpAndVersion)
{
    ProgResult res = fbus_run(capture({"--help"}));
    EXPECT_EQ(EX_OK, res.status);
    EXPECT_NE(std::string::npos, res.out.find("fbus-capture --list [DEVICE]"));
    res = fbus_run(capture({"--version"}));
    EXPECT_EQ(EX_OK, res.status);
    EXPECT_NE(std::string::npos, res.out.find(fbus_version_string()));
}

#else

TEST(Capture, NotBuilt)
{
    GTEST_SKIP() << "fbus-capture is not part of this build (FBUS_CAPTURE=OFF)";
}

#endif
