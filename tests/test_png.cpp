/*
 * test_png.cpp - PNG files: write then read back, atomic writes that leave
 * nothing behind on failure, refusal of corrupt files, and reading of grey,
 * alpha, palette, 16-bit and interlaced PNGs (made here with libpng).
 * Each test works in a directory of its own, removed afterwards.
 */
#include <gtest/gtest.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "framebus/framebus.h"
#include "png_io.h"

#ifdef FBUS_HAVE_PNG
#include <png.h>
#endif

#ifdef FBUS_HAVE_PNG

namespace
{

using Bytes = std::vector<uint8_t>;

/* Removes path and, if it is a directory, everything under it. */
void remove_tree(const std::string &path)
{
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) {
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        chmod(path.c_str(), 0700);
        if (DIR *d = opendir(path.c_str())) {
            while (struct dirent *e = readdir(d)) {
                if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
                    remove_tree(path + "/" + e->d_name);
                }
            }
            closedir(d);
        }
        rmdir(path.c_str());
    } else {
        unlink(path.c_str());
    }
}

std::vector<std::string> list_dir(const std::string &path)
{
    std::vector<std::string> names;
    if (DIR *d = opendir(path.c_str())) {
        while (struct dirent *e = readdir(d)) {
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
                names.push_back(e->d_name);
            }
        }
        closedir(d);
    }
    return names;
}

void write_file(const std::string &path, const Bytes &data)
{
    FILE *fp = fopen(path.c_str(), "wb");
    ASSERT_NE(nullptr, fp) << path;
    if (!data.empty()) {
        ASSERT_EQ(data.size(), fwrite(data.data(), 1, data.size(), fp));
    }
    ASSERT_EQ(0, fclose(fp));
}

Bytes read_file(const std::string &path)
{
    Bytes data;
    FILE *fp = fopen(path.c_str(), "rb");
    if (!fp) {
        return data;
    }
    int c;
    while ((c = fgetc(fp)) != EOF) {
        data.push_back((uint8_t)c);
    }
    fclose(fp);
    return data;
}

Bytes random_rgb(uint32_t w, uint32_t h, unsigned seed)
{
    std::mt19937 rng(seed);
    Bytes rgb((size_t)w * h * 3);
    for (auto &b : rgb) {
        b = (uint8_t)rng();
    }
    return rgb;
}

/* What a test PNG holds: its IHDR fields, raw rows, and an optional palette and tRNS. */
struct PngSpec {
    PngSpec(uint32_t w_, uint32_t h_, int color_type_, int bit_depth_)
        : w(w_), h(h_), color_type(color_type_), bit_depth(bit_depth_)
    {
    }
    uint32_t w, h;
    int color_type, bit_depth;
    int interlace = PNG_INTERLACE_NONE;
    Bytes rows; /* packed as the PNG stores them (16-bit samples big-endian) */
    std::vector<png_color> palette;
    Bytes trns_alpha;
};

