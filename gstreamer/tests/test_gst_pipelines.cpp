/*
 * test_gst_pipelines.cpp - fbussrc and fbussink in gst-launch-1.0 pipelines beside the
 * framebus programs, pixels checked against videotestsrc's own frames: videotestsrc ->
 * fbussink -> the library's reader; fbus-capture -> fbussrc -> pngenc; fbussink ->
 * fbus-view --headless --record; the writer killed and restarted under fbussrc; fbussrc ->
 * jpegenc -> avimux -> a file, decoded back; bus -> fbussrc -> RTP over UDP -> fbussink ->
 * a second bus.
 */
#include <gst/app/gstappsink.h>
#include <gst/gst.h>

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "fbus_test.h"

namespace
{

const char *kCaps = "video/x-raw,format=RGB,width=160,height=120";
const size_t kFrame = 160 * 120 * 3;

class GstEnv : public ::testing::Environment
{
  public:
    void SetUp() override
    {
        setenv("GST_PLUGIN_PATH", FBUS_GST_PLUGIN_DIR, 1);
        setenv("GST_REGISTRY", FBUS_GST_REGISTRY, 1);
        gst_init(nullptr, nullptr);
    }
};
const auto *g_env = ::testing::AddGlobalTestEnvironment(new GstEnv);

/* Every frame a pipeline ending in "appsink name=out" gives, until EOS (at most max). */
std::vector<std::string> frames_of(const std::string &desc, size_t max = 1000)
{
    std::vector<std::string> out;
    GstElement *p = gst_parse_launch((desc + " ! appsink name=out sync=false").c_str(), nullptr);
    if (!p)
        return out;
    GstElement *sink = gst_bin_get_by_name(GST_BIN(p), "out");
    gst_element_set_state(p, GST_STATE_PLAYING);
    while (out.size() < max) {
        GstSample *s = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 10 * GST_SECOND);
        if (!s)
            break;
        GstMapInfo m;
        GstBuffer *b = gst_sample_get_buffer(s);
        gst_buffer_map(b, &m, GST_MAP_READ);
        out.emplace_back((const char *)m.data, m.size);
        gst_buffer_unmap(b, &m);
        gst_sample_unref(s);
    }
    gst_element_set_state(p, GST_STATE_NULL);
    gst_object_unref(sink);
    gst_object_unref(p);
    return out;
}

/* videotestsrc's SMPTE 75% bars (no noise square: every frame alike) at 160x120 RGB: the reference
 * every test checks against. */
std::string bars()
{
    auto f = frames_of(std::string("videotestsrc pattern=smpte75 num-buffers=1 ! ") + kCaps, 1);
    return f.empty() ? std::string() : f[0];
}

std::string decoded_png(const std::string &path)
{
    auto f = frames_of("filesrc location=" + path + " ! pngdec ! videoconvert ! " + kCaps, 1);
    return f.empty() ? std::string() : f[0];
}

double mean_abs_diff(const std::string &a, const std::string &b)
{
    if (a.size() != b.size() || a.empty())
        return 1e9;
    double sum = 0;
    for (size_t i = 0; i < a.size(); i++)
        sum += abs((int)(uint8_t)a[i] - (int)(uint8_t)b[i]);
    return sum / a.size();
}

std::vector<std::string> launch(const std::string &pipeline)
{
    std::vector<std::string> argv = {"gst-launch-1.0", "-q"};
    std::string word;
    for (char c : pipeline + " ") {
        if (c == ' ') {
            if (!word.empty())
                argv.push_back(word);
            word.clear();
        } else {
            word += c;
        }
    }
    return argv;
}

/* A live writer of SMPTE 75% bars (no noise square: every frame alike) on bus name, through
 * fbussink. */
pid_t bars_writer(const std::string &name, int frames = 300)
{
    return fbus_spawn(
        launch("videotestsrc pattern=smpte75 is-live=true num-buffers=" + std::to_string(frames) +
               " ! " + kCaps + ",framerate=30/1 ! fbussink bus=" + name));
}

