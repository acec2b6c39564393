"""Parity with PyTorch 2.13 CPU (SPEC 3, last clause) and its documented differences.

Rule (SPEC 3): compared element by element on the same data, where cbce and PyTorch differ
by more than 4 ulp (SPEC 3's measure: relative to the exact result, or in ulps of the larger
term for the logits gradients and the BCE target gradient), cbce is the one closer to exact.
"""

import zlib

import numpy as np
import pytest

import cbce
import reference as R
from helpers import (
    FLOAT_DTYPES,
    assert_bitwise_equal,
    loguniform,
    random_logits,
    random_probabilities,
    random_targets,
)

torch = pytest.importorskip("torch")
F = torch.nn.functional

S = 5
WEIGHT_SHAPES = [(), (1,), (S,), (1, S), (S, S)]


def _t(a, requires_grad=False):
    out = torch.from_numpy(np.array(a, copy=True))
    return out.requires_grad_(requires_grad)


def assert_torch_rule(ours, theirs, vals, scales, dtype, what):
    """Where |cbce - torch| > 4 ulp, cbce's error <= torch's error; record both maxima."""
    ours = np.asarray(ours).ravel().tolist()
    theirs = np.asarray(theirs).ravel().tolist()
    worst_diff = worst_torch = 0.0
    bad = []
    for i, (a, b, v, s) in enumerate(zip(ours, theirs, vals, scales)):
        e_ours = R.err_ulps(a, v, s, dtype)
        e_torch = R.err_ulps(b, v, s, dtype)
        if np.isnan(a) and np.isnan(b) or a == b:
            diff = 0.0
        elif np.isfinite(a):
            diff = R.err_ulps(b, R.mpf(a), s, dtype)
        else:
            diff = np.inf
        worst_diff = max(worst_diff, diff)
        worst_torch = max(worst_torch, e_torch)
        if diff > 4 and not e_ours <= e_torch:
            bad.append((i, a, b, e_ours, e_torch))
    R.record(f"{what}: |cbce - torch|", dtype, worst_diff)
    R.record(f"{what}: torch vs exact", dtype, worst_torch)
    assert not bad, (f"{what} [{np.dtype(dtype).name}]: cbce farther from exact than torch where "
                     f"they differ by > 4 ulp (index, cbce, torch, err cbce, err torch): {bad[:5]}")


def _data(loss, dtype, rng, shape):
    n = int(np.prod(shape))
    if loss == "bce":
        x = random_probabilities(rng, n, dtype).reshape(shape)
    else:
        x = random_logits(rng, n, dtype, lo=-8, hi=3).reshape(shape)
    return x, random_targets(rng, n, dtype).reshape(shape)


def _torch_loss(loss, x, t, w=None, pw=None, reduction="mean"):
    if loss == "bce":
        return F.binary_cross_entropy(x, t, weight=w, reduction=reduction)
    return F.binary_cross_entropy_with_logits(x, t, weight=w, reduction=reduction, pos_weight=pw)


def _ours(loss):
    if loss == "bce":
        return cbce.binary_cross_entropy, cbce.binary_cross_entropy_grad
    return cbce.binary_cross_entropy_with_logits, cbce.binary_cross_entropy_with_logits_grad


def _ref_loss(loss, x, t, w, pw):
    if loss == "bce":
        return R.bce_loss(x, t, w)
    return R.logits_loss(x, t, w, pw)


def _ref_grad(loss, x, t, w, pw, g, wrt, n):
    if loss == "bce":
        return R.bce_grad(x, t, w, g, wrt=wrt, n=n)
    return R.logits_grad(x, t, w, pw, g, wrt=wrt, n=n)


def _reduce_ref(vals, reduction):
    """Exact sum/mean of exact elementwise values; scale = sum of magnitudes."""
    total = R.ctx.fsum(vals)
    mag = R.ctx.fsum(abs(v) for v in vals)
    if reduction == "mean":
        return [total / len(vals)], [mag / len(vals)]
    return [total], [mag]


