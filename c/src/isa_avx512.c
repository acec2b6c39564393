/* x86-64-v4 (AVX-512 F/CD/BW/DQ/VL): -march=x86-64-v4 on x86-64 only
 * (sources.txt), with -ffp-contract=off like every level. */
#include "internal.h"
#if defined(__x86_64__) || defined(_M_X64)
#define CBCE_ISA avx512
#include "isa_template.h"
#else
typedef int cbce__isa_avx512_not_built; /* ISO C forbids an empty file */
#endif
