/*
 * test_known_answers.c -- the same bits on every machine: every kernel's
 * results on a fixed set of inputs, compared with exact hex bit patterns
 * recorded in known_answers.txt (generated once on x86-64).
 *
 * cbce promises results that depend on nothing but the values: not on the
 * SIMD level, the compiler or the architecture (no libm, no FMA contraction,
 * fixed summation order). test_kernels.c checks the levels of one build
 * against each other; this test pins the bits themselves, so a build for
 * another architecture (aarch64 under qemu-user, see tools/test_aarch64.sh),
 * another compiler or a changed formula is compared with the same file.
 *
 * Coverage: both losses (BCE on probabilities, BCE with logits), float32 and
 * float64, every reduction (none, mean, sum), the gradient w.r.t. input and
 * target, the fused loss-and-gradient kernels (which must give the same lines
 * as the separate calls), the BCE range check, with and without weight,
 * pos_weight, label smoothing and grad_output; on a short set of special and
 * random values (every element recorded) and on a long array of 3 sum blocks
 * and a tail (reduced totals, and a 64-bit FNV-1a digest of the elementwise
 * results). The inputs are made without libm (an integer xorshift generator,
 * exact scalings), so they are identical everywhere.
 *
 * NaN results are written as "nan": the sign and payload of a NaN made by an
 * invalid operation differ between x86 and ARM and are not part of the
 * contract.
 *
 * Usage:  test_known_answers [FILE]     compare every available SIMD level
 *                                       with FILE (default: known_answers.txt
 *                                       beside this source)
 *         test_known_answers --write    print the answers (after checking
 *                                       that all levels agree); regenerate
 *                                       with tools/gen_known_answers.sh
 * Prints "N passed, N failed" last (one check per line per SIMD level).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbce/cbce.h"

static long g_pass, g_fail;

/* ---- a growable text buffer ------------------------------------------------- */

typedef struct {
    char *p;
    size_t len, cap;
} text;

static void text_put(text *b, const char *s)
{
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) {
        b->cap = 2 * (b->len + n + 1);
        b->p = (char *)realloc(b->p, b->cap);
        if (!b->p) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }
    }
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

/* ---- inputs, made without libm ------------------------------------------------ */

#define RNG_SEED 1 /* reseeded per input set (make_inputs) */
#include "rng.h"
static double pow2(int e) /* 2^e for -1074 <= e <= 1023, exact */
{
    double v = 1.0;
    while (e > 0) v *= 2.0, e--;
    while (e < -1000) v *= 0x1p-1000, e += 1000;
    while (e < 0) v *= 0.5, e++;
    return v;
}

enum { BCE = 0, LOGITS = 1 };

/* Probabilities: exact 0 and 1, subnormals of both dtypes, the neighbours of
 * 0 and 1, values around e^-100 (where log is clamped at -100). */
static const double bce_special[] = {
    0.0, 1.0, 0x1p-1074, 0x1p-1022, 0x1p-149, 0x1p-126, 1e-300, 1e-45, 3.7e-44, 3.8e-44,
    1e-12, 1e-7, 0.1, 0.25, 1.0 / 3.0, 0.5, 0.75, 0.9, 1.0 - 0x1p-11, 1.0 - 0x1p-24,
    1.0 - 0x1p-53, 0x1p-60, 0.999999};
/* Logits: signed zeros, infinities, NaN, and the cut-offs of exp/log1p/softplus
 * in both dtypes (exp overflows near 88.7 in float and 709.8 in double,
 * underflows near -103.9 and -745.1). */
static const double logit_special[] = {
    0.0, -0.0, INFINITY, -INFINITY, NAN, 1e-300, -1e-300, 0x1p-1074, -0x1p-1074,
    1e-8, -1e-8, 0.5, -0.5, 1.0, -1.0, 2.0, -2.0, 5.0, -5.0, 10.0, -10.0, 16.0, -16.0, 17.0,
    -17.0, 18.0, -18.0, 20.0, -20.0, 33.3, -33.3, 36.8, -36.8, 37.0, -37.0, 40.0, -40.0, 50.0,
    -50.0, 88.72, -88.72, 89.0, -89.0, 103.9, -103.9, 104.0, -104.0, 700.0, -700.0, 709.78,
    -709.78, 710.0, -710.0, 745.2, -745.2, 746.0, -746.0, 1000.0, -1000.0, 3.4e38, -3.4e38,
    1e300, -1e300};
