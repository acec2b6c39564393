"""The error contract (SPEC 2.2, 2.3, 2.4): types, exact messages, nothing half-written,
no warnings for valid input, NumPy's errstate ignored, DeprecationWarnings for legacy args.
"""

import re
import warnings

import numpy as np
import pytest

import cbce

BCE_FUNCS = {
    "bce": lambda x, t, **kw: cbce.binary_cross_entropy(x, t, **kw),
    "bce_grad": lambda x, t, **kw: cbce.binary_cross_entropy_grad(x, t, **kw),
    "bce_vg": lambda x, t, **kw: cbce.binary_cross_entropy_value_and_grad(x, t, **kw),
    "BCELoss": lambda x, t, **kw: cbce.BCELoss(**_ctor(kw))(x, t),
}
LOGITS_FUNCS = {
    "logits": lambda x, t, **kw: cbce.binary_cross_entropy_with_logits(x, t, **kw),
    "logits_grad": lambda x, t, **kw: cbce.binary_cross_entropy_with_logits_grad(x, t, **kw),
    "logits_vg": lambda x, t, **kw: cbce.binary_cross_entropy_with_logits_value_and_grad(
        x, t, **kw),
    "BCEWithLogitsLoss": lambda x, t, **kw: cbce.BCEWithLogitsLoss(**_ctor(kw))(x, t),
}
ALL_FUNCS = {**BCE_FUNCS, **LOGITS_FUNCS}
GRAD_FUNCS = ["bce_grad", "bce_vg", "logits_grad", "logits_vg"]
FORWARD_NAMES = ["bce", "logits"]


def _ctor(kw):
    """Class constructors take weight, reduction, pos_weight and label_smoothing."""
    return {k: v for k, v in kw.items() if k in ("weight", "pos_weight", "reduction",
                                                  "label_smoothing")}


def _ok_inputs(name, shape=(3, 4), dtype=np.float64):
    rng = np.random.default_rng(0)
    x = rng.uniform(0.1, 0.9, shape).astype(dtype)
    t = rng.uniform(0, 1, shape).astype(dtype)
    return x, t


def _exact(msg):
    return "^" + re.escape(msg) + "$"


def _names_weight(message, name):
    return re.search(r"(?<![A-Za-z0-9_])" + name + r"(?![A-Za-z0-9_])", message) is not None


# --- BCE value checks (SPEC 2.4) -----------------------------------------------------------


@pytest.mark.parametrize("bad", [-0.25, 1.25, np.nan, np.inf, -np.inf, -1e-300, 1 + 2**-52])
@pytest.mark.parametrize("name", sorted(BCE_FUNCS))
def test_bce_input_outside_unit_interval_is_value_error(name, bad):
    x, t = _ok_inputs(name)
    x[2, 3] = bad
    with pytest.raises(ValueError, match=_exact("all elements of input should be between 0 and 1")):
        BCE_FUNCS[name](x, t)


@pytest.mark.parametrize("bad", [-0.25, 1.25, np.nan, np.inf, -1e-300])
@pytest.mark.parametrize("name", sorted(BCE_FUNCS))
def test_bce_target_outside_unit_interval_is_value_error(name, bad):
    x, t = _ok_inputs(name)
    t[0, 1] = bad
    with pytest.raises(ValueError, match=_exact("all elements of target should be between 0 and 1")):
        BCE_FUNCS[name](x, t)
    # the check is on the target itself, not on the smoothed target
    with pytest.raises(ValueError, match=_exact("all elements of target should be between 0 and 1")):
        BCE_FUNCS[name](x, t, label_smoothing=0.5)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_bce_range_check_for_every_reduction_and_integer_targets(reduction):
    x = np.array([0.5, 0.5])
    with pytest.raises(ValueError, match=_exact("all elements of target should be between 0 and 1")):
        cbce.binary_cross_entropy(x, np.array([0, 2]), reduction=reduction)
    with pytest.raises(ValueError, match=_exact("all elements of input should be between 0 and 1")):
        cbce.binary_cross_entropy(np.array([0.5, -0.5]), x, reduction=reduction)


def test_bce_range_check_applies_to_converted_targets():
    # SPEC 2.3: targets are converted to C first; 1 + 1e-12 becomes 1.0 in float32.
    x = np.array([0.5, 0.25], dtype=np.float32)
    t = np.array([1 + 1e-12, -1e-60])
    got = cbce.binary_cross_entropy(x, t, reduction="none")
    np.testing.assert_array_equal(
        got, cbce.binary_cross_entropy(x, np.array([1, 0], dtype=np.float32), reduction="none"))
    with pytest.raises(ValueError, match=_exact("all elements of target should be between 0 and 1")):
        cbce.binary_cross_entropy(x.astype(np.float64), t)