/* Writes spec with libpng directly, independently of the code under test. */
void make_png(const std::string &path, const PngSpec &spec)
{
    FILE *fp = fopen(path.c_str(), "wb");
    ASSERT_NE(nullptr, fp);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop info = png_create_info_struct(png);
    ASSERT_EQ(0, setjmp(png_jmpbuf(png)));
    png_init_io(png, fp);
    png_set_IHDR(png, info, spec.w, spec.h, spec.bit_depth, spec.color_type, spec.interlace,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (!spec.palette.empty()) {
        png_set_PLTE(png, info, spec.palette.data(), (int)spec.palette.size());
    }
    if (!spec.trns_alpha.empty()) {
        png_set_tRNS(png, info, spec.trns_alpha.data(), (int)spec.trns_alpha.size(), nullptr);
    }
    png_write_info(png, info);
    size_t rowbytes = spec.rows.size() / spec.h;
    std::vector<png_bytep> rows(spec.h);
    for (uint32_t y = 0; y < spec.h; y++) {
        rows[y] = const_cast<png_bytep>(&spec.rows[y * rowbytes]);
    }
    png_write_image(png, rows.data());
    png_write_end(png, nullptr);
    png_destroy_write_struct(&png, &info);
    ASSERT_EQ(0, fclose(fp));
}

class PngTest : public ::testing::Test
{
  protected:
    void SetUp() override
    {
        const char *tmp = getenv("TMPDIR");
        std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/fbus-png-XXXXXX";
        ASSERT_NE(nullptr, mkdtemp(&templ[0])) << strerror(errno);
        dir_ = templ;
    }
    void TearDown() override
    {
        remove_tree(dir_);
    }
    std::string path(const char *name) const
    {
        return dir_ + "/" + name;
    }
    /* Reads path expecting success; returns the pixels. */
    Bytes read_ok(const std::string &p, uint32_t want_w, uint32_t want_h)
    {
        uint8_t *rgb = nullptr;
        uint32_t w = 0, h = 0;
        int rc = app_png_read_rgb24(p.c_str(), &rgb, &w, &h);
        EXPECT_EQ(0, rc) << fbus_strerror(rc);
        EXPECT_EQ(want_w, w);
        EXPECT_EQ(want_h, h);
        Bytes out;
        if (rc == 0 && rgb) {
            out.assign(rgb, rgb + (size_t)w * h * 3);
        }
        free(rgb);
        return out;
    }
    /* Reads path expecting error want, and checks the outputs are cleared. */
    void read_fails(const std::string &p, int want)
    {
        uint8_t *rgb = reinterpret_cast<uint8_t *>(0x1);
        uint32_t w = 7, h = 7;
        EXPECT_EQ(want, app_png_read_rgb24(p.c_str(), &rgb, &w, &h)) << p;
        EXPECT_EQ(nullptr, rgb);
        EXPECT_EQ(0u, w);
        EXPECT_EQ(0u, h);
    }
    std::string dir_;
};

} // namespace

TEST_F(PngTest, WriteThenReadBackIdentical)
{
    for (auto wh : {std::pair<uint32_t, uint32_t>{1, 1}, {37, 23}, {640, 2}}) {
        Bytes rgb = random_rgb(wh.first, wh.second, wh.first);
        std::string p = path("a.png");
        ASSERT_EQ(0, app_png_write_rgb24(p.c_str(), rgb.data(), wh.first, wh.second));
        EXPECT_EQ(rgb, read_ok(p, wh.first, wh.second));
        EXPECT_EQ(std::vector<std::string>{"a.png"}, list_dir(dir_)) << "temporary file left";
    }
}

TEST_F(PngTest, OverwritesAnExistingFile)
{
    std::string p = path("snap.png");
    write_file(p, Bytes(100, 'x'));
    Bytes rgb = random_rgb(8, 8, 2);
    ASSERT_EQ(0, app_png_write_rgb24(p.c_str(), rgb.data(), 8, 8));
    EXPECT_EQ(rgb, read_ok(p, 8, 8));
    EXPECT_EQ(1u, list_dir(dir_).size());
}

TEST_F(PngTest, MissingDirectoryIsEnoent)
{
    Bytes rgb = random_rgb(4, 4, 3);
    EXPECT_EQ(-ENOENT, app_png_write_rgb24(path("no/such/dir/a.png").c_str(), rgb.data(), 4, 4));
    EXPECT_TRUE(list_dir(dir_).empty());
}

TEST_F(PngTest, FileInPlaceOfDirectoryIsEnotdir)
{
    write_file(path("plain"), Bytes(1, 0));
    Bytes rgb = random_rgb(4, 4, 3);
    EXPECT_EQ(-ENOTDIR, app_png_write_rgb24(path("plain/a.png").c_str(), rgb.data(), 4, 4));
    EXPECT_EQ(std::vector<std::string>{"plain"}, list_dir(dir_));
}

