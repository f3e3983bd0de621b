/*
 * safe_file.c - output files made without following planted links or
 * clobbering what the program did not make; see safe_file.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* renameat2, O_PATH */
#endif
#include "safe_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LINK_DEPTH_MAX 8   /* trusted links followed in a row (the kernel allows 40) */
#define TMP_TRIES      64  /* temporary names tried before giving up */
#define TMP_KEEP       200 /* bytes of the final name kept in the temporary one */

static int open_dir(const char *dir, int depth);

/* dir's last component is a link: its target, resolved where the link is. */
static int follow_trusted_link(const char *dir, int lfd, int depth)
{
    char target[PATH_MAX], path[PATH_MAX];
    const char *slash = strrchr(dir, '/');
    ssize_t n = readlinkat(lfd, "", target, sizeof(target) - 1);

    if (n < 0) {
        return -errno;
    }
    target[n] = 0;
    if (target[0] == '/' || !slash) {
        return open_dir(target, depth + 1);
    }
    if (snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - dir), dir, target) >=
        (int)sizeof(path)) {
        return -ENAMETOOLONG;
    }
    return open_dir(path, depth + 1);
}

static int open_dir(const char *path, int depth)
{
    char dir[PATH_MAX];
    size_t n = strlen(path);
    struct stat st;
    int fd, lfd, rc;

    if (depth > LINK_DEPTH_MAX) {
        return -ELOOP;
    }
    /* "link/" resolves the link whatever O_NOFOLLOW says: the last component goes bare. */
    while (n > 1 && path[n - 1] == '/') {
        n--;
    }
    if (n >= sizeof(dir)) {
        return -ENAMETOOLONG;
    }
    memcpy(dir, path, n);
    dir[n] = 0;
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        return fd;
    }
    rc = -errno;
    if (rc != -ELOOP && rc != -ENOTDIR) {
        return rc;
    }
    /* O_PATH pins the link itself: what is checked is what is read. */
    lfd = open(dir, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (lfd < 0) {
        return rc;
    }
    if (fstat(lfd, &st) != 0 || !S_ISLNK(st.st_mode)) {
        close(lfd);
        return rc;
    }
    if (st.st_uid != geteuid() && st.st_uid != 0) {
        close(lfd);
        return -ELOOP;
    }
    fd = follow_trusted_link(dir, lfd, depth);
    close(lfd);
    return fd;
}

int app_dir_open(const char *dir)
{
    if (!dir || !*dir) {
        return -EINVAL;
    }
    return open_dir(dir, 0);
}

int app_dir_open_parent(const char *path, const char **name)
{
    char dir[PATH_MAX];
    const char *slash, *base;

    if (!path || !*path || !name) {
        return -EINVAL;
    }
    slash = strrchr(path, '/');
    base = slash ? slash + 1 : path;
    if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
        return -EISDIR;
    }
    *name = base;
    if (!slash) {
        return app_dir_open(".");
    }
    if (slash == path) {
        return app_dir_open("/");
    }
    if ((size_t)(slash - path) >= sizeof(dir)) {
        return -ENAMETOOLONG;
    }
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash - path] = 0;
    return app_dir_open(dir);
}

/* Eight characters no other process can guess (getrandom; the clock if it fails). */
static void random_suffix(char out[9])
{
    static const char abc[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    unsigned char r[8];

    if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec * 2654435761u ^ (uint64_t)getpid() << 32;
        memcpy(r, &x, sizeof(r));
    }
    for (int i = 0; i < 8; i++) {
        out[i] = abc[r[i] % (sizeof(abc) - 1)];
    }
    out[8] = 0;
}

int app_file_create(struct app_file *f, int dirfd, const char *name)
{
    if (!f || !name || !*name || strchr(name, '/') || strcmp(name, ".") == 0 ||
        strcmp(name, "..") == 0) {
        return -EINVAL;
    }
    if (strlen(name) > NAME_MAX) {
        return -ENAMETOOLONG;
    }
    f->dirfd = dirfd;
    f->fd = -1;
    snprintf(f->name, sizeof(f->name), "%s", name);
    for (int i = 0; i < TMP_TRIES; i++) {
        char sfx[9];
        random_suffix(sfx);
        snprintf(f->tmp, sizeof(f->tmp), "%.*s.tmp-%s", TMP_KEEP, name, sfx);
        f->fd = openat(dirfd, f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (f->fd >= 0) {
            return 0;
        }
        if (errno != EEXIST) {
            return -errno;
        }
    }
    return -EEXIST;
}

/* tmp onto name, failing with -EEXIST if anything is at name. */
static int rename_noreplace(const struct app_file *f)
{
#ifdef RENAME_NOREPLACE /* glibc >= 2.28; musl 1.2.3 has no renameat2 */
    if (renameat2(f->dirfd, f->tmp, f->dirfd, f->name, RENAME_NOREPLACE) == 0) {
        return 0;
    }
    if (errno != EINVAL && errno != ENOSYS) {
        return -errno;
    }
#endif
    /* A file system without RENAME_NOREPLACE: link() never follows or replaces either. */
    if (linkat(f->dirfd, f->tmp, f->dirfd, f->name, 0) != 0) {
        return -errno;
    }
    unlinkat(f->dirfd, f->tmp, 0);
    return 0;
}

int app_file_commit(struct app_file *f, enum app_replace how)
{
    int rc = 0;

    if (!f || f->fd < 0) {
        return -EINVAL;
    }
    /* Without it a crash soon after the rename can leave an empty file at the name. */
    if (fsync(f->fd) != 0) {
        rc = -errno;
    }
    if (close(f->fd) != 0 && rc == 0) {
        rc = -errno;
    }
    f->fd = -1;
    if (rc == 0 && how == APP_REPLACE && renameat(f->dirfd, f->tmp, f->dirfd, f->name) != 0) {
        rc = -errno;
    } else if (rc == 0 && how != APP_REPLACE) {
        rc = rename_noreplace(f);
    }
    if (rc != 0) {
        unlinkat(f->dirfd, f->tmp, 0);
    }
    return rc;
}

void app_file_abort(struct app_file *f)
{
    if (!f || f->fd < 0) {
        return;
    }
    close(f->fd);
    f->fd = -1;
    unlinkat(f->dirfd, f->tmp, 0);
}