@pytest.mark.parametrize("name", sorted(LOGITS_FUNCS))
def test_logits_check_no_values(name):
    # SPEC 2.4: BCE with logits checks no values.
    x = np.array([np.nan, np.inf, -3.0, 1e300])
    t = np.array([2.0, -1.0, np.nan, 0.5])
    LOGITS_FUNCS[name](x, t)


# --- reduction -------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["bogus", "MEAN", "", "elementwise_sum", None])
@pytest.mark.parametrize("name", sorted(ALL_FUNCS))
def test_invalid_reduction_is_value_error_with_exact_message(name, reduction):
    x, t = _ok_inputs(name)
    with pytest.raises(ValueError, match=_exact(f"'{reduction}' is not a valid value for reduction")):
        ALL_FUNCS[name](x, t, reduction=reduction)


# --- shapes ------------------------------------------------------------------------------


def _shape_strs(shape):
    return {str(tuple(shape)), str(list(shape))}


@pytest.mark.parametrize("tshape", [(4, 3), (1, 4), (12,), (3, 4, 1), ()])
@pytest.mark.parametrize("name", sorted(ALL_FUNCS))
def test_target_shape_mismatch_names_both_shapes(name, tshape):
    # SPEC 2.3: target must have exactly input.shape; no broadcasting.
    x, _ = _ok_inputs(name)
    t = np.full(tshape, 0.5)
    with pytest.raises(ValueError) as info:
        ALL_FUNCS[name](x, t)
    msg = str(info.value)
    assert any(s in msg for s in _shape_strs((3, 4))), msg
    assert any(s in msg for s in _shape_strs(tshape)), msg


@pytest.mark.parametrize("wshape", [(3,), (5,), (2, 3, 4), (3, 1, 1), (4, 4)])
@pytest.mark.parametrize("name", sorted(ALL_FUNCS))
def test_weight_that_does_not_broadcast_to_input_names_weight(name, wshape):
    # SPEC 2.3: weight broadcasts to input.shape and must not enlarge it.
    x, t = _ok_inputs(name)
    with pytest.raises(ValueError) as info:
        ALL_FUNCS[name](x, t, weight=np.ones(wshape))
    assert _names_weight(str(info.value), "weight"), str(info.value)


@pytest.mark.parametrize("pshape", [(3,), (5,), (2, 3, 4), (3, 1, 1)])
@pytest.mark.parametrize("name", sorted(LOGITS_FUNCS))
def test_pos_weight_that_does_not_broadcast_names_pos_weight(name, pshape):
    # SPEC 2.3: a 1-D pos_weight lines up with the last (class) axis.
    x, t = _ok_inputs(name)
    with pytest.raises(ValueError) as info:
        LOGITS_FUNCS[name](x, t, pos_weight=np.ones(pshape))
    assert _names_weight(str(info.value), "pos_weight"), str(info.value)


@pytest.mark.parametrize("gshape", [(3,), (2, 3, 4), (5, 1)])
@pytest.mark.parametrize("name", GRAD_FUNCS)
def test_grad_output_that_does_not_broadcast_names_grad_output(name, gshape):
    x, t = _ok_inputs(name)
    with pytest.raises(ValueError, match="grad_output"):
        ALL_FUNCS[name](x, t, reduction="none", grad_output=np.ones(gshape))


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("name", GRAD_FUNCS)
def test_array_grad_output_with_mean_or_sum_names_grad_output(name, reduction):
    # SPEC 1.2/2.3: grad_output is a scalar for "mean"/"sum".
    x, t = _ok_inputs(name)
    with pytest.raises(ValueError, match="grad_output"):
        ALL_FUNCS[name](x, t, reduction=reduction, grad_output=np.ones((3, 4)))
    with pytest.raises(ValueError, match="grad_output"):
        ALL_FUNCS[name](x, t, reduction=reduction, grad_output=np.ones(4))


@pytest.mark.parametrize("wrt", ["weight", "x", "Input", "", None])
@pytest.mark.parametrize("name", GRAD_FUNCS)
def test_unknown_wrt_names_wrt(name, wrt):
    x, t = _ok_inputs(name)
    with pytest.raises(ValueError, match="wrt"):
        ALL_FUNCS[name](x, t, wrt=wrt)


