/*
 * test_foreign.cpp - other users' IPC objects, for real (issue 11 §1, issue 12 items 1-2).
 *
 * Every foreign object here is made by uid 65534 in a forked child that drops to it (as
 * test_perm.cpp does), under the key of a test bus; the programs under test run as root beside
 * it. Root must never run a bus on such an object, never touch it, and no tool may crash on one
 * whatever its size and owner. Then what a reader the bus admits (uid 65534, mode 0644) can do
 * to the slot set: zero another reader's hold, wedge every slot, fake lossless registrations;
 * the writer must notice or recover. Then two writers started at one instant (exactly one wins)
 * and a stopped lossless reader (it costs the bus one bound, not its frame rate).
 *
 * Clean-up: TearDown kills the processes a test started and removes, by key and as root,
 * whatever is under each test bus's key (foreign objects included) and the private sets the
 * test made, so a failed assertion leaves nothing behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "fbus_test.h"
#include "layout.h"

namespace
{

const uid_t kNobody = 65534;
const int kChildFailed = INT_MIN; /* as_nobody(): the child could not report */

union semun_t {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
};

bool require_root()
{
    if (geteuid() == 0)
        return true;
    if (getenv("CI"))
        ADD_FAILURE() << "CI must run the foreign-object tests as root";
    return false;
}

#define NEED_ROOT()                                                                                \
    do {                                                                                           \
        if (!require_root())                                                                       \
            GTEST_SKIP() << "NOT RUN: needs root to act as uid 65534 (CI runs it as root)";        \
    } while (0)

long long now_ms()
{
    return (long long)(fbus_now_ns() / 1000000u);
}

void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, nullptr);
}

/* Drops this (child) process to uid 65534 without groups. */
bool drop_to_nobody()
{
    return setgroups(0, nullptr) == 0 && setgid(kNobody) == 0 && setuid(kNobody) == 0;
}

/* Runs fn in a child as uid 65534; returns what fn returned, or kChildFailed. */
int as_nobody(const std::function<int()> &fn)
{
    int pfd[2];
    if (pipe(pfd) != 0)
        return kChildFailed;
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        if (!drop_to_nobody())
            _exit(99);
        int rc = fn();
        if (write(pfd[1], &rc, sizeof(rc)) != sizeof(rc))
            _exit(98);
        _exit(0);
    }
    close(pfd[1]);
    int rc = kChildFailed;
    if (read(pfd[0], &rc, sizeof(rc)) != sizeof(rc))
        rc = kChildFailed;
    close(pfd[0]);
    EXPECT_EQ(0, fbus_wait_child(pid, 20000)) << "the uid 65534 child";
    return rc;
}

/* A set of nsems made by uid 65534 under key (IPC_PRIVATE: a private one), values set. */
int foreign_sem(uint32_t key, int nsems, int mode)
{
    return as_nobody([=]() -> int {
        int id = semget((key_t)key, nsems, IPC_CREAT | IPC_EXCL | mode);
        if (id < 0)
            return -errno;
        std::vector<unsigned short> v((size_t)nsems);
        for (int i = 0; i < nsems; i++)
            v[(size_t)i] = (unsigned short)((i * 7 + 3) % 11);
        semun_t arg;
        arg.array = v.data();
        if (semctl(id, 0, SETALL, arg) < 0)
            return -errno;
        return id;
    });
}

/* A segment of size bytes made by uid 65534 under key, its first bytes `head`. */
int foreign_shm(uint32_t key, size_t size, int mode, const std::vector<uint8_t> &head)
{
    return as_nobody([&]() -> int {
        int id = shmget((key_t)key, size, IPC_CREAT | IPC_EXCL | mode);
        if (id < 0)
            return -errno;
        void *p = shmat(id, nullptr, 0);
        if (p == (void *)-1)
            return -errno;
        memcpy(p, head.data(), std::min(size, head.size()));
        shmdt(p);
        return id;
    });
}

/* What must not change about an object nobody may touch. */
struct SemSnap {
    bool ok = false;
    unsigned long nsems = 0;
    unsigned mode = 0;
    uid_t uid = 0, cuid = 0;
    time_t otime = 0, ctime = 0;
    std::vector<unsigned short> vals;
    bool operator==(const SemSnap &o) const
    {
        return ok == o.ok && nsems == o.nsems && mode == o.mode && uid == o.uid && cuid == o.cuid &&
               otime == o.otime && ctime == o.ctime && vals == o.vals;
    }
};

SemSnap sem_snap(int semid)
{
    SemSnap s;
    struct semid_ds ds;
    semun_t arg;
    arg.buf = &ds;
    if (semctl(semid, 0, IPC_STAT, arg) < 0)
        return s;
    s.nsems = ds.sem_nsems;
    s.mode = ds.sem_perm.mode & 0777;
    s.uid = ds.sem_perm.uid;
    s.cuid = ds.sem_perm.cuid;
    s.otime = ds.sem_otime;
    s.ctime = ds.sem_ctime;
    s.vals.resize(s.nsems);
    arg.array = s.vals.data();
    if (semctl(semid, 0, GETALL, arg) < 0)
        return s;
    s.ok = true;
    return s;
}

struct ShmSnap {
    bool ok = false;
    size_t size = 0;
    unsigned mode = 0;
    uid_t uid = 0;
    std::vector<uint8_t> head;
    bool operator==(const ShmSnap &o) const
    {
        return ok == o.ok && size == o.size && mode == o.mode && uid == o.uid && head == o.head;
    }
};

ShmSnap shm_snap(int shmid)
{
    ShmSnap s;
    struct shmid_ds ds;
    if (shmctl(shmid, IPC_STAT, &ds) < 0)
        return s;
    s.size = ds.shm_segsz;
    s.mode = ds.shm_perm.mode & 0777;
    s.uid = ds.shm_perm.uid;
    void *p = shmat(shmid, nullptr, SHM_RDONLY);
    if (p == (void *)-1)
        return s;
    s.head.assign((const uint8_t *)p, (const uint8_t *)p + std::min<size_t>(s.size, 8192));
    shmdt(p);
    s.ok = true;
    return s;
}

std::string hex_key(uint32_t key)
{
    char b[16];
    snprintf(b, sizeof(b), "0x%08x", key);
    return b;
}

ProgResult tool(const std::vector<std::string> &args)
{
    return fbus_run(fbus_prog_argv(FBUS_TOOL, args), 15000);
}

/* "prog args: exit N\nstdout\nstderr" for failure messages. */
std::string show(const char *what, const ProgResult &r)
{
    return std::string(what) + ": exit " + std::to_string(r.status) + "\n--- stdout\n" + r.out +
           "--- stderr\n" + r.err;
}

/* Finished by itself (no signal), and said something a person can read. */
void expect_sane(const char *what, const ProgResult &r)
{
    EXPECT_TRUE(r.status >= 0 && r.status < 128) << show(what, r);
    EXPECT_FALSE(r.out.empty() && r.err.empty()) << show(what, r);
    EXPECT_EQ(std::string::npos, (r.out + r.err).find("File too large")) << show(what, r);
}