def _kwargs(loss, w, pw):
    kw = {"weight": w}
    if loss == "logits":
        kw["pos_weight"] = pw
    return kw


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("loss", ["bce", "logits"])
def test_forward_every_reduction_matches_torch(loss, dtype):
    rng = np.random.default_rng(41)
    shape = (600, S)
    x, t = _data(loss, dtype, rng, shape)
    fwd, _ = _ours(loss)
    vals, scales = _ref_loss(loss, x, t, None, None)
    theirs = _torch_loss(loss, _t(x), _t(t), reduction="none").numpy()
    assert_torch_rule(fwd(x, t, reduction="none"), theirs, vals, scales, dtype,
                      f"{loss} loss none")
    for red in ("sum", "mean"):
        rv, rs = _reduce_ref(vals, red)
        ours = fwd(x, t, reduction=red)
        assert type(ours) is np.dtype(dtype).type
        assert_torch_rule([ours], [_torch_loss(loss, _t(x), _t(t), reduction=red).item()], rv,
                          rs, dtype, f"{loss} loss {red}")


# pos_weight is a logits-only argument: BCE takes only the weight shapes.
_SHAPE_CASES = [("bce", w, None) for w in [None] + WEIGHT_SHAPES] + [
    ("logits", w, pw) for w in [None] + WEIGHT_SHAPES for pw in [None] + WEIGHT_SHAPES
]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize(("loss", "w_shape", "pw_shape"), _SHAPE_CASES)
def test_weight_and_pos_weight_shapes_like_torch_samples(loss, w_shape, pw_shape, dtype):
    # Forward (every reduction) and both gradients with weight/pos_weight of shapes
    # (), (1,), (S,), (1, S), (S, S) broadcast against (S, S) input, as PyTorch does.
    rng = np.random.default_rng(zlib.crc32(repr((loss, w_shape, pw_shape)).encode()))
    x, t = _data(loss, dtype, rng, (S, S))
    w = None if w_shape is None else rng.uniform(0.1, 3, w_shape).astype(dtype)
    pw = None if pw_shape is None else rng.uniform(0.1, 5, pw_shape).astype(dtype)
    fwd, grad = _ours(loss)
    kw = _kwargs(loss, w, pw)
    tw = None if w is None else _t(w)
    tpw = None if pw is None else _t(pw)
    vals, scales = _ref_loss(loss, x, t, w, pw)
    for red in ("none", "sum", "mean"):
        ours = fwd(x, t, reduction=red, **kw)
        theirs = _torch_loss(loss, _t(x), _t(t), tw, tpw, red).detach().numpy()
        if red == "none":
            assert ours.shape == x.shape
            assert_torch_rule(ours, theirs, vals, scales, dtype, f"{loss} loss none (shapes)")
        else:
            rv, rs = _reduce_ref(vals, red)
            assert_torch_rule([ours], [theirs], rv, rs, dtype, f"{loss} loss {red} (shapes)")
        for wrt in ("input", "target"):
            tx, tt = _t(x, wrt == "input"), _t(t, wrt == "target")
            out = _torch_loss(loss, tx, tt, tw, tpw, red)
            g = rng.uniform(0.5, 2, x.shape).astype(dtype) if red == "none" else 1.0
            out.backward(_t(g) if red == "none" else None)
            theirs_g = (tx if wrt == "input" else tt).grad.numpy()
            ours_g = grad(x, t, reduction=red, grad_output=g, wrt=wrt, **kw)
            n = x.size if red == "mean" else 1
            gv, gs = _ref_grad(loss, x, t, w, pw, np.broadcast_to(g, x.shape), wrt, n)
            assert_torch_rule(ours_g, theirs_g, gv, gs, dtype, f"{loss} grad wrt {wrt} (shapes)")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("wrt", ["input", "target"])
@pytest.mark.parametrize("loss", ["bce", "logits"])
def test_gradients_match_autograd(loss, wrt, dtype):
    rng = np.random.default_rng(43)
    shape = (500, S)
    x, t = _data(loss, dtype, rng, shape)
    w = rng.uniform(0.2, 2, S).astype(dtype)
    pw = loguniform(rng, -1, 1, S).astype(dtype) if loss == "logits" else None
    _, grad = _ours(loss)
    for red in ("none", "mean"):
        tx, tt = _t(x, wrt == "input"), _t(t, wrt == "target")
        out = _torch_loss(loss, tx, tt, _t(w), None if pw is None else _t(pw), red)
        g = rng.uniform(-2, 2, shape).astype(dtype) if red == "none" else 1.0
        out.backward(_t(g) if red == "none" else None)
        theirs = (tx if wrt == "input" else tt).grad.numpy()
        ours = grad(x, t, w, reduction=red, grad_output=g, wrt=wrt,
                    **({} if pw is None else {"pos_weight": pw}))
        n = x.size if red == "mean" else 1
        gv, gs = _ref_grad(loss, x, t, w, pw, np.broadcast_to(g, shape), wrt, n)
        assert_torch_rule(ours, theirs, gv, gs, dtype, f"{loss} grad wrt {wrt}")


