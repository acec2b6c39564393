"""Memory layouts, array-likes and result types (SPEC 2.3, SPEC 4 determinism).

Every layout of the same values gives results bitwise equal to a contiguous copy (sums
included: SPEC 4, fixed summation order); inputs are never modified; results have the
input dtype, empty_like's memory order, and reductions are NumPy scalars.
"""

import re
import tracemalloc

import numpy as np
import pytest

import cbce
from helpers import ALL_FLOAT_DTYPES, FLOAT_DTYPES, assert_bitwise_equal, bits

FWD = {"bce": cbce.binary_cross_entropy, "logits": cbce.binary_cross_entropy_with_logits}
GRAD = {"bce": cbce.binary_cross_entropy_grad,
        "logits": cbce.binary_cross_entropy_with_logits_grad}
VG = {"bce": cbce.binary_cross_entropy_value_and_grad,
      "logits": cbce.binary_cross_entropy_with_logits_value_and_grad}


def _values(loss, shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if loss == "bce":
        x = rng.uniform(0, 1, shape)
    else:
        x = rng.standard_normal(shape) * 6
    return x.astype(dtype), rng.uniform(0, 1, shape).astype(dtype)


def _all_results(loss, x, t, **kw):
    """Every computation cbce offers on (x, t): loss per reduction, both gradients, fused."""
    out = {}
    for red in ("none", "sum", "mean"):
        out[f"loss {red}"] = FWD[loss](x, t, reduction=red, **kw)
        for wrt in ("input", "target"):
            out[f"grad {wrt} {red}"] = GRAD[loss](x, t, reduction=red, wrt=wrt, **kw)
        v, g = VG[loss](x, t, reduction=red, **kw)
        out[f"vg value {red}"], out[f"vg grad {red}"] = v, g
    return out


def _assert_same_results(got, want):
    for k in want:
        assert_bitwise_equal(np.asarray(got[k]), np.asarray(want[k]), k)


def _layouts(a):
    """Views of the same logical values as ``a`` (2-D) with other memory layouts."""
    yield "fortran", np.asfortranarray(a)
    rev = np.ascontiguousarray(a[::-1, ::-1])
    yield "negative strides", rev[::-1, ::-1]
    big = np.zeros((a.shape[0] * 2, a.shape[1] * 3), dtype=a.dtype)
    big[::2, ::3] = a
    yield "non-contiguous", big[::2, ::3]
    tr = np.ascontiguousarray(a.T)
    yield "transposed", tr.T
    ro = a.copy()
    ro.flags.writeable = False
    yield "read-only", ro


@pytest.mark.parametrize("dtype", ALL_FLOAT_DTYPES)
@pytest.mark.parametrize("loss", ["bce", "logits"])
def test_every_layout_is_bitwise_equal_to_contiguous_copy(loss, dtype):
    x, t = _values(loss, (37, 23), dtype)
    w = np.random.default_rng(1).uniform(0.5, 2, 23).astype(dtype)
    want = _all_results(loss, x, t, weight=w)
    for (name, xv), (_, tv) in zip(_layouts(x), _layouts(t)):
        got = _all_results(loss, xv, tv, weight=w)
        try:
            _assert_same_results(got, want)
        except AssertionError as e:
            raise AssertionError(f"layout {name}: {e}") from None
        # mixed: only one operand non-contiguous
        _assert_same_results(_all_results(loss, xv, t, weight=w), want)


@pytest.mark.parametrize("loss", ["bce", "logits"])
def test_broadcast_to_zero_strides_equal_materialized(loss):
    # SPEC 2.3: zero strides from np.broadcast_to are accepted (read-only views).
    x, t = _values(loss, (1, 50), np.float64)
    xb, tb = np.broadcast_to(x, (40, 50)), np.broadcast_to(t, (40, 50))
    w = np.random.default_rng(2).uniform(0.5, 2, (40, 1))
    wb = np.broadcast_to(w, (40, 50))
    want = _all_results(loss, xb.copy(), tb.copy(), weight=wb.copy())
    _assert_same_results(_all_results(loss, xb, tb, weight=wb), want)
    _assert_same_results(_all_results(loss, xb, tb, weight=w), want)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("loss", ["bce", "logits"])
def test_per_class_rows_equal_materialized(loss, dtype):
    # (N, C) input with (C,) weight and pos_weight rows, the multi-label case: input,
    # target and outputs are read and written in place across the short rows
    # (cbce__layout.flat) while the rows are gathered; the same bits as full arrays,
    # for new outputs, for out= and in place.
    x, t = _values(loss, (289, 7), dtype)
    rng = np.random.default_rng(3)
    kw = {"weight": rng.uniform(0.5, 2, 7).astype(dtype)}
    if loss == "logits":
        kw["pos_weight"] = rng.uniform(0.5, 4, 7).astype(dtype)
    full = {k: np.broadcast_to(v, x.shape).copy() for k, v in kw.items()}
    want = _all_results(loss, x, t, **full)
    _assert_same_results(_all_results(loss, x, t, **kw), want)
    loss_out, grad_out = np.empty_like(x), np.empty_like(x)
    v, g = VG[loss](x, t, reduction="none", out=(loss_out, grad_out), **kw)
    assert v is loss_out and g is grad_out
    assert_bitwise_equal(loss_out, want["vg value none"])
    assert_bitwise_equal(grad_out, want["vg grad none"])
    x_in_place = x.copy()
    FWD[loss](x_in_place, t, reduction="none", out=x_in_place, **kw)
    assert_bitwise_equal(x_in_place, want["loss none"])


@pytest.mark.parametrize("loss", ["bce", "logits"])
@pytest.mark.parametrize("shape", [(), (0,), (5, 0, 3), (1,), (7,), (2, 3, 4), (2, 1, 3, 1, 2, 2),
                                   (3,) * 8])
def test_any_ndim_gives_results_shaped_like_input(loss, shape):
    x, t = _values(loss, shape, np.float64)
    res = _all_results(loss, x, t)
    for k, v in res.items():
        if "sum" in k and "grad" not in k or "mean" in k and "grad" not in k:
            assert type(v) is np.float64, k
        else:
            assert isinstance(v, np.ndarray) and v.shape == shape and v.dtype == np.float64, k
    flat = _all_results(loss, x.ravel(), t.ravel())
    for k in res:
        assert_bitwise_equal(np.asarray(res[k]).ravel(), np.asarray(flat[k]).ravel(), k)


@pytest.mark.parametrize("loss", ["bce", "logits"])
def test_0d_input_with_none_gives_0d_array(loss):
    # SPEC 2.3: a 0-d input with "none" gives a 0-d array (not a scalar).
    x, t = _values(loss, (), np.float32)
    r = FWD[loss](x, t, reduction="none")
    assert isinstance(r, np.ndarray) and r.shape == () and r.dtype == np.float32
    r = FWD[loss](np.float32(x), np.float32(t), reduction="none")
    assert isinstance(r, np.ndarray) and r.shape == ()


@pytest.mark.parametrize("dtype", ALL_FLOAT_DTYPES)
@pytest.mark.parametrize("loss", ["bce", "logits"])
def test_reduced_results_are_numpy_scalars_of_input_dtype(loss, dtype):
    # SPEC 1.1: "mean"/"sum" return np.float32(...) etc., not a Python float or 0-d array.
    x, t = _values(loss, (4, 5), dtype)
    for red in ("sum", "mean"):
        r = FWD[loss](x, t, reduction=red)
        assert type(r) is np.dtype(dtype).type, type(r)
        v, _ = VG[loss](x, t, reduction=red)
        assert type(v) is np.dtype(dtype).type, type(v)


@pytest.mark.parametrize("loss", ["bce", "logits"])
def test_none_results_have_empty_like_memory_order(loss):
    # SPEC 2.3: "none" results and gradients have the memory order of empty_like(input).
    x, t = _values(loss, (6, 7, 5), np.float32)
    views = [np.asfortranarray(x), np.ascontiguousarray(x.transpose(2, 0, 1)).transpose(1, 2, 0),
             x[:, ::-1], x[::2, :, 1:], x]
    for xv in views:
        tv = np.ascontiguousarray(t[tuple(slice(0, n) for n in xv.shape)])
        want = np.empty_like(xv).strides
        assert FWD[loss](xv, tv, reduction="none").strides == want
        assert GRAD[loss](xv, tv, reduction="mean").strides == want
        v, g = VG[loss](xv, tv, reduction="none")
        assert v.strides == want and g.strides == want


@pytest.mark.parametrize("loss", ["bce", "logits"])
def test_inputs_are_never_modified(loss):
    x, t = _values(loss, (30, 20), np.float64)
    w = np.random.default_rng(3).uniform(0.5, 2, 20)
    pw = np.random.default_rng(4).uniform(0.5, 2, 20)
    g = np.random.default_rng(5).uniform(-1, 1, (30, 20))
    kw = dict(weight=w) if loss == "bce" else dict(weight=w, pos_weight=pw)
    operands = [x, t, w, pw, g]
    before = [a.copy() for a in operands]
    _all_results(loss, x, t, label_smoothing=0.1, **kw)
    GRAD[loss](x, t, reduction="none", grad_output=g, **kw)
    VG[loss](x, t, reduction="none", grad_output=g, wrt="target", **kw)
    for a, b in zip(operands, before):
        assert_bitwise_equal(a, b, "operand modified")


@pytest.mark.parametrize("loss", ["bce", "logits"])
def test_read_only_operands_are_accepted(loss):
    x, t = _values(loss, (8, 3), np.float64)
    w = np.ones(3)
    for a in (x, t, w):
        a.flags.writeable = False
    want = _all_results(loss, x.copy(), t.copy(), weight=w.copy())
    _assert_same_results(_all_results(loss, x, t, weight=w), want)


@pytest.mark.parametrize("loss", ["bce", "logits"])
def test_memmaps_are_accepted(loss, tmp_path):
    x, t = _values(loss, (50, 4), np.float32)
    fx, ft = tmp_path / "x.bin", tmp_path / "t.bin"
    x.tofile(fx)
    t.tofile(ft)
    mx = np.memmap(fx, dtype=np.float32, mode="r", shape=(50, 4))
    mt = np.memmap(ft, dtype=np.float32, mode="r", shape=(50, 4))
    _assert_same_results(_all_results(loss, mx, mt), _all_results(loss, x, t))


@pytest.mark.parametrize("loss", ["bce", "logits"])
def test_lists_and_python_scalars_are_accepted(loss):
    x = [[0.25, 0.5], [0.75, 0.125]]
    t = [[1, 0], [0.5, 1]]
    want = _all_results(loss, np.array(x), np.array(t, dtype=np.float64))
    _assert_same_results(_all_results(loss, x, t), want)
    r = FWD[loss](0.25, 1.0, reduction="none")
    assert isinstance(r, np.ndarray) and r.shape == () and r.dtype == np.float64
    assert type(FWD[loss](0.25, 1, reduction="mean")) is np.float64
    assert_bitwise_equal(r, FWD[loss](np.array(0.25), np.array(1.0), reduction="none"))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("loss", ["bce", "logits"])
def test_non_native_byte_order_is_accepted(loss, dtype):
    x, t = _values(loss, (9, 4), dtype)
    swapped = np.dtype(dtype).newbyteorder("S")
    xs, ts = x.astype(swapped), t.astype(swapped)
    w = np.linspace(0.5, 2, 4).astype(swapped)
    want = _all_results(loss, x, t, weight=w.astype(dtype))
    got = _all_results(loss, xs, ts, weight=w)
    for k in want:
        assert np.asarray(got[k]).dtype.type is np.dtype(dtype).type, k
        assert_bitwise_equal(np.asarray(got[k]).astype(dtype), np.asarray(want[k]), k)


@pytest.mark.parametrize("tdtype", [np.int8, np.int64, np.uint8, np.bool_, np.float16, np.int32])
@pytest.mark.parametrize("dtype", ALL_FLOAT_DTYPES)
@pytest.mark.parametrize("loss", ["bce", "logits"])
def test_integer_and_bool_targets_equal_float_targets(loss, dtype, tdtype):
    # SPEC 2.3: targets of any real numeric or bool dtype are converted to C first.
    rng = np.random.default_rng(6)
    x, _ = _values(loss, (10, 6), dtype)
    t = rng.integers(0, 2, (10, 6)).astype(tdtype)
    kernel = np.float32 if dtype == np.float16 else dtype
    w = rng.integers(1, 4, 6)
    want = _all_results(loss, x, t.astype(kernel), weight=w.astype(kernel))
    _assert_same_results(_all_results(loss, x, t, weight=w), want)


@pytest.mark.parametrize("loss", ["bce", "logits"])
def test_out_non_contiguous_is_filled(loss):
    x, t = _values(loss, (5, 6), np.float64)
    out = np.full((10, 6), np.nan)[::2]
    r = FWD[loss](x, t, reduction="none", out=out)
    assert r is out
    assert_bitwise_equal(out, FWD[loss](x, t, reduction="none"))


@pytest.mark.parametrize("loss", ["bce", "logits"])
def test_contiguous_inputs_are_not_copied(loss):
    # SPEC 2.3: contiguous inputs (and targets of the input dtype) are never copied: a
    # "mean" over 8 MB of input and 8 MB of target allocates far less than one copy.
    n = 1 << 20
    x, t = _values(loss, (n,), np.float64)
    FWD[loss](x[:10], t[:10], reduction="mean")  # warm up lazy imports
    tracemalloc.start()
    try:
        FWD[loss](x, t, reduction="mean")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < x.nbytes // 2, f"peak {peak} bytes for {x.nbytes}-byte inputs"


def test_in_place_out_shares_memory_with_input():
    # out exactly the input: the result is the input array itself, computed in place.
    x = np.linspace(0.05, 0.95, 11)
    t = np.linspace(0, 1, 11)
    want = cbce.binary_cross_entropy(x, t, reduction="none")
    r = cbce.binary_cross_entropy(x, t, reduction="none", out=x)
    assert r is x and np.shares_memory(r, x)
    assert_bitwise_equal(bits(x), bits(want))


def test_large_1d_sum_is_layout_and_split_invariant():
    # SPEC 4: fixed summation order: a strided view and a copy give the same bits, and so
    # do float32 values presented as non-contiguous slices.
    rng = np.random.default_rng(7)
    x = rng.uniform(0, 1, 300_001).astype(np.float32)
    t = rng.uniform(0, 1, 300_001).astype(np.float32)
    buf = np.empty(600_002, np.float32)
    buf[::2] = x
    for red in ("sum", "mean"):
        assert_bitwise_equal(cbce.binary_cross_entropy(buf[::2], t, reduction=red),
                             cbce.binary_cross_entropy(x, t, reduction=red), red)
        assert_bitwise_equal(cbce.binary_cross_entropy(x[::-1].copy()[::-1], t, reduction=red),
                             cbce.binary_cross_entropy(x, t, reduction=red), red)


# The calls the fast path (_functional._default_call) takes: the loss, the gradient and
# both, with only input, target and reduction given. Each a function of (loss name, x,
# t, reduction, **extra); extra = label_smoothing=0 (an int) sends the same call down
# the general path.
FAST_CALLS = {
    "loss": lambda loss, x, t, red, **kw: FWD[loss](x, t, reduction=red, **kw),
    "grad": lambda loss, x, t, red, **kw: GRAD[loss](x, t, reduction=red, **kw),
    "value_and_grad": lambda loss, x, t, red, **kw: VG[loss](x, t, reduction=red, **kw),
}


def _assert_same_call(got, expected, what):
    got = got if isinstance(got, tuple) else (got,)
    expected = expected if isinstance(expected, tuple) else (expected,)
    assert len(got) == len(expected), what
    for g, e in zip(got, expected):
        assert type(g) is type(e), what
        if isinstance(e, np.ndarray):
            assert (g.shape, g.strides, g.dtype) == (e.shape, e.strides, e.dtype), what
        assert_bitwise_equal(np.asarray(g), np.asarray(e))


@pytest.mark.parametrize("shape", [(), (0,), (1,), (7,), (3, 1000), (5000,)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("call", sorted(FAST_CALLS))
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("loss", ["bce", "logits"])
def test_the_fast_path_is_the_general_path(loss, dtype, call, reduction, shape):
    # A call with nothing but two contiguous arrays of one kernel dtype (and a
    # reduction) skips the general argument handling (_functional._default_call); an
    # integer label_smoothing=0 takes the general path for the same call. Same bits,
    # same types, same errors.
    fn = FAST_CALLS[call]
    x, t = _values(loss, shape, dtype)
    fast = fn(loss, x, t, reduction)
    general = fn(loss, x, t, reduction, label_smoothing=0)
    _assert_same_call(fast, general, (call, reduction))
    if call == "loss" and reduction != "none":
        assert type(fast) is np.dtype(dtype).type
    if loss == "bce" and x.size:
        x = x.copy()
        x.flat[-1] = 1.5
        with pytest.raises(ValueError) as fast_err:
            fn(loss, x, t, reduction)
        with pytest.raises(ValueError) as general_err:
            fn(loss, x, t, reduction, label_smoothing=0)
        assert str(fast_err.value) == str(general_err.value)


class _Sub(np.ndarray):
    pass


def _declined_forms(x, t):
    """(name, input, target) calls the fast path must hand to the general path."""
    buf = np.empty(x.size * x.itemsize + 1, np.uint8)
    unaligned = buf[1:].view(x.dtype).reshape(x.shape)
    unaligned[...] = x
    strided = np.repeat(x, 2)[::2].reshape(x.shape)
    return [
        ("strided input", strided, t),
        ("strided target", x, np.repeat(t, 2)[::2].reshape(t.shape)),
        ("unaligned input", unaligned, t),
        ("fortran-ordered", np.asfortranarray(x.reshape(5, -1)), np.asfortranarray(t.reshape(5, -1))),
        ("byte-swapped", x.astype(x.dtype.newbyteorder()), t),
        ("float16 target", x, t.astype(np.float16)),
        ("other dtype", x, t.astype(np.float64 if x.dtype == np.float32 else np.float32)),
        ("other shape", x.reshape(5, -1), t),
        ("subclass", x.view(_Sub), t),
        ("list", x.tolist(), t),
    ]


@pytest.mark.parametrize("call", sorted(FAST_CALLS))
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("loss", ["bce", "logits"])
def test_the_fast_path_declines_what_it_cannot_take(loss, dtype, call):
    # _core.default_call checks the arrays' form itself (type, dtype, byte order,
    # C order, alignment, shape); anything else gives None, and the public call then
    # takes the general path to the same result (or error) as with label_smoothing=0.
    from cbce import _core

    ops = {"loss": _core.OP_LOSS, "grad": _core.OP_GRAD,
           "value_and_grad": _core.OP_LOSS | _core.OP_GRAD}[call]
    fn = FAST_CALLS[call]
    x, t = _values(loss, (20, 50), dtype)
    red = _core.REDUCTION_MEAN
    taken = _core.default_call(ops, loss == "logits", x, t, red, 1)
    _assert_same_call(taken, fn(loss, x, t, "mean", label_smoothing=0), call)
    for name, xi, ti in _declined_forms(x, t):
        assert _core.default_call(ops, loss == "logits", xi, ti, red, 1) is None, name
        try:
            expected = fn(loss, xi, ti, "mean", label_smoothing=0)
        except ValueError as e:  # "other shape": no broadcasting of the target
            with pytest.raises(ValueError, match=re.escape(str(e))):
                fn(loss, xi, ti, "mean")
            continue
        _assert_same_call(fn(loss, xi, ti, "mean"), expected, name)


@pytest.mark.parametrize("reduction", ["mean", "none"])
@pytest.mark.parametrize("call", sorted(FAST_CALLS))
@pytest.mark.parametrize("loss", ["bce", "logits"])
def test_the_fast_path_is_taken(loss, call, reduction, monkeypatch):
    # (so that the comparisons above compare two paths): with the general path's
    # _Call removed, the plain call still works and a call needing it fails.
    from cbce import _functional

    fn = FAST_CALLS[call]
    x, t = _values(loss, (100,), np.float32)
    expected = fn(loss, x, t, reduction)
    monkeypatch.setattr(_functional, "_Call", None)
    _assert_same_call(fn(loss, x, t, reduction), expected, call)
    with pytest.raises(TypeError):
        fn(loss, x, t, reduction, label_smoothing=0)
    if call != "loss":
        for other in ({"grad_output": 2.0}, {"grad_output": np.float64(1.0)},
                      {"wrt": "target"}):
            with pytest.raises(TypeError):
                fn(loss, x, t, reduction, **other)