fbus_writer *open_writer(const std::string &name, unsigned mode, unsigned slots, int *rc_out)
{
    struct fbus_format f;
    fbus_format_init(&f, FBUS_FMT_GREY, 64, 48);
    struct fbus_writer_opts o;
    fbus_writer_opts_init(&o);
    o.mode = mode;
    o.slots = slots;
    fbus_writer *w = nullptr;
    *rc_out = fbus_writer_open(&w, name.c_str(), &f, &o);
    return w;
}

/* The bus's published-frame count as `fbus info NAME --json` prints it; -1 if unreadable. */
long long json_published(const std::string &name)
{
    ProgResult r = tool({"info", name, "--json"});
    size_t at = r.out.find("\"published\":");
    if (r.status != 0 || at == std::string::npos)
        return -1;
    return atoll(r.out.c_str() + at + strlen("\"published\":"));
}

} // namespace

/* Test fixture: processes to kill and objects to remove (by key and by id, as root). */
class Foreign : public BusTest
{
  protected:
    void TearDown() override
    {
        for (pid_t p : procs_) {
            kill(p, SIGCONT);
            kill(p, SIGKILL);
            waitpid(p, nullptr, 0);
        }
        /* First by name: the header names the private slot set, which has no key. */
        BusTest::TearDown();
        for (const auto &n : names_)
            keys_.push_back(fbus_key_from_name(n.c_str()));
        for (uint32_t k : keys_)
            remove_key(k);
        for (int id : semids_)
            semctl(id, 0, IPC_RMID);
        if (!dir_.empty()) {
            std::string cmd = "rm -rf '" + dir_ + "'";
            EXPECT_EQ(0, system(cmd.c_str()));
        }
    }

    static void remove_key(uint32_t key)
    {
        /* Twice: a superseded segment may still be listed under the key for a moment. */
        for (int i = 0; i < 2; i++) {
            int id = shmget((key_t)key, 0, 0);
            if (id >= 0)
                shmctl(id, IPC_RMID, nullptr);
            id = semget((key_t)key, 0, 0);
            if (id >= 0)
                semctl(id, 0, IPC_RMID);
        }
    }

    /* A scratch directory (for PNGs), removed in TearDown. */
    std::string dir()
    {
        if (dir_.empty()) {
            char t[] = "/tmp/fbus-foreign-XXXXXX";
            if (mkdtemp(t))
                dir_ = t;
        }
        return dir_;
    }

    /* Starts fbus-testwriter with args; waits for READY. -1 if it did not come. */
    pid_t start_writer(const std::vector<std::string> &args)
    {
        int fd = -1;
        pid_t pid = fbus_spawn(fbus_prog_argv(fbus_test_prog("fbus-testwriter"), args), &fd);
        if (pid <= 0)
            return -1;
        procs_.push_back(pid);
        std::string line;
        bool ready = fbus_read_line(fd, &line, 10000) && line == "READY";
        close(fd);
        return ready ? pid : -1;
    }

    void stop(pid_t pid)
    {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
        procs_.erase(std::remove(procs_.begin(), procs_.end(), pid), procs_.end());
    }

    std::vector<pid_t> procs_;
    std::vector<uint32_t> keys_;
    std::vector<int> semids_;
    std::string dir_;
};

/* ---- 1. A foreign set under the role key ------------------------------------------------------
 */

class ForeignRoleSet : public Foreign, public ::testing::WithParamInterface<int>
{
};

/*
 * Issue 11 §1: uid 65534 makes a set (1, 48, 49 or 500 semaphores, mode 0666) under the key of
 * bus X. Before (9e90379): fbus-capture adopted it (49: ran its bus on it; 500: fbus ls, info,
 * rm and fbus-view then crashed reading 500 values into a 49-value array; 1: 'File too large').
 */
TEST_P(ForeignRoleSet, RefusedUntouchedAndNoToolCrashes)
{
    NEED_ROOT();
    const int nsems = GetParam();
    std::string x = bus("frs");
    uint32_t key = fbus_key_from_name(x.c_str());
    int semid = foreign_sem(key, nsems, 0666);
    ASSERT_GE(semid, 0) << "uid 65534 could not make its set: " << strerror(-semid);
    SemSnap before = sem_snap(semid);
    ASSERT_TRUE(before.ok);
    ASSERT_EQ((unsigned long)nsems, before.nsems);

    /* The library's writer. */
    int rc;
    fbus_writer *w = open_writer(x, 0660, 2, &rc);
    EXPECT_EQ(FBUS_EFOREIGN, rc) << fbus_err_name(rc);
    fbus_writer_close(w);
    char line[512];
    std::string d = fbus_foreign_describe(key, line, sizeof(line));
    EXPECT_NE(std::string::npos, d.find("uid 65534")) << d;
    EXPECT_NE(std::string::npos, d.find("ipcrm -S " + hex_key(key))) << d;
    EXPECT_NE(std::string::npos, d.find(std::to_string(nsems) + " semaphores")) << d;
    EXPECT_TRUE(before == sem_snap(semid)) << "the writer touched the foreign set";

#ifdef FBUS_CAPTURE
    ProgResult c = fbus_run(
        fbus_prog_argv(FBUS_CAPTURE, {"--bus", x, "--source", "test", "--count", "5"}), 20000);
    EXPECT_EQ(6, c.status) << show("fbus-capture", c);
    EXPECT_NE(std::string::npos, c.err.find("uid 65534")) << show("fbus-capture", c);
    EXPECT_NE(std::string::npos, c.err.find("ipcrm -S " + hex_key(key))) << show("fbus-capture", c);
    EXPECT_TRUE(before == sem_snap(semid)) << "fbus-capture touched the foreign set";
    EXPECT_EQ(-1, shmget((key_t)key, 0, 0)) << "fbus-capture made a segment beside it";
#endif

    /* The tools, as root, beside it: never a crash, always a sentence. */
    ProgResult ls = tool({"ls"});
    EXPECT_EQ(0, ls.status) << show("fbus ls", ls);
    expect_sane("fbus ls", ls);
    expect_sane("fbus info", tool({"info", x}));
    expect_sane("fbus info --json", tool({"info", x, "--json"}));
    std::string png = dir() + "/f.png";
    ProgResult snap = tool({"snap", x, png, "--timeout", "300"});
    EXPECT_NE(0, snap.status) << show("fbus snap", snap);
    expect_sane("fbus snap", snap);
#ifdef FBUS_VIEW
    ProgResult view = fbus_run(fbus_prog_argv(FBUS_VIEW, {"--bus", x, "--headless", "--snapshot",
                                                          png, "--timeout", "300"}),
                               15000);
    EXPECT_NE(0, view.status) << show("fbus-view", view);
    expect_sane("fbus-view", view);
#endif
    EXPECT_TRUE(before == sem_snap(semid)) << "a reading tool touched the foreign set";
    struct stat sb;
    EXPECT_NE(0, stat(png.c_str(), &sb)) << "a PNG was written from a bus that is not there";
    /* Last: --force may remove what blocks the name (root may), or refuse; never crash. */
    expect_sane("fbus rm --force", tool({"rm", x, "--force"}));
}

INSTANTIATE_TEST_SUITE_P(Sizes, ForeignRoleSet, ::testing::Values(1, 48, 49, 500),
                         [](const ::testing::TestParamInfo<int> &i) {
                             return "nsems" + std::to_string(i.param);
                         });

/*
 * A real root bus running, and beside it uid 65534's objects of other sizes and owners: a big
 * segment with a real header (as bus B) naming a 500-semaphore set of its own, and a 500-set
 * under bus C's key. Before: fbus ls GETALLed 500 values into a 49-value array for B.
 */
