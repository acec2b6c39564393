/*
 * cbce_c_example -- a C extension calling cbce's kernels through the capsule.
 *
 * It links nothing from cbce: capi.h declares the table, cbce_import() fetches
 * it from cbce._core at module initialisation, and every call goes through
 * cbce_capi. Arrays come in through the buffer protocol (any ndim, any
 * strides), so NumPy is not needed to build it.
 *
 *   loss_and_grad(input, target, grad, reduction="mean", logits=False) -> float
 *       the "mean" or "sum" loss; fills `grad` with its gradient w.r.t. input
 *   elementwise_loss(input, target, out, logits=False) -> None
 *       fills `out` with the "none" losses
 *   simd_level() -> str
 *       the kernel level the table's functions use
 *
 * All arrays share one shape and one dtype, float32 or float64.
 */
#define PY_SSIZE_T_CLEAN
#include <cbce/capi.h> /* first: it includes Python.h */

#include <string.h>

/* A Py_buffer with its strides converted to elements, as cbce.h wants. */
typedef struct strided_view {
    Py_buffer buffer;
    int held;
    ptrdiff_t strides[CBCE_MAX_NDIM];
} strided_view;

static void release_view(strided_view *v)
{
    if (v->held) {
        PyBuffer_Release(&v->buffer);
        v->held = 0;
    }
}

/* 1 for float64, 0 for float32, -1 with an exception set. */
static int acquire_view(PyObject *obj, strided_view *v, int writable, const char *name)
{
    int flags = writable ? PyBUF_RECORDS : PyBUF_RECORDS_RO;
    int is_f64, i;
    if (PyObject_GetBuffer(obj, &v->buffer, flags) < 0) {
        return -1;
    }
    v->held = 1;
    if (strcmp(v->buffer.format, "d") == 0) {
        is_f64 = 1;
    } else if (strcmp(v->buffer.format, "f") == 0) {
        is_f64 = 0;
    } else {
        PyErr_Format(PyExc_TypeError, "%s must be native float32 or float64, not format '%s'",
                     name, v->buffer.format);
        return -1;
    }
    if (v->buffer.ndim > CBCE_MAX_NDIM) {
        PyErr_Format(PyExc_ValueError, "%s has too many dimensions", name);
        return -1;
    }
    for (i = 0; i < v->buffer.ndim; i++) {
        /* cbce counts strides in elements: a misaligned view has no such count. */
        if (v->buffer.strides[i] % v->buffer.itemsize != 0) {
            PyErr_Format(PyExc_ValueError, "%s has a stride that is not a multiple of "
                         "its item size", name);
            return -1;
        }
        v->strides[i] = v->buffer.strides[i] / v->buffer.itemsize;
    }
    return is_f64;
}

static int same_layout(const strided_view *a, const strided_view *b, const char *name)
{
    if (a->buffer.ndim != b->buffer.ndim ||
        memcmp(a->buffer.shape, b->buffer.shape, (size_t)a->buffer.ndim * sizeof(Py_ssize_t)) ||
        strcmp(a->buffer.format, b->buffer.format) != 0) {
        PyErr_Format(PyExc_ValueError, "%s must have the shape and dtype of input", name);
        return 0;
    }
    return 1;
}

/* Fill the arguments every kernel takes; absent weights act as 1. */
static void init_args(cbce_args *args, ptrdiff_t *shape, const strided_view *input,
                      const strided_view *target, int reduction)
{
    int i;
    memset(args, 0, sizeof *args);
    for (i = 0; i < input->buffer.ndim; i++) {
        shape[i] = (ptrdiff_t)input->buffer.shape[i];
    }
    args->ndim = input->buffer.ndim;
    args->shape = shape;
    args->input.data = input->buffer.buf;
    args->input.strides = input->strides;
    args->target.data = target->buffer.buf;
    args->target.strides = target->strides;
    args->label_smoothing = 0.0;
    args->reduction = reduction;
    args->wrt = CBCE_WRT_INPUT;
}

/* cbce_status -> ValueError for bad values, RuntimeError otherwise. */
static PyObject *raise_status(int status)
{
    PyObject *type = (status == CBCE_INPUT_OUT_OF_RANGE || status == CBCE_TARGET_OUT_OF_RANGE)
                         ? PyExc_ValueError
                         : PyExc_RuntimeError;
    PyErr_SetString(type, cbce_capi->status_message(status));
    return NULL;
}

