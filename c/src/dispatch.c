/*
 * dispatch.c -- the public entry points: argument validation, the choice of
 * ISA level at run time, and library information.
 *
 * CPU detection follows BLAKE3's blake3_dispatch.c: cpuid for the features,
 * xgetbv for the OS's promise to save the wide registers (a CPU with AVX-512
 * under an OS that does not save ZMM state must not run AVX-512 code). The
 * result is computed once and cached. cbce_set_isa lets tests (and the
 * CBCE_ISA environment variable of the Python layer) force any level the
 * machine can run, so every level can be compared with the scalar one.
 */
#include <stdint.h>

#include "internal.h"

/* ---- CPU features ---------------------------------------------------------- */

#if defined(__x86_64__) || defined(_M_X64)
#if defined(_MSC_VER)
#include <immintrin.h>
#include <intrin.h>
#endif

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
#if defined(_MSC_VER)
    int regs[4];
    __cpuidex(regs, (int)leaf, (int)sub);
    r[0] = (uint32_t)regs[0];
    r[1] = (uint32_t)regs[1];
    r[2] = (uint32_t)regs[2];
    r[3] = (uint32_t)regs[3];
#else
    __asm__ __volatile__("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
#endif
}

static uint64_t xgetbv0(void)
{
#if defined(_MSC_VER)
    return _xgetbv(0);
#else
    uint32_t eax, edx;
    __asm__ __volatile__("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
#endif
}

#define BIT(r, n) (((r) >> (n)) & 1u)

/* The highest x86-64 level this CPU and OS run: SSE2, AVX2 (x86-64-v3) or
 * AVX512 (x86-64-v4). Every feature the -march level lets the compiler use
 * is checked, not only the vector ones. */
static int detect_x86(void)
{
    uint32_t r[4], max_leaf, ext_max;
    uint32_t ecx1, ebx7 = 0, ecx_ext = 0;
    uint64_t xcr0;
    int v3, v4;

    cpuid(0, 0, r);
    max_leaf = r[0];
    if (max_leaf < 1) return CBCE_ISA_SSE2;
    cpuid(1, 0, r);
    ecx1 = r[2];
    if (max_leaf >= 7) {
        cpuid(7, 0, r);
        ebx7 = r[1];
    }
    cpuid(0x80000000u, 0, r);
    ext_max = r[0];
    if (ext_max >= 0x80000001u) {
        cpuid(0x80000001u, 0, r);
        ecx_ext = r[2];
    }
    if (!BIT(ecx1, 27)) return CBCE_ISA_SSE2; /* OSXSAVE: xgetbv usable */
    xcr0 = xgetbv0();

    v3 = BIT(ecx1, 0) && BIT(ecx1, 9) && BIT(ecx1, 13) && BIT(ecx1, 19) && BIT(ecx1, 20) &&
         BIT(ecx1, 23)                                /* v2: SSE3 SSSE3 CX16 SSE4.1/4.2 POPCNT */
         && BIT(ecx1, 12) && BIT(ecx1, 22) && BIT(ecx1, 28) && BIT(ecx1, 29) /* FMA MOVBE AVX F16C */
         && BIT(ebx7, 3) && BIT(ebx7, 5) && BIT(ebx7, 8)                    /* BMI1 AVX2 BMI2 */
         && BIT(ecx_ext, 5)                                                 /* LZCNT */
         && (xcr0 & 0x6) == 0x6;                                            /* XMM, YMM saved */
    v4 = v3 && BIT(ebx7, 16) && BIT(ebx7, 17) && BIT(ebx7, 28) && BIT(ebx7, 30) &&
         BIT(ebx7, 31)              /* AVX512 F DQ CD BW VL */
         && (xcr0 & 0xe6) == 0xe6;  /* + opmask, ZMM_Hi256, Hi16_ZMM saved */
    return v4 ? CBCE_ISA_AVX512 : v3 ? CBCE_ISA_AVX2 : CBCE_ISA_SSE2;
}
#endif

static const cbce__kernels *table_of(int isa)
{
    switch (isa) {
    case CBCE_ISA_SCALAR:
        return &cbce__kernels_scalar;
#if defined(CBCE__HAVE_X86)
    case CBCE_ISA_SSE2:
        return &cbce__kernels_sse2;
    case CBCE_ISA_AVX2:
        return &cbce__kernels_avx2;
    case CBCE_ISA_AVX512:
        return &cbce__kernels_avx512;
#endif
#if defined(CBCE__HAVE_NEON)
    case CBCE_ISA_NEON:
        return &cbce__kernels_neon;
#endif
    default:
        return NULL;
    }
}

/* Cached choices. A plain int written with the same value by racing
 * threads is benign on every supported platform; cbce_set_isa itself is
 * meant for start-up and tests, not for concurrent use with kernel calls. */
static volatile int g_best = -1;
static volatile int g_current = -1;

int cbce_best_isa(void)
{
    int v = g_best;
    if (v < 0) {
#if defined(CBCE__HAVE_X86)
        v = detect_x86();
#elif defined(CBCE__HAVE_NEON)
        v = CBCE_ISA_NEON;
#else
        v = CBCE_ISA_SCALAR;
#endif
        g_best = v;
    }
    return v;
}

int cbce_isa_available(int isa)
{
    if (!table_of(isa)) return 0;
#if defined(CBCE__HAVE_X86)
    /* The x86 levels are ordered: a CPU runs every level up to its best. */
    if (isa == CBCE_ISA_AVX2 || isa == CBCE_ISA_AVX512) return isa <= cbce_best_isa();
#endif
    return 1;
}

int cbce_get_isa(void)
{
    int v = g_current;
    if (v < 0) {
        v = cbce_best_isa();
        g_current = v;
    }
    return v;
}

int cbce_set_isa(int isa)
{
    if (!cbce_isa_available(isa)) return CBCE_BAD_ARGUMENT;
    g_current = isa;
    return CBCE_OK;
}

const char *cbce_isa_name(int isa)
{
    switch (isa) {
    case CBCE_ISA_SCALAR:
        return "scalar";
    case CBCE_ISA_SSE2:
        return "sse2";
    case CBCE_ISA_AVX2:
        return "avx2";
    case CBCE_ISA_AVX512:
        return "avx512";
    case CBCE_ISA_NEON:
        return "neon";
    default:
        return NULL;
    }
}

const char *cbce_version(void)
{
    return CBCE_VERSION_STRING;
}

const char *cbce_status_message(int status)
{
    switch (status) {
    case CBCE_OK:
        return "success";
    case CBCE_INPUT_OUT_OF_RANGE:
        return "all elements of input should be between 0 and 1";
    case CBCE_TARGET_OUT_OF_RANGE:
        return "all elements of target should be between 0 and 1";
    case CBCE_BAD_ARGUMENT:
        return "invalid argument";
    case CBCE_OUT_OF_MEMORY:
        return "out of memory";
    case CBCE_INTERRUPTED:
        return "interrupted";
    default:
        return "unknown status";
    }
}

/* ---- Validation and the public kernels ------------------------------------- */

static int bad_view(int ndim, const ptrdiff_t *strides)
{
    return ndim > 0 && strides == NULL;
}

/* Checks every argument and fills `call`; nothing is read or written through
 * the data pointers here. */
static int prepare(const cbce_args *args, int kind, int what, const cbce_output *out,
                   double *total, const cbce_output *grad, cbce__call *call)
{
    int d, k, nd;
    double s;
    if (!args) return CBCE_BAD_ARGUMENT;
    nd = args->ndim;
    if (nd < 0 || nd > CBCE_MAX_NDIM) return CBCE_BAD_ARGUMENT;
    if (nd > 0 && !args->shape) return CBCE_BAD_ARGUMENT;
    for (d = 0; d < nd; d++) {
        if (args->shape[d] < 0) return CBCE_BAD_ARGUMENT;
    }
    if (!args->input.data || !args->target.data) return CBCE_BAD_ARGUMENT;
    if (bad_view(nd, args->input.strides) || bad_view(nd, args->target.strides))
        return CBCE_BAD_ARGUMENT;
    s = args->label_smoothing;
    if (!(s >= 0.0 && s <= 1.0)) return CBCE_BAD_ARGUMENT;

    for (k = 0; k < CBCE__NOPS; k++) call->data[k] = NULL;
    call->kind = kind;
    call->what = what;
    call->reduction = CBCE_REDUCTION_NONE;
    call->wrt = CBCE_WRT_INPUT;
    call->smooth_a = 1.0 - s;
    call->smooth_b = 0.5 * s;
    call->total = NULL;
    call->num_threads = args->num_threads;
    call->interrupt = args->interrupt;
    call->interrupt_ctx = args->interrupt_ctx;
    call->data[CBCE__OP_INPUT] = args->input.data;
    call->data[CBCE__OP_TARGET] = args->target.data;
    if (what == CBCE__DO_CHECK) return CBCE_OK;

    if (args->reduction != CBCE_REDUCTION_NONE && args->reduction != CBCE_REDUCTION_MEAN &&
        args->reduction != CBCE_REDUCTION_SUM)
        return CBCE_BAD_ARGUMENT;
    call->reduction = args->reduction;
    if (args->weight.data) {
        if (bad_view(nd, args->weight.strides)) return CBCE_BAD_ARGUMENT;
        call->data[CBCE__OP_WEIGHT] = args->weight.data;
    }
    if (kind == CBCE__KIND_LOGITS && args->pos_weight.data) {
        if (bad_view(nd, args->pos_weight.strides)) return CBCE_BAD_ARGUMENT;
        call->data[CBCE__OP_POS_WEIGHT] = args->pos_weight.data;
    }
    if (what & CBCE__DO_LOSS) {
        if (args->reduction == CBCE_REDUCTION_NONE) {
            if (!out->data || bad_view(nd, out->strides)) return CBCE_BAD_ARGUMENT;
            call->data[CBCE__OP_OUT] = out->data;
        } else {
            if (!total) return CBCE_BAD_ARGUMENT;
            call->total = total;
        }
    }
    if (what & CBCE__DO_GRAD) {
        if (args->wrt != CBCE_WRT_INPUT && args->wrt != CBCE_WRT_TARGET) return CBCE_BAD_ARGUMENT;
        call->wrt = args->wrt;
        if (!grad->data || bad_view(nd, grad->strides)) return CBCE_BAD_ARGUMENT;
        call->data[CBCE__OP_GRAD] = grad->data;
        if (args->grad_output.data) {
            if (args->reduction == CBCE_REDUCTION_NONE && bad_view(nd, args->grad_output.strides))
                return CBCE_BAD_ARGUMENT;
            call->data[CBCE__OP_GRAD_OUTPUT] = args->grad_output.data;
        }
    }
    return CBCE_OK;
}

static int run(const cbce_args *args, int kind, int what, int f64, cbce_output out,
               double *total, cbce_output grad)
{
    cbce__call call;
    cbce__layout lay;
    const cbce__kernels *kt;
    int st = prepare(args, kind, what, &out, total, &grad, &call);
    if (st != CBCE_OK) return st;
    cbce__layout_init(&lay, args, &call, out.strides, grad.strides,
                      f64 ? sizeof(double) : sizeof(float));
    kt = table_of(cbce_get_isa());
    return cbce__run_parallel(&lay, &call, f64 ? kt->run_f64 : kt->run_f32, f64);
}

static const cbce_output no_output = {NULL, NULL};

#define BCE CBCE__KIND_BCE
#define LOGITS CBCE__KIND_LOGITS
#define LOSS CBCE__DO_LOSS
#define GRAD CBCE__DO_GRAD

int cbce_bce_check_f32(const cbce_args *args)
{
    return run(args, BCE, CBCE__DO_CHECK, 0, no_output, NULL, no_output);
}
int cbce_bce_check_f64(const cbce_args *args)
{
    return run(args, BCE, CBCE__DO_CHECK, 1, no_output, NULL, no_output);
}
int cbce_bce_loss_f32(const cbce_args *args, cbce_output out, double *total)
{
    return run(args, BCE, LOSS, 0, out, total, no_output);
}
int cbce_bce_loss_f64(const cbce_args *args, cbce_output out, double *total)
{
    return run(args, BCE, LOSS, 1, out, total, no_output);
}
int cbce_bce_grad_f32(const cbce_args *args, cbce_output grad)
{
    return run(args, BCE, GRAD, 0, no_output, NULL, grad);
}
int cbce_bce_grad_f64(const cbce_args *args, cbce_output grad)
{
    return run(args, BCE, GRAD, 1, no_output, NULL, grad);
}
int cbce_bce_loss_and_grad_f32(const cbce_args *args, cbce_output out, double *total,
                               cbce_output grad)
{
    return run(args, BCE, LOSS | GRAD, 0, out, total, grad);
}
int cbce_bce_loss_and_grad_f64(const cbce_args *args, cbce_output out, double *total,
                               cbce_output grad)
{
    return run(args, BCE, LOSS | GRAD, 1, out, total, grad);
}
int cbce_bce_logits_loss_f32(const cbce_args *args, cbce_output out, double *total)
{
    return run(args, LOGITS, LOSS, 0, out, total, no_output);
}
int cbce_bce_logits_loss_f64(const cbce_args *args, cbce_output out, double *total)
{
    return run(args, LOGITS, LOSS, 1, out, total, no_output);
}
int cbce_bce_logits_grad_f32(const cbce_args *args, cbce_output grad)
{
    return run(args, LOGITS, GRAD, 0, no_output, NULL, grad);
}
int cbce_bce_logits_grad_f64(const cbce_args *args, cbce_output grad)
{
    return run(args, LOGITS, GRAD, 1, no_output, NULL, grad);
}
int cbce_bce_logits_loss_and_grad_f32(const cbce_args *args, cbce_output out, double *total,
                                      cbce_output grad)
{
    return run(args, LOGITS, LOSS | GRAD, 0, out, total, grad);
}
int cbce_bce_logits_loss_and_grad_f64(const cbce_args *args, cbce_output out, double *total,
                                      cbce_output grad)
{
    return run(args, LOGITS, LOSS | GRAD, 1, out, total, grad);
}