TEST_F(Foreign, RealBusBesideBigForeignSegmentAndSets)
{
    NEED_ROOT();
    std::string a = bus("real"), b = bus("bigseg"), c = bus("set500");
    int rc;
    fbus_writer *w = open_writer(a, 0644, 3, &rc);
    ASSERT_EQ(0, rc) << fbus_err_name(rc);
    std::vector<uint8_t> px(64 * 48, 7);
    ASSERT_EQ(0, fbus_writer_publish(w, px.data(), px.size(), 0));

    int set500 = foreign_sem(IPC_PRIVATE, 500, 0666);
    ASSERT_GE(set500, 0);
    semids_.push_back(set500);
    /* B's header: A's, renamed, pointing at the 500-set, claiming 16 slots in 32 MiB. */
    struct fbus_info ai;
    ASSERT_EQ(0, fbus_info_get(a.c_str(), 0, &ai));
    std::vector<uint8_t> head(4096);
    {
        void *p = shmat(ai.shmid, nullptr, SHM_RDONLY);
        ASSERT_NE((void *)-1, p);
        memcpy(head.data(), p, head.size());
        shmdt(p);
    }
    auto *h = reinterpret_cast<struct fbus_shm_header *>(head.data());
    memset(h->name, 0, sizeof(h->name));
    memcpy(h->name, b.data(), b.size());
    h->slot_semid = set500;
    const size_t big = 32u << 20;
    h->slot_count = 16;
    h->slot_capacity = (big - 4096) / 16 / 4096 * 4096;
    h->segment_size = big;
    for (unsigned i = 0; i < 16; i++)
        h->slots[i].seq = i + 1;
    h->lossless[0].pid = 1;
    int bshm = foreign_shm(fbus_key_from_name(b.c_str()), big, 0644, head);
    ASSERT_GE(bshm, 0) << strerror(-bshm);
    int cset = foreign_sem(fbus_key_from_name(c.c_str()), 500, 0666);
    ASSERT_GE(cset, 0);
    SemSnap s500 = sem_snap(set500), sc = sem_snap(cset);

    ProgResult ls = tool({"ls"});
    EXPECT_EQ(0, ls.status) << show("fbus ls", ls);
    EXPECT_NE(std::string::npos, ls.out.find(a)) << show("fbus ls", ls);
    for (const auto &n : {a, b, c}) {
        expect_sane(("fbus info " + n).c_str(), tool({"info", n}));
        expect_sane(("fbus info --json " + n).c_str(), tool({"info", n, "--json"}));
    }
    /* A's own bus reads as it should beside all that. */
    ProgResult ia = tool({"info", a});
    EXPECT_EQ(0, ia.status) << show("fbus info A", ia);
    EXPECT_NE(std::string::npos, ia.out.find("alive")) << ia.out;
    /* B is not a bus root may trust: its slot set is not its owner's kind of set. */
    fbus_reader *r = nullptr;
    EXPECT_EQ(FBUS_EFOREIGN, fbus_reader_open(&r, b.c_str(), nullptr));
    fbus_reader_close(r);
    struct fbus_info bi;
    rc = fbus_info_get(b.c_str(), 0, &bi);
    EXPECT_TRUE(rc == 0 || rc == FBUS_ECORRUPT || rc == FBUS_EFOREIGN) << fbus_err_name(rc);
    if (rc == 0) {
        EXPECT_EQ(-1, bi.semid) << "info trusted a 500-semaphore set";
        EXPECT_EQ(0u, bi.lossless_count);
    }
    std::string png = dir() + "/b.png";
    expect_sane("fbus snap B", tool({"snap", b, png, "--timeout", "300"}));
#ifdef FBUS_VIEW
    expect_sane("fbus-view B",
                fbus_run(fbus_prog_argv(FBUS_VIEW, {"--bus", b, "--headless", "--snapshot", png,
                                                    "--timeout", "300"}),
                         15000));
#endif
#ifdef FBUS_CAPTURE
    ProgResult cb = fbus_run(
        fbus_prog_argv(FBUS_CAPTURE, {"--bus", b, "--source", "test", "--count", "5"}), 20000);
    EXPECT_EQ(6, cb.status) << show("fbus-capture on B", cb);
    EXPECT_NE(std::string::npos, cb.err.find("65534")) << show("fbus-capture on B", cb);
#endif
    EXPECT_TRUE(s500 == sem_snap(set500)) << "someone touched uid 65534's private set";
    EXPECT_TRUE(sc == sem_snap(cset)) << "someone touched uid 65534's set under C's key";
    expect_sane("fbus rm B --force", tool({"rm", b, "--force"}));
    expect_sane("fbus rm C --force", tool({"rm", c, "--force"}));
    EXPECT_TRUE(s500 == sem_snap(set500)) << "fbus rm removed a set B's header named";
    /* A is untouched by all of it. */
    EXPECT_EQ(0, fbus_writer_publish(w, px.data(), px.size(), 0));
    EXPECT_EQ(0, fbus_writer_close(w));
}

/* ---- 2. A foreign segment under the key, with a real header ---------------------------------- */

class ForeignSegment : public Foreign, public ::testing::WithParamInterface<int>
{
};

/*
 * uid 65534 makes the segment under bus X's key first, its first page copied from a real root
 * bus (renamed X). Before: root's writer re-attached it and wrote frames into a segment uid
 * 65534 can rewrite (0666) or reads; root's readers took frames from it.
 */
