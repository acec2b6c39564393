/* The portable level: plain C99, compiled with auto-vectorization off
 * (-fno-tree-vectorize -fno-tree-slp-vectorize, see sources.txt). It is the
 * reference every other level must match bit for bit. */
#define CBCE_ISA scalar
#include "isa_template.h"