@pytest.mark.parametrize("s", [-0.1, 1.5, -np.inf, np.inf, np.nan])
@pytest.mark.parametrize("name", sorted(ALL_FUNCS))
def test_label_smoothing_outside_unit_interval_names_label_smoothing(name, s):
    x, t = _ok_inputs(name)
    with pytest.raises(ValueError, match="label_smoothing"):
        ALL_FUNCS[name](x, t, label_smoothing=s)


# --- dtypes ------------------------------------------------------------------------------

BAD_INPUT_DTYPES = [np.int32, np.int64, np.uint8, np.bool_, np.complex64, np.complex128]
if np.dtype(np.longdouble) != np.dtype(np.float64):
    BAD_INPUT_DTYPES.append(np.longdouble)


@pytest.mark.parametrize("dtype", BAD_INPUT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", sorted(ALL_FUNCS))
def test_non_float_or_longdouble_input_is_type_error(name, dtype):
    # SPEC 2.3: integer, bool, complex or other floating input is a TypeError.
    x = np.zeros((2, 2), dtype=dtype)
    t = np.zeros((2, 2))
    with pytest.raises(TypeError):
        ALL_FUNCS[name](x, t)


BAD_OPERANDS = {
    "complex": lambda shape: np.full(shape, 0.5 + 0j),
    "string": lambda shape: np.full(shape, "0.5"),
    "object": lambda shape: np.full(shape, 0.5, dtype=object),
}


@pytest.mark.parametrize("kind", sorted(BAD_OPERANDS))
@pytest.mark.parametrize("name", sorted(ALL_FUNCS))
def test_complex_string_or_object_target_or_weight_is_type_error(name, kind):
    x, t = _ok_inputs(name)
    bad = BAD_OPERANDS[kind]((3, 4))
    with pytest.raises(TypeError):
        ALL_FUNCS[name](x, bad)
    with pytest.raises(TypeError):
        ALL_FUNCS[name](x, t, weight=bad)
    if name in LOGITS_FUNCS:
        with pytest.raises(TypeError):
            ALL_FUNCS[name](x, t, pos_weight=bad)
    if name in GRAD_FUNCS:
        with pytest.raises(TypeError):
            ALL_FUNCS[name](x, t, reduction="none", grad_output=bad)


# --- out= --------------------------------------------------------------------------------

OUT_FUNCS = {
    "bce": cbce.binary_cross_entropy,
    "logits": cbce.binary_cross_entropy_with_logits,
    "bce_grad": cbce.binary_cross_entropy_grad,
    "logits_grad": cbce.binary_cross_entropy_with_logits_grad,
}


def _sentinel(shape, dtype=np.float64):
    return np.full(shape, -7.5, dtype=dtype)


def _bad_outs():
    ro = _sentinel((3, 4))
    ro.flags.writeable = False
    return {
        "wrong_shape": _sentinel((4, 3)),
        "wrong_size": _sentinel((12,)),
        "wrong_dtype": _sentinel((3, 4), np.float32),
        "int_dtype": np.full((3, 4), 7, dtype=np.int64),
        "read_only": ro,
        "list": [[0.0] * 4] * 3,
    }


@pytest.mark.parametrize("kind", sorted(_bad_outs()))
@pytest.mark.parametrize("name", sorted(OUT_FUNCS))
def test_bad_out_is_rejected_and_left_untouched(name, kind):
    # SPEC 1.1/2.3: out must be a writable array of input.shape and the result dtype.
    x, t = _ok_inputs(name)
    out = _bad_outs()[kind]
    before = np.array(out, copy=True)
    with pytest.raises((ValueError, TypeError)):
        OUT_FUNCS[name](x, t, reduction="none", out=out)
    np.testing.assert_array_equal(np.asarray(out), before)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("name", ["bce", "logits"])
def test_loss_out_with_mean_or_sum_is_rejected(name, reduction):
    # SPEC 1.1: out= only with "none" for losses.
    x, t = _ok_inputs(name)
    out = _sentinel((3, 4))
    with pytest.raises((ValueError, TypeError)):
        OUT_FUNCS[name](x, t, reduction=reduction, out=out)
    assert np.all(out == -7.5)


@pytest.mark.parametrize("name", ["bce_vg", "logits_vg"])
def test_value_and_grad_loss_out_must_be_none_unless_none_reduction(name):
    # SPEC 2.3: in value_and_grad the loss part of out must be None unless "none"; the
    # gradient part is left untouched by the failed call.
    x, t = _ok_inputs(name)
    lo, go = _sentinel((3, 4)), _sentinel((3, 4))
    with pytest.raises((ValueError, TypeError)):
        ALL_FUNCS[name](x, t, reduction="mean", out=(lo, go))
    assert np.all(lo == -7.5) and np.all(go == -7.5)
    with pytest.raises((ValueError, TypeError)):
        ALL_FUNCS[name](x, t, reduction="none", out=(lo, _sentinel((4, 3))))
    assert np.all(lo == -7.5)


@pytest.mark.parametrize("name", sorted(OUT_FUNCS))
def test_out_partially_overlapping_an_input_is_value_error(name):
    # SPEC 2.3: any memory overlap with an input other than "exactly the input".
    buf = np.random.default_rng(1).uniform(0.1, 0.9, 24)
    x = buf[:12].reshape(3, 4)
    t = np.full((3, 4), 0.5)
    for out in (buf[6:18].reshape(3, 4), buf[:12].reshape(3, 4)[::-1], buf[::2].reshape(3, 4)):
        before = buf.copy()
        with pytest.raises(ValueError):
            OUT_FUNCS[name](x, t, reduction="none", out=out)
        np.testing.assert_array_equal(buf, before)
    # overlap with the target or the weight
    tb = np.full(24, 0.5)
    with pytest.raises(ValueError):
        OUT_FUNCS[name](x, tb[:12].reshape(3, 4), reduction="none", out=tb[4:16].reshape(3, 4))
    wb = np.ones(24)
    with pytest.raises(ValueError):
        OUT_FUNCS[name](x, t, weight=wb[:12].reshape(3, 4), reduction="none",
                        out=wb[1:13].reshape(3, 4))


@pytest.mark.parametrize("name", sorted(OUT_FUNCS))
def test_out_exactly_an_input_computes_in_place(name):
    # SPEC 2.3: out may be exactly an input array (same data, shape and strides).
    x, t = _ok_inputs(name)
    want = OUT_FUNCS[name](x, t, reduction="none")
    xc = x.copy()
    got = OUT_FUNCS[name](xc, t, reduction="none", out=xc)
    assert got is xc
    np.testing.assert_array_equal(xc, want)
    tc = t.copy()
    got = OUT_FUNCS[name](x, tc, reduction="none", out=tc)
    assert got is tc
    np.testing.assert_array_equal(tc, want)
    # a strided view as both input and out
    big = np.zeros((3, 8))
    big[:, ::2] = x
    view = big[:, ::2]
    OUT_FUNCS[name](view, t, reduction="none", out=view)
    np.testing.assert_array_equal(view, want)
    assert np.all(big[:, 1::2] == 0)


@pytest.mark.parametrize("name", sorted(BCE_FUNCS))
def test_value_error_leaves_out_untouched(name):
    # SPEC 2.4: an error is raised before any caller-provided out array is written. The
    # bad element is last in memory, so a kernel that writes as it checks would be caught.
    if name == "BCELoss":
        pytest.skip("the criterion classes take no out=")
    x, t = _ok_inputs(name, shape=(64, 64))
    x[-1, -1] = 1.5
    out = _sentinel((64, 64))
    kw = {"out": (out, None)} if name == "bce_vg" else {"out": out}
    kw2 = {"out": (None, out)} if name == "bce_vg" else {"out": out}
    with pytest.raises(ValueError):
        BCE_FUNCS[name](x, t, reduction="none", **kw)
    assert np.all(out == -7.5)
    with pytest.raises(ValueError):
        BCE_FUNCS[name](x, t, reduction="none", label_smoothing=0.1, **kw2)
    assert np.all(out == -7.5)


# --- warnings and errstate (SPEC 2.2) ------------------------------------------------------


def _edge_calls():
    p = np.array([0.0, 1.0, 5e-324, 1 - 2**-53, 0.5])
    pt = np.array([1.0, 0.0, 1.0, 1.0, 0.5])
    lg = np.array([np.inf, -np.inf, np.nan, 1e4, -1e4, 0.0, 800.0, -800.0])
    lt = np.array([0.0, 1.0, 0.5, 0.0, 1.0, 0.5, 0.3, 0.7])
    empty = np.empty((0, 2))
    calls = []
    for red in ("none", "sum", "mean"):
        for dtype in (np.float16, np.float32, np.float64):
            pd, ptd = p.astype(dtype), pt.astype(dtype)
            ld, ltd = lg.astype(dtype), lt.astype(dtype)
            e = empty.astype(dtype)
            calls += [
                lambda pd=pd, ptd=ptd, red=red: cbce.binary_cross_entropy(pd, ptd, reduction=red),
                lambda pd=pd, ptd=ptd, red=red: cbce.binary_cross_entropy_grad(
                    pd, ptd, reduction=red),
                lambda pd=pd, ptd=ptd, red=red: cbce.binary_cross_entropy_grad(
                    pd, ptd, reduction=red, wrt="target"),
                lambda ld=ld, ltd=ltd, red=red: cbce.binary_cross_entropy_with_logits(
                    ld, ltd, reduction=red, pos_weight=np.array(3.0)),
                lambda ld=ld, ltd=ltd, red=red: cbce.binary_cross_entropy_with_logits_value_and_grad(
                    ld, ltd, reduction=red),
                lambda ld=ld, ltd=ltd, red=red: cbce.binary_cross_entropy_with_logits_grad(
                    ld, ltd, reduction=red, wrt="target", label_smoothing=0.1),
                lambda e=e, red=red: cbce.binary_cross_entropy(e, e, reduction=red),
                lambda e=e, red=red: cbce.binary_cross_entropy_with_logits_value_and_grad(
                    e, e, reduction=red),
                lambda e=e, red=red: cbce.binary_cross_entropy_grad(e, e, reduction=red),
            ]
    return calls


def _as_tuple(r):
    return tuple(np.asarray(v) for v in r) if isinstance(r, tuple) else (np.asarray(r),)


def test_no_warning_for_valid_edge_input_and_errstate_has_no_effect():
    # SPEC 2.2: no warning for any valid input (edge values, infinite logits, NaN logits,
    # empty arrays, mean of empty); NumPy's errstate settings have no effect on cbce.
    for call in _edge_calls():
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with np.errstate(all="raise"):
                raised = _as_tuple(call())
            with np.errstate(all="ignore"):
                ignored = _as_tuple(call())
        for a, b in zip(raised, ignored):
            np.testing.assert_array_equal(a.view(f"u{a.itemsize}"), b.view(f"u{b.itemsize}"))


# --- DeprecationWarning (SPEC 2.2) ----------------------------------------------------------


@pytest.mark.parametrize("legacy", [dict(size_average=False), dict(reduce=False),
                                    dict(size_average=True, reduce=True)])
@pytest.mark.parametrize("name", ["bce", "logits"])
def test_legacy_arguments_warn_deprecation(name, legacy):
    x, t = _ok_inputs(name)
    with pytest.warns(DeprecationWarning):
        OUT_FUNCS[name](x, t, **legacy)
    cls = cbce.BCELoss if name == "bce" else cbce.BCEWithLogitsLoss
    with pytest.warns(DeprecationWarning):
        crit = cls(**legacy)
    # PyTorch: reduce=False -> "none"; size_average=False -> "sum"; else "mean"
    if legacy.get("reduce") is False:
        want = "none"
    elif legacy.get("size_average") is False:
        want = "sum"
    else:
        want = "mean"
    assert crit.reduction == want


@pytest.mark.parametrize("name", sorted(ALL_FUNCS))
def test_elementwise_mean_warns_and_means_mean(name):
    x, t = _ok_inputs(name)
    with pytest.warns(DeprecationWarning):
        got = ALL_FUNCS[name](x, t, reduction="elementwise_mean")
    want = ALL_FUNCS[name](x, t, reduction="mean")
    for a, b in zip(_as_tuple(got), _as_tuple(want)):
        np.testing.assert_array_equal(a, b)


def test_class_constructor_validates_reduction_and_label_smoothing():
    # SPEC 1.3: the reduction string is validated at construction.
    for cls in (cbce.BCELoss, cbce.BCEWithLogitsLoss):
        with pytest.raises(ValueError, match=_exact("'bogus' is not a valid value for reduction")):
            cls(reduction="bogus")
        with pytest.raises(ValueError, match="label_smoothing"):
            cls(label_smoothing=1.5)
        with pytest.raises(TypeError):
            cls(weight=np.array([1 + 1j]))
    with pytest.raises(TypeError):
        cbce.BCEWithLogitsLoss(pos_weight=np.array(["a"]))


@pytest.mark.parametrize("name", ["bce_vg", "logits_vg"])
def test_fused_out_exactly_the_input_computes_in_place(name):
    # SPEC 2.3: either part of the fused call's out may be exactly an input array.
    x, t = _ok_inputs(name)
    want_v, want_g = ALL_FUNCS[name](x, t, reduction="none")
    for pair in ((0, None), (None, 0)):
        xc = x.copy()
        out = tuple(xc if p == 0 else None for p in pair)
        v, g = ALL_FUNCS[name](xc, t, reduction="none", out=out)
        np.testing.assert_array_equal(v, want_v)
        np.testing.assert_array_equal(g, want_g)
        assert (v if pair[0] == 0 else g) is xc
