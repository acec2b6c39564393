# cython: language_level=3
# A mirror of c/include/cbce/cbce.h and c/include/cbce/capi.h: declarations
# only, no logic. The C compiler checks every Cython call against the real
# prototypes in those headers.
#
# Two ways in:
# - cbce._core itself links the C library and calls the cbce_* functions.
# - Other Cython extensions `cimport cbce` (cbce.get_include() on both the C
#   and the Cython include path), call cbce_import() once at module level and
#   then call the same kernels through the capsule table, without linking and
#   without the GIL: `cbce_capi.bce_loss_f64(&args, out, &total)`. See
#   docs/embedding.md.

from libc.stddef cimport ptrdiff_t

cdef extern from "cbce/cbce.h" nogil:
    const char *CBCE_VERSION_STRING
    enum: CBCE_MAX_NDIM
    enum: CBCE_SUM_BLOCK

    ctypedef enum cbce_status:
        CBCE_OK
        CBCE_INPUT_OUT_OF_RANGE
        CBCE_TARGET_OUT_OF_RANGE
        CBCE_BAD_ARGUMENT
        CBCE_OUT_OF_MEMORY
        CBCE_INTERRUPTED

    ctypedef enum cbce_reduction:
        CBCE_REDUCTION_NONE
        CBCE_REDUCTION_MEAN
        CBCE_REDUCTION_SUM

    ctypedef enum cbce_wrt:
        CBCE_WRT_INPUT
        CBCE_WRT_TARGET

    ctypedef enum cbce_isa:
        CBCE_ISA_SCALAR
        CBCE_ISA_SSE2
        CBCE_ISA_AVX2
        CBCE_ISA_AVX512
        CBCE_ISA_NEON
        CBCE_ISA_COUNT

    ctypedef struct cbce_operand:
        const void *data
        const ptrdiff_t *strides

    ctypedef struct cbce_output:
        void *data
        const ptrdiff_t *strides

    ctypedef struct cbce_args:
        int ndim
        const ptrdiff_t *shape
        cbce_operand input
        cbce_operand target
        cbce_operand weight
        cbce_operand pos_weight
        cbce_operand grad_output
        double label_smoothing
        int reduction
        int wrt
        int num_threads
        int (*interrupt)(void *ctx) noexcept nogil
        void *interrupt_ctx

    int cbce_bce_check_f32(const cbce_args *args)
    int cbce_bce_check_f64(const cbce_args *args)
    int cbce_bce_loss_f32(const cbce_args *args, cbce_output out, double *total)
    int cbce_bce_loss_f64(const cbce_args *args, cbce_output out, double *total)
    int cbce_bce_grad_f32(const cbce_args *args, cbce_output grad)
    int cbce_bce_grad_f64(const cbce_args *args, cbce_output grad)
    int cbce_bce_loss_and_grad_f32(const cbce_args *args, cbce_output out, double *total,
                                   cbce_output grad)
    int cbce_bce_loss_and_grad_f64(const cbce_args *args, cbce_output out, double *total,
                                   cbce_output grad)
    int cbce_bce_logits_loss_f32(const cbce_args *args, cbce_output out, double *total)
    int cbce_bce_logits_loss_f64(const cbce_args *args, cbce_output out, double *total)
    int cbce_bce_logits_grad_f32(const cbce_args *args, cbce_output grad)
    int cbce_bce_logits_grad_f64(const cbce_args *args, cbce_output grad)
    int cbce_bce_logits_loss_and_grad_f32(const cbce_args *args, cbce_output out,
                                          double *total, cbce_output grad)
    int cbce_bce_logits_loss_and_grad_f64(const cbce_args *args, cbce_output out,
                                          double *total, cbce_output grad)

    const char *cbce_version()
    const char *cbce_status_message(int status)
    const char *cbce_isa_name(int isa)
    int cbce_isa_available(int isa)
    int cbce_best_isa()
    int cbce_get_isa()
    int cbce_set_isa(int isa)


cdef extern from "cbce/capi.h" nogil:
    enum: CBCE_CAPI_ABI_VERSION
    const char *CBCE_CAPI_CAPSULE_NAME

    ctypedef struct cbce_capi_table:
        int abi_version
        size_t struct_size
        const char *(*version)() noexcept nogil
        const char *(*status_message)(int status) noexcept nogil
        const char *(*isa_name)(int isa) noexcept nogil
        int (*isa_available)(int isa) noexcept nogil
        int (*best_isa)() noexcept nogil
        int (*get_isa)() noexcept nogil
        int (*bce_check_f32)(const cbce_args *args) noexcept nogil
        int (*bce_check_f64)(const cbce_args *args) noexcept nogil
        int (*bce_loss_f32)(const cbce_args *args, cbce_output out, double *total) noexcept nogil
        int (*bce_loss_f64)(const cbce_args *args, cbce_output out, double *total) noexcept nogil
        int (*bce_grad_f32)(const cbce_args *args, cbce_output grad) noexcept nogil
        int (*bce_grad_f64)(const cbce_args *args, cbce_output grad) noexcept nogil
        int (*bce_loss_and_grad_f32)(const cbce_args *args, cbce_output out, double *total,
                                     cbce_output grad) noexcept nogil
        int (*bce_loss_and_grad_f64)(const cbce_args *args, cbce_output out, double *total,
                                     cbce_output grad) noexcept nogil
        int (*bce_logits_loss_f32)(const cbce_args *args, cbce_output out,
                                   double *total) noexcept nogil
        int (*bce_logits_loss_f64)(const cbce_args *args, cbce_output out,
                                   double *total) noexcept nogil
        int (*bce_logits_grad_f32)(const cbce_args *args, cbce_output grad) noexcept nogil
        int (*bce_logits_grad_f64)(const cbce_args *args, cbce_output grad) noexcept nogil
        int (*bce_logits_loss_and_grad_f32)(const cbce_args *args, cbce_output out,
                                            double *total, cbce_output grad) noexcept nogil
        int (*bce_logits_loss_and_grad_f64)(const cbce_args *args, cbce_output out,
                                            double *total, cbce_output grad) noexcept nogil

    # NULL until cbce_import() succeeds.
    const cbce_capi_table *cbce_capi


cdef extern from "cbce/capi.h":
    # Needs the GIL; raises ImportError (version mismatch) or the import's error.
    int cbce_import() except -1