/* Targets: the ends, the middle, a subnormal, values just inside [0, 1]; the
 * logits loss also takes targets outside [0, 1] (it follows the formula). */
static const double target_cycle[] = {0.0, 1.0, 0.5, 0.25, 0x1p-1074, 1.0 - 0x1p-53, -1.0, -0.5, 1.5};

#define N_RANDOM 48
#define N_LONG (3 * CBCE_SUM_BLOCK + 777)

/* The inputs of one kind as doubles: n elements of input, target, weight,
 * pos_weight and grad_output. `long_set` selects the long random array. */
typedef struct {
    ptrdiff_t n;
    double *x, *t, *w, *pw, *g;
} inputs;

static inputs make_inputs(int kind, int long_set)
{
    inputs in;
    size_t ns = kind == BCE ? sizeof bce_special / sizeof bce_special[0]
                            : sizeof logit_special / sizeof logit_special[0];
    ptrdiff_t i, n_special = long_set ? 0 : (ptrdiff_t)ns;
    int n_targets = kind == BCE ? 6 : 9; /* BCE targets stay in [0, 1] */
    in.n = long_set ? N_LONG : n_special + N_RANDOM;
    in.x = (double *)malloc(5 * (size_t)in.n * sizeof(double));
    if (!in.x) exit(2);
    in.t = in.x + in.n;
    in.w = in.t + in.n;
    in.pw = in.w + in.n;
    in.g = in.pw + in.n;
    g_rng = 0x9e3779b97f4a7c15ull ^ (unsigned long long)(2 * kind + long_set);
    for (i = 0; i < in.n; i++) {
        double u = urand();
        int k = (int)(next_u64() % 64);
        if (i < n_special)
            in.x[i] = kind == BCE ? bce_special[i] : logit_special[i];
        else if (kind == BCE)
            in.x[i] = (k < 40) ? u * pow2(-k) : 1.0 - u * pow2(-(k - 40)); /* near 0 and near 1 */
        else
            in.x[i] = (u - 0.5) * ((k & 1) ? 20.0 : 400.0);
        in.t[i] = (i % 3 == 2) ? urand() : target_cycle[(i / 3) % n_targets];
        in.w[i] = 0.25 + 2.0 * urand();
        in.pw[i] = 0.5 + 3.0 * urand();
        in.g[i] = urand() - 0.3;
    }
    return in;
}

/* ---- calling the kernels --------------------------------------------------------- */

/* One configuration of optional operands. */
typedef struct {
    const char *name;
    int has_w, has_pw, has_g;
    double s;
} options;

static const options configs[] = {
    {"plain", 0, 0, 0, 0.0},
    {"weighted", 1, 1, 1, 0.1}, /* weight, pos_weight (logits only), grad_output, smoothing */
    {"posweight", 0, 1, 0, 0.0},
    {"smooth1", 0, 0, 1, 1.0},
};
static const char *const red_names[] = {"none", "mean", "sum"};

typedef struct {
    int f64;
    ptrdiff_t n;
    void *x, *t, *w, *pw, *g, *loss, *dx, *dt, *loss2, *grad2;
} arrays;

static void *typed_copy(const double *v, ptrdiff_t n, int f64)
{
    ptrdiff_t i;
    void *p = malloc((size_t)(n > 0 ? n : 1) * (f64 ? sizeof(double) : sizeof(float)));
    if (!p) exit(2);
    if (v)
        for (i = 0; i < n; i++) {
            if (f64) ((double *)p)[i] = v[i];
            else ((float *)p)[i] = (float)v[i];
        }
    return p;
}

static arrays make_arrays(const inputs *in, int f64)
{
    arrays a;
    a.f64 = f64;
    a.n = in->n;
    a.x = typed_copy(in->x, in->n, f64);
    a.t = typed_copy(in->t, in->n, f64);
    a.w = typed_copy(in->w, in->n, f64);
    a.pw = typed_copy(in->pw, in->n, f64);
    a.g = typed_copy(in->g, in->n, f64);
    a.loss = typed_copy(NULL, in->n, f64);
    a.dx = typed_copy(NULL, in->n, f64);
    a.dt = typed_copy(NULL, in->n, f64);
    a.loss2 = typed_copy(NULL, in->n, f64);
    a.grad2 = typed_copy(NULL, in->n, f64);
    return a;
}

