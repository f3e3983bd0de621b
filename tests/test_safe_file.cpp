/*
 * test_safe_file.cpp - common/safe_file: output files made where other users
 * may write. The attacks are real: as root, links are planted by a child that
 * has dropped to uid nobody, in a directory of mode 1777.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <sstream>

#include "fbus_test.h"
#include "png_io.h"
#include "safe_file.h"

namespace
{

const uid_t kNobody = 65534;

std::string slurp(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool lstat_is(const std::string &path, mode_t type)
{
    struct stat st;
    return lstat(path.c_str(), &st) == 0 && (st.st_mode & S_IFMT) == type;
}

class SafeFile : public ::testing::Test
{
  protected:
    void SetUp() override
    {
        char t[] = "/tmp/fbus-safe-test-XXXXXX";
        ASSERT_NE(nullptr, mkdtemp(t));
        dir_ = t;
        ASSERT_EQ(0, chmod(dir_.c_str(), 01777));
        victim_ = dir_ + "/victim";
        std::ofstream(victim_) << "victim\n";
        fd_ = app_dir_open(dir_.c_str());
        ASSERT_GE(fd_, 0);
    }
    void TearDown() override
    {
        if (fd_ >= 0)
            close(fd_);
        fbus_run({"rm", "-rf", dir_});
    }
    /* Writes text as name in dir_ through safe_file. */
    int write(const char *name, const char *text, enum app_replace how)
    {
        struct app_file f;
        int rc = app_file_create(&f, fd_, name);
        if (rc != 0)
            return rc;
        if (::write(f.fd, text, strlen(text)) != (ssize_t)strlen(text)) {
            app_file_abort(&f);
            return -EIO;
        }
        return app_file_commit(&f, how);
    }
    /* fn as uid nobody (as root), or as ourselves otherwise. */
    bool as_other(const std::function<bool()> &fn)
    {
        pid_t pid = fork();
        if (pid == 0) {
            if (geteuid() == 0 &&
                (setgroups(0, nullptr) != 0 || setgid(kNobody) != 0 || setuid(kNobody) != 0))
                _exit(99);
            _exit(fn() ? 0 : 1);
        }
        return pid > 0 && fbus_wait_child(pid, 10000) == 0;
    }
    std::vector<std::string> entries() const
    {
        ProgResult r = fbus_run({"ls", "-A", dir_});
        std::vector<std::string> v;
        std::stringstream ss(r.out);
        for (std::string l; std::getline(ss, l);)
            v.push_back(l);
        return v;
    }
    std::string dir_, victim_;
    int fd_ = -1;
};

} // namespace

TEST_F(SafeFile, WritesUnderATemporaryNameThenRenames)
{
    ASSERT_EQ(0, write("a.txt", "one\n", APP_NOREPLACE));
    EXPECT_EQ("one\n", slurp(dir_ + "/a.txt"));
    EXPECT_EQ((std::vector<std::string>{"a.txt", "victim"}), entries()) << "a temporary left";
}

TEST_F(SafeFile, NoReplaceRefusesAnyEntryAndLeavesIt)
{
    ASSERT_EQ(0, write("a.txt", "one\n", APP_NOREPLACE));
    EXPECT_EQ(-EEXIST, write("a.txt", "two\n", APP_NOREPLACE));
    EXPECT_EQ("one\n", slurp(dir_ + "/a.txt"));
    std::string link = dir_ + "/l.txt", target = victim_;
    ASSERT_TRUE(as_other([&] { return symlink(target.c_str(), link.c_str()) == 0; }));
    EXPECT_EQ(-EEXIST, write("l.txt", "evil\n", APP_NOREPLACE));
    EXPECT_TRUE(lstat_is(link, S_IFLNK));
    EXPECT_EQ("victim\n", slurp(victim_));
    EXPECT_EQ(3u, entries().size()) << "a temporary left";
}

