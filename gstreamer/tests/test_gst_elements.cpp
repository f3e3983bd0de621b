/*
 * test_gst_elements.cpp - fbussrc and fbussink in-process (GstHarness and small pipelines),
 * the uninstalled plugin found through GST_PLUGIN_PATH: caps, pixels, the slot pool,
 * timestamps, format change, the hold bound, DISCONT, EOS and errors, state changes while
 * blocked.
 */
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include <fcntl.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "fbus_test.h"
#include "layout.h"

namespace
{

class GstEnv : public ::testing::Environment
{
  public:
    void SetUp() override
    {
        setenv("GST_PLUGIN_PATH", FBUS_GST_PLUGIN_DIR, 1);
        setenv("GST_REGISTRY", FBUS_GST_REGISTRY, 1);
        gst_init(nullptr, nullptr);
        ASSERT_NE(gst_element_factory_find("fbussrc"), nullptr) << "plugin not found";
    }
};
const auto *g_env = ::testing::AddGlobalTestEnvironment(new GstEnv);

struct Writer {
    fbus_writer *w = nullptr;
    int open(const std::string &name, uint32_t fourcc, unsigned wd, unsigned ht, unsigned slots = 4)
    {
        struct fbus_format f;
        struct fbus_writer_opts o;
        fbus_format_init(&f, fourcc, wd, ht);
        fbus_writer_opts_init(&o);
        o.slots = slots;
        return fbus_writer_open(&w, name.c_str(), &f, &o);
    }
    /* A frame whose every byte is (seq + byte index) & 0xff. */
    int publish(uint64_t seq, uint64_t ts = 0)
    {
        const struct fbus_format *f = fbus_writer_format(w);
        std::string data(f->sizeimage, '\0');
        for (size_t i = 0; i < data.size(); i++)
            data[i] = (char)((seq + i) & 0xff);
        return fbus_writer_publish(w, data.data(), data.size(), ts);
    }
    ~Writer()
    {
        fbus_writer_close(w);
    }
};

/* A harness around fbussrc; extra: "property=value" or "". */
GstHarness *src_harness(const std::string &bus, const char *extra = "")
{
    GstElement *e = gst_element_factory_make("fbussrc", nullptr);
    g_object_set(e, "bus", bus.c_str(), nullptr);
    if (*extra) {
        std::string kv = extra;
        size_t eq = kv.find('=');
        gst_util_set_object_arg(G_OBJECT(e), kv.substr(0, eq).c_str(), kv.c_str() + eq + 1);
    }
    GstHarness *h = gst_harness_new_with_element(e, nullptr, "src");
    gst_object_unref(e);
    gst_harness_use_systemclock(h);
    gst_harness_play(h);
    return h;
}

bool frame_ok(GstBuffer *buf, uint64_t seq, size_t size)
{
    GstMapInfo m;
    if (!gst_buffer_map(buf, &m, GST_MAP_READ))
        return false;
    bool ok = m.size == size;
    for (size_t i = 0; ok && i < size; i++)
        ok = m.data[i] == (uint8_t)((seq + i) & 0xff);
    gst_buffer_unmap(buf, &m);
    return ok;
}

/* Runs desc to EOS or error; returns the error text ("" at EOS). */
std::string run_pipeline(const std::string &desc, int timeout_s = 20, GstElement **keep = nullptr)
{
    GError *err = nullptr;
    GstElement *p = gst_parse_launch(desc.c_str(), &err);
    if (!p)
        return std::string("parse: ") + (err ? err->message : "?");
    gst_element_set_state(p, GST_STATE_PLAYING);
    GstBus *bus = gst_element_get_bus(p);
    GstMessage *msg = gst_bus_timed_pop_filtered(
        bus, timeout_s * GST_SECOND, (GstMessageType)(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    std::string res = msg ? "" : "timeout";
    if (msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
        gst_message_parse_error(msg, &err, nullptr);
        res = err->message;
        g_error_free(err);
    }
    if (msg)
        gst_message_unref(msg);
    gst_object_unref(bus);
    if (keep) {
        *keep = p;
        return res;
    }
    gst_element_set_state(p, GST_STATE_NULL);
    gst_object_unref(p);
    return res;
}

GstHarness *sink_harness(const std::string &bus)
{
    GstElement *e = gst_element_factory_make("fbussink", nullptr);
    g_object_set(e, "bus", bus.c_str(), "sync", FALSE, nullptr);
    GstHarness *h = gst_harness_new_with_element(e, "sink", nullptr);
    gst_object_unref(e);
    return h;
}

using GstSink = BusTest;
using GstSrc = BusTest;

} // namespace

TEST_F(GstSink, CapsBecomeTheBusFormatAndPixelsArrive)
{
    std::string name = bus("sink");
    GstHarness *h = sink_harness(name);
    gst_harness_set_src_caps_str(h, "video/x-raw,format=RGB,width=30,height=20,framerate=30/1");
    fbus_reader *r = nullptr;
    GstVideoInfo info;
    gst_video_info_set_format(&info, GST_VIDEO_FORMAT_RGB, 30, 20);
    GstBuffer *buf = gst_buffer_new_allocate(nullptr, info.size, nullptr);
    GstMapInfo m;
    gst_buffer_map(buf, &m, GST_MAP_WRITE);
    for (size_t i = 0; i < m.size; i++)
        m.data[i] = (uint8_t)(i * 7);
    gst_buffer_unmap(buf, &m);
    ASSERT_EQ(gst_harness_push(h, gst_buffer_ref(buf)), GST_FLOW_OK);
    ASSERT_EQ(fbus_reader_open(&r, name.c_str(), nullptr), 0);
    struct fbus_frame f;
    ASSERT_EQ(fbus_reader_acquire(r, &f, 0, 1000), 0);
    EXPECT_EQ(f.format.fourcc, FBUS_FMT_RGB24);
    EXPECT_EQ(f.format.width, 30u);
    EXPECT_EQ(f.format.height, 20u);
    /* GStreamer pads RGB rows to 4 bytes (92 here): the bus takes that layout as it is. */
    EXPECT_EQ(f.format.bytesperline, 92u);
    ASSERT_EQ(f.bytesused, info.size);
    gst_buffer_map(buf, &m, GST_MAP_READ);
    EXPECT_EQ(memcmp(f.data, m.data, m.size), 0);
    gst_buffer_unmap(buf, &m);
    fbus_reader_release(r, &f);
    fbus_reader_close(r);
    gst_buffer_unref(buf);
    gst_harness_teardown(h);
}

TEST_F(GstSink, UpstreamRendersIntoSlots)
{
    std::string name = bus("pool");
    GstElement *p = nullptr;
    std::string err = run_pipeline("videotestsrc num-buffers=20 ! video/x-raw,format=I420,"
                                   "width=320,height=240 ! fbussink sync=false name=s bus=" +
                                       name,
                                   20, &p);
    ASSERT_EQ(err, "");
    GstElement *s = gst_bin_get_by_name(GST_BIN(p), "s");
    guint64 in_place = 0, copied = 0, published = 0;
    g_object_get(s, "in-place", &in_place, "copied", &copied, "published", &published, nullptr);
    EXPECT_EQ(in_place, 20u);
    EXPECT_EQ(copied, 0u);
    EXPECT_EQ(published, 20u);
    gst_object_unref(s);
    gst_element_set_state(p, GST_STATE_NULL);
    gst_object_unref(p);
}

TEST_F(GstSink, BusyBusIsAnErrorThatSaysWhatToDo)
{
    std::string name = bus("busy");
    Writer w;
    ASSERT_EQ(w.open(name, FBUS_FMT_GREY, 16, 16), 0);
    std::string err = run_pipeline("videotestsrc num-buffers=2 ! video/x-raw,format=GRAY8 ! "
                                   "fbussink bus=" +
                                   name);
    EXPECT_NE(err.find("busy"), std::string::npos) << err;
    EXPECT_NE(err.find("stop it or choose another bus name"), std::string::npos) << err;
}

TEST_F(GstSink, NewCapsChangeTheBusFormat)
{
    std::string name = bus("chg");
    GstHarness *h = sink_harness(name);
    gst_harness_set_src_caps_str(h, "video/x-raw,format=GRAY8,width=16,height=16,framerate=0/1");
    ASSERT_EQ(gst_harness_push(h, gst_buffer_new_allocate(nullptr, 256, nullptr)), GST_FLOW_OK);
    fbus_reader *r = nullptr;
    ASSERT_EQ(fbus_reader_open(&r, name.c_str(), nullptr), 0);
    struct fbus_frame f;
    ASSERT_EQ(fbus_reader_acquire(r, &f, 0, 1000), 0);
    EXPECT_EQ(f.format.fourcc, FBUS_FMT_GREY);
    uint64_t seq = f.seq;
    fbus_reader_release(r, &f);
    gst_harness_set_src_caps_str(h, "video/x-raw,format=YUY2,width=32,height=8,framerate=0/1");
    ASSERT_EQ(gst_harness_push(h, gst_buffer_new_allocate(nullptr, 512, nullptr)), GST_FLOW_OK);
    ASSERT_EQ(fbus_reader_acquire(r, &f, seq, 1000), 0);
    EXPECT_EQ(f.format.fourcc, FBUS_FMT_YUYV);
    EXPECT_EQ(f.format.width, 32u);
    fbus_reader_release(r, &f);
    fbus_reader_close(r);
    gst_harness_teardown(h);
}

TEST_F(GstSrc, CapsPixelsAndTimestamps)
{
    std::string name = bus("src");
    Writer w;
    ASSERT_EQ(w.open(name, FBUS_FMT_YUYV, 64, 48), 0);
    GstHarness *h = src_harness(name);
    uint64_t t0 = fbus_now_ns() - 1000000000ull; /* captured a second ago, 33 ms apart */
    GstClockTime pts[3];
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(w.publish(i + 1, t0 + i * 33000000ull), 0);
        GstBuffer *b = gst_harness_pull(h);
        ASSERT_NE(b, nullptr);
        EXPECT_TRUE(frame_ok(b, i + 1, 64 * 48 * 2));
        EXPECT_TRUE(GST_MEMORY_IS_READONLY(gst_buffer_peek_memory(b, 0)));
        pts[i] = GST_BUFFER_PTS(b);
        gst_buffer_unref(b);
    }
    /* Running time follows the capture times exactly (1 ms for the clock reads). */
    EXPECT_NEAR((double)(pts[1] - pts[0]), 33e6, 1e6);
    EXPECT_NEAR((double)(pts[2] - pts[1]), 33e6, 1e6);
    GstCaps *caps = gst_pad_get_current_caps(h->sinkpad);
    GstCaps *want = gst_caps_from_string("video/x-raw,format=YUY2,width=64,height=48,"
                                         "framerate=0/1,pixel-aspect-ratio=1/1");
    EXPECT_TRUE(gst_caps_is_equal(caps, want)) << gst_caps_to_string(caps);
    gst_caps_unref(caps);
    gst_caps_unref(want);
    GstQuery *q = gst_query_new_latency();
    ASSERT_TRUE(gst_element_query(h->element, q));
    gboolean live;
    GstClockTime min, max;
    gst_query_parse_latency(q, &live, &min, &max);
    EXPECT_TRUE(live);
    EXPECT_GT(min, 0u);
    gst_query_unref(q);
    gst_harness_teardown(h);
}

TEST_F(GstSrc, FormatChangeRenegotiates)
{
    std::string name = bus("fmt");
    Writer w;
    ASSERT_EQ(w.open(name, FBUS_FMT_GREY, 16, 16), 0);
    GstHarness *h = src_harness(name);
    ASSERT_EQ(w.publish(1), 0);
    gst_buffer_unref(gst_harness_pull(h));
    struct fbus_format f;
    fbus_format_init(&f, FBUS_FMT_NV12, 32, 16);
    ASSERT_EQ(fbus_writer_set_format(w.w, &f, 0), 0);
    ASSERT_EQ(w.publish(2), 0);
    GstBuffer *b = gst_harness_pull(h);
    ASSERT_NE(b, nullptr);
    EXPECT_TRUE(frame_ok(b, 2, 32 * 16 * 3 / 2));
    gst_buffer_unref(b);
    GstCaps *caps = gst_pad_get_current_caps(h->sinkpad);
    GstStructure *s = gst_caps_get_structure(caps, 0);
    EXPECT_STREQ(gst_structure_get_string(s, "format"), "NV12");
    gst_caps_unref(caps);
    gst_harness_teardown(h);
}

TEST_F(GstSrc, HoldBoundCopiesBeyondIt)
{
    std::string name = bus("hold");
    Writer w;
    ASSERT_EQ(w.open(name, FBUS_FMT_GREY, 64, 64, 4), 0);
    GstHarness *h = src_harness(name, "max-held=1");
    ASSERT_EQ(w.publish(1), 0);
    GstBuffer *a = gst_harness_pull(h); /* held: the bound */
    ASSERT_EQ(w.publish(2), 0);
    GstBuffer *b = gst_harness_pull(h); /* copied */
    ASSERT_TRUE(a && b);
    EXPECT_TRUE(frame_ok(b, 2, 4096));
    guint64 copied = 0;
    gint held = 0;
    g_object_get(h->element, "copied", &copied, "held", &held, nullptr);
    EXPECT_EQ(copied, 1u);
    EXPECT_EQ(held, 1);
    gst_buffer_unref(a);
    gst_buffer_unref(b);
    ASSERT_EQ(w.publish(3), 0);
    GstBuffer *c = gst_harness_pull(h); /* zero copy again */
    g_object_get(h->element, "copied", &copied, nullptr);
    EXPECT_EQ(copied, 1u);
    EXPECT_TRUE(frame_ok(c, 3, 4096));
    gst_buffer_unref(c);
    /* The message says when copying starts. */
    gst_harness_teardown(h);
}

TEST_F(GstSrc, GapsAreDiscontAndCounted)
{
    std::string name = bus("gap");
    Writer w;
    ASSERT_EQ(w.open(name, FBUS_FMT_GREY, 16, 16), 0);
    GstHarness *h = src_harness(name);
    ASSERT_EQ(w.publish(1), 0);
    gst_buffer_unref(gst_harness_pull(h));
    /* Frame 2 stops at a blocking probe; 3 and 4 come meanwhile; the element then takes 5. */
    static std::atomic<bool> blocked;
    blocked = false;
    GstPad *pad = gst_element_get_static_pad(h->element, "src");
    gulong id = gst_pad_add_probe(
        pad, (GstPadProbeType)(GST_PAD_PROBE_TYPE_BLOCK | GST_PAD_PROBE_TYPE_BUFFER),
        +[](GstPad *, GstPadProbeInfo *, gpointer) {
            blocked = true;
            return GST_PAD_PROBE_OK;
        },
        nullptr, nullptr);
    ASSERT_EQ(w.publish(2), 0);
    for (int i = 0; i < 200 && !blocked; i++)
        g_usleep(5000);
    ASSERT_TRUE(blocked);
    for (int i = 3; i <= 5; i++)
        ASSERT_EQ(w.publish(i), 0);
    gst_pad_remove_probe(pad, id);
    gst_object_unref(pad);
    GstBuffer *b2 = gst_harness_pull(h);
    GstBuffer *b5 = gst_harness_pull(h);
    ASSERT_TRUE(b2 && b5);
    EXPECT_TRUE(frame_ok(b2, 2, 256));
    EXPECT_FALSE(GST_BUFFER_FLAG_IS_SET(b2, GST_BUFFER_FLAG_DISCONT));
    EXPECT_TRUE(frame_ok(b5, 5, 256));
    EXPECT_TRUE(GST_BUFFER_FLAG_IS_SET(b5, GST_BUFFER_FLAG_DISCONT));
    guint64 dropped = 0;
    g_object_get(h->element, "dropped", &dropped, nullptr);
    EXPECT_EQ(dropped, 2u);
    gst_buffer_unref(b2);
    gst_buffer_unref(b5);
    gst_harness_teardown(h);
}

TEST_F(GstSrc, ClosedBusIsEosOrErrorAsAsked)
{
    for (bool as_error : {false, true}) {
        std::string name = bus("end");
        auto *w = new Writer;
        ASSERT_EQ(w->open(name, FBUS_FMT_GREY, 16, 16), 0);
        std::thread t([w] {
            for (int i = 1; i <= 5; i++) {
                w->publish(i);
                g_usleep(20000);
            }
            delete w;
        });
        std::string err = run_pipeline("fbussrc following=false bus=" + name +
                                       (as_error ? " error-on-end=true" : "") + " ! fakesink");
        t.join();
        if (as_error)
            EXPECT_NE(err.find("the writer closed bus"), std::string::npos) << err;
        else
            EXPECT_EQ(err, "");
    }
}

TEST_F(GstSrc, MissingBusIsAnErrorThatSaysWhatToDo)
{
    std::string name = bus("none");
    std::string err = run_pipeline("fbussrc following=false bus=" + name + " ! fakesink");
    EXPECT_NE(err.find("does not exist"), std::string::npos) << err;
    EXPECT_NE(err.find("following=true"), std::string::npos) << err;
    err = run_pipeline("fbussrc bus=Bad/Name ! fakesink");
    EXPECT_NE(err.find("not a bus name"), std::string::npos) << err;
}

/*
 * No permission: root's bus of mode 0600, read by gst-launch-1.0 running as uid 65534 (a new
 * process: GStreamer is not fork-safe once it has threads). The plugin is copied where that
 * uid can load it, with a registry of its own.
 */
TEST_F(GstSrc, NoPermissionIsAnErrorThatSaysWhatToDo)
{
    if (geteuid() != 0)
        GTEST_SKIP() << "NOT RUN: needs root to drop to uid 65534 (CI runs it as root)";
    std::string name = bus("perm");
    Writer w;
    struct fbus_format f;
    struct fbus_writer_opts o;
    fbus_format_init(&f, FBUS_FMT_GREY, 64, 48);
    fbus_writer_opts_init(&o);
    o.mode = 0600;
    ASSERT_EQ(0, fbus_writer_open(&w.w, name.c_str(), &f, &o));
    ASSERT_EQ(0, w.publish(1));
    std::string plugin =
        fbus_prog_for_anyone(std::string(FBUS_GST_PLUGIN_DIR) + "/libgstframebus.so");
    std::string dir = plugin.substr(0, plugin.rfind('/'));
    std::string out = dir + "/perm.err";
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(99);
        if (setgroups(0, nullptr) || setgid(65534) || setuid(65534))
            _exit(99);
        setenv("GST_PLUGIN_PATH", dir.c_str(), 1);
        setenv("GST_REGISTRY", (dir + "/registry.bin").c_str(), 1);
        setenv("HOME", "/tmp", 1);
        execlp("gst-launch-1.0", "gst-launch-1.0", "fbussrc", "following=false",
               ("bus=" + name).c_str(), "!", "fakesink", (char *)nullptr);
        _exit(127);
    }
    int status = fbus_wait_child(pid, 30000);
    std::ifstream in(out);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string err = ss.str();
    unlink(out.c_str());
    unlink((dir + "/registry.bin").c_str());
    EXPECT_NE(0, status) << err;
    EXPECT_NE(127, status) << "gst-launch-1.0 not found";
    EXPECT_NE(err.find("no permission to read bus '" + name + "'"), std::string::npos) << err;
}

