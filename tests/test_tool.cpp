/*
 * test_tool.cpp - the fbus admin tool as a user runs it: ls, info (text and
 * JSON), rm (refusing a live writer), snap (a real PNG), wait, and the exit
 * codes and messages of its errors.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fbus_test.h"
#include "png_io.h"
#include "testpattern.h"

namespace {

ProgResult tool(const std::vector<std::string> &args)
{
    return fbus_run(fbus_prog_argv(FBUS_TOOL, args), 20000);
}

bool has(const std::string &hay, const std::string &needle)
{
    return hay.find(needle) != std::string::npos;
}

/* An RGB24 bus holding one test-pattern frame; the writer stays alive. */
fbus_writer *pattern_bus(const std::string &n, std::vector<uint8_t> *img)
{
    struct fbus_format f;
    fbus_format_init(&f, FBUS_FMT_RGB24, 160, 120);
    img->resize(f.sizeimage);
    app_tp_draw(img->data(), 160, 120, 1);
    fbus_writer *w = nullptr;
    EXPECT_EQ(0, fbus_writer_open(&w, n.c_str(), &f, nullptr));
    EXPECT_EQ(0, fbus_writer_publish(w, img->data(), img->size(), 0));
    return w;
}

} // namespace

class Tool : public BusTest {
  protected:
    void SetUp() override
    {
        char tmpl[] = "/tmp/fbus-tool-XXXXXX";
        ASSERT_NE(nullptr, mkdtemp(tmpl));
        dir_ = tmpl;
    }
    void TearDown() override
    {
        std::string cmd = "rm -rf '" + dir_ + "'";
        EXPECT_EQ(0, system(cmd.c_str()));
        BusTest::TearDown();
    }
    std::string dir_;
};

TEST_F(Tool, LsAndInfoShowTheBus)
{
    std::string n = bus("ls");
    std::vector<uint8_t> img;
    fbus_writer *w = pattern_bus(n, &img);
    ProgResult r = tool({"ls"});
    EXPECT_EQ(0, r.status) << r.err;
    EXPECT_TRUE(has(r.out, "NAME")) << r.out;
    std::string row;
    for (size_t a = 0, b; (b = r.out.find('\n', a)) != std::string::npos; a = b + 1)
        if (r.out.compare(a, n.size() + 1, n + " ") == 0)
            row = r.out.substr(a, b - a);
    ASSERT_FALSE(row.empty()) << r.out;
    EXPECT_TRUE(has(row, "RGB3")) << row;
    EXPECT_TRUE(has(row, "160x120")) << row;
    EXPECT_TRUE(has(row, "alive")) << row;
    EXPECT_TRUE(has(row, std::to_string(getpid()))) << row;

    r = tool({"info", n});
    EXPECT_EQ(0, r.status) << r.err;
    EXPECT_TRUE(has(r.out, "RGB3 160x120")) << r.out;
    EXPECT_TRUE(has(r.out, "1 published, 0 dropped")) << r.out;

    r = tool({"info", n, "--json"});
    EXPECT_EQ(0, r.status) << r.err;
    for (const char *key : {"\"name\":\"", "\"fourcc\":\"RGB3\"", "\"width\":160", "\"height\":120",
                            "\"slots\":2", "\"readers\":0", "\"writer_alive\":true",
                            "\"published\":1", "\"dropped\":0", "\"age_ms\":", "\"fps\":"})
        EXPECT_TRUE(has(r.out, key)) << key << " in " << r.out;
    EXPECT_EQ('{', r.out.front());
    EXPECT_EQ("}\n", r.out.substr(r.out.size() - 2));
    fbus_writer_close(w);
}

TEST_F(Tool, InfoCountsReaders)
{
    std::string n = bus("rd");
    std::vector<uint8_t> img;
    fbus_writer *w = pattern_bus(n, &img);
    fbus_reader *r1, *r2;
    ASSERT_EQ(0, fbus_reader_open(&r1, n.c_str(), nullptr));
    ASSERT_EQ(0, fbus_reader_open(&r2, n.c_str(), nullptr));
    ProgResult r = tool({"info", n, "--json"});
    EXPECT_TRUE(has(r.out, "\"readers\":2")) << r.out;
    EXPECT_EQ(2, fbus_writer_readers(w));
    fbus_reader_close(r1);
    fbus_reader_close(r2);
    fbus_writer_close(w);
}

TEST_F(Tool, RmRefusesALiveWriterUnlessForced)
{
    std::string n = bus("rm");
    std::vector<uint8_t> img;
    fbus_writer *w = pattern_bus(n, &img);
    ProgResult r = tool({"rm", n});
    EXPECT_EQ(5, r.status);
    EXPECT_TRUE(has(r.err, "writer pid " + std::to_string(getpid()) + " is alive")) << r.err;
    r = tool({"rm", n, "--force"});
    EXPECT_EQ(0, r.status) << r.err;
    struct fbus_info info;
    EXPECT_EQ(FBUS_ENOBUS, fbus_info_get(n.c_str(), 0, &info));
    fbus_writer_close(w); /* its objects are gone already: close must cope */
    r = tool({"rm", n});
    EXPECT_EQ(3, r.status);
    EXPECT_TRUE(has(r.err, "no such bus")) << r.err;
}

