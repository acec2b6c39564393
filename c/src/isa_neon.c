/* The aarch64 baseline (Advanced SIMD is part of every aarch64 CPU). */
#include "internal.h"
#if defined(__aarch64__) || defined(_M_ARM64)
#define CBCE_ISA neon
#include "isa_template.h"
#else
typedef int cbce__isa_neon_not_built; /* ISO C forbids an empty file */
#endif
