"""Property tests (hypothesis) over shapes, strides and dtypes.

- layout invariance: any strided view gives the bits of a contiguous copy (SPEC 4);
- the fused value_and_grad equals the separate calls bit for bit (SPEC 1.2);
- "sum"/"mean" are within 1 ulp of the exact sum of cbce's own "none" values, in ulps of
  the sum of their magnitudes (SPEC 3).
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import cbce
import reference as R
from helpers import assert_bitwise_equal

FWD = {"bce": cbce.binary_cross_entropy, "logits": cbce.binary_cross_entropy_with_logits}
GRAD = {"bce": cbce.binary_cross_entropy_grad,
        "logits": cbce.binary_cross_entropy_with_logits_grad}
VG = {"bce": cbce.binary_cross_entropy_value_and_grad,
      "logits": cbce.binary_cross_entropy_with_logits_value_and_grad}

dtypes = st.sampled_from([np.float16, np.float32, np.float64])
losses = st.sampled_from(["bce", "logits"])
reductions = st.sampled_from(["none", "sum", "mean"])


@st.composite
def strided_case(draw):
    """A base array, a strided view of it (steps, reversal, transpose) and a same-shaped
    target, all with cbce-valid values for the chosen loss."""
    loss = draw(losses)
    dtype = draw(dtypes)
    ndim = draw(st.integers(0, 4))
    base_shape = tuple(draw(st.lists(st.integers(0, 9), min_size=ndim, max_size=ndim)))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if loss == "bce":
        base = rng.uniform(0, 1, base_shape)
        base[rng.random(base_shape) < 0.1] = 0.0
        base[rng.random(base_shape) < 0.1] = 1.0
    else:
        base = rng.standard_normal(base_shape) * 10.0 ** rng.uniform(-3, 3, base_shape)
    base = np.asarray(base).astype(dtype)
    view = base
    for axis in range(ndim):
        step = draw(st.sampled_from([1, 2, -1, -2, 3]))
        sl = [slice(None)] * ndim
        sl[axis] = slice(None, None, step)
        view = view[tuple(sl)]
    if ndim > 1 and draw(st.booleans()):
        perm = draw(st.permutations(range(ndim)))
        view = view.transpose(perm)
    t = rng.uniform(0, 1, view.shape)
    t[rng.random(view.shape) < 0.3] = 1.0
    t = np.asarray(t).astype(draw(st.sampled_from([dtype, np.float64, np.int8]))
                              if draw(st.booleans()) else dtype)
    if t.dtype == np.int8:
        t = (t > 0.5).astype(np.int8)
    return loss, view, t


@given(strided_case(), reductions, st.sampled_from(["input", "target"]),
       st.sampled_from([0.0, 0.1]))
def test_strided_views_are_bitwise_equal_to_contiguous_copies(case, reduction, wrt, s):
    loss, view, t = case
    copy = np.array(view, order="C", copy=True)  # (ascontiguousarray makes 0-d into 1-d)
    t_view = np.array(t, order="F", copy=True)  # a different layout for the target as well
    assert_bitwise_equal(FWD[loss](view, t_view, reduction=reduction, label_smoothing=s),
                         FWD[loss](copy, t, reduction=reduction, label_smoothing=s), "loss")
    assert_bitwise_equal(
        GRAD[loss](view, t_view, reduction=reduction, wrt=wrt, label_smoothing=s),
        GRAD[loss](copy, t, reduction=reduction, wrt=wrt, label_smoothing=s), "grad")


@given(strided_case(), reductions, st.sampled_from(["input", "target"]),
       st.floats(0.25, 4.0), st.sampled_from([0.0, 0.3]), st.booleans())
def test_fused_equals_separate_bitwise(case, reduction, wrt, g, s, weighted):
    loss, x, t = case
    kw = {"label_smoothing": s}
    if weighted and x.ndim:
        kw["weight"] = np.linspace(0.5, 2.0, x.shape[-1])
        if loss == "logits":
            kw["pos_weight"] = np.linspace(3.0, 0.1, x.shape[-1])
    v, gr = VG[loss](x, t, reduction=reduction, grad_output=g, wrt=wrt, **kw)
    assert_bitwise_equal(v, FWD[loss](x, t, reduction=reduction, **kw), "value")
    assert_bitwise_equal(gr, GRAD[loss](x, t, reduction=reduction, grad_output=g, wrt=wrt, **kw),
                         "grad")


@given(strided_case(), st.booleans())
def test_sum_and_mean_within_one_ulp_of_exact_sum_of_elementwise(case, weighted):
    # Tolerance: 1 ulp of the sum of magnitudes (float32/float64); float16 is the float32
    # result rounded (checked in test_values.py), so it is checked through float32 here.
    loss, x, t = case
    if x.dtype == np.float16:
        x = x.astype(np.float32)
    kw = {}
    if weighted and x.ndim:
        kw["weight"] = np.linspace(-2.0, 3.0, x.shape[-1]).astype(x.dtype)
    el = FWD[loss](x, t, reduction="none", **kw)
    if not np.all(np.isfinite(el)):
        return
    if el.size:
        R.assert_sum(FWD[loss](x, t, reduction="sum", **kw), el, x.dtype, False,
                     f"{loss} sum (hypothesis)")
        R.assert_sum(FWD[loss](x, t, reduction="mean", **kw), el, x.dtype, True,
                     f"{loss} mean (hypothesis)")
    else:
        assert FWD[loss](x, t, reduction="sum", **kw) == 0
        assert np.isnan(FWD[loss](x, t, reduction="mean", **kw))


@pytest.mark.parametrize("loss", ["bce", "logits"])
@given(data=st.data())
def test_broadcast_weights_equal_materialized_weights(loss, data):
    # SPEC 2.3: weight/pos_weight broadcast by NumPy's rules; same values, same bits.
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6))
    # shapes that broadcast to `shape` without enlarging it (SPEC 2.3)
    wshape = data.draw(hnp.broadcastable_shapes(shape, max_dims=len(shape)).filter(
        lambda s: np.broadcast_shapes(shape, s) == shape))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    x = rng.uniform(0.01, 0.99, shape) if loss == "bce" else rng.normal(0, 5, shape)
    t = rng.uniform(0, 1, shape)
    w = rng.uniform(-2, 2, wshape)
    kw_small = {"weight": w}
    kw_full = {"weight": np.broadcast_to(w, shape).copy()}
    if loss == "logits":
        pw = rng.uniform(0, 3, wshape)
        kw_small["pos_weight"] = pw
        kw_full["pos_weight"] = np.broadcast_to(pw, shape).copy()
    for red in ("none", "sum"):
        assert_bitwise_equal(FWD[loss](x, t, reduction=red, **kw_small),
                             FWD[loss](x, t, reduction=red, **kw_full), red)
        assert_bitwise_equal(GRAD[loss](x, t, reduction=red, **kw_small),
                             GRAD[loss](x, t, reduction=red, **kw_full), red)


def _floats(dtype, lo, hi):
    return st.floats(lo, hi, width=32 if dtype == np.float32 else 64, allow_nan=False,
                     allow_infinity=False)


def _scales(dtype):
    """Weights and grad_output: 0 or magnitudes in [2**-10, 1e3]. SPEC 3's domain names
    subnormal x, not subnormal scale factors: with a subnormal weight an intermediate
    product underflows first (e.g. w = 2.2e-313, g = 9 gives 4.5 ulp in float64)."""
    lo = 2.0**-10
    return st.just(0.0) | _floats(dtype, lo, 1e3) | _floats(dtype, -1e3, -lo)


@pytest.mark.parametrize("loss", ["bce", "logits"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data())
def test_hypothesis_points_within_ulp_bounds(dtype, loss, data):
    # Values and both gradients at points hypothesis picks (subnormals, extremes), against
    # the exact references. Tolerance: SPEC 3 (float32 1 ulp; float64 2 ulp unscaled,
    # 4 ulp scaled; larger-term measure for the subtracting gradients).
    x = data.draw(_floats(dtype, 0, 1) if loss == "bce" else _floats(dtype, -1e4, 1e4))
    t = data.draw(_floats(dtype, 0, 1))
    w = data.draw(st.none() | _scales(dtype))
    pw = data.draw(st.none() | _floats(dtype, 0, 1e3)) if loss == "logits" else None
    s = data.draw(st.sampled_from([0.0, 0.1, 0.5, 1.0]))
    g = data.draw(_scales(dtype))
    red = data.draw(reductions)
    xa, ta = np.array([x], dtype), np.array([t], dtype)
    wa = None if w is None else np.array([w], dtype)
    pwa = None if pw is None else np.array([pw], dtype)
    scaled_loss = w is not None or pw is not None or s != 0
    kw = {"weight": wa, "label_smoothing": s}
    if loss == "logits":
        kw["pos_weight"] = pwa
    value = FWD[loss](xa, ta, reduction="none", **kw)
    if loss == "bce":
        vals, scales = R.bce_loss(xa, ta, wa, s, kernel=dtype)
    else:
        vals, scales = R.logits_loss(xa, ta, wa, pwa, s, kernel=dtype)
    R.assert_ulps(value, vals, scales, dtype, R.bound_ulps(dtype, scaled_loss),
                  f"{loss} loss (hypothesis)", {"x": xa, "t": ta})
    gg = np.array([g], dtype) if red == "none" else g
    for wrt in ("input", "target"):
        got = GRAD[loss](xa, ta, reduction=red, grad_output=gg, wrt=wrt, **kw)
        if loss == "bce":
            gv, gs = R.bce_grad(xa, ta, wa, np.array([g]), s, wrt, 1, kernel=dtype)
        else:
            gv, gs = R.logits_grad(xa, ta, wa, pwa, np.array([g]), s, wrt, 1, kernel=dtype)
        R.assert_ulps(got, gv, gs, dtype, R.bound_ulps(dtype, True),
                      f"{loss} grad wrt {wrt} (hypothesis)", {"x": xa, "t": ta})
