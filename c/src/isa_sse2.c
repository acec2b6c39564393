/* The x86-64 baseline (SSE2), compiled with the default flags. */
#include "internal.h"
#if defined(__x86_64__) || defined(_M_X64)
#define CBCE_ISA sse2
#include "isa_template.h"
#else
typedef int cbce__isa_sse2_not_built; /* ISO C forbids an empty file */
#endif