TEST_P(ForeignSegment, WriterAndReaderRefuseAndToolsSurvive)
{
    NEED_ROOT();
    const int mode = GetParam();
    std::string real = bus("model"), x = bus("squat");
    uint32_t key = fbus_key_from_name(x.c_str());
    int rc;
    fbus_writer *w = open_writer(real, 0644, 2, &rc);
    ASSERT_EQ(0, rc);
    std::vector<uint8_t> px(64 * 48, 3);
    ASSERT_EQ(0, fbus_writer_publish(w, px.data(), px.size(), 0));
    struct fbus_info ri;
    ASSERT_EQ(0, fbus_info_get(real.c_str(), 0, &ri));
    std::vector<uint8_t> page(4096);
    {
        void *p = shmat(ri.shmid, nullptr, SHM_RDONLY);
        ASSERT_NE((void *)-1, p);
        memcpy(page.data(), p, page.size());
        shmdt(p);
    }
    auto *h = reinterpret_cast<struct fbus_shm_header *>(page.data());
    memset(h->name, 0, sizeof(h->name));
    memcpy(h->name, x.data(), x.size());
    /* It names root's own slot set (the model's): the owners still differ. */
    int shmid = foreign_shm(key, ri.segment_size, mode, page);
    ASSERT_GE(shmid, 0) << strerror(-shmid);
    ShmSnap before = shm_snap(shmid);
    ASSERT_TRUE(before.ok);

    fbus_writer *w2 = open_writer(x, 0660, 2, &rc);
    EXPECT_EQ(FBUS_EFOREIGN, rc) << fbus_err_name(rc);
    fbus_writer_close(w2);
    EXPECT_EQ(-1, semget((key_t)key, 0, 0)) << "the refused writer left its role set behind";
    char line[512];
    std::string d = fbus_foreign_describe(key, line, sizeof(line));
    EXPECT_NE(std::string::npos, d.find("uid 65534")) << d;
    EXPECT_NE(std::string::npos, d.find("ipcrm -M " + hex_key(key))) << d;

    fbus_reader *r = nullptr;
    EXPECT_EQ(FBUS_EFOREIGN, fbus_reader_open(&r, x.c_str(), nullptr));
    fbus_reader_close(r);
    struct fbus_reader_opts fo;
    fbus_reader_opts_init(&fo);
    fo.follow = 1;
    ASSERT_EQ(0, fbus_reader_open(&r, x.c_str(), &fo));
    struct fbus_frame f;
    EXPECT_EQ(FBUS_EFOREIGN, fbus_reader_acquire(r, &f, 0, 300)) << "a follow reader took it";
    fbus_reader_close(r);

#ifdef FBUS_CAPTURE
    ProgResult c = fbus_run(
        fbus_prog_argv(FBUS_CAPTURE, {"--bus", x, "--source", "test", "--count", "5"}), 20000);
    EXPECT_EQ(6, c.status) << show("fbus-capture", c);
    EXPECT_NE(std::string::npos, c.err.find("uid 65534")) << show("fbus-capture", c);
    EXPECT_NE(std::string::npos, c.err.find("ipcrm -M " + hex_key(key))) << show("fbus-capture", c);
#endif
    ProgResult ls = tool({"ls"});
    EXPECT_EQ(0, ls.status) << show("fbus ls", ls);
    expect_sane("fbus info", tool({"info", x}));
    expect_sane("fbus info --json", tool({"info", x, "--json"}));
    std::string png = dir() + "/x.png";
    ProgResult snap = tool({"snap", x, png, "--timeout", "300"});
    EXPECT_NE(0, snap.status) << show("fbus snap", snap);
    expect_sane("fbus snap", snap);
#ifdef FBUS_VIEW
    ProgResult view = fbus_run(fbus_prog_argv(FBUS_VIEW, {"--bus", x, "--headless", "--snapshot",
                                                          png, "--timeout", "300"}),
                               15000);
    EXPECT_NE(0, view.status) << show("fbus-view", view);
    expect_sane("fbus-view", view);
#endif
    EXPECT_TRUE(before == shm_snap(shmid)) << "root changed uid 65534's segment";
    /* The model bus's slot set, which the squatter named, still serves the model. */
    EXPECT_EQ(0, fbus_writer_publish(w, px.data(), px.size(), 0));
    EXPECT_EQ(0, fbus_writer_close(w));
}

INSTANTIATE_TEST_SUITE_P(Modes, ForeignSegment, ::testing::Values(0666, 0644),
                         [](const ::testing::TestParamInfo<int> &i) {
                             return i.param == 0666 ? std::string("mode0666")
                                                    : std::string("mode0644");
                         });

/*
 * uid 65534 squats the name with a genuine bus of its own (its writer ran, kept the bus, left):
 * segment, role set and slot set all its, consistent. Root's writer must refuse it, and say
 * whose it is and how to remove it; root may read it as any user's bus (its owner is shown).
 */
TEST_F(Foreign, WholeBusOfAnotherUserIsRefusedAndNamed)
{
    NEED_ROOT();
    std::string x = bus("squatbus");
    uint32_t key = fbus_key_from_name(x.c_str());
    int rc = as_nobody([&]() -> int {
        struct fbus_format f;
        fbus_format_init(&f, FBUS_FMT_GREY, 64, 48);
        struct fbus_writer_opts o;
        fbus_writer_opts_init(&o);
        o.mode = 0644;
        o.keep = 1;
        fbus_writer *w = nullptr;
        int r = fbus_writer_open(&w, x.c_str(), &f, &o);
        if (r != 0)
            return r;
        std::vector<uint8_t> px(64 * 48, 5);
        r = fbus_writer_publish(w, px.data(), px.size(), 0);
        fbus_writer_close(w);
        return r;
    });
    ASSERT_EQ(0, rc) << fbus_err_name(rc);
    struct fbus_info i;
    ASSERT_EQ(0, fbus_info_get(x.c_str(), 0, &i));
    ASSERT_EQ(kNobody, i.uid);
    int role = semget((key_t)key, 0, 0);
    ASSERT_GE(role, 0);
    SemSnap role_before = sem_snap(role), slots_before = sem_snap(i.slot_semid);
    ShmSnap seg_before = shm_snap(i.shmid);

    fbus_writer *w = open_writer(x, 0660, 2, &rc);
    EXPECT_EQ(FBUS_EFOREIGN, rc) << fbus_err_name(rc);
    fbus_writer_close(w);
    char line[512];
    std::string d = fbus_foreign_describe(key, line, sizeof(line));
    EXPECT_NE(std::string::npos, d.find("uid 65534")) << "'" << d << "'";
    EXPECT_NE(std::string::npos, d.find("ipcrm -S " + hex_key(key))) << "'" << d << "'";
    EXPECT_NE(std::string::npos, d.find("ipcrm -M " + hex_key(key))) << "'" << d << "'";
#ifdef FBUS_CAPTURE
    ProgResult c = fbus_run(
        fbus_prog_argv(FBUS_CAPTURE, {"--bus", x, "--source", "test", "--count", "5"}), 20000);
    EXPECT_EQ(6, c.status) << show("fbus-capture", c);
    EXPECT_NE(std::string::npos, c.err.find("uid 65534")) << show("fbus-capture", c);
#endif
    EXPECT_TRUE(role_before == sem_snap(role)) << "root touched uid 65534's role set";
    EXPECT_TRUE(slots_before == sem_snap(i.slot_semid)) << "root touched uid 65534's slot set";
    EXPECT_TRUE(seg_before == shm_snap(i.shmid)) << "root touched uid 65534's segment";
    /* Read, as anyone's: its frame, and its owner in fbus info. */
    fbus_reader *r = nullptr;
    ASSERT_EQ(0, fbus_reader_open(&r, x.c_str(), nullptr));
    struct fbus_frame f;
    EXPECT_EQ(0, fbus_reader_acquire(r, &f, 0, 1000));
    fbus_reader_release(r, &f);
    fbus_reader_close(r);
    ProgResult info = tool({"info", x});
    EXPECT_NE(std::string::npos, info.out.find("uid 65534")) << show("fbus info", info);
}

/* ---- 3. What a reader admitted read-only (mode 0644, uid 65534) can do ------------------------
 */

/* Root's bus of mode 0644, written by fbus-testwriter at 100 fps: a real writer process. */
class Admitted : public Foreign
{
  protected:
    /* Starts the writer; false if it did not come up. */
    bool start(unsigned slots)
    {
        name_ = bus("adm");
        key_ = fbus_key_from_name(name_.c_str());
        writer_ = start_writer({"--bus", name_, "--mode", "644", "--fps", "100", "--slots",
                                std::to_string(slots), "--format", "GREY", "--size", "64x48"});
        return writer_ > 0 && wait_frames(1);
    }
    /* The slot set the header names now. */
    int slot_semid()
    {
        struct fbus_info i;
        return fbus_info_get(name_.c_str(), 0, &i) == 0 ? i.slot_semid : -1;
    }
    uint64_t last_seq()
    {
        struct fbus_info i;
        return fbus_info_get(name_.c_str(), 0, &i) == 0 ? i.last_seq : 0;
    }
    bool wait_frames(uint64_t n)
    {
        for (long long end = now_ms() + 5000; now_ms() < end; sleep_ms(10))
            if (last_seq() >= n)
                return true;
        return false;
    }
    std::string name_;
    uint32_t key_ = 0;
    pid_t writer_ = -1;
};

