// Swift's Glibc module does not export <malloc.h>, hence this shim.
#include "system_tuning.h"
#if defined(__GLIBC__)
#include <malloc.h>
#endif

void weir_tune_malloc(int mmap_threshold, int trim_threshold, int arena_max) {
#if defined(__GLIBC__)
    /* 0 leaves glibc's own (dynamic) threshold. */
    if (mmap_threshold > 0) mallopt(M_MMAP_THRESHOLD, mmap_threshold);
    if (trim_threshold > 0) mallopt(M_TRIM_THRESHOLD, trim_threshold);
    if (arena_max > 0) mallopt(M_ARENA_MAX, arena_max);
#else
    (void)mmap_threshold; (void)trim_threshold; (void)arena_max;
#endif
}
