#include "CMallocStats.h"
#include <limits.h> /* defines __GLIBC__ and __GLIBC_MINOR__ on glibc */
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#include <malloc.h>
long long cla_malloc_in_use_bytes(void) {
    struct mallinfo2 info = mallinfo2();
    return (long long)(info.uordblks + info.hblkhd);
}
long long cla_malloc_system_bytes(void) {
    struct mallinfo2 info = mallinfo2();
    return (long long)(info.arena + info.hblkhd);
}
int cla_malloc_trim(void) { return malloc_trim(0); }
#else
long long cla_malloc_in_use_bytes(void) { return -1; }
long long cla_malloc_system_bytes(void) { return -1; }
int cla_malloc_trim(void) { return -1; }
#endif
