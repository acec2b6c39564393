/*
 * call_kernel.h -- one entry for every public kernel, chosen by (dtype, loss, what),
 * so the C tests can loop over all of them instead of naming each of the 14.
 */
#ifndef CBCE_TEST_CALL_KERNEL_H
#define CBCE_TEST_CALL_KERNEL_H

#include <string.h>

#include "cbce/cbce.h"

enum { CHECK_ONLY = 0, LOSS = 1, GRAD = 2 }; /* LOSS | GRAD: the fused kernel */
enum { BCE = 0, LOGITS = 1 };

/* Arguments with input x and target t (element strides sx, st) over an
 * ndim-d shape; every other field zero (no weights, NONE, wrt input, one
 * thread), for the tests to set what they vary. */
static cbce_args xt_args(int ndim, const ptrdiff_t *shape, const void *x, const ptrdiff_t *sx,
                         const void *t, const ptrdiff_t *st)
{
    cbce_args a;
    memset(&a, 0, sizeof a);
    a.ndim = ndim;
    a.shape = shape;
    a.input.data = x;
    a.input.strides = sx;
    a.target.data = t;
    a.target.strides = st;
    return a;
}

static int call(int f64, int kind, int what, const cbce_args *a, cbce_output out, double *total,
                cbce_output grad)
{
    if (kind == BCE) {
        if (what == CHECK_ONLY) return f64 ? cbce_bce_check_f64(a) : cbce_bce_check_f32(a);
        if (what == LOSS) return f64 ? cbce_bce_loss_f64(a, out, total) : cbce_bce_loss_f32(a, out, total);
        if (what == GRAD) return f64 ? cbce_bce_grad_f64(a, grad) : cbce_bce_grad_f32(a, grad);
        return f64 ? cbce_bce_loss_and_grad_f64(a, out, total, grad)
                   : cbce_bce_loss_and_grad_f32(a, out, total, grad);
    }
    if (what == LOSS)
        return f64 ? cbce_bce_logits_loss_f64(a, out, total) : cbce_bce_logits_loss_f32(a, out, total);
    if (what == GRAD) return f64 ? cbce_bce_logits_grad_f64(a, grad) : cbce_bce_logits_grad_f32(a, grad);
    return f64 ? cbce_bce_logits_loss_and_grad_f64(a, out, total, grad)
               : cbce_bce_logits_loss_and_grad_f32(a, out, total, grad);
}

#endif
