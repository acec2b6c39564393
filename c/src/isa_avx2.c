/* x86-64-v3 (AVX2, FMA, BMI1/2, F16C, LZCNT, MOVBE): -march=x86-64-v3 on
 * x86-64 only (sources.txt). -ffp-contract=off keeps the FMA unit from
 * changing any result: every level rounds exactly like the scalar one. */
#include "internal.h"
#if defined(__x86_64__) || defined(_M_X64)
#define CBCE_ISA avx2
#include "isa_template.h"
#else
typedef int cbce__isa_avx2_not_built; /* ISO C forbids an empty file */
#endif