/*
 * (a) The role set is out of reach: uid 65534 can neither SETVAL nor semop it, so it can neither
 * call the live writer dead (a second writer then ran beside it) nor keep a dead one alive.
 * Before: the writer semaphore was in the set readers alter; both worked.
 */
TEST_F(Admitted, RoleSetCannotBeSetOrTaken)
{
    NEED_ROOT();
    ASSERT_TRUE(start(3));
    int role = semget((key_t)key_, 0, 0);
    ASSERT_GE(role, 0);
    /* Each attempt's errno, as uid 65534: 0 would mean it worked. */
    auto attempts = [role]() -> int {
        int fails = 0, bad = 0;
        semun_t v;
        for (int val : {0, 1}) {
            v.val = val;
            if (semctl(role, FBUS_SEM_WRITER, SETVAL, v) == 0)
                bad |= 1;
            else
                fails += errno == EACCES || errno == EPERM;
        }
        for (short op : {-1, 1}) {
            struct sembuf sb = {FBUS_SEM_WRITER, op, IPC_NOWAIT};
            if (semop(role, &sb, 1) == 0)
                bad |= 2;
            else
                fails += errno == EACCES || errno == EPERM;
        }
        if (semctl(role, 0, IPC_RMID) == 0)
            bad |= 4;
        else
            fails += errno == EPERM;
        return bad ? -bad : fails;
    };
    EXPECT_EQ(5, as_nobody(attempts)) << "negative: bits of what uid 65534 could do";
    /* A second writer is still refused: the first is alive. */
    int rc;
    fbus_writer *w2 = open_writer(name_, 0644, 3, &rc);
    EXPECT_EQ(FBUS_EBUSY, rc) << fbus_err_name(rc);
    fbus_writer_close(w2);
    struct fbus_info i;
    ASSERT_EQ(0, fbus_info_get(name_.c_str(), 0, &i));
    EXPECT_TRUE(i.writer_alive);
    ProgResult info = tool({"info", name_});
    EXPECT_NE(std::string::npos, info.out.find("alive")) << info.out;

    /* The writer dies: dead it stays, whatever uid 65534 tries. */
    stop(writer_);
    EXPECT_EQ(5, as_nobody(attempts));
    ASSERT_EQ(0, fbus_info_get(name_.c_str(), 0, &i));
    EXPECT_FALSE(i.writer_alive) << "a killed writer looks alive";
    info = tool({"info", name_});
    EXPECT_NE(std::string::npos, info.out.find("dead")) << info.out;
    /* And root's next writer takes the bus over. */
    fbus_writer *w3 = open_writer(name_, 0644, 3, &rc);
    EXPECT_EQ(0, rc) << fbus_err_name(rc);
    EXPECT_EQ(0, fbus_writer_close(w3));
}

/*
 * (b) uid 65534 sets readers[i] to 0 on the slot a root reader holds: the writer may then
 * overwrite the frame, and the reader learns it at release (FBUS_EOVERWRITTEN). Without the
 * tamper the same hold comes back whole (0). Before: release said 0 on a torn frame.
 */
TEST_F(Admitted, ZeroedHoldIsReportedAtRelease)
{
    NEED_ROOT();
    ASSERT_TRUE(start(3));
    fbus_reader *r = nullptr;
    ASSERT_EQ(0, fbus_reader_open(&r, name_.c_str(), nullptr));
    struct fbus_frame f;

    /* Control: a hold the writer must respect, across 30 frames of 3 slots. */
    ASSERT_EQ(0, fbus_reader_acquire(r, &f, 0, 2000));
    uint64_t held = f.seq;
    ASSERT_TRUE(wait_frames(held + 30));
    EXPECT_EQ(0, fbus_reader_release(r, &f));

    ASSERT_EQ(0, fbus_reader_acquire(r, &f, 0, 2000));
    held = f.seq;
    int semid = slot_semid();
    ASSERT_GE(semid, 0);
    unsigned slot = f.slot;
    int rc = as_nobody([=]() -> int {
        semun_t v;
        v.val = 0;
        return semctl(semid, (int)FBUS_SEM_READERS(slot), SETVAL, v) == 0 ? 0 : -errno;
    });
    /* The hole the design documents: an admitted reader has alter on the slot set. */
    ASSERT_EQ(0, rc) << "uid 65534 could not SETVAL the slot set: " << strerror(-rc);
    /* 3 slots at 100 fps: within 30 frames the writer reuses every non-latest slot. */
    ASSERT_TRUE(wait_frames(held + 30));
    EXPECT_EQ(FBUS_EOVERWRITTEN, fbus_reader_release(r, &f));
    EXPECT_EQ(FBUS_ESTATE, fbus_reader_release(r, &f)) << "released twice";
    /* The reader goes on. */
    EXPECT_EQ(0, fbus_reader_acquire(r, &f, held, 2000));
    EXPECT_EQ(0, fbus_reader_release(r, &f));
    fbus_reader_close(r);
}

/*
 * (c), (d): uid 65534 raises every slot's readers[] (or busy[]) count by 1 without SEM_UNDO and
 * exits: no slot is ever free again in that set. The writer rotates to a new segment and slot
 * set after 1 s without a free slot; a latest reader follows and gets new frames, and fbus info
 * shows frames published going on. Before: the bus stopped for good.
 */
class Wedge : public Admitted, public ::testing::WithParamInterface<const char *>
{
};

TEST_P(Wedge, WriterRotatesAndReadersGetFramesAgain)
{
    NEED_ROOT();
    const bool busy = std::string(GetParam()) == "busy";
    ASSERT_TRUE(start(3));
    fbus_reader *r = nullptr;
    ASSERT_EQ(0, fbus_reader_open(&r, name_.c_str(), nullptr));
    struct fbus_frame f;
    ASSERT_EQ(0, fbus_reader_acquire(r, &f, 0, 2000));
    uint64_t last = f.seq;
    EXPECT_EQ(0, fbus_reader_release(r, &f));
    int old = slot_semid();
    ASSERT_GE(old, 0);
    int rc = as_nobody([=]() -> int {
        struct sembuf ops[FBUS_SLOTS_MAX];
        for (unsigned i = 0; i < FBUS_SLOTS_MAX; i++)
            ops[i] = {(unsigned short)(busy ? FBUS_SEM_BUSY(i) : FBUS_SEM_READERS(i)), 1, 0};
        return semop(old, ops, FBUS_SLOTS_MAX) == 0 ? 0 : -errno;
    });
    ASSERT_EQ(0, rc) << "uid 65534 could not raise the counts: " << strerror(-rc);
    uint64_t wedged_at = last_seq();
    long long t0 = now_ms();

    /* The reader, opened before, gets a frame well past the wedge within 10 s. */
    uint64_t got = 0;
    while (now_ms() - t0 < 10000 && got <= wedged_at + 5) {
        rc = fbus_reader_acquire(r, &f, last, 500);
        if (rc == 0) {
            got = last = f.seq;
            EXPECT_EQ(0, fbus_reader_release(r, &f));
        } else {
            EXPECT_TRUE(rc == FBUS_ETIMEDOUT || rc == FBUS_EAGAIN) << fbus_err_name(rc);
        }
    }
    long long took = now_ms() - t0;
    EXPECT_GT(got, wedged_at + 5) << "no new frames within 10 s of the wedge";
    RecordProperty("recovery_ms", (int)took);
    int now_set = slot_semid();
    EXPECT_NE(old, now_set) << "the writer still uses the wedged set";
    EXPECT_EQ(-1, semctl(old, 0, GETVAL)) << "the wedged set was not removed";
    /* fbus info sees frames published going on. */
    long long p1 = json_published(name_);
    sleep_ms(500);
    long long p2 = json_published(name_);
    EXPECT_GT(p1, 0);
    EXPECT_GT(p2, p1) << "fbus info: no frames published after the recovery";
    /* A reader opened now works too. */
    fbus_reader *r2 = nullptr;
    ASSERT_EQ(0, fbus_reader_open(&r2, name_.c_str(), nullptr));
    EXPECT_EQ(0, fbus_reader_acquire(r2, &f, got, 2000));
    fbus_reader_release(r2, &f);
    fbus_reader_close(r2);
    fbus_reader_close(r);
}