/* The next whole frame on bus name, as the library's reader sees it. */
std::string read_bus(const std::string &name, struct fbus_format *fmt = nullptr)
{
    struct fbus_reader_opts o;
    fbus_reader *r = nullptr;
    struct fbus_frame f;
    std::string out;
    fbus_reader_opts_init(&o);
    o.follow = 1;
    if (fbus_reader_open(&r, name.c_str(), &o) != 0)
        return out;
    for (int i = 0; i < 100 && out.empty(); i++) {
        if (fbus_reader_acquire(r, &f, 0, 100) == 0) {
            out.assign((const char *)f.data, f.bytesused);
            if (fmt)
                *fmt = f.format;
            fbus_reader_release(r, &f);
        }
    }
    fbus_reader_close(r);
    return out;
}

class GstPipe : public BusTest
{
  protected:
    void SetUp() override
    {
        char tmpl[] = "/tmp/fbus-gst-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        ref_ = bars();
        ASSERT_EQ(ref_.size(), kFrame);
    }
    void TearDown() override
    {
        for (pid_t p : kids_) {
            kill(p, SIGINT); /* gst-launch-1.0 and fbus-capture stop cleanly on it */
            fbus_wait_child(p, 5000);
        }
        fbus_run({"rm", "-rf", dir_});
        BusTest::TearDown();
    }
    pid_t kid(pid_t p)
    {
        kids_.push_back(p);
        return p;
    }
    std::string dir_, ref_;
    std::vector<pid_t> kids_;
};

} // namespace

TEST_F(GstPipe, VideotestsrcToFbussinkToTheLibrarysReader)
{
    std::string name = bus("v2r");
    kid(bars_writer(name));
    struct fbus_format fmt;
    std::string got = read_bus(name, &fmt);
    EXPECT_EQ(fmt.fourcc, FBUS_FMT_RGB24);
    EXPECT_EQ(fmt.width, 160u);
    ASSERT_EQ(got.size(), kFrame);
    EXPECT_TRUE(got == ref_);
}

TEST_F(GstPipe, FbusCaptureToFbussrcToPngenc)
{
    std::string name = bus("c2p");
    mkdir((dir_ + "/in").c_str(), 0700);
    ProgResult r =
        fbus_run(launch("videotestsrc pattern=smpte75 num-buffers=1 ! " + std::string(kCaps) +
                        " ! pngenc ! filesink location=" + dir_ + "/in/a.png"));
    ASSERT_EQ(r.status, 0) << r.err;
    kid(fbus_spawn(fbus_prog_argv(FBUS_CAPTURE, {"--source", "png:" + dir_ + "/in", "--bus", name,
                                                 "--count", "300", "--fps", "30"})));
    r = fbus_run(launch("fbussrc bus=" + name +
                        " num-buffers=3 ! videoconvert ! pngenc ! "
                        "multifilesink location=" +
                        dir_ + "/out-%d.png"));
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(decoded_png(dir_ + "/out-2.png") == ref_);
}

TEST_F(GstPipe, FbussinkToFbusViewRecord)
{
    std::string name = bus("s2v");
    kid(bars_writer(name));
    ProgResult r = fbus_run(fbus_prog_argv(
        FBUS_VIEW, {"--headless", "--bus", name, "--record", dir_ + "/rec", "--count", "3"}));
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(decoded_png(dir_ + "/rec/frame-000003.png") == ref_);
}

