/*
 * safe_file.h - output files for the programs, made safely where other
 * users may write too (/tmp, a shared directory, one another uid owns).
 *
 * A file is written under a temporary name the program makes itself
 * (NAME.tmp-XXXXXXXX, random, created with O_CREAT|O_EXCL|O_NOFOLLOW in
 * the target directory through a directory descriptor), then renamed onto
 * its name. Nothing planted there can redirect it: O_EXCL refuses any entry
 * already at the temporary name, and a rename replaces the directory entry
 * at the final name (a symbolic link is replaced, never followed). Whether
 * an existing final name may be replaced is the caller's choice: a file the
 * user named (--snapshot FILE) yes; names the program picks itself (record
 * frames, index.txt, the window's snapshots) no.
 *
 * Nothing here prints; every failure is a -errno.
 */
#ifndef APP_SAFE_FILE_H
#define APP_SAFE_FILE_H

#include <limits.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What app_file_commit() does with an entry already at the final name. */
enum app_replace {
    APP_NOREPLACE = 0, /* anything there (file, link, directory): -EEXIST, left as it is */
    APP_REPLACE = 1,   /* a file or link there is replaced (a link itself, never its target) */
};

/*
 * Opens directory dir (O_RDONLY|O_DIRECTORY|O_CLOEXEC) to create files in.
 * A symbolic link as its last component is followed only if the caller's
 * effective uid or root owns the link: one planted by another user is
 * refused with -ELOOP. Earlier components resolve as usual. Returns the
 * descriptor, or -ENOENT, -ENOTDIR, -EACCES, -ELOOP, -ENAMETOOLONG...
 */
int app_dir_open(const char *dir);

/*
 * Opens the directory part of path as app_dir_open() does ("." if path has
 * no slash) and points *name at its last component, inside path. Returns
 * the descriptor or a -errno; -EISDIR if path ends in '/' or its last
 * component is "." or "..".
 */
int app_dir_open_parent(const char *path, const char **name);

/* A file being written under its temporary name. */
struct app_file {
    int dirfd;              /* the caller's; not closed here */
    int fd;                 /* open for writing, -1 once committed or aborted */
    char tmp[NAME_MAX + 1]; /* the temporary name in dirfd */
    char name[NAME_MAX + 1];
};

/*
 * Creates a temporary file for name (one component, no '/') in dirfd, mode
 * 0666 less the umask. Write to f->fd, then app_file_commit() or
 * app_file_abort(). Returns 0, -EINVAL (bad name), -ENAMETOOLONG, or the
 * -errno of openat(): -EACCES, -ENOSPC, -EROFS...
 */
int app_file_create(struct app_file *f, int dirfd, const char *name);

/*
 * Flushes the file to disk (fsync), closes it and renames it onto its
 * name, replacing what is there or not as `how` says. On any failure the
 * temporary file is removed and the final name is untouched. Returns 0,
 * -EEXIST (APP_NOREPLACE and the name exists), -EISDIR (a directory is
 * there), or another -errno (-EIO, -ENOSPC, -EDQUOT...).
 */
int app_file_commit(struct app_file *f, enum app_replace how);

/* Closes and removes the temporary file. Accepts a committed or aborted f. */
void app_file_abort(struct app_file *f);

#ifdef __cplusplus
}
#endif

#endif /* APP_SAFE_FILE_H */
