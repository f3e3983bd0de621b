/*
 * fbus_test.cpp - shared test support: unique bus names, clean-up, and
 * fork/exec of the programs under test.
 */
#include "fbus_test.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

static std::mutex g_lock;
static std::set<std::string> g_names;
static std::atomic<unsigned> g_counter{0};

/* Buses survive a test that fails badly: remove the rest when the process exits. */
static void remove_all_at_exit()
{
    std::lock_guard<std::mutex> g(g_lock);
    for (const auto &n : g_names)
        fbus_test_remove(n);
}

std::string fbus_test_name(const char *tag)
{
    static std::once_flag once;
    std::call_once(once, [] { atexit(remove_all_at_exit); });
    std::string n = "t." + std::to_string(getpid()) + "." + std::to_string(++g_counter) + ".";
    n += tag ? tag : "b";
    if (n.size() > FBUS_NAME_MAX)
        n.resize(FBUS_NAME_MAX);
    std::lock_guard<std::mutex> g(g_lock);
    g_names.insert(n);
    return n;
}

void fbus_test_remove(const std::string &name)
{
    /* Twice: a superseded segment may still be listed under the key for a moment. */
    fbus_remove(name.c_str(), 0, 1);
    fbus_remove(name.c_str(), 0, 1);
    int semid = semget((key_t)fbus_key_from_name(name.c_str()), 0, 0);
    if (semid >= 0)
        semctl(semid, 0, IPC_RMID);
}

std::string BusTest::bus(const char *tag)
{
    names_.push_back(fbus_test_name(tag));
    return names_.back();
}

void BusTest::TearDown()
{
    for (const auto &n : names_)
        fbus_test_remove(n);
}

std::vector<std::string> fbus_prog_argv(const std::string &path,
                                        const std::vector<std::string> &args)
{
    std::vector<std::string> v;
#ifdef FBUS_EMULATOR
    std::string emu = FBUS_EMULATOR;
    size_t start = 0, semi;
    while ((semi = emu.find(';', start)) != std::string::npos) {
        v.push_back(emu.substr(start, semi - start));
        start = semi + 1;
    }
    v.push_back(emu.substr(start));
#endif
    v.push_back(path);
    v.insert(v.end(), args.begin(), args.end());
    return v;
}

std::string fbus_test_prog(const char *name)
{
    return std::string(FBUS_PROGDIR) + "/" + name;
}

void fbus_exec_argv(const std::vector<std::string> &argv)
{
    std::vector<char *> a;
    for (const auto &s : argv)
        a.push_back(const_cast<char *>(s.c_str()));
    a.push_back(nullptr);
    execvp(a[0], a.data());
    fprintf(stderr, "exec %s: %s\n", a[0], strerror(errno));
    _exit(127);
}

pid_t fbus_spawn(const std::vector<std::string> &argv, int *out_fd)
{
    int fds[2] = {-1, -1};
    if (out_fd && pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        if (out_fd)
            dup2(fds[1], 1);
        fbus_exec_argv(argv);
    }
    if (out_fd) {
        close(fds[1]);
        *out_fd = fds[0];
    }
    return pid;
}

static long long now_ms()
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int decode_status(int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return -1;
}

int fbus_wait_child(pid_t pid, int timeout_ms)
{
    long long end = now_ms() + timeout_ms;
    int st;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return decode_status(st);
        if (r < 0)
            return -1;
        if (now_ms() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            ADD_FAILURE() << "child " << pid << " did not finish in " << timeout_ms << " ms";
            return decode_status(st);
        }
        usleep(2000);
    }
}

bool fbus_read_line(int fd, std::string *line, int timeout_ms)
{
    long long end = now_ms() + timeout_ms;
    line->clear();
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        long long left = end - now_ms();
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return false;
        char c;
        ssize_t n = read(fd, &c, 1);
        if (n <= 0)
            return false;
        if (c == '\n')
            return true;
        line->push_back(c);
    }
}

static void drain(int fd, std::string *to, bool *open)
{
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n > 0)
        to->append(buf, (size_t)n);
    else
        *open = false;
}

ProgResult fbus_run(const std::vector<std::string> &argv, int timeout_ms)
{
    ProgResult r;
    int o[2], e[2];
    if (pipe2(o, O_CLOEXEC) || pipe2(e, O_CLOEXEC))
        return r;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(o[1], 1);
        dup2(e[1], 2);
        fbus_exec_argv(argv);
    }
    close(o[1]);
    close(e[1]);
    bool oo = true, eo = true;
    long long end = now_ms() + timeout_ms;
    while ((oo || eo) && now_ms() < end) {
        struct pollfd p[2] = {{oo ? o[0] : -1, POLLIN, 0}, {eo ? e[0] : -1, POLLIN, 0}};
        if (poll(p, 2, 100) <= 0)
            continue;
        if (p[0].revents)
            drain(o[0], &r.out, &oo);
        if (p[1].revents)
            drain(e[0], &r.err, &eo);
    }
    close(o[0]);
    close(e[0]);
    r.status = fbus_wait_child(pid, (int)std::max(1LL, end - now_ms()) + 1000);
    return r;
}

namespace
{
std::mutex g_progs_lock;
std::map<std::string, std::string> g_progs; /* original path -> copy */
std::string g_progs_dir;

void remove_prog_copies()
{
    for (auto &p : g_progs)
        unlink(p.second.c_str());
    if (!g_progs_dir.empty())
        rmdir(g_progs_dir.c_str());
}
} // namespace

std::string fbus_prog_for_anyone(const std::string &path)
{
    std::lock_guard<std::mutex> g(g_progs_lock);
    auto it = g_progs.find(path);
    if (it != g_progs.end())
        return it->second;
    if (g_progs_dir.empty()) {
        char dir[] = "/tmp/fbus-progs-XXXXXX";
        if (!mkdtemp(dir) || chmod(dir, 0755) != 0)
            return path;
        g_progs_dir = dir;
        atexit(remove_prog_copies);
    }
    std::string copy = g_progs_dir + "/" + path.substr(path.rfind('/') + 1);
    std::ifstream in(path, std::ios::binary);
    std::ofstream out(copy, std::ios::binary | std::ios::trunc);
    out << in.rdbuf();
    out.close();
    if (!in || !out || chmod(copy.c_str(), 0755) != 0)
        return path;
    g_progs[path] = copy;
    return copy;
}

ProgResult fbus_run_as_nobody(const std::string &path, const std::vector<std::string> &args,
                              int timeout_ms)
{
    ProgResult res;
    std::string prog = fbus_prog_for_anyone(path);
    char out[] = "/tmp/fbus-nobody-out-XXXXXX", err[] = "/tmp/fbus-nobody-err-XXXXXX";
    int o = mkstemp(out), e = mkstemp(err);
    if (o < 0 || e < 0)
        return res;
    auto argv = fbus_prog_argv(prog, args);
    pid_t pid = fork();
    if (pid == 0) {
        if (dup2(o, 1) < 0 || dup2(e, 2) < 0)
            _exit(99);
        if (setgroups(0, nullptr) || setgid(65534) || setuid(65534))
            _exit(99);
        fbus_exec_argv(argv);
    }
    close(o);
    close(e);
    res.status = fbus_wait_child(pid, timeout_ms);
    for (const char *p : {out, err}) {
        std::ifstream f(p);
        std::stringstream ss;
        ss << f.rdbuf();
        (p == out ? res.out : res.err) = ss.str();
        unlink(p);
    }
    return res;
}