TEST_F(Tool, RmRemovesAStaleBus)
{
    std::string n = bus("stale");
    int fd;
    pid_t p = fbus_spawn(fbus_prog_argv(fbus_test_prog("fbus-testwriter"), {"--bus", n}), &fd);
    std::string line;
    ASSERT_TRUE(fbus_read_line(fd, &line, 10000));
    kill(p, SIGKILL);
    fbus_wait_child(p, 5000);
    close(fd);
    ProgResult r = tool({"info", n});
    EXPECT_TRUE(has(r.out, "dead")) << r.out;
    r = tool({"rm", n});
    EXPECT_EQ(0, r.status) << r.err;
    EXPECT_EQ(FBUS_ENOBUS, fbus_remove(n.c_str(), 0, 1)) << "segment and semaphores gone";
}

TEST_F(Tool, SnapWritesTheLatestFrameAsPng)
{
    std::string n = bus("snap");
    std::vector<uint8_t> img;
    fbus_writer *w = pattern_bus(n, &img);
    std::string out = dir_ + "/snap.png";
    ProgResult r = tool({"snap", n, out});
    EXPECT_EQ(0, r.status) << r.err;
    uint8_t *px = nullptr;
    uint32_t pw = 0, ph = 0;
    ASSERT_EQ(0, app_png_read_rgb24(out.c_str(), &px, &pw, &ph));
    EXPECT_EQ(160u, pw);
    EXPECT_EQ(120u, ph);
    EXPECT_EQ(0, memcmp(px, img.data(), img.size())) << "RGB3 comes back exactly";
    free(px);
    fbus_writer_close(w);
}

TEST_F(Tool, SnapErrors)
{
    std::string n = bus("snaperr");
    ProgResult r = tool({"snap", n, dir_ + "/x.png", "--timeout", "300"});
    EXPECT_EQ(3, r.status);
    EXPECT_TRUE(has(r.err, "'" + n + "' never appeared within 300 ms")) << r.err;
    EXPECT_TRUE(has(r.err, "fbus ls")) << r.err;

    /* A bus with no frame yet: timeout, exit 4. */
    struct fbus_format f;
    fbus_format_init(&f, FBUS_FMT_GREY, 16, 16);
    fbus_writer *w;
    ASSERT_EQ(0, fbus_writer_open(&w, n.c_str(), &f, nullptr));
    r = tool({"snap", n, dir_ + "/x.png", "--timeout", "200"});
    EXPECT_EQ(4, r.status);
    EXPECT_TRUE(has(r.err, "is there")) << r.err;
    EXPECT_TRUE(has(r.err, "no frame came within 200 ms")) << r.err;
    std::vector<uint8_t> px(256, 1);
    ASSERT_EQ(0, fbus_writer_publish(w, px.data(), px.size(), 0));
    r = tool({"snap", n, dir_ + "/no/such/dir/x.png"});
    EXPECT_EQ(1, r.status);
    EXPECT_TRUE(has(r.err, "cannot write")) << r.err;
    struct stat st;
    EXPECT_NE(0, stat((dir_ + "/x.png").c_str(), &st)) << "nothing half-written";
    fbus_writer_close(w);
}

TEST_F(Tool, WaitBlocksUntilAFrameIsPublished)
{
    std::string n = bus("wait");
    int fd;
    pid_t p = fbus_spawn(fbus_prog_argv(fbus_test_prog("fbus-testwriter"),
                                        {"--bus", n, "--fps", "100", "--count", "300"}),
                         &fd);
    std::string line;
    ASSERT_TRUE(fbus_read_line(fd, &line, 10000));
    ProgResult r = tool({"wait", n, "--seq", "20", "--timeout", "10000"});
    EXPECT_EQ(0, r.status) << r.err;
    EXPECT_GE(atoi(r.out.c_str()), 20);
    r = tool({"wait", n, "--seq", "100000", "--timeout", "100"});
    EXPECT_EQ(4, r.status);
    kill(p, SIGTERM);
    fbus_wait_child(p, 5000);
    close(fd);
}

TEST_F(Tool, UsageAndBadArguments)
{
    EXPECT_EQ(2, tool({}).status);
    EXPECT_EQ(2, tool({"frobnicate"}).status);
    EXPECT_EQ(2, tool({"info"}).status);
    EXPECT_EQ(2, tool({"info", "x", "--key", "zzz"}).status);
    EXPECT_EQ(0, tool({"--help"}).status);
    ProgResult r = tool({"info", "Bad Name"});
    EXPECT_EQ(3, r.status);
    EXPECT_TRUE(has(r.err, "a-z 0-9")) << r.err;
    r = tool({"--version"});
    EXPECT_TRUE(has(r.out, fbus_version_string()));
}