static void free_arrays(arrays *a)
{
    free(a->x), free(a->t), free(a->w), free(a->pw), free(a->g);
    free(a->loss), free(a->dx), free(a->dt), free(a->loss2), free(a->grad2);
}

static const ptrdiff_t unit_stride[1] = {1};

static cbce_operand operand(const void *p)
{
    cbce_operand o;
    o.data = p;
    o.strides = unit_stride;
    return o;
}
static cbce_output output(void *p)
{
    cbce_output o;
    o.data = p;
    o.strides = unit_stride;
    return o;
}

static int loss_call(int kind, int f64, const cbce_args *a, cbce_output out, double *total)
{
    if (kind == BCE) return f64 ? cbce_bce_loss_f64(a, out, total) : cbce_bce_loss_f32(a, out, total);
    return f64 ? cbce_bce_logits_loss_f64(a, out, total) : cbce_bce_logits_loss_f32(a, out, total);
}
static int grad_call(int kind, int f64, const cbce_args *a, cbce_output grad)
{
    if (kind == BCE) return f64 ? cbce_bce_grad_f64(a, grad) : cbce_bce_grad_f32(a, grad);
    return f64 ? cbce_bce_logits_grad_f64(a, grad) : cbce_bce_logits_grad_f32(a, grad);
}
static int fused_call(int kind, int f64, const cbce_args *a, cbce_output out, double *total,
                      cbce_output grad)
{
    if (kind == BCE)
        return f64 ? cbce_bce_loss_and_grad_f64(a, out, total, grad)
                   : cbce_bce_loss_and_grad_f32(a, out, total, grad);
    return f64 ? cbce_bce_logits_loss_and_grad_f64(a, out, total, grad)
               : cbce_bce_logits_loss_and_grad_f32(a, out, total, grad);
}

/* ---- formatting ------------------------------------------------------------------- */

/* The exact bits of element i ("nan" for any NaN). */
static void hex_of(const arrays *a, const void *p, ptrdiff_t i, char *buf)
{
    if (a->f64) {
        double v = ((const double *)p)[i];
        unsigned long long u;
        memcpy(&u, &v, sizeof u);
        if (v != v) strcpy(buf, "nan");
        else sprintf(buf, "%016llx", u);
    } else {
        float v = ((const float *)p)[i];
        unsigned long u32;
        unsigned int u;
        memcpy(&u, &v, sizeof u);
        u32 = u;
        if (v != v) strcpy(buf, "nan");
        else sprintf(buf, "%08lx", u32);
    }
}

static void hex_of_double(double v, char *buf)
{
    unsigned long long u;
    memcpy(&u, &v, sizeof u);
    if (v != v) strcpy(buf, "nan");
    else sprintf(buf, "%016llx", u);
}

/* FNV-1a over the hex text of every element: a NaN hashes as "nan". */
static unsigned long long digest(const arrays *a, const void *p)
{
    unsigned long long h = 0xcbf29ce484222325ull;
    char buf[24];
    ptrdiff_t i;
    const char *c;
    for (i = 0; i < a->n; i++) {
        hex_of(a, p, i, buf);
        for (c = buf; *c; c++) h = (h ^ (unsigned char)*c) * 0x100000001b3ull;
        h = (h ^ ' ') * 0x100000001b3ull;
    }
    return h;
}

static int same_elements(const arrays *a, const void *p, const void *q)
{
    return memcmp(p, q, (size_t)a->n * (a->f64 ? sizeof(double) : sizeof(float))) == 0;
}

/* A failed call or a fused result different from the separate calls becomes
 * a line of its own, so it fails the comparison with the expected file. */
static void note(text *out, const char *prefix, const char *what)
{
    char line[200];
    sprintf(line, "%s ERROR %s\n", prefix, what);
    text_put(out, line);
}