TEST_F(SafeFile, ReplaceReplacesAFileOrALinkNeverItsTarget)
{
    ASSERT_EQ(0, write("a.txt", "one\n", APP_NOREPLACE));
    ASSERT_EQ(0, write("a.txt", "two\n", APP_REPLACE));
    EXPECT_EQ("two\n", slurp(dir_ + "/a.txt"));
    std::string link = dir_ + "/l.txt", target = victim_;
    ASSERT_TRUE(as_other([&] { return symlink(target.c_str(), link.c_str()) == 0; }));
    ASSERT_EQ(0, write("l.txt", "mine\n", APP_REPLACE));
    EXPECT_TRUE(lstat_is(link, S_IFREG)) << "the link itself is replaced";
    EXPECT_EQ("mine\n", slurp(link));
    EXPECT_EQ("victim\n", slurp(victim_)) << "written through the link";
    ASSERT_EQ(0, mkdir((dir_ + "/d").c_str(), 0755));
    EXPECT_EQ(-EISDIR, write("d", "x", APP_REPLACE));
    EXPECT_TRUE(lstat_is(dir_ + "/d", S_IFDIR));
}

TEST_F(SafeFile, TemporaryNamesAreNotGuessable)
{
    struct app_file a, b;
    ASSERT_EQ(0, app_file_create(&a, fd_, "x.png"));
    ASSERT_EQ(0, app_file_create(&b, fd_, "x.png"));
    EXPECT_STRNE(a.tmp, b.tmp);
    EXPECT_EQ(std::string::npos, std::string(a.tmp).find(std::to_string(getpid())));
    app_file_abort(&a);
    app_file_abort(&b);
    EXPECT_EQ(std::vector<std::string>{"victim"}, entries());
    EXPECT_EQ(-EINVAL, app_file_create(&a, fd_, "a/b"));
    EXPECT_EQ(-EINVAL, app_file_create(&a, fd_, ".."));
    EXPECT_EQ(-ENAMETOOLONG, app_file_create(&a, fd_, std::string(300, 'n').c_str()));
}

TEST_F(SafeFile, ADirectoryLinkIsFollowedOnlyIfItIsOursOrRoots)
{
    std::string real = dir_ + "/real", mine = dir_ + "/mine", theirs = dir_ + "/theirs";
    ASSERT_EQ(0, mkdir(real.c_str(), 0755));
    ASSERT_EQ(0, symlink("real", mine.c_str())); /* relative: resolved where the link is */
    int fd = app_dir_open(mine.c_str());
    EXPECT_GE(fd, 0) << fbus_strerror(fd);
    if (fd >= 0)
        close(fd);
    if (geteuid() != 0)
        GTEST_SKIP() << "another user's link needs root to plant";
    ASSERT_TRUE(as_other([&] { return symlink(real.c_str(), theirs.c_str()) == 0; }));
    EXPECT_EQ(-ELOOP, app_dir_open(theirs.c_str()));
    EXPECT_EQ(-ELOOP, app_dir_open((theirs + "//").c_str())) << "a trailing slash follows links";
    const char *name;
    EXPECT_EQ(-ELOOP, app_dir_open_parent((theirs + "/x.png").c_str(), &name));
    EXPECT_EQ(-ENOTDIR, app_dir_open(victim_.c_str()));
    EXPECT_EQ(-ENOENT, app_dir_open((dir_ + "/none").c_str()));
    EXPECT_EQ(-EISDIR, app_dir_open_parent((dir_ + "/").c_str(), &name));
}

TEST_F(SafeFile, PngNoReplaceLeavesAPlantedLinkAndItsTarget)
{
    struct fbus_format f;
    ASSERT_EQ(0, fbus_format_init(&f, FBUS_FMT_GREY, 8, 8));
    std::vector<uint8_t> px(f.sizeimage, 0x80);
    std::string link = dir_ + "/frame-000001.png", target = victim_;
    ASSERT_TRUE(as_other([&] { return symlink(target.c_str(), link.c_str()) == 0; }));
    EXPECT_EQ(-EEXIST, app_png_write_frame_at(fd_, "frame-000001.png", APP_NOREPLACE, &f, px.data(),
                                              px.size()));
    EXPECT_EQ("victim\n", slurp(victim_));
    EXPECT_EQ(2u, entries().size()) << "a temporary left";
    /* The path form replaces the link (the user named it), never its target. */
    EXPECT_EQ(0, app_png_write_frame(link.c_str(), &f, px.data(), px.size()));
    EXPECT_TRUE(lstat_is(link, S_IFREG));
    EXPECT_EQ("victim\n", slurp(victim_));
}
