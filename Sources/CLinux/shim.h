#ifndef LEDGERD_CLINUX_SHIM_H
#define LEDGERD_CLINUX_SHIM_H
// Linux system calls that Swift's Glibc module does not declare (glibc only declares
// renameat2 under _GNU_SOURCE). Called through syscall(2), so no library is linked.
#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

/// rename(2) that fails with EEXIST instead of replacing an existing target, atomically
/// (renameat2 with RENAME_NOREPLACE). EINVAL or ENOSYS where the file system or kernel
/// does not support it.
static inline int ledgerd_rename_noreplace(const char *from, const char *to) {
#ifdef SYS_renameat2
    return (int)syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, 1u /* RENAME_NOREPLACE */);
#else
    errno = ENOSYS;
    return -1;
#endif
}
#endif
