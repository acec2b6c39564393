/*
 * capi.h -- cbce's kernels for other Python extensions, without linking.
 *
 * The module cbce._core exports a capsule, cbce._core._C_API, holding a
 * pointer to one static, read-only cbce_capi_table: the SIMD-dispatched
 * public functions of cbce.h (so a caller gets the same kernel level as
 * cbce itself, including a level forced with CBCE_ISA). This is NumPy's
 * import_array() pattern:
 *
 *     #include <cbce/capi.h>       (first, as with Python.h: it includes it)
 *
 *     PyMODINIT_FUNC PyInit_mymod(void) {
 *         if (cbce_import() < 0) return NULL;   (ImportError is set)
 *         ...
 *     }
 *     ... cbce_capi->bce_loss_f32(&args, out, &total) ...
 *
 * Calling through cbce_capi before a successful cbce_import() dereferences
 * NULL. Compile with cbce.get_include() on the include path; nothing to link.
 *
 * Versioning (why two numbers): the table is append-only. Adding a slot at
 * the end keeps CBCE_CAPI_ABI_VERSION and grows struct_size, so an extension
 * built against an older header keeps working with a newer cbce; an extension
 * built against a newer header refuses an older cbce whose table is too short.
 * Anything that breaks existing callers (removing, reordering or retyping a
 * slot, changing a struct the slots take such as cbce_args) bumps
 * CBCE_CAPI_ABI_VERSION, and cbce_import() then refuses the mismatch instead
 * of letting the extension crash. tests/test_abi_snapshot.py pins the slots.
 *
 * One translation unit: nothing to define. Several translation units sharing
 * one table pointer (NumPy's PY_ARRAY_UNIQUE_SYMBOL): define
 * CBCE_CAPI_UNIQUE_SYMBOL to a name in every file, and CBCE_CAPI_NO_IMPORT in
 * all files but the one that calls cbce_import().
 *
 * The C library itself (cbce.h, libcbce.a) never includes this header and
 * never needs Python.
 */
#ifndef CBCE_CAPI_H
#define CBCE_CAPI_H

#include <Python.h>

#include "cbce.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped only by incompatible changes (see above). */
#define CBCE_CAPI_ABI_VERSION 1

/* The capsule's name, also its import path: module cbce._core, attribute _C_API. */
#define CBCE_CAPI_CAPSULE_NAME "cbce._core._C_API"

/* Slots mirror cbce.h: slot `x` is the function `cbce_x`, same signature.
 * Append new slots at the end only. The first three members never move, in
 * any ABI version, so cbce_import() can always report what it found. */
typedef struct cbce_capi_table {
    int abi_version;    /* CBCE_CAPI_ABI_VERSION of the cbce that made it */
    size_t struct_size; /* sizeof(cbce_capi_table) of the cbce that made it */

    /* Library information and kernel level queries. */
    const char *(*version)(void);
    const char *(*status_message)(int status);
    const char *(*isa_name)(int isa);
    int (*isa_available)(int isa);
    int (*best_isa)(void);
    int (*get_isa)(void);

    /* BCE on probabilities. */
    int (*bce_check_f32)(const cbce_args *args);
    int (*bce_check_f64)(const cbce_args *args);
    int (*bce_loss_f32)(const cbce_args *args, cbce_output out, double *total);
    int (*bce_loss_f64)(const cbce_args *args, cbce_output out, double *total);
    int (*bce_grad_f32)(const cbce_args *args, cbce_output grad);
    int (*bce_grad_f64)(const cbce_args *args, cbce_output grad);
    int (*bce_loss_and_grad_f32)(const cbce_args *args, cbce_output out, double *total,
                                 cbce_output grad);
    int (*bce_loss_and_grad_f64)(const cbce_args *args, cbce_output out, double *total,
                                 cbce_output grad);

    /* BCE with logits. */
    int (*bce_logits_loss_f32)(const cbce_args *args, cbce_output out, double *total);
    int (*bce_logits_loss_f64)(const cbce_args *args, cbce_output out, double *total);
    int (*bce_logits_grad_f32)(const cbce_args *args, cbce_output grad);
    int (*bce_logits_grad_f64)(const cbce_args *args, cbce_output grad);
    int (*bce_logits_loss_and_grad_f32)(const cbce_args *args, cbce_output out,
                                        double *total, cbce_output grad);
    int (*bce_logits_loss_and_grad_f64)(const cbce_args *args, cbce_output out,
                                        double *total, cbce_output grad);
} cbce_capi_table;

#if defined(CBCE_CAPI_UNIQUE_SYMBOL)
#define cbce_capi CBCE_CAPI_UNIQUE_SYMBOL
#if defined(CBCE_CAPI_NO_IMPORT)
extern const cbce_capi_table *cbce_capi;
#else
const cbce_capi_table *cbce_capi = NULL;
#endif
#else
static const cbce_capi_table *cbce_capi = NULL;
#endif

/* Import cbce._core and check its table. 0 on success; -1 with ImportError
 * (or the import's own error) set. Needs the GIL; call it once, at module
 * initialisation. */
static inline int cbce_import(void)
{
    const cbce_capi_table *table =
        (const cbce_capi_table *)PyCapsule_Import(CBCE_CAPI_CAPSULE_NAME, 0);
    if (table == NULL) {
        return -1;
    }
    if (table->abi_version != CBCE_CAPI_ABI_VERSION) {
        PyErr_Format(PyExc_ImportError,
                     "cbce C API ABI version mismatch: this extension was built for "
                     "version %d, the installed cbce %s provides version %d; rebuild "
                     "the extension against the installed cbce",
                     CBCE_CAPI_ABI_VERSION, table->version(), table->abi_version);
        return -1;
    }
    if (table->struct_size < sizeof(cbce_capi_table)) {
        PyErr_Format(PyExc_ImportError,
                     "cbce C API too old: this extension needs a table of %zu bytes, "
                     "the installed cbce %s provides %zu; upgrade cbce",
                     sizeof(cbce_capi_table), table->version(), table->struct_size);
        return -1;
    }
    cbce_capi = table;
    return 0;
}

#ifdef __cplusplus
}
#endif

#endif /* CBCE_CAPI_H */
