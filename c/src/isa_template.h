/*
 * isa_template.h -- instantiates kernels.inc.h for float and double inside
 * the translation unit of one ISA level and defines that level's table.
 * Each isa_*.c defines CBCE_ISA (its name) and includes this file once; the
 * file's compile flags (sources.txt) select the instruction set.
 */
#include <stdint.h>

/* gcc schedules instructions before register allocation only when asked
 * (x86 default: after it only); the math loops' streams of elements
 * (MATH_FOR_K in kernels.inc.h) need it to be interleaved, and
 * sched-pressure keeps the interleaving from spilling registers. Scheduling
 * reorders independent operations only: no value changes (the known answers
 * are the same at every level). Other compilers schedule on their own. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("schedule-insns", "sched-pressure")
#endif

#include "elementwise_f32.h"
#include "internal.h"

#define CBCE_T float
#define CBCE_TS f32
#define CBCE_IS_F64 0
#include "kernels.inc.h"
#undef CBCE_T
#undef CBCE_TS
#undef CBCE_IS_F64

#define CBCE_T double
#define CBCE_TS f64
#define CBCE_IS_F64 1
#include "kernels.inc.h"
#undef CBCE_T
#undef CBCE_TS
#undef CBCE_IS_F64

#define CBCE__TABLE_NAME2(isa) cbce__kernels_##isa
#define CBCE__TABLE_NAME(isa) CBCE__TABLE_NAME2(isa)

const cbce__kernels CBCE__TABLE_NAME(CBCE_ISA) = {run_f32, run_f64};
