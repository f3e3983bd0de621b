/*
 * test_perm.cpp - the permission model, for real: a bus is made by root with a
 * mode, and a child drops to an unprivileged uid (with or without the bus's
 * group) before it tries to read it.
 */
#include <fcntl.h>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fbus_test.h"

namespace
{

const uid_t kNobody = 65534;

bool require_root()
{
    if (geteuid() == 0)
        return true;
    if (getenv("CI"))
        ADD_FAILURE() << "CI must run the permission tests as root";
    return false;
}

/* In a child as uid nobody (plus group `gid` when >= 0): open, acquire. Returns the rc. */
int try_read_as_nobody(const std::string &name, int gid)
{
    int pfd[2];
    if (pipe(pfd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        gid_t groups[1] = {(gid_t)gid};
        if (setgroups(gid >= 0 ? 1 : 0, groups) || setgid(kNobody) || setuid(kNobody))
            _exit(99);
        fbus_reader *r = nullptr;
        int rc = fbus_reader_open(&r, name.c_str(), nullptr);
        struct fbus_frame f;
        if (rc == 0 && (rc = fbus_reader_acquire(r, &f, 0, 1000)) == 0)
            fbus_reader_release(r, &f);
        fbus_reader_close(r);
        if (write(pfd[1], &rc, sizeof(rc)) != sizeof(rc))
            _exit(98);
        _exit(0);
    }
    close(pfd[1]);
    int rc = 12345;
    if (read(pfd[0], &rc, sizeof(rc)) != sizeof(rc))
        rc = 12345;
    close(pfd[0]);
    EXPECT_EQ(0, fbus_wait_child(pid, 10000));
    return rc;
}

fbus_writer *make(const std::string &n, unsigned mode)
{
    struct fbus_format f;
    fbus_format_init(&f, FBUS_FMT_GREY, 32, 32);
    struct fbus_writer_opts o;
    fbus_writer_opts_init(&o);
    o.mode = mode;
    fbus_writer *w = nullptr;
    EXPECT_EQ(0, fbus_writer_open(&w, n.c_str(), &f, &o));
    std::vector<uint8_t> px(32 * 32, 9);
    EXPECT_EQ(0, fbus_writer_publish(w, px.data(), px.size(), 0));
    return w;
}

} // namespace

class Perm : public BusTest
{
};

TEST_F(Perm, Mode0600ShutsOutOtherUsers)
{
    if (!require_root())
        GTEST_SKIP() << "NOT RUN: needs root to drop to another uid (CI runs it as root)";
    std::string n = bus("p600");
    fbus_writer *w = make(n, 0600);
    EXPECT_EQ(FBUS_EPERM, try_read_as_nobody(n, -1));
    EXPECT_EQ(FBUS_EPERM, try_read_as_nobody(n, (int)getegid())) << "group has no bits";
    fbus_writer_close(w);
}

TEST_F(Perm, Mode0640AdmitsTheGroupReadOnly)
{
    if (!require_root())
        GTEST_SKIP() << "NOT RUN: needs root to drop to another uid (CI runs it as root)";
    std::string n = bus("p640");
    fbus_writer *w = make(n, 0640);
    EXPECT_EQ(0, try_read_as_nobody(n, (int)getegid())) << "a group member may read and hold";
    EXPECT_EQ(FBUS_EPERM, try_read_as_nobody(n, -1)) << "others may not";
    fbus_writer_close(w);
}

TEST_F(Perm, Mode0660AndToolMessages)
{
    if (!require_root())
        GTEST_SKIP() << "NOT RUN: needs root to drop to another uid (CI runs it as root)";
    std::string n = bus("p660");
    fbus_writer *w = make(n, 0660);
    EXPECT_EQ(0, try_read_as_nobody(n, (int)getegid()));
    EXPECT_EQ(FBUS_EPERM, try_read_as_nobody(n, -1));
    /* The tool, as nobody: exit 7 and a message that says what to do. */
    EXPECT_EQ(7, fbus_run_as_nobody(FBUS_TOOL, {"info", n}).status);
    fbus_writer_close(w);
}
