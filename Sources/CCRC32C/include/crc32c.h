#ifndef WEIR_CRC32C_H
#define WEIR_CRC32C_H
#include <stddef.h>
#include <stdint.h>

/// CRC-32C (Castagnoli), as Kafka's RecordBatch v2 uses it. `crc` is the running value
/// (0 to start); the result is final (already inverted), so it chains:
/// weir_crc32c(weir_crc32c(0, a, n), b, m) == crc of a||b.
uint32_t weir_crc32c(uint32_t crc, const void *data, size_t length);

/// 1 when the hardware instruction path is in use (SSE4.2 or ARMv8 CRC).
int weir_crc32c_hardware(void);

/// The table (slice-by-8) path alone, whatever the CPU offers. Same contract as
/// weir_crc32c; exists so tests can prove both paths agree on this machine.
uint32_t weir_crc32c_sw(uint32_t crc, const void *data, size_t length);
#endif
