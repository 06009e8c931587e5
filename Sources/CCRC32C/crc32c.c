// CRC-32C: hardware instructions where the CPU has them (checked once at run time),
// otherwise slice-by-8 tables. Kept in C because Swift has no portable way to reach
// the crc32 instructions, and this runs over every produced byte.
#include "crc32c.h"
#include <string.h>

#define POLY 0x82f63b78u
static uint32_t table[8][256];
static int initialized = 0;
static int use_hw = 0;

static void init_tables(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ POLY : c >> 1;
        table[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = table[0][n];
        for (int k = 1; k < 8; k++) { c = table[0][c & 0xff] ^ (c >> 8); table[k][n] = c; }
    }
}

static uint32_t sw(uint32_t crc, const unsigned char *p, size_t n) {
    while (n && ((uintptr_t)p & 7)) { crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8); n--; }
    while (n >= 8) {
        uint64_t w; memcpy(&w, p, 8);
        w ^= crc;
        crc = table[7][w & 0xff] ^ table[6][(w >> 8) & 0xff] ^ table[5][(w >> 16) & 0xff] ^
              table[4][(w >> 24) & 0xff] ^ table[3][(w >> 32) & 0xff] ^ table[2][(w >> 40) & 0xff] ^
              table[1][(w >> 48) & 0xff] ^ table[0][w >> 56];
        p += 8; n -= 8;
    }
    while (n--) crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__)
#include <cpuid.h>
__attribute__((target("sse4.2")))
static uint32_t hw(uint32_t crc, const unsigned char *p, size_t n) {
    uint64_t c = crc;
    while (n && ((uintptr_t)p & 7)) { c = __builtin_ia32_crc32qi((uint32_t)c, *p++); n--; }
    while (n >= 8) { uint64_t w; memcpy(&w, p, 8); c = __builtin_ia32_crc32di(c, w); p += 8; n -= 8; }
    while (n--) c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
    return (uint32_t)c;
}
static int detect(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    return (c & bit_SSE4_2) != 0;
}
#elif defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)
#include <arm_acle.h>
static uint32_t hw(uint32_t crc, const unsigned char *p, size_t n) {
    while (n >= 8) { uint64_t w; memcpy(&w, p, 8); crc = __crc32cd(crc, w); p += 8; n -= 8; }
    while (n--) crc = __crc32cb(crc, *p++);
    return crc;
}
static int detect(void) { return 1; }
#else
static uint32_t hw(uint32_t crc, const unsigned char *p, size_t n) { return sw(crc, p, n); }
static int detect(void) { return 0; }
#endif

static void init(void) {
    if (__atomic_load_n(&initialized, __ATOMIC_ACQUIRE)) return;
    init_tables();
    use_hw = detect();
    __atomic_store_n(&initialized, 1, __ATOMIC_RELEASE);
}

uint32_t weir_crc32c(uint32_t crc, const void *data, size_t length) {
    init();
    crc = ~crc;
    crc = use_hw ? hw(crc, (const unsigned char *)data, length) : sw(crc, (const unsigned char *)data, length);
    return ~crc;
}

int weir_crc32c_hardware(void) { init(); return use_hw; }

uint32_t weir_crc32c_sw(uint32_t crc, const void *data, size_t length) {
    init();
    return ~sw(~crc, (const unsigned char *)data, length);
}