INSTANTIATE_TEST_SUITE_P(Counts, Wedge, ::testing::Values("readers", "busy"),
                         [](const ::testing::TestParamInfo<const char *> &i) {
                             return std::string(i.param);
                         });

/*
 * (e) uid 65534 marks every lossless index registered (lreg[k] = 1, by SETVAL for half of them
 * and by semop without SEM_UNDO for the rest) and exits. The writer clears indices whose
 * process is gone; a real lossless reader then registers and gets every frame.
 * Before: a 9th lossless reader (FBUS_EBUSY) for ever, and the claim's fast path lost.
 */
TEST_F(Admitted, DeadLosslessRegistrationsAreCleared)
{
    NEED_ROOT();
    ASSERT_TRUE(start(4));
    int semid = slot_semid();
    ASSERT_GE(semid, 0);
    int rc = as_nobody([=]() -> int {
        for (unsigned k = 0; k < FBUS_LOSSLESS_MAX; k++) {
            if (k % 2 == 0) {
                semun_t v;
                v.val = 1;
                if (semctl(semid, (int)FBUS_SEM_LREG(k), SETVAL, v) != 0)
                    return -errno;
            } else {
                struct sembuf sb = {(unsigned short)FBUS_SEM_LREG(k), 1, 0};
                if (semop(semid, &sb, 1) != 0)
                    return -errno;
            }
        }
        return 0;
    });
    ASSERT_EQ(0, rc) << strerror(-rc);
    struct fbus_reader_opts o;
    fbus_reader_opts_init(&o);
    o.lossless = 1;
    fbus_reader *r = nullptr;
    long long t0 = now_ms();
    while ((rc = fbus_reader_open(&r, name_.c_str(), &o)) == FBUS_EBUSY && now_ms() - t0 < 5000)
        sleep_ms(20);
    ASSERT_EQ(0, rc) << fbus_err_name(rc) << " after " << now_ms() - t0 << " ms";
    /* 100 frames, every one, in order. */
    uint64_t last = 0, gaps = 0;
    int n = 0;
    while (n < 100 && now_ms() - t0 < 15000) {
        struct fbus_frame f;
        rc = fbus_reader_acquire(r, &f, 0, 1000);
        if (rc != 0) {
            ADD_FAILURE() << "lossless acquire: " << fbus_err_name(rc);
            break;
        }
        if (last && f.seq != last + 1)
            gaps += f.seq > last ? f.seq - last - 1 : 1;
        last = f.seq;
        n++;
        EXPECT_EQ(0, fbus_reader_release(r, &f));
    }
    EXPECT_EQ(100, n);
    EXPECT_EQ(0u, gaps);
    struct fbus_info i;
    ASSERT_EQ(0, fbus_info_get(name_.c_str(), 0, &i));
    EXPECT_EQ(1u, i.lossless_count) << "dead registrations still counted";
    for (unsigned k = 0; k < i.lossless_count; k++)
        EXPECT_EQ(0u, i.lossless[k].drops);
    fbus_reader_close(r);
}

/*
 * Found by the fuzz harness's semaphore damage: uid 65534 sets readers[0] and readers[latest]
 * to 32767 (SEMVMX) and exits. Every hold of those slots is then +1 past the maximum (ERANGE).
 * A new reader must still open (its alter probe on readers[0] overflowed: -ERANGE at open for
 * as long as the bus lived, the writer still having slots 1 and 2) and get frames; an open
 * reader must wait through it, not fail with -ERANGE.
 */
TEST_F(Admitted, CountAtItsMaximumNeitherRefusesNorFailsReaders)
{
    NEED_ROOT();
    ASSERT_TRUE(start(3));
    fbus_reader *r = nullptr;
    ASSERT_EQ(0, fbus_reader_open(&r, name_.c_str(), nullptr));
    struct fbus_frame f;
    ASSERT_EQ(0, fbus_reader_acquire(r, &f, 0, 2000));
    unsigned latest = f.slot;
    uint64_t last = f.seq;
    EXPECT_EQ(0, fbus_reader_release(r, &f));
    int semid = slot_semid();
    ASSERT_GE(semid, 0);
    int rc = as_nobody([=]() -> int {
        semun_t v;
        v.val = 32767;
        for (unsigned j : {0u, latest}) {
            if (semctl(semid, (int)FBUS_SEM_READERS(j), SETVAL, v) != 0)
                return -errno;
        }
        return 0;
    });
    ASSERT_EQ(0, rc) << strerror(-rc);
    fbus_reader *r2 = nullptr;
    EXPECT_EQ(0, rc = fbus_reader_open(&r2, name_.c_str(), nullptr)) << fbus_err_name(rc);
    int got = 0;
    for (long long end = now_ms() + 10000; got < 20 && now_ms() < end;) {
        rc = fbus_reader_acquire(r, &f, last, 500);
        if (rc == 0) {
            last = f.seq;
            got++;
            EXPECT_EQ(0, fbus_reader_release(r, &f));
        } else if (rc != FBUS_ETIMEDOUT) {
            ADD_FAILURE() << "acquire: " << fbus_err_name(rc);
            break;
        }
    }
    EXPECT_EQ(20, got) << "the open reader stopped getting frames";
    if (r2) {
        EXPECT_EQ(0, rc = fbus_reader_acquire(r2, &f, 0, 2000)) << fbus_err_name(rc);
        if (rc == 0)
            fbus_reader_release(r2, &f);
    }
    fbus_reader_close(r2);
    fbus_reader_close(r);
}

/* ---- 4. Two writers at one instant (issue 12 item 1) ------------------------------------------
 */

/*
 * Children that block on a pipe until the parent closes it: all start the same instant.
 * Before: in 6 of 60 pairs neither writer ran (the loser removed the set the winner was using).
 */