TEST_F(GstSrc, TimeoutEndsAFollowingWait)
{
    std::string name = bus("tmo");
    gint64 t0 = g_get_monotonic_time();
    std::string err =
        run_pipeline("fbussrc timeout=300 error-on-end=true bus=" + name + " ! fakesink");
    gint64 ms = (g_get_monotonic_time() - t0) / 1000;
    EXPECT_NE(err.find("no frame on bus"), std::string::npos) << err;
    EXPECT_GE(ms, 290);
    EXPECT_LT(ms, 3000);
}

TEST_F(GstSrc, StateChangeWhileBlockedIsPrompt)
{
    std::string name = bus("blk");
    GstElement *p = gst_parse_launch(("fbussrc bus=" + name + " ! fakesink").c_str(), nullptr);
    ASSERT_NE(p, nullptr);
    gst_element_set_state(p, GST_STATE_PLAYING);
    g_usleep(300000); /* create() waits for a bus that does not exist */
    gint64 t0 = g_get_monotonic_time();
    EXPECT_EQ(gst_element_set_state(p, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
    EXPECT_LT((g_get_monotonic_time() - t0) / 1000, 200);
    gst_object_unref(p);
}

TEST_F(GstSrc, FollowsAWriterRestart)
{
    std::string name = bus("rst");
    GstHarness *h = src_harness(name);
    for (int round = 0; round < 2; round++) {
        Writer w;
        ASSERT_EQ(w.open(name, FBUS_FMT_GREY, 16, 16), 0);
        ASSERT_EQ(w.publish(1), 0);
        GstBuffer *b = gst_harness_pull(h);
        ASSERT_NE(b, nullptr);
        EXPECT_TRUE(frame_ok(b, 1, 256));
        gst_buffer_unref(b);
    }
    gst_harness_teardown(h);
}

TEST_F(GstSrc, AFormatDownstreamRefusesIsAnErrorThatSaysWhatToDo)
{
    std::string name = bus("ref");
    auto *w = new Writer;
    ASSERT_EQ(w->open(name, FBUS_FMT_GREY, 16, 16), 0);
    std::atomic<bool> stop{false};
    std::thread t([w, &stop] {
        for (int i = 1; !stop && i < 500; i++) {
            w->publish(i);
            g_usleep(10000);
        }
    });
    std::string err = run_pipeline("fbussrc following=false bus=" + name +
                                   " ! video/x-raw,format=RGB ! fakesink");
    stop = true;
    t.join();
    delete w;
    EXPECT_NE(err.find("carries GREY 16x16, which downstream does not accept"), std::string::npos)
        << err;
    EXPECT_NE(err.find("videoconvert"), std::string::npos) << err;
}

TEST_F(GstSrc, CorruptOrForeignSegmentIsAnErrorThatSaysWhatToDo)
{
    std::string name = bus("bad");
    key_t key = (key_t)fbus_key_from_name(name.c_str());
    /* A segment too small for a header, bearing the magic: a corrupt bus. */
    int id = shmget(key, 64, IPC_CREAT | IPC_EXCL | 0600);
    ASSERT_GE(id, 0);
    uint32_t *p = (uint32_t *)shmat(id, nullptr, 0);
    p[0] = FBUS_MAGIC;
    p[1] = FBUS_ABI_VERSION;
    shmdt(p);
    std::string err = run_pipeline("fbussrc following=false bus=" + name + " ! fakesink");
    EXPECT_NE(err.find("failed validation"), std::string::npos) << err;
    EXPECT_NE(err.find("fbus rm --force " + name), std::string::npos) << err;
    shmctl(id, IPC_RMID, nullptr);
    /* Another program's segment under the key (no magic, another size, writable by all). */
    id = shmget(key, 100, IPC_CREAT | IPC_EXCL | 0666);
    ASSERT_GE(id, 0);
    err = run_pipeline("fbussrc following=false bus=" + name + " ! fakesink");
    EXPECT_NE(err.find("bus '" + name + "'"), std::string::npos) << err;
    std::cerr << "foreign segment: " << err << "\n";
    /* fbussink does not touch it either. */
    err = run_pipeline("videotestsrc num-buffers=2 ! video/x-raw,format=GRAY8 ! fbussink bus=" +
                       name);
    EXPECT_NE(err.find("bus '" + name + "'"), std::string::npos) << err;
    std::cerr << "foreign segment, sink: " << err << "\n";
    struct shmid_ds ds;
    EXPECT_EQ(shmctl(id, IPC_STAT, &ds), 0) << "the foreign segment was removed";
    shmctl(id, IPC_RMID, nullptr);
}

TEST_F(GstSink, NeverWaitsForLatestFrameReadersAndBoundedForLosslessOnes)
{
    for (bool lossless : {false, true}) {
        std::string name = bus(lossless ? "lwait" : "nowait");
        GstElement *e = gst_element_factory_make("fbussink", nullptr);
        g_object_set(e, "bus", name.c_str(), "sync", FALSE, "slots", 2, "lossless-wait", 200,
                     nullptr);
        GstHarness *h = gst_harness_new_with_element(e, "sink", nullptr);
        gst_object_unref(e);
        gst_harness_set_src_caps_str(h, "video/x-raw,format=GRAY8,width=16,height=16,"
                                        "framerate=0/1");
        ASSERT_EQ(gst_harness_push(h, gst_buffer_new_allocate(nullptr, 256, nullptr)), GST_FLOW_OK);
        struct fbus_reader_opts o;
        fbus_reader_opts_init(&o);
        o.lossless = lossless;
        fbus_reader *r = nullptr;
        ASSERT_EQ(fbus_reader_open(&r, name.c_str(), &o), 0);
        /* The reader takes frames and keeps them: soon it holds both slots. */
        struct fbus_frame held[4];
        int nheld = 0;
        gint64 worst = 0;
        for (int i = 0; i < 4; i++) {
            gint64 t0 = g_get_monotonic_time();
            ASSERT_EQ(gst_harness_push(h, gst_buffer_new_allocate(nullptr, 256, nullptr)),
                      GST_FLOW_OK);
            worst = std::max(worst, g_get_monotonic_time() - t0);
            if (nheld < 4 && fbus_reader_acquire(r, &held[nheld], 0, 0) == 0)
                nheld++;
        }
        guint64 dropped = 0;
        g_object_get(h->element, "dropped", &dropped, nullptr);
        if (lossless) {
            /* The writer waits for the lossless reader, at most lossless-wait, then goes on. */
            EXPECT_GE(worst / 1000, 150) << "no push waited for the lossless reader";
            EXPECT_LT(worst / 1000, 1000) << "a push waited " << worst / 1000 << " ms";
        } else {
            EXPECT_GT(dropped, 0u);
            EXPECT_LT(worst / 1000, 100) << "a push waited " << worst / 1000 << " ms";
        }
        for (int i = 0; i < nheld; i++)
            fbus_reader_release(r, &held[i]);
        fbus_reader_close(r);
        gst_harness_teardown(h);
    }
}