/* All lines of one (kind, dtype, options, reduction) on one array. */
static void run_group(text *out, int kind, const arrays *a, const options *o, int red, int long_set)
{
    char prefix[96], line[256], h1[24], h2[24], h3[24];
    cbce_args args;
    double total = 0.0, total2 = 0.0;
    ptrdiff_t shape[1];
    ptrdiff_t i;
    int st;
    sprintf(prefix, "%s %s %s %s%s", kind == BCE ? "bce" : "logits", a->f64 ? "f64" : "f32",
            o->name, red_names[red], long_set ? " long" : "");
    shape[0] = a->n;
    memset(&args, 0, sizeof args);
    args.ndim = 1;
    args.shape = shape;
    args.input = operand(a->x);
    args.target = operand(a->t);
    if (o->has_w) args.weight = operand(a->w);
    if (o->has_pw) args.pos_weight = operand(a->pw);
    if (o->has_g) args.grad_output = operand(a->g); /* reduced: element 0 is the scalar */
    args.label_smoothing = o->s;
    args.reduction = red;

    if (kind == BCE) {
        st = a->f64 ? cbce_bce_check_f64(&args) : cbce_bce_check_f32(&args);
        if (st != CBCE_OK) note(out, prefix, "check");
    }
    if (loss_call(kind, a->f64, &args, output(a->loss), &total) != CBCE_OK) note(out, prefix, "loss");
    args.wrt = CBCE_WRT_INPUT;
    if (grad_call(kind, a->f64, &args, output(a->dx)) != CBCE_OK) note(out, prefix, "dx");
    if (fused_call(kind, a->f64, &args, output(a->loss2), &total2, output(a->grad2)) != CBCE_OK ||
        !same_elements(a, a->dx, a->grad2) ||
        (red == CBCE_REDUCTION_NONE ? !same_elements(a, a->loss, a->loss2)
                                    : memcmp(&total, &total2, sizeof total) != 0))
        note(out, prefix, "fused-dx differs");
    args.wrt = CBCE_WRT_TARGET;
    if (grad_call(kind, a->f64, &args, output(a->dt)) != CBCE_OK) note(out, prefix, "dt");
    if (fused_call(kind, a->f64, &args, output(a->loss2), &total2, output(a->grad2)) != CBCE_OK ||
        !same_elements(a, a->dt, a->grad2))
        note(out, prefix, "fused-dt differs");

    if (red != CBCE_REDUCTION_NONE) {
        hex_of_double(total, h1);
        sprintf(line, "%s total %s\n", prefix, h1);
        text_put(out, line);
    }
    /* every element of the short set's elementwise results; digests otherwise */
    if (long_set || red != CBCE_REDUCTION_NONE) {
        if (red == CBCE_REDUCTION_NONE)
            sprintf(line, "%s digest loss %016llx dx %016llx dt %016llx\n", prefix,
                    digest(a, a->loss), digest(a, a->dx), digest(a, a->dt));
        else
            sprintf(line, "%s digest dx %016llx dt %016llx\n", prefix, digest(a, a->dx),
                    digest(a, a->dt));
        text_put(out, line);
        return;
    }
    for (i = 0; i < a->n; i++) {
        hex_of(a, a->loss, i, h1);
        hex_of(a, a->dx, i, h2);
        hex_of(a, a->dt, i, h3);
        sprintf(line, "%s %ld %s %s %s\n", prefix, (long)i, h1, h2, h3);
        text_put(out, line);
    }
}

/* The range check: its status on inputs and targets outside [0, 1] or NaN. */
static void run_range_checks(text *out, int f64)
{
    static const double bad[][2] = {{1.5, 0.5}, {-0x1p-1074, 0.5}, {NAN, 0.5},
                                    {0.5, 1.0 + 0x1p-52}, {0.5, -0.0}, {0.5, NAN},
                                    {INFINITY, INFINITY}};
    size_t k;
    char line[96];
    for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        inputs in;
        arrays a;
        cbce_args args;
        ptrdiff_t shape[1] = {1};
        int st;
        in.n = 1;
        in.x = (double *)bad[k];
        in.t = (double *)&bad[k][1];
        in.w = in.pw = in.g = in.x;
        a = make_arrays(&in, f64);
        memset(&args, 0, sizeof args);
        args.ndim = 1;
        args.shape = shape;
        args.input = operand(a.x);
        args.target = operand(a.t);
        st = f64 ? cbce_bce_check_f64(&args) : cbce_bce_check_f32(&args);
        sprintf(line, "bce %s check %lu status %d\n", f64 ? "f64" : "f32", (unsigned long)k, st);
        text_put(out, line);
        free_arrays(&a);
    }
}

