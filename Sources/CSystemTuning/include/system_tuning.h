#ifndef WEIR_SYSTEM_TUNING_H
#define WEIR_SYSTEM_TUNING_H
/// Sets glibc's malloc for a server of large, short-lived buffers (see BrokerRuntime).
/// `mmap_threshold`/`trim_threshold` in bytes, `arena_max` arenas. A no-op off glibc.
void weir_tune_malloc(int mmap_threshold, int trim_threshold, int arena_max);
#endif