static PyObject *loss_and_grad(PyObject *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"input", "target", "grad", "reduction", "logits", NULL};
    PyObject *input_obj, *target_obj, *grad_obj, *result = NULL;
    const char *reduction_name = "mean";
    int logits = 0, reduction, f64, status;
    strided_view input = {0}, target = {0}, grad = {0};
    ptrdiff_t shape[CBCE_MAX_NDIM];
    cbce_args kernel_args;
    cbce_output no_out = {NULL, NULL}, grad_out;
    double total = 0.0;
    (void)self;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOO|sp", keywords, &input_obj, &target_obj,
                                     &grad_obj, &reduction_name, &logits)) {
        return NULL;
    }
    if (strcmp(reduction_name, "mean") == 0) {
        reduction = CBCE_REDUCTION_MEAN;
    } else if (strcmp(reduction_name, "sum") == 0) {
        reduction = CBCE_REDUCTION_SUM;
    } else {
        return PyErr_Format(PyExc_ValueError, "reduction must be 'mean' or 'sum'");
    }
    if ((f64 = acquire_view(input_obj, &input, 0, "input")) < 0 ||
        acquire_view(target_obj, &target, 0, "target") < 0 ||
        acquire_view(grad_obj, &grad, 1, "grad") < 0 || !same_layout(&input, &target, "target") ||
        !same_layout(&input, &grad, "grad")) {
        goto done;
    }
    init_args(&kernel_args, shape, &input, &target, reduction);
    grad_out.data = grad.buffer.buf;
    grad_out.strides = grad.strides;

    /* The BCE kernels check the value range first, so an error leaves grad untouched. */
    Py_BEGIN_ALLOW_THREADS
    if (logits) {
        status = f64 ? cbce_capi->bce_logits_loss_and_grad_f64(&kernel_args, no_out, &total,
                                                               grad_out)
                     : cbce_capi->bce_logits_loss_and_grad_f32(&kernel_args, no_out, &total,
                                                               grad_out);
    } else {
        status = f64 ? cbce_capi->bce_check_f64(&kernel_args)
                     : cbce_capi->bce_check_f32(&kernel_args);
        if (status == CBCE_OK) {
            status = f64 ? cbce_capi->bce_loss_and_grad_f64(&kernel_args, no_out, &total,
                                                            grad_out)
                         : cbce_capi->bce_loss_and_grad_f32(&kernel_args, no_out, &total,
                                                            grad_out);
        }
    }
    Py_END_ALLOW_THREADS

    if (status != CBCE_OK) {
        raise_status(status);
        goto done;
    }
    /* For float32 the kernel already rounded `total` to float32. */
    result = PyFloat_FromDouble(total);
done:
    release_view(&grad);
    release_view(&target);
    release_view(&input);
    return result;
}

static PyObject *elementwise_loss(PyObject *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"input", "target", "out", "logits", NULL};
    PyObject *input_obj, *target_obj, *out_obj, *result = NULL;
    int logits = 0, f64, status;
    strided_view input = {0}, target = {0}, out = {0};
    ptrdiff_t shape[CBCE_MAX_NDIM];
    cbce_args kernel_args;
    cbce_output loss_out;
    (void)self;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOO|p", keywords, &input_obj, &target_obj,
                                     &out_obj, &logits)) {
        return NULL;
    }
    if ((f64 = acquire_view(input_obj, &input, 0, "input")) < 0 ||
        acquire_view(target_obj, &target, 0, "target") < 0 ||
        acquire_view(out_obj, &out, 1, "out") < 0 || !same_layout(&input, &target, "target") ||
        !same_layout(&input, &out, "out")) {
        goto done;
    }
    init_args(&kernel_args, shape, &input, &target, CBCE_REDUCTION_NONE);
    loss_out.data = out.buffer.buf;
    loss_out.strides = out.strides;

    Py_BEGIN_ALLOW_THREADS
    if (logits) {
        status = f64 ? cbce_capi->bce_logits_loss_f64(&kernel_args, loss_out, NULL)
                     : cbce_capi->bce_logits_loss_f32(&kernel_args, loss_out, NULL);
    } else {
        status = f64 ? cbce_capi->bce_check_f64(&kernel_args)
                     : cbce_capi->bce_check_f32(&kernel_args);
        if (status == CBCE_OK) {
            status = f64 ? cbce_capi->bce_loss_f64(&kernel_args, loss_out, NULL)
                         : cbce_capi->bce_loss_f32(&kernel_args, loss_out, NULL);
        }
    }
    Py_END_ALLOW_THREADS

    if (status != CBCE_OK) {
        raise_status(status);
        goto done;
    }
    Py_INCREF(Py_None);
    result = Py_None;
done:
    release_view(&out);
    release_view(&target);
    release_view(&input);
    return result;
}

static PyObject *simd_level(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyUnicode_FromString(cbce_capi->isa_name(cbce_capi->get_isa()));
}

static PyMethodDef methods[] = {
    {"loss_and_grad", (PyCFunction)(void (*)(void))loss_and_grad, METH_VARARGS | METH_KEYWORDS,
     "loss_and_grad(input, target, grad, reduction='mean', logits=False) -> float"},
    {"elementwise_loss", (PyCFunction)(void (*)(void))elementwise_loss,
     METH_VARARGS | METH_KEYWORDS, "elementwise_loss(input, target, out, logits=False) -> None"},
    {"simd_level", simd_level, METH_NOARGS, "simd_level() -> str"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "cbce_c_example", "cbce's kernels from C, through its capsule.", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit_cbce_c_example(void)
{
    /* ImportError (with the reason) if cbce is missing or its C API incompatible. */
    if (cbce_import() < 0) {
        return NULL;
    }
    return PyModule_Create(&module);
}