TEST_F(Foreign, WriterRaceExactlyOneWinsEveryPair)
{
    const int kPairs = 20, kRounds = 3;
    struct Result {
        int pair;
        int rc;
    };
    for (int round = 0; round < kRounds; round++) {
        std::vector<std::string> names;
        for (int p = 0; p < kPairs; p++)
            names.push_back(bus("race"));
        int go[2], res[2], done[2];
        ASSERT_EQ(0, pipe(go));
        ASSERT_EQ(0, pipe(res));
        ASSERT_EQ(0, pipe(done));
        std::vector<pid_t> kids;
        for (int c = 0; c < 2 * kPairs; c++) {
            pid_t pid = fork();
            if (pid == 0) {
                close(go[1]);
                close(res[0]);
                close(done[1]);
                char ch;
                while (read(go[0], &ch, 1) < 0 && errno == EINTR) {
                }
                Result out = {c / 2, 0};
                fbus_writer *w = open_writer(names[(size_t)(c / 2)], 0660, 2, &out.rc);
                if (write(res[1], &out, sizeof(out)) != sizeof(out))
                    _exit(98);
                /* The winner holds the bus until every result is in. */
                while (read(done[0], &ch, 1) < 0 && errno == EINTR) {
                }
                fbus_writer_close(w);
                _exit(0);
            }
            ASSERT_GT(pid, 0);
            kids.push_back(pid);
            procs_.push_back(pid);
        }
        close(go[0]);
        close(res[1]);
        close(done[0]);
        close(go[1]); /* go */
        std::vector<std::vector<int>> rcs(kPairs);
        Result in;
        for (int c = 0; c < 2 * kPairs; c++) {
            if (read(res[0], &in, sizeof(in)) != sizeof(in))
                break;
            rcs[(size_t)in.pair].push_back(in.rc);
        }
        close(res[0]);
        close(done[1]);
        for (pid_t k : kids)
            EXPECT_EQ(0, fbus_wait_child(k, 10000));
        procs_.clear();
        for (int p = 0; p < kPairs; p++) {
            ASSERT_EQ(2u, rcs[(size_t)p].size()) << "round " << round << " pair " << p;
            int a = rcs[(size_t)p][0], b = rcs[(size_t)p][1];
            EXPECT_TRUE((a == 0 && b == FBUS_EBUSY) || (a == FBUS_EBUSY && b == 0))
                << "round " << round << " pair " << p << ": " << fbus_err_name(a) << ", "
                << fbus_err_name(b);
        }
        for (const auto &n : names)
            fbus_test_remove(n);
    }
}

