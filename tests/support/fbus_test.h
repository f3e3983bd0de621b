/*
 * fbus_test.h - what every framebus test shares: unique bus names that are
 * removed after the test even when it fails, and running programs as real
 * processes (fork/exec, through the cross emulator when there is one).
 */
#ifndef FBUS_TEST_H
#define FBUS_TEST_H

#include <gtest/gtest.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "framebus/framebus.h"

/* A bus name no other test (or test run) uses: "t.<pid>.<n>.<tag>", at most 31 chars. */
std::string fbus_test_name(const char *tag);
/* Removes bus `name` (segment and semaphore set) if it exists. */
void fbus_test_remove(const std::string &name);

/* Test fixture: bus() hands out names; TearDown removes every one of them. */
class BusTest : public ::testing::Test
{
  protected:
    std::string bus(const char *tag = "b");
    void TearDown() override;
    std::vector<std::string> names_;
};

/* Result of a finished program. */
struct ProgResult {
    int status = -1; /* exit code, or 128+signal */
    std::string out;
    std::string err;
};

/* Argument vector for a program under test: prepends the emulator in cross builds. */
std::vector<std::string> fbus_prog_argv(const std::string &path,
                                        const std::vector<std::string> &args);
/* In a forked child: execs argv (searching PATH), or says why on stderr and _exit(127)s. */
[[noreturn]] void fbus_exec_argv(const std::vector<std::string> &argv);
/* Path of a helper program built in tests/progs. */
std::string fbus_test_prog(const char *name);
/*
 * A copy of program `path` in a directory every user can reach (/tmp/fbus-progs-XXXXXX,
 * mode 0755), for a child that drops to another uid before it execs: the build tree may sit
 * under a directory that uid cannot enter (a clone in /root). Removed at exit.
 */
std::string fbus_prog_for_anyone(const std::string &path);
/*
 * Runs program `path` (a copy from fbus_prog_for_anyone) with args as uid 65534 without groups,
 * its stdout and stderr captured in files opened before root is dropped. Exit code or 128+sig
 * (99: the child could not drop root, 127: it could not exec).
 */
ProgResult fbus_run_as_nobody(const std::string &path, const std::vector<std::string> &args,
                              int timeout_ms = 20000);
/* Runs argv to completion (killed after timeout_ms), capturing stdout and stderr. */
ProgResult fbus_run(const std::vector<std::string> &argv, int timeout_ms = 30000);
/* Starts argv in the background; its stdout goes to a pipe whose read end is *out_fd. */
pid_t fbus_spawn(const std::vector<std::string> &argv, int *out_fd = nullptr);
/* Reads a line from fd (without the newline), waiting up to timeout_ms; false on EOF/timeout. */
bool fbus_read_line(int fd, std::string *line, int timeout_ms);
/* waitpid with a bound: SIGKILLs the child after timeout_ms. Returns exit code or 128+sig. */
int fbus_wait_child(pid_t pid, int timeout_ms);

#endif
