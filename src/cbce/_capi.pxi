# The C API capsule cbce._core._C_API (c/include/cbce/capi.h): one static,
# read-only table of the dispatched public kernels, so C and Cython extensions
# call the very functions this module calls, at the kernel level it selected,
# without linking cbce. The table is built in C with designated initializers, so
# the compiler checks every slot's type against its prototype in cbce.h and
# no two slots of the same type can be swapped by a reordering.

cdef extern from *:
    """
    static const cbce_capi_table cbce_capi_table_instance = {
        .abi_version = CBCE_CAPI_ABI_VERSION,
        .struct_size = sizeof(cbce_capi_table),
        .version = cbce_version,
        .status_message = cbce_status_message,
        .isa_name = cbce_isa_name,
        .isa_available = cbce_isa_available,
        .best_isa = cbce_best_isa,
        .get_isa = cbce_get_isa,
        .bce_check_f32 = cbce_bce_check_f32,
        .bce_check_f64 = cbce_bce_check_f64,
        .bce_loss_f32 = cbce_bce_loss_f32,
        .bce_loss_f64 = cbce_bce_loss_f64,
        .bce_grad_f32 = cbce_bce_grad_f32,
        .bce_grad_f64 = cbce_bce_grad_f64,
        .bce_loss_and_grad_f32 = cbce_bce_loss_and_grad_f32,
        .bce_loss_and_grad_f64 = cbce_bce_loss_and_grad_f64,
        .bce_logits_loss_f32 = cbce_bce_logits_loss_f32,
        .bce_logits_loss_f64 = cbce_bce_logits_loss_f64,
        .bce_logits_grad_f32 = cbce_bce_logits_grad_f32,
        .bce_logits_grad_f64 = cbce_bce_logits_grad_f64,
        .bce_logits_loss_and_grad_f32 = cbce_bce_logits_loss_and_grad_f32,
        .bce_logits_loss_and_grad_f64 = cbce_bce_logits_loss_and_grad_f64,
    };

    /* The capsule only lends the table (static storage): no destructor. */
    static PyObject *cbce_capi_new_capsule(void)
    {
        return PyCapsule_New((void *)&cbce_capi_table_instance, CBCE_CAPI_CAPSULE_NAME, NULL);
    }
    """
    object cbce_capi_new_capsule()

_C_API = cbce_capi_new_capsule()