# --- the documented differences ----------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_difference_infinite_logits_give_limits_where_torch_gives_nan(dtype):
    # SPEC 2.1: l(+inf, 1) = 0 and l(-inf, 0) = 0; PyTorch returns NaN for these.
    x = np.array([np.inf, -np.inf], dtype=dtype)
    t = np.array([1, 0], dtype=dtype)
    theirs = F.binary_cross_entropy_with_logits(_t(x), _t(t), reduction="none").numpy()
    assert np.all(np.isnan(theirs))
    ours = cbce.binary_cross_entropy_with_logits(x, t, reduction="none")
    np.testing.assert_array_equal(ours, [0, 0])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_difference_logits_cancellation_region(dtype):
    # PyTorch's (1-t)x + max(-x,0) + log(exp(-max) + exp(-x-max)) cancels for t = 0 and
    # x << 0 (it returns 0 or a few correct bits); cbce is within 1 ulp (float32) / 2 ulp
    # (float64) relative, and PyTorch is off by more than 4 ulp there.
    x = -np.array([20, 30, 40, 60, 80], dtype=dtype)
    t = np.zeros(5, dtype=dtype)
    ours = cbce.binary_cross_entropy_with_logits(x, t, reduction="none")
    theirs = F.binary_cross_entropy_with_logits(_t(x), _t(t), reduction="none").numpy()
    vals, scales = R.logits_loss(x, t)
    R.assert_ulps(ours, vals, scales, dtype, R.bound_ulps(dtype, False),
                  "logits loss (torch cancellation region)")
    assert all(R.err_ulps(b, v, s, dtype) > 4 for b, v, s in zip(theirs, vals, scales))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_difference_bce_target_gradient_is_clamped(dtype):
    # SPEC 2.1: d/dt of the clamped loss is +-100 at x = 0/1; PyTorch gives -+inf.
    x = np.array([0, 1], dtype=dtype)
    t = np.array([0.5, 0.5], dtype=dtype)
    tt = _t(t, True)
    F.binary_cross_entropy(_t(x), tt, reduction="sum").backward()
    assert np.all(np.isinf(tt.grad.numpy()))
    ours = cbce.binary_cross_entropy_grad(x, t, reduction="sum", wrt="target")
    np.testing.assert_array_equal(ours, [100, -100])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_difference_logits_input_gradient_does_not_saturate(dtype):
    # sigmoid(x) - 1 is 0 in PyTorch once sigmoid rounds to 1; cbce keeps -sigmoid(-x).
    x = np.array([20, 30, 40], dtype=dtype)
    t = np.ones(3, dtype=dtype)
    tx = _t(x, True)
    F.binary_cross_entropy_with_logits(tx, _t(t), reduction="sum").backward()
    ours = cbce.binary_cross_entropy_with_logits_grad(x, t, reduction="sum")
    vals, scales = R.logits_grad(x, t, relative=True)
    R.assert_ulps(ours, vals, scales, dtype, R.bound_ulps(dtype, False),
                  "logits grad t=1 (torch saturation region)")
    theirs = tx.grad.numpy()
    assert any(R.err_ulps(b, v, s, dtype) > 4 for b, v, s in zip(theirs, vals, scales))


# --- legacy arguments ---------------------------------------------------------------------

LEGACY = [(sa, rd) for sa in (None, True, False) for rd in (None, True, False)
          if (sa, rd) != (None, None)]


@pytest.mark.parametrize("size_average,reduce", LEGACY)
@pytest.mark.parametrize("loss", ["bce", "logits"])
def test_legacy_size_average_reduce_map_like_torch(loss, size_average, reduce):
    # SPEC 2.2: legacy arguments override reduction exactly as in PyTorch, with a
    # DeprecationWarning; reduction is then ignored. Same bits as the named reduction.
    from torch.nn import _reduction

    resolved = _reduction.legacy_get_string(size_average, reduce, emit_warning=False)
    rng = np.random.default_rng(44)
    x, t = _data(loss, np.float64, rng, (4, 3))
    fwd, _ = _ours(loss)
    for ignored in ("none", "sum", "mean"):
        with pytest.warns(DeprecationWarning):
            got = fwd(x, t, None, size_average, reduce, ignored)
        assert_bitwise_equal(got, fwd(x, t, reduction=resolved), f"{size_average}, {reduce}")