#ifdef FBUS_CAPTURE
/* The same with fbus-capture: 5 pairs at once; the loser says the bus is busy and why. */
TEST_F(Foreign, CaptureRaceExactlyOneWinsAndLoserSaysWho)
{
    const int kPairs = 5;
    std::string d = dir();
    ASSERT_FALSE(d.empty());
    std::vector<std::string> names;
    for (int p = 0; p < kPairs; p++)
        names.push_back(bus("crace"));
    int go[2];
    ASSERT_EQ(0, pipe(go));
    std::vector<pid_t> kids;
    for (int c = 0; c < 2 * kPairs; c++) {
        std::string log = d + "/cap" + std::to_string(c) + ".err";
        auto argv = fbus_prog_argv(FBUS_CAPTURE, {"--bus", names[(size_t)(c / 2)], "--source",
                                                  "test", "--size", "64x48", "--fps", "30"});
        pid_t pid = fork();
        if (pid == 0) {
            close(go[1]);
            char ch;
            while (read(go[0], &ch, 1) < 0 && errno == EINTR) {
            }
            int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            int null = open("/dev/null", O_WRONLY);
            dup2(null, 1);
            dup2(fd, 2);
            fbus_exec_argv(argv);
        }
        ASSERT_GT(pid, 0);
        kids.push_back(pid);
        procs_.push_back(pid);
    }
    close(go[0]);
    close(go[1]);
    /* The loser of each pair exits soon; the winner runs until stopped. */
    std::vector<int> status(kids.size(), -1);
    for (long long end = now_ms() + 10000; now_ms() < end; sleep_ms(20)) {
        int exited = 0;
        for (size_t c = 0; c < kids.size(); c++) {
            int st;
            if (status[c] < 0 && waitpid(kids[c], &st, WNOHANG) == kids[c])
                status[c] = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            exited += status[c] >= 0;
        }
        if (exited >= kPairs)
            break;
    }
    sleep_ms(300); /* a second loser would have exited by now too */
    for (size_t c = 0; c < kids.size(); c++) {
        int st;
        if (status[c] < 0 && waitpid(kids[c], &st, WNOHANG) == kids[c])
            status[c] = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    for (int p = 0; p < kPairs; p++) {
        int a = status[(size_t)2 * p], b = status[(size_t)2 * p + 1];
        EXPECT_TRUE((a < 0) != (b < 0))
            << "pair " << p << ": exits " << a << ", " << b << " (-1: still running)";
        for (int c : {2 * p, 2 * p + 1}) {
            if (status[(size_t)c] < 0)
                continue;
            EXPECT_EQ(5, status[(size_t)c]) << "the loser's exit code (busy)";
            std::string err;
            FILE *fp = fopen((d + "/cap" + std::to_string(c) + ".err").c_str(), "r");
            char buf[1024];
            size_t n;
            while (fp && (n = fread(buf, 1, sizeof(buf), fp)) > 0)
                err.append(buf, n);
            if (fp)
                fclose(fp);
            EXPECT_NE(std::string::npos, err.find("busy")) << err;
            EXPECT_TRUE(err.find("writer pid ") != std::string::npos ||
                        err.find("another writer") != std::string::npos)
                << err;
        }
    }
    for (size_t c = 0; c < kids.size(); c++) {
        if (status[c] >= 0)
            continue;
        kill(kids[c], SIGTERM);
        EXPECT_EQ(0, fbus_wait_child(kids[c], 10000)) << "the winner, stopped by SIGTERM";
    }
    procs_.clear();
}
#endif

/* ---- 5. A stopped lossless reader (issue 12 item 2) --------------------------------------------
 */

namespace
{

/* What the lossless reader child shares with the test: commands in, frames out. */
struct LShared {
    int cmd; /* 1: stop holding a frame; 2: stop after releasing it */
    int registered;
    uint64_t frames, gaps, disorder, last, first_after_cont;
    int32_t pid;
};

/* The child: reads every frame in order; on a command it SIGSTOPs itself as asked. */
[[noreturn]] void lossless_child(const std::string &name, LShared *sh)
{
    struct fbus_reader_opts o;
    fbus_reader_opts_init(&o);
    o.lossless = 1;
    fbus_reader *r = nullptr;
    if (fbus_reader_open(&r, name.c_str(), &o) != 0)
        _exit(3);
    sh->pid = getpid();
    __atomic_store_n(&sh->registered, 1, __ATOMIC_RELEASE);
    for (;;) {
        struct fbus_frame f;
        int rc = fbus_reader_acquire(r, &f, 0, 200);
        if (rc != 0)
            continue;
        uint64_t last = __atomic_load_n(&sh->last, __ATOMIC_RELAXED);
        if (last && f.seq > last + 1)
            __atomic_fetch_add(&sh->gaps, f.seq - last - 1, __ATOMIC_RELAXED);
        else if (last && f.seq <= last)
            __atomic_fetch_add(&sh->disorder, 1, __ATOMIC_RELAXED);
        __atomic_store_n(&sh->last, f.seq, __ATOMIC_RELAXED);
        __atomic_fetch_add(&sh->frames, 1, __ATOMIC_RELAXED);
        int cmd = __atomic_exchange_n(&sh->cmd, 0, __ATOMIC_ACQ_REL);
        if (cmd == 1)
            raise(SIGSTOP);
        fbus_reader_release(r, &f);
        if (cmd == 2)
            raise(SIGSTOP);
    }
}

/* Distinct frames a latest reader gets in ms. */
int count_latest(fbus_reader *r, int ms)
{
    uint64_t last = 0;
    int n = 0;
    for (long long end = now_ms() + ms; now_ms() < end;) {
        struct fbus_frame f;
        if (fbus_reader_acquire(r, &f, last, 50) != 0)
            continue;
        last = f.seq;
        n++;
        fbus_reader_release(r, &f);
    }
    return n;
}

} // namespace

class StoppedLossless : public Foreign, public ::testing::WithParamInterface<int>
{
};

/*
 * The writer at 100 fps (fbus-testwriter --fps 100, 4 slots), lossless bound 300 ms, a lossless
 * reader (child) and a latest reader (here). The lossless reader SIGSTOPs itself holding a frame
 * (param 1) or not (2). Before (9e90379): the writer fell to 1 frame per bound (about 3 fps here)
 * and the latest reader with it. With 2230152's library, a reader stopped holding a frame left
 * the writer no slot it would take for 1 s, until it rotated the slot set (ratio 0.58 measured),
 * and its drops were never counted (it was no longer in the new set).
 *
 * Margin: the frames of the 2 s after the stop are compared with a twin bus (same writer
 * pacing, no lossless reader) counted over the same 2 s by a second thread, so the ratio
 * cancels the machine's load as it is then (a baseline taken earlier did not: 0.58 once at
 * load 13, with the bus at full rate); the window after the stop starts
 * 600 ms after it (past the one 300 ms bound the stop may cost). Full rate gives ~1.0; the old
 * behaviour gives 0.03, a 1 s stall (rotation) about 0.5: 0.7 leaves 30 % for scheduling noise
 * and still tells them apart.
 */
TEST_P(StoppedLossless, CostsOneBoundThenFullRate)
{
    const int mode = GetParam();
    std::string x = bus("lstop");
    pid_t w = start_writer({"--bus", x, "--fps", "100", "--slots", "4", "--lossless-wait", "300",
                            "--format", "GREY", "--size", "64x48"});
    ASSERT_GT(w, 0);
    /* A twin bus, paced alike, with no lossless reader: the baseline under the same load. */
    std::string y = bus("ltwin");
    pid_t tw = start_writer({"--bus", y, "--fps", "100", "--slots", "4", "--lossless-wait", "300",
                             "--format", "GREY", "--size", "64x48"});
    ASSERT_GT(tw, 0);
    auto *sh = static_cast<LShared *>(
        mmap(nullptr, sizeof(LShared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(MAP_FAILED, (void *)sh);
    memset(sh, 0, sizeof(*sh));
    pid_t lp = fork();
    if (lp == 0)
        lossless_child(x, sh);
    procs_.push_back(lp);
    for (long long end = now_ms() + 5000; !sh->registered && now_ms() < end;)
        sleep_ms(10);
    ASSERT_TRUE(sh->registered);
    fbus_reader *r = nullptr;
    ASSERT_EQ(0, fbus_reader_open(&r, x.c_str(), nullptr));
    sleep_ms(300);

    int base = count_latest(r, 2000);
    EXPECT_GT(base, 100) << "the baseline itself is too slow to measure (100 fps asked)";
    uint64_t before_gaps = sh->gaps;
    EXPECT_EQ(0u, before_gaps) << "a running lossless reader lost frames";

    __atomic_store_n(&sh->cmd, mode, __ATOMIC_RELEASE);
    int st;
    ASSERT_EQ(lp, waitpid(lp, &st, WUNTRACED));
    ASSERT_TRUE(WIFSTOPPED(st));
    sleep_ms(600);
    fbus_reader *ry = nullptr;
    for (long long end = now_ms() + 5000; fbus_reader_open(&ry, y.c_str(), nullptr) != 0;) {
        ASSERT_LT(now_ms(), end) << "the twin bus never came";
        sleep_ms(20);
    }
    int twin = 0;
    std::thread counter([&] { twin = count_latest(ry, 2000); });
    int stopped = count_latest(r, 2000);
    counter.join();
    fbus_reader_close(ry);
    EXPECT_GT(twin, 50) << "the twin itself is too slow to measure (100 fps asked)";
    /* The same 2 s on both buses: whatever the load does, it does to both. */
    double ratio = twin ? (double)stopped / twin : 0;
    RecordProperty("baseline_frames", base);
    RecordProperty("stopped_frames", stopped);
    RecordProperty("twin_frames", twin);
    EXPECT_GE(ratio, 0.7) << "latest reader: " << stopped << " frames in 2 s with the lossless "
                          << "reader stopped, " << twin << " on the twin bus over the same 2 s ("
                          << base << " before the stop)";
    struct fbus_info i;
    ASSERT_EQ(0, fbus_info_get(x.c_str(), 0, &i));
    uint64_t drops = 0;
    bool seen = false;
    for (unsigned k = 0; k < i.lossless_count; k++) {
        if (i.lossless[k].pid == sh->pid) {
            seen = true;
            drops = i.lossless[k].drops;
        }
    }
    EXPECT_TRUE(seen) << "fbus info does not list the stopped lossless reader";
    EXPECT_GT(drops, 0u) << "drops of the stopped reader not counted";

    /* SIGCONT: it catches up (gaps where it was dropped), in order. */
    uint64_t at_cont = sh->frames;
    kill(lp, SIGCONT);
    sleep_ms(1000);
    EXPECT_GT(sh->frames, at_cont + 50) << "the lossless reader did not catch up";
    EXPECT_EQ(0u, sh->disorder);
    /* The writer waits for it again: a 100 ms stop (< the 300 ms bound) costs no frame. */
    uint64_t gaps = sh->gaps;
    ASSERT_EQ(0, fbus_info_get(x.c_str(), 0, &i));
    uint64_t drops_before = 0;
    for (unsigned k = 0; k < i.lossless_count; k++) {
        if (i.lossless[k].pid == sh->pid)
            drops_before = i.lossless[k].drops;
    }
    kill(lp, SIGSTOP);
    ASSERT_EQ(lp, waitpid(lp, &st, WUNTRACED));
    sleep_ms(100);
    kill(lp, SIGCONT);
    sleep_ms(1000);
    EXPECT_EQ(gaps, sh->gaps) << "frames lost in a stop shorter than the bound: the writer "
                                 "no longer waits for the reader";
    ASSERT_EQ(0, fbus_info_get(x.c_str(), 0, &i));
    for (unsigned k = 0; k < i.lossless_count; k++) {
        if (i.lossless[k].pid == sh->pid) {
            EXPECT_EQ(drops_before, i.lossless[k].drops);
        }
    }
    EXPECT_EQ(0u, sh->disorder);
    fbus_reader_close(r);
    stop(lp);
    munmap(sh, sizeof(*sh));
}

INSTANTIATE_TEST_SUITE_P(Stop, StoppedLossless, ::testing::Values(1, 2),
                         [](const ::testing::TestParamInfo<int> &i) {
                             return i.param == 1 ? std::string("holding")
                                                 : std::string("not_holding");
                         });