/* Every line, at the current SIMD level. */
static void answers(text *out)
{
    int kind, f64, long_set, red;
    size_t c;
    text_put(out, "# cbce known answers: tests/test_known_answers.c; regenerate with "
                  "tools/gen_known_answers.sh\n");
    for (kind = 0; kind < 2; kind++)
        for (long_set = 0; long_set < 2; long_set++) {
            inputs in = make_inputs(kind, long_set);
            for (f64 = 0; f64 < 2; f64++) {
                arrays a = make_arrays(&in, f64);
                for (c = 0; c < sizeof configs / sizeof configs[0]; c++) {
                    if (kind == BCE && configs[c].has_pw && !configs[c].has_w) continue;
                    for (red = 0; red < 3; red++) run_group(out, kind, &a, &configs[c], red, long_set);
                }
                free_arrays(&a);
            }
            free(in.x);
        }
    for (f64 = 0; f64 < 2; f64++) run_range_checks(out, f64);
}

/* ---- comparing ---------------------------------------------------------------------- */

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    text b = {NULL, 0, 0};
    char chunk[4096];
    size_t n;
    if (!f) return NULL;
    text_put(&b, "");
    while ((n = fread(chunk, 1, sizeof chunk - 1, f)) > 0) {
        chunk[n] = '\0';
        text_put(&b, chunk);
    }
    fclose(f);
    return b.p;
}

/* Line by line; a line is one check. Reports the first differences. */
static void compare(FILE *log, const char *isa, const char *got, const char *want)
{
    long line = 0, shown = 0, bad = 0, good = 0;
    while (*got || *want) {
        const char *ge = strchr(got, '\n'), *we = strchr(want, '\n');
        size_t gl = ge ? (size_t)(ge - got) : strlen(got), wl = we ? (size_t)(we - want) : strlen(want);
        line++;
        if (gl == wl && memcmp(got, want, gl) == 0) {
            good++;
        } else {
            bad++;
            if (shown++ < 20)
                fprintf(log, "FAIL [%s] line %ld:\n  expected %.*s\n  got      %.*s\n", isa, line,
                        (int)wl, want, (int)gl, got);
        }
        got += gl + (ge != NULL);
        want += wl + (we != NULL);
    }
    fprintf(log, "%-7s %ld lines match, %ld differ\n", isa, good, bad);
    g_pass += good;
    g_fail += bad;
}

static char *default_path(void)
{
    const char *src = __FILE__, *slash = strrchr(src, '/');
    size_t dir = slash ? (size_t)(slash - src) + 1 : 0;
    char *p = (char *)malloc(dir + sizeof "known_answers.txt");
    if (!p) exit(2);
    memcpy(p, src, dir);
    strcpy(p + dir, "known_answers.txt");
    return p;
}

int main(int argc, char **argv)
{
    int write = argc > 1 && strcmp(argv[1], "--write") == 0;
    char *path = argc > 1 && !write ? argv[1] : default_path();
    char *want = NULL;
    text ref = {NULL, 0, 0};
    int isa, saved = cbce_get_isa();

    if (write) {
        cbce_set_isa(CBCE_ISA_SCALAR);
        answers(&ref);
    } else {
        want = read_file(path);
        if (!want) {
            printf("FAIL cannot read %s\n0 passed, 1 failed\n", path);
            return 1;
        }
    }
    for (isa = 0; isa < CBCE_ISA_COUNT; isa++) {
        text got = {NULL, 0, 0};
        if (!cbce_isa_available(isa)) continue;
        cbce_set_isa(isa);
        answers(&got);
        /* writing: every level must agree with scalar before the file is trusted */
        compare(write ? stderr : stdout, cbce_isa_name(isa), got.p, write ? ref.p : want);
        free(got.p);
    }
    cbce_set_isa(saved);
    if (write) {
        if (g_fail) {
            fprintf(stderr, "SIMD levels disagree: known answers not written\n");
            return 1;
        }
        fputs(ref.p, stdout);
        return 0;
    }
    printf("known answers: %s (built for %s)\n", path, cbce_isa_name(cbce_best_isa()));
    printf("%ld passed, %ld failed\n", g_pass, g_fail);
    free(ref.p);
    free(want);
    if (argc <= 1) free(path);
    return g_fail != 0;
}