TEST_F(GstPipe, WriterKilledAndRestartedUnderFbussrc)
{
    std::string name = bus("rst");
    std::string desc = "fbussrc bus=" + name + " ! fakesink name=out signal-handoffs=true";
    GstElement *p = gst_parse_launch(desc.c_str(), nullptr);
    ASSERT_NE(p, nullptr);
    GstElement *sink = gst_bin_get_by_name(GST_BIN(p), "out");
    static std::atomic<int> n;
    n = 0;
    g_signal_connect(sink, "handoff", G_CALLBACK(+[](GstElement *, GstBuffer *, GstPad *) { n++; }),
                     nullptr);
    ASSERT_NE(gst_element_set_state(p, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
    auto wait_for = [&](int count) {
        for (int i = 0; i < 500 && n < count; i++)
            g_usleep(10000);
        return n >= count;
    };
    std::vector<std::string> cap = {"--source", "test", "--bus", name, "--fps", "60"};
    pid_t w = fbus_spawn(fbus_prog_argv(FBUS_CAPTURE, cap));
    ASSERT_TRUE(wait_for(10));
    kill(w, SIGKILL);
    fbus_wait_child(w, 5000);
    int before = n;
    g_usleep(300000);
    w = kid(fbus_spawn(fbus_prog_argv(FBUS_CAPTURE, cap)));
    EXPECT_TRUE(wait_for(before + 10)) << "frames after the restart: " << n - before;
    GstBus *gbus = gst_element_get_bus(p);
    GstMessage *err = gst_bus_pop_filtered(gbus, GST_MESSAGE_ERROR);
    EXPECT_EQ(err, nullptr);
    if (err)
        gst_message_unref(err);
    gst_object_unref(gbus);
    gst_element_set_state(p, GST_STATE_NULL);
    gst_object_unref(sink);
    gst_object_unref(p);
}

TEST_F(GstPipe, RecordingToAFileDecodesBack)
{
    std::string name = bus("rec");
    kid(bars_writer(name));
    std::string file = dir_ + "/rec.avi";
    ProgResult r = fbus_run(launch("-e fbussrc bus=" + name +
                                   " num-buffers=20 framerate=30/1 ! "
                                   "jpegenc quality=95 ! avimux ! filesink location=" +
                                   file));
    ASSERT_EQ(r.status, 0) << r.err;
    auto frames =
        frames_of("filesrc location=" + file + " ! avidemux ! jpegdec ! videoconvert ! " + kCaps);
    EXPECT_EQ(frames.size(), 20u);
    for (const auto &f : frames)
        EXPECT_LT(mean_abs_diff(f, ref_), 12.0); /* JPEG of sharp bars: 5.5 measured */
}

TEST_F(GstPipe, RtpOverUdpToASecondBus)
{
    std::string a = bus("rtpa"), b = bus("rtpb");
    int port = 20000 + getpid() % 20000;
    kid(bars_writer(a, 600));
    std::string rtp_caps = "application/x-rtp,media=video,clock-rate=90000,encoding-name=RAW,"
                           "sampling=RGB,depth=(string)8,width=(string)160,height=(string)120,"
                           "colorimetry=(string)SMPTE240M,payload=96";
    kid(fbus_spawn(launch("udpsrc address=127.0.0.1 port=" + std::to_string(port) +
                          " caps=" + rtp_caps + " ! rtpvrawdepay ! fbussink bus=" + b)));
    kid(fbus_spawn(launch("fbussrc bus=" + a +
                          " ! rtpvrawpay ! udpsink host=127.0.0.1 port=" + std::to_string(port))));
    struct fbus_format fmt;
    std::string got = read_bus(b, &fmt);
    ASSERT_EQ(got.size(), kFrame);
    EXPECT_EQ(fmt.fourcc, FBUS_FMT_RGB24);
    EXPECT_TRUE(got == ref_);
}

#ifdef FBUS_PYTHON_CV2
TEST_F(GstPipe, OpenCvVideoCaptureReadsFrames)
{
    std::string name = bus("cv");
    kid(bars_writer(name));
    std::string out = dir_ + "/cv.bgr";
    ProgResult r = fbus_run({FBUS_PYTHON_CV2, FBUS_GST_TEST_SRC "/opencv_read.py", name, out});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("(120, 160, 3)"), std::string::npos) << r.out;
    ProgResult c = fbus_run({"cat", out});
    std::string bgr = ref_;
    for (size_t i = 0; i + 2 < bgr.size(); i += 3)
        std::swap(bgr[i], bgr[i + 2]);
    EXPECT_TRUE(c.out == bgr);
}
#endif