/* The rename is the step that fails: the complete temporary file must go too. */
TEST_F(PngTest, FailedRenameRemovesTheTemporaryFile)
{
    ASSERT_EQ(0, mkdir(path("taken").c_str(), 0755));
    write_file(path("taken/inside"), Bytes(1, 0)); /* a non-empty directory cannot be replaced */
    Bytes rgb = random_rgb(4, 4, 3);
    int rc = app_png_write_rgb24(path("taken").c_str(), rgb.data(), 4, 4);
    EXPECT_TRUE(rc == -EISDIR || rc == -ENOTEMPTY || rc == -EEXIST) << fbus_strerror(rc);
    EXPECT_EQ(std::vector<std::string>{"taken"}, list_dir(dir_));
}

/*
 * A directory the caller may not write to. CI runs as root, which ignores
 * the mode, so the write is done by a child that has dropped to nobody.
 */
TEST_F(PngTest, UnwritableDirectoryIsEaccesAndLeavesNothing)
{
    std::string ro = path("ro");
    ASSERT_EQ(0, mkdir(ro.c_str(), 0755));
    ASSERT_EQ(0, chmod(dir_.c_str(), 0755));
    ASSERT_EQ(0, chmod(ro.c_str(), 0555));
    Bytes rgb = random_rgb(4, 4, 4);
    std::string target = ro + "/a.png";

    pid_t pid = fork();
    ASSERT_NE(-1, pid);
    if (pid == 0) {
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) {
            _exit(2);
        }
        int rc = app_png_write_rgb24(target.c_str(), rgb.data(), 4, 4);
        _exit(rc == -EACCES ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(pid, waitpid(pid, &status, 0));
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_NE(2, WEXITSTATUS(status)) << "could not drop root privileges";
    EXPECT_EQ(0, WEXITSTATUS(status)) << "expected -EACCES";
    EXPECT_TRUE(list_dir(ro).empty());
}

TEST_F(PngTest, WriteRejectsBadArguments)
{
    Bytes rgb = random_rgb(4, 4, 5);
    std::string p = path("a.png");
    EXPECT_EQ(-EINVAL, app_png_write_rgb24(nullptr, rgb.data(), 4, 4));
    EXPECT_EQ(-EINVAL, app_png_write_rgb24(p.c_str(), nullptr, 4, 4));
    EXPECT_EQ(FBUS_ESIZE, app_png_write_rgb24(p.c_str(), rgb.data(), 0, 4));
    EXPECT_EQ(FBUS_ESIZE, app_png_write_rgb24(p.c_str(), rgb.data(), 4, 0));
    EXPECT_EQ(FBUS_ESIZE, app_png_write_rgb24(p.c_str(), rgb.data(), FBUS_DIM_MAX + 1, 1));
    EXPECT_TRUE(list_dir(dir_).empty());
}

TEST_F(PngTest, WriteFrameConvertsFirst)
{
    struct fbus_format f;
    ASSERT_EQ(0, fbus_format_init(&f, FBUS_FMT_NV12, 16, 8));
    Bytes rgb = random_rgb(16, 8, 6), frame(f.sizeimage), want(rgb.size());
    ASSERT_EQ(0, fbus_convert_from_rgb24(&f, rgb.data(), frame.data()));
    ASSERT_EQ(0, fbus_convert_to_rgb24(&f, frame.data(), frame.size(), want.data()));

    std::string p = path("frame.png");
    ASSERT_EQ(0, app_png_write_frame(p.c_str(), &f, frame.data(), frame.size()));
    EXPECT_EQ(want, read_ok(p, 16, 8));
    remove_tree(p);

    EXPECT_EQ(FBUS_ESIZE, app_png_write_frame(p.c_str(), &f, frame.data(), frame.size() - 1));
    ASSERT_EQ(0, fbus_format_init(&f, FBUS_FMT_MJPEG, 16, 8));
    EXPECT_EQ(FBUS_EFORMAT, app_png_write_frame(p.c_str(), &f, frame.data(), 100));
    EXPECT_EQ(-EINVAL, app_png_write_frame(p.c_str(), nullptr, frame.data(), 100));
    EXPECT_TRUE(list_dir(dir_).empty());
}

TEST_F(PngTest, ReadErrors)
{
    read_fails(path("missing.png"), -ENOENT);
    read_fails(dir_, -EISDIR);

    write_file(path("empty.png"), Bytes());
    read_fails(path("empty.png"), FBUS_EFORMAT);
    write_file(path("text.png"), Bytes({'h', 'e', 'l', 'l', 'o', ' ', 'p', 'n', 'g', '\n'}));
    read_fails(path("text.png"), FBUS_EFORMAT);

    /* A real PNG, cut short or with a damaged pixel chunk (its CRC no longer matches). */
    Bytes rgb = random_rgb(32, 32, 7);
    ASSERT_EQ(0, app_png_write_rgb24(path("good.png").c_str(), rgb.data(), 32, 32));
    Bytes good = read_file(path("good.png"));
    ASSERT_GT(good.size(), 100u);
    for (size_t cut : {(size_t)8, (size_t)20, good.size() / 2, good.size() - 1}) {
        write_file(path("cut.png"), Bytes(good.begin(), good.begin() + (long)cut));
        read_fails(path("cut.png"), FBUS_EFORMAT);
    }
    Bytes bad = good;
    bad[good.size() / 2] ^= 0x40; /* inside IDAT: IHDR ends at 33, IEND is the last 12 */
    write_file(path("bad.png"), bad);
    read_fails(path("bad.png"), FBUS_EFORMAT);

    uint8_t *out = nullptr;
    uint32_t w = 0, h = 0;
    EXPECT_EQ(-EINVAL, app_png_read_rgb24(nullptr, &out, &w, &h));
    EXPECT_EQ(-EINVAL, app_png_read_rgb24(path("good.png").c_str(), nullptr, &w, &h));
}

TEST_F(PngTest, ReadsTooLargeAsEsize)
{
    /* 16385 x 1 grey: valid PNG, wider than any frame. */
    PngSpec s{FBUS_DIM_MAX + 1, 1, PNG_COLOR_TYPE_GRAY, 8};
    s.rows.assign(FBUS_DIM_MAX + 1, 0);
    make_png(path("wide.png"), s);
    read_fails(path("wide.png"), FBUS_ESIZE);
}

TEST_F(PngTest, ReadsGreyAsRgb)
{
    PngSpec s{3, 2, PNG_COLOR_TYPE_GRAY, 8};
    s.rows = {0, 128, 255, 1, 2, 3};
    make_png(path("g8.png"), s);
    EXPECT_EQ(Bytes({0, 0, 0, 128, 128, 128, 255, 255, 255, 1, 1, 1, 2, 2, 2, 3, 3, 3}),
              read_ok(path("g8.png"), 3, 2));

    /* 1-bit: 0b10100000 -> white, black, white, black (scaled to 0/255). */
    PngSpec b{4, 1, PNG_COLOR_TYPE_GRAY, 1};
    b.rows = {0xA0};
    make_png(path("g1.png"), b);
    EXPECT_EQ(Bytes({255, 255, 255, 0, 0, 0, 255, 255, 255, 0, 0, 0}),
              read_ok(path("g1.png"), 4, 1));
}

TEST_F(PngTest, ReadsSixteenBitRoundedToEight)
{
    /* v16 * 255 / 65535 rounded: 0xFFFF -> 255, 0x8080 -> 128 exactly, 0x12FF = 4863 -> 18.92
     * -> 19 (dropping the low byte would give 0x12 = 18). */
    PngSpec g{3, 1, PNG_COLOR_TYPE_GRAY, 16};
    g.rows = {0xFF, 0xFF, 0x80, 0x80, 0x12, 0xFF};
    make_png(path("g16.png"), g);
    EXPECT_EQ(Bytes({255, 255, 255, 128, 128, 128, 19, 19, 19}), read_ok(path("g16.png"), 3, 1));

    PngSpec c{1, 1, PNG_COLOR_TYPE_RGB, 16};
    c.rows = {0xFF, 0xFF, 0x00, 0x00, 0x12, 0xFF};
    make_png(path("rgb16.png"), c);
    EXPECT_EQ(Bytes({255, 0, 19}), read_ok(path("rgb16.png"), 1, 1));
}

TEST_F(PngTest, DropsAlpha)
{
    PngSpec ga{2, 1, PNG_COLOR_TYPE_GRAY_ALPHA, 8};
    ga.rows = {10, 0, 200, 255};
    make_png(path("ga.png"), ga);
    EXPECT_EQ(Bytes({10, 10, 10, 200, 200, 200}), read_ok(path("ga.png"), 2, 1));

    PngSpec rgba{2, 1, PNG_COLOR_TYPE_RGB_ALPHA, 8};
    rgba.rows = {1, 2, 3, 0, 4, 5, 6, 128};
    make_png(path("rgba.png"), rgba);
    EXPECT_EQ(Bytes({1, 2, 3, 4, 5, 6}), read_ok(path("rgba.png"), 2, 1));

    PngSpec rgba16{1, 1, PNG_COLOR_TYPE_RGB_ALPHA, 16};
    rgba16.rows = {0xFF, 0xFF, 0x80, 0x80, 0x00, 0x00, 0x12, 0x34};
    make_png(path("rgba16.png"), rgba16);
    EXPECT_EQ(Bytes({255, 128, 0}), read_ok(path("rgba16.png"), 1, 1));
}

TEST_F(PngTest, ReadsPaletteWithAndWithoutTransparency)
{
    PngSpec p{3, 1, PNG_COLOR_TYPE_PALETTE, 8};
    p.palette = {{255, 0, 0}, {0, 255, 0}, {10, 20, 30}};
    p.rows = {2, 0, 1};
    make_png(path("pal.png"), p);
    const Bytes want = {10, 20, 30, 255, 0, 0, 0, 255, 0};
    EXPECT_EQ(want, read_ok(path("pal.png"), 3, 1));

    p.trns_alpha = {0, 128};
    make_png(path("pal_trns.png"), p);
    EXPECT_EQ(want, read_ok(path("pal_trns.png"), 3, 1));

    /* 2-bit indices: 0b10000100 -> 2, 0, 1, 0. */
    PngSpec p2{4, 1, PNG_COLOR_TYPE_PALETTE, 2};
    p2.palette = p.palette;
    p2.rows = {0x84};
    make_png(path("pal2.png"), p2);
    EXPECT_EQ(Bytes({10, 20, 30, 255, 0, 0, 0, 255, 0, 255, 0, 0}),
              read_ok(path("pal2.png"), 4, 1));
}

TEST_F(PngTest, ReadsInterlaced)
{
    PngSpec s{13, 11, PNG_COLOR_TYPE_RGB, 8};
    s.interlace = PNG_INTERLACE_ADAM7;
    s.rows = random_rgb(13, 11, 8);
    make_png(path("adam7.png"), s);
    EXPECT_EQ(s.rows, read_ok(path("adam7.png"), 13, 11));
}

#else /* !FBUS_HAVE_PNG */

TEST(PngTest, WithoutLibpngEverythingIsEnotsup)
{
    uint8_t px[3] = {0, 0, 0}, *rgb = nullptr;
    uint32_t w = 1, h = 1;
    EXPECT_EQ(-ENOTSUP, app_png_write_rgb24("/nonexistent/a.png", px, 1, 1));
    EXPECT_EQ(-ENOTSUP, app_png_read_rgb24("/nonexistent/a.png", &rgb, &w, &h));
    EXPECT_EQ(nullptr, rgb);
}

#endif /* FBUS_HAVE_PNG */
