#ifndef LEDGERD_CINOTIFY_SHIM_H
#define LEDGERD_CINOTIFY_SHIM_H
#include <sys/inotify.h>
#include <inotifytools/inotifytools.h>
#endif
