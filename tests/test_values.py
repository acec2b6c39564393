"""Loss values against exact math (SPEC 2.1, 2.2 and the ulp bounds of SPEC 3).

Tolerances (SPEC 3): float32 <= 1 ulp; float64 <= 2 ulp unscaled and <= 4 ulp with weight,
pos_weight, 1/N or label smoothing; float16 is the float32 result rounded to float16
(bitwise); "sum"/"mean" <= 1 ulp of the sum of magnitudes of cbce's own elementwise values.
"""

import math

import numpy as np
import pytest

import cbce
import reference as R
from helpers import (
    ALL_FLOAT_DTYPES,
    FLOAT_DTYPES,
    assert_bitwise_equal,
    loguniform,
    random_logits,
    random_probabilities,
    random_targets,
)

BCE = cbce.binary_cross_entropy
BCEL = cbce.binary_cross_entropy_with_logits


def _next_below_one(dtype):
    return np.nextafter(np.asarray(1, dtype), np.asarray(0, dtype))


def _prob_points(dtype):
    dtype = np.dtype(dtype)
    e100 = math.exp(-100)
    common = [0.0, 1.0, e100, np.nextafter(e100, 0), np.nextafter(e100, 1), 1e-20, 1e-12,
              1e-8, 1e-4, 0.1, 0.25, 0.3, 0.5, 0.75, 0.9, 1 - 1e-4, 1 - 1e-6]
    if dtype == np.float64:
        extra = [5e-324, 1e-310, 2.2250738585072014e-308, 1e-300, 1e-200, 1e-45, 2.0**-53,
                 1e-16, 1 - 1e-8, 1 - 2.0**-52]
    else:
        extra = [1.401298464324817e-45, 1e-40, 1.1754943508222875e-38, 1e-30, 2.0**-24]
    pts = np.array(common + extra, dtype=np.float64).astype(dtype)
    pts = np.append(pts, _next_below_one(dtype))
    pts = pts[(pts >= 0) & (pts <= 1)]
    return np.unique(pts)


def _target_points(dtype):
    dtype = np.dtype(dtype)
    t = [0.0, 1.0, 0.5, 0.3, 0.7, 1e-8, 1 - 1e-6, 0.999]
    if dtype == np.float64:
        t += [5e-324, 1e-300, 2.0**-53]
    else:
        t += [1.401298464324817e-45, 1e-30]
    pts = np.array(t).astype(dtype)
    return np.unique(np.append(pts, _next_below_one(dtype)))


LOGIT_POINTS = [0.0, 1e-8, -1e-8, 1.0, -1.0, 0.5, -0.5, 17.0, -17.0, 30.0, -30.0, 37.0, -37.0,
                40.0, -40.0, 88.0, -88.0, 100.0, -100.0, 700.0, -700.0, 710.0, -710.0,
                745.0, -745.0, 1e4, -1e4, 1e-300, -1e-300, 5e-324, -5e-324]


def _logit_points(dtype):
    x = np.array(LOGIT_POINTS).astype(dtype)
    return np.unique(x[np.isfinite(x)])


def _grid(a, b):
    A, B = np.meshgrid(a, b, indexing="ij")
    return A.ravel(), B.ravel()


# --- BCE on probabilities -----------------------------------------------------------


@pytest.mark.parametrize("dtype", ALL_FLOAT_DTYPES)
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_bce_at_endpoints_is_0_or_100_exactly(dtype, reduction):
    # SPEC 2.1: l(1, 1) = l(0, 0) = 0 and l(0, 1) = l(1, 0) = 100 (logs clamped at -100).
    x = np.array([0, 1, 0, 1], dtype=dtype)
    t = np.array([1, 0, 0, 1], dtype=dtype)
    got = BCE(x, t, reduction=reduction)
    if reduction == "none":
        np.testing.assert_array_equal(got, np.array([100, 100, 0, 0], dtype=dtype))
        assert got.dtype == dtype
    else:
        assert got == (200 if reduction == "sum" else 50)
        assert type(got) is np.dtype(dtype).type


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_bce_loss_targeted_points_within_bound(dtype):
    # 0, 1, subnormals, 1 - ulp, e^-100 and neighbours, crossed with edge targets.
    # Tolerance: SPEC 3 unscaled (1 ulp float32, 2 ulp float64), relative.
    x, t = _grid(_prob_points(dtype), _target_points(dtype))
    got = BCE(x, t, reduction="none")
    vals, scales = R.bce_loss(x, t)
    R.assert_ulps(got, vals, scales, dtype, R.bound_ulps(dtype, False), "bce loss (points)",
                  {"x": x, "t": t})


BCE_CONFIGS = {
    "plain": dict(),
    "weight": dict(weight=True),
    "signed_weight": dict(weight="signed"),
    "smoothing": dict(label_smoothing=0.1),
    "weight_smoothing": dict(weight=True, label_smoothing=0.35),
    "full_smoothing": dict(label_smoothing=1.0),
}


def _weights(rng, n, kind, dtype):
    w = loguniform(rng, -3, 3, n)
    if kind == "signed":
        w *= rng.choice([-1.0, 1.0], n)
    return w.astype(R.kernel_dtype(dtype))


@pytest.mark.parametrize("config", sorted(BCE_CONFIGS))
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_bce_loss_random_sweep_within_bound(dtype, config):
    # Log-uniform probabilities (subnormal .. 1 - ulp), targets 0/1, uniform and near 0/1.
    # Tolerance: 1 ulp float32; float64 2 ulp unscaled, 4 ulp with weight/smoothing.
    cfg = BCE_CONFIGS[config]
    rng = np.random.default_rng(1000 + len(config))
    n = 3000
    x = random_probabilities(rng, n, dtype)
    t = random_targets(rng, n, dtype)
    w = _weights(rng, n, cfg["weight"], dtype) if "weight" in cfg else None
    s = cfg.get("label_smoothing", 0.0)
    got = BCE(x, t, w, reduction="none", label_smoothing=s)
    vals, scales = R.bce_loss(x, t, w, s, kernel=dtype)
    scaled = w is not None or s != 0
    R.assert_ulps(got, vals, scales, dtype, R.bound_ulps(dtype, scaled), f"bce loss ({config})",
                  {"x": x, "t": t})


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_bce_label_smoothing_one_uses_half_targets(dtype):
    # SPEC 1.1: t' = t*(1-s) + 0.5*s, so s = 1 replaces every target by 0.5 (exact).
    rng = np.random.default_rng(7)
    x = random_probabilities(rng, 300, dtype)
    t = random_targets(rng, 300, dtype)
    assert_bitwise_equal(BCE(x, t, reduction="none", label_smoothing=1.0),
                         BCE(x, np.full_like(t, 0.5), reduction="none"))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_bce_infinite_weight_gives_infinite_loss_and_nan_weight_propagates(dtype):
    # SPEC 2.4: weights may be any finite or infinite value; NaN propagates.
    x = np.array([0.25, 0.5, 0.75], dtype=dtype)
    t = np.array([1, 0, 1], dtype=dtype)
    got = BCE(x, t, np.array([np.inf, np.nan, -np.inf], dtype=dtype), reduction="none")
    assert got[0] == np.inf and np.isnan(got[1]) and got[2] == -np.inf


# --- BCE with logits ------------------------------------------------------------------


@pytest.mark.parametrize("pos_weight", [None, 0.25, 3.0, 0.0])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_logits_loss_targeted_points_within_bound(dtype, pos_weight):
    # logits 0, +-1e-8, +-17, +-37, +-88, +-700, +-1e4, subnormal ... x edge targets.
    # Tolerance: relative; 1 ulp float32, float64 2 ulp (4 ulp with pos_weight).
    x, t = _grid(_logit_points(dtype), _target_points(dtype))
    pw = None if pos_weight is None else np.full_like(x, pos_weight)
    got = BCEL(x, t, reduction="none", pos_weight=pw)
    vals, scales = R.logits_loss(x, t, pw=pw)
    R.assert_ulps(got, vals, scales, dtype, R.bound_ulps(dtype, pw is not None),
                  f"logits loss (points, pos_weight={pos_weight})", {"x": x, "t": t})


LOGITS_CONFIGS = {
    "plain": dict(),
    "weight": dict(weight=True),
    "pos_weight": dict(pos_weight=True),
    "smoothing": dict(label_smoothing=0.1),
    "all": dict(weight="signed", pos_weight=True, label_smoothing=0.2),
}


@pytest.mark.parametrize("config", sorted(LOGITS_CONFIGS))
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_logits_loss_random_sweep_within_bound(dtype, config):
    # Logits +-10**U(-10, 4); pos_weight 10**U(-3, 3). Relative error (targets in [0, 1],
    # pos_weight >= 0). Tolerance: 1 ulp float32; float64 2 ulp unscaled, else 4 ulp.
    cfg = LOGITS_CONFIGS[config]
    rng = np.random.default_rng(2000 + len(config))
    n = 3000
    x = random_logits(rng, n, dtype)
    t = random_targets(rng, n, dtype)
    w = _weights(rng, n, cfg["weight"], dtype) if "weight" in cfg else None
    pw = loguniform(rng, -3, 3, n).astype(dtype) if "pos_weight" in cfg else None
    s = cfg.get("label_smoothing", 0.0)
    got = BCEL(x, t, w, reduction="none", pos_weight=pw, label_smoothing=s)
    vals, scales = R.logits_loss(x, t, w, pw, s, kernel=dtype)
    scaled = w is not None or pw is not None or s != 0
    R.assert_ulps(got, vals, scales, dtype, R.bound_ulps(dtype, scaled),
                  f"logits loss ({config})", {"x": x, "t": t})


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_logits_loss_targets_outside_unit_interval_follow_formula(dtype):
    # SPEC 2.4: no value checks; SPEC 3: error in ulps of the larger term's magnitude.
    rng = np.random.default_rng(31)
    n = 2000
    x = random_logits(rng, n, dtype, lo=-6, hi=3)
    t = rng.uniform(-3, 4, n).astype(dtype)
    got = BCEL(x, t, reduction="none")
    vals, scales = R.logits_loss(x, t)
    R.assert_ulps(got, vals, scales, dtype, R.bound_ulps(dtype, False),
                  "logits loss (t outside [0,1])", {"x": x, "t": t})


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_logits_loss_negative_pos_weight_within_larger_term_bound(dtype):
    # SPEC 3: negative pos_weight -> ulps of the larger term; pos_weight scales (4 ulp f64).
    rng = np.random.default_rng(32)
    n = 2000
    x = random_logits(rng, n, dtype, lo=-6, hi=3)
    t = random_targets(rng, n, dtype)
    pw = -loguniform(rng, -2, 2, n).astype(dtype)
    got = BCEL(x, t, reduction="none", pos_weight=pw)
    vals, scales = R.logits_loss(x, t, pw=pw)
    R.assert_ulps(got, vals, scales, dtype, R.bound_ulps(dtype, True),
                  "logits loss (negative pos_weight)", {"x": x, "t": t})


@pytest.mark.parametrize("dtype", ALL_FLOAT_DTYPES)
def test_logits_infinite_logits_give_the_limits(dtype):
    # SPEC 2.1: l(+inf, 1) = 0, l(+inf, t<1) = +inf, l(-inf, 0) = 0, l(-inf, t>0) = +inf,
    # with or without pos_weight (PyTorch gives NaN for some). Exact.
    x = np.array([np.inf, np.inf, np.inf, -np.inf, -np.inf, -np.inf], dtype=dtype)
    t = np.array([1, 0.25, 0, 0, 0.75, 1], dtype=dtype)
    want = np.array([0, np.inf, np.inf, 0, np.inf, np.inf], dtype=dtype)
    for pw in (None, np.full(6, 2.5, dtype=dtype)):
        got = BCEL(x, t, reduction="none", pos_weight=pw)
        np.testing.assert_array_equal(got, want)
        w = np.full(6, 3, dtype=dtype)
        np.testing.assert_array_equal(BCEL(x, t, w, reduction="none", pos_weight=pw), want)
    assert BCEL(x[[0, 3]], t[[0, 3]], reduction="sum") == 0
    assert BCEL(x, t, reduction="mean") == np.inf


@pytest.mark.parametrize("dtype", ALL_FLOAT_DTYPES)
def test_logits_nan_propagates_from_every_operand(dtype):
    # SPEC 2.1/2.4: NaN in, NaN out (input, target, weight, pos_weight); others unaffected.
    one = np.ones(3, dtype=dtype)
    nan_mid = np.array([0.5, np.nan, 0.5], dtype=dtype)
    x = np.array([1.0, 2.0, -3.0], dtype=dtype)
    for kwargs in (dict(input=nan_mid, target=one),
                   dict(input=x, target=nan_mid),
                   dict(input=x, target=one, weight=nan_mid),
                   dict(input=x, target=one, pos_weight=nan_mid)):
        got = BCEL(reduction="none", **kwargs)
        assert np.isnan(got[1]) and np.all(np.isfinite(got[[0, 2]])), kwargs
        assert np.isnan(BCEL(reduction="sum", **kwargs))
        assert np.isnan(BCEL(reduction="mean", **kwargs))


# --- float16 -------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("loss", ["bce", "logits"])
def test_float16_is_the_float32_result_rounded(loss, reduction):
    # SPEC 2.3: float16 input is computed in float32 and rounded to float16 (bitwise).
    rng = np.random.default_rng(16)
    n = 1000
    if loss == "bce":
        x = random_probabilities(rng, n, np.float16)
        f = BCE
        kw = {}
    else:
        x = random_logits(rng, n, np.float16)
        f = BCEL
        kw = {"pos_weight": loguniform(rng, -2, 2, n).astype(np.float16)}
    t = random_targets(rng, n, np.float16)
    w = loguniform(rng, -2, 2, n).astype(np.float16)
    got = f(x, t, w, reduction=reduction, **kw)
    kw32 = {k: v.astype(np.float32) for k, v in kw.items()}
    ref = f(x.astype(np.float32), t.astype(np.float32), w.astype(np.float32),
            reduction=reduction, **kw32)
    with np.errstate(over="ignore"):  # the test's own cast: large losses overflow float16
        want = np.asarray(ref).astype(np.float16)
    assert_bitwise_equal(got, want, f"{loss} {reduction}")
    if reduction != "none":
        assert type(got) is np.float16


def test_float16_with_float64_targets_converts_targets_to_float32_first():
    # SPEC 2.3: targets are converted to the kernel dtype C (float32 for float16 input).
    rng = np.random.default_rng(17)
    x = random_logits(rng, 500, np.float16)
    t = rng.uniform(0, 1, 500)  # float64, most not representable in float32
    got = BCEL(x, t, reduction="none")
    ref = BCEL(x.astype(np.float32), t.astype(np.float32), reduction="none")
    assert_bitwise_equal(got, ref.astype(np.float16))


@pytest.mark.parametrize("loss", ["bce", "logits"])
def test_float32_input_converts_float64_targets_to_float32(loss):
    # SPEC 2.3: target, weight, pos_weight are converted to C = float32 first.
    rng = np.random.default_rng(18)
    n = 500
    x = (random_probabilities if loss == "bce" else random_logits)(rng, n, np.float32)
    t = rng.uniform(0, 1, n)
    w = rng.uniform(0.5, 2, n)
    f = BCE if loss == "bce" else BCEL
    assert_bitwise_equal(f(x, t, w, reduction="none"),
                         f(x, t.astype(np.float32), w.astype(np.float32), reduction="none"))


# --- reductions ----------------------------------------------------------------------

RED_CONFIGS = ["plain", "weight", "signed_weight"]


@pytest.mark.parametrize("config", RED_CONFIGS)
@pytest.mark.parametrize("loss", ["bce", "logits"])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("n", [1, 7, 4096, 4097, 30011])
def test_sum_and_mean_within_one_ulp_of_own_elementwise_sum(dtype, loss, config, n):
    # SPEC 3: "sum"/"mean" within 1 ulp of the exact sum of cbce's own "none" values,
    # measured in ulps of the sum of their magnitudes (divided by N for "mean").
    rng = np.random.default_rng(n + 3 * len(config) + len(loss))
    if loss == "bce":
        x = random_probabilities(rng, n, dtype)
        f = BCE
    else:
        x = random_logits(rng, n, dtype, lo=-3, hi=3)
        f = BCEL
    t = random_targets(rng, n, dtype)
    w = None if config == "plain" else _weights(rng, n, config.split("_")[0], dtype)
    elementwise = f(x, t, w, reduction="none")
    total = f(x, t, w, reduction="sum")
    mean = f(x, t, w, reduction="mean")
    assert type(total) is np.dtype(dtype).type and type(mean) is np.dtype(dtype).type
    R.assert_sum(total, elementwise, dtype, False, f"{loss} sum")
    R.assert_sum(mean, elementwise, dtype, True, f"{loss} mean")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_sum_of_many_equal_terms_is_accurate(dtype):
    # 2**20 equal float32 values summed naively in float32 would be far off; SPEC 3 says
    # float32 sums in float64 and float64 sums compensated: <= 1 ulp.
    n = 1 << 20
    x = np.full(n, 0.3, dtype=dtype)
    t = np.full(n, 0.6, dtype=dtype)
    el = BCE(x[:1], t[:1], reduction="none")[0]
    exact = R.mpf(float(el)) * n
    total = BCE(x, t, reduction="sum")
    err = R.err_ulps(total, exact, exact, dtype)
    R.record("bce sum (2**20 equal terms)", dtype, err)
    assert err <= 1
    mean = BCE(x, t, reduction="mean")
    assert R.err_ulps(mean, exact / n, exact / n, dtype) <= 1


@pytest.mark.parametrize("dtype", ALL_FLOAT_DTYPES)
@pytest.mark.parametrize("loss", ["bce", "logits"])
def test_mean_of_empty_is_nan_and_sum_is_zero(dtype, loss):
    # SPEC 2.2: empty input: "sum" is 0, "mean" is NaN, NumPy scalars of the input dtype.
    f = BCE if loss == "bce" else BCEL
    x = np.empty((0, 3), dtype=dtype)
    total = f(x, x, reduction="sum")
    mean = f(x, x, reduction="mean")
    assert total == 0 and type(total) is np.dtype(dtype).type
    assert np.isnan(mean) and type(mean) is np.dtype(dtype).type
    none = f(x, x, reduction="none")
    assert none.shape == (0, 3) and none.dtype == dtype


@pytest.mark.parametrize("wrt", ["input", "target"])
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("loss", ["bce", "logits"])
def test_float16_gradients_are_the_float32_gradients_rounded(loss, reduction, wrt):
    # SPEC 2.3: float16 input is computed in float32 and its results rounded to float16,
    # gradients and fused results included (bitwise).
    rng = np.random.default_rng(19)
    n = 1000
    if loss == "bce":
        x = random_probabilities(rng, n, np.float16)
        grad, vg = cbce.binary_cross_entropy_grad, cbce.binary_cross_entropy_value_and_grad
        kw = {}
    else:
        x = random_logits(rng, n, np.float16)
        grad = cbce.binary_cross_entropy_with_logits_grad
        vg = cbce.binary_cross_entropy_with_logits_value_and_grad
        kw = {"pos_weight": loguniform(rng, -1, 1, n).astype(np.float16)}
    t = random_targets(rng, n, np.float16)
    g = rng.uniform(-2, 2, n).astype(np.float16) if reduction == "none" else 0.75
    got = grad(x, t, reduction=reduction, grad_output=g, wrt=wrt, label_smoothing=0.1, **kw)
    kw32 = {k: v.astype(np.float32) for k, v in kw.items()}
    g32 = g.astype(np.float32) if reduction == "none" else g
    ref = grad(x.astype(np.float32), t.astype(np.float32), reduction=reduction,
               grad_output=g32, wrt=wrt, label_smoothing=0.1, **kw32)
    with np.errstate(over="ignore"):  # the BCE input gradient at 0/1 (~1e12) is inf
        want = ref.astype(np.float16)
    assert_bitwise_equal(got, want, f"{loss} grad wrt {wrt} {reduction}")
    value, fused = vg(x, t, reduction=reduction, grad_output=g, wrt=wrt, label_smoothing=0.1,
                      **kw)
    assert_bitwise_equal(fused, want, "fused gradient")
    assert np.asarray(value).dtype == np.float16


@pytest.mark.parametrize("loss", ["bce", "logits"])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_sum_of_a_million_signed_terms_within_one_ulp(dtype, loss):
    # SPEC 3, "for any N": 10**6 + 3 elements with weights of both signs (cancellation),
    # 1 ulp of the sum of magnitudes of cbce's own elementwise values.
    rng = np.random.default_rng(20)
    n = 1_000_003
    if loss == "bce":
        x, f = random_probabilities(rng, n, dtype), BCE
    else:
        x, f = random_logits(rng, n, dtype, lo=-4, hi=4), BCEL
    t = random_targets(rng, n, dtype)
    w = (rng.uniform(0.5, 2, n) * rng.choice([-1, 1], n)).astype(dtype)
    el = f(x, t, w, reduction="none")
    R.assert_sum(f(x, t, w, reduction="sum"), el, dtype, False, f"{loss} sum (10**6, signed)")
    R.assert_sum(f(x, t, w, reduction="mean"), el, dtype, True, f"{loss} mean (10**6, signed)")


def test_logits_loss_subnormal_result_scaled_by_weight_within_bound():
    # SPEC 3: float64 <= 4 ulp with weight, logits down to -1e4. For t = 0 and x near
    # -710 .. -745 the loss softplus(x) is subnormal; a weight > 1 applied after rounding
    # the subnormal magnifies its error (w = 100 at x = -744 was 44.7 ulp). The result is
    # itself subnormal: its ulp is the subnormal spacing (relative ulps, SPEC 3).
    x = -np.array([709.5, 711.0, 715.3, 720.0, 730.0, 740.0, 744.0])
    t = np.zeros_like(x)
    for w in (5.0, 100.0, 1000.0):
        wa = np.full_like(x, w)
        got = BCEL(x, t, wa, reduction="none")
        vals, scales = R.logits_loss(x, t, wa)
        R.assert_ulps(got, vals, scales, np.float64, R.bound_ulps(np.float64, True),
                      "logits loss (subnormal softplus x weight)", {"x": x, "w": w})


def _assert_ones_give_the_unweighted_bits(loss, x, t, reduction, ones_kws, mixed_kw, changed):
    """Each factor keyword set in ones_kws (arrays of ones) gives the unweighted bits
    (loss at `reduction`, value_and_grad and grad per element); mixed_kw changes only
    the elements in `changed` (loss and gradient)."""
    fwd, vg_fn, grad_fn = {
        "bce": (BCE, cbce.binary_cross_entropy_value_and_grad, cbce.binary_cross_entropy_grad),
        "logits": (BCEL, cbce.binary_cross_entropy_with_logits_value_and_grad,
                   cbce.binary_cross_entropy_with_logits_grad),
    }[loss]
    base = fwd(x, t, reduction="none")
    base_vg = vg_fn(x, t, reduction="none")
    for kw in ones_kws:
        assert_bitwise_equal(fwd(x, t, reduction=reduction, **kw), fwd(x, t, reduction=reduction))
        vg = vg_fn(x, t, reduction="none", **kw)
        assert_bitwise_equal(vg[0], base_vg[0])
        assert_bitwise_equal(vg[1], base_vg[1])
        assert_bitwise_equal(grad_fn(x, t, reduction="none", **kw), base_vg[1])
    keep = np.ones(x.size, bool)
    keep[changed] = False
    mixed = fwd(x, t, reduction="none", **mixed_kw)
    assert_bitwise_equal(mixed[keep], base[keep])
    mixed_vg = vg_fn(x, t, reduction="none", **mixed_kw)
    assert_bitwise_equal(mixed_vg[1][keep], base_vg[1][keep])
    assert not np.array_equal(mixed[~keep], base[~keep])


@pytest.mark.parametrize("reduction", ["none", "sum"])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_logits_weights_of_one_give_the_unweighted_bits(dtype, reduction):
    # The kernels evaluate chunks whose weights and pos_weights are all 1 by a shorter
    # loop (kernels.inc.h, logits_loss_unit_loop); an element's value must not depend on
    # that choice: weight/pos_weight arrays of ones (every chunk takes the short loop) and
    # arrays with a few other values (those chunks take the general loop, with the ones in
    # them still giving the unweighted value) must reproduce the unweighted bits.
    rng = np.random.default_rng(11)
    n = 5000
    x = random_logits(rng, n, dtype)
    t = random_targets(rng, n, dtype)
    ones = np.ones(n, dtype)
    mixed_w, mixed_pw = ones.copy(), ones.copy()
    mixed_w[[7, 2600]] = 0.5
    mixed_pw[[300, 4999]] = 3.0
    _assert_ones_give_the_unweighted_bits(
        "logits", x, t, reduction,
        ({"weight": ones}, {"pos_weight": ones}, {"weight": ones, "pos_weight": ones}),
        {"weight": mixed_w, "pos_weight": mixed_pw}, [7, 2600, 300, 4999])


@pytest.mark.parametrize("reduction", ["none", "sum"])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_bce_weights_of_one_give_the_unweighted_bits(dtype, reduction):
    # Chunks of hard labels whose weights are all 1 take the shortest loops
    # (kernels.inc.h, bce_loss_hard_unit_loop and its value_and_grad twin); chunks with
    # other weights or soft labels take the general ones. Every element's bits must be
    # the same either way: weight arrays of ones must reproduce the unweighted bits, and
    # a few other weights must change only their own elements.
    rng = np.random.default_rng(12)
    n = 5000
    x = random_probabilities(rng, n, dtype)
    t = rng.integers(0, 2, n).astype(dtype)
    t[4500:] = random_targets(rng, n - 4500, dtype)  # the last chunks: soft labels
    mixed_w = np.ones(n, dtype)
    mixed_w[[7, 2600]] = 0.5
    _assert_ones_give_the_unweighted_bits(
        "bce", x, t, reduction, ({"weight": np.ones(n, dtype)},), {"weight": mixed_w}, [7, 2600])


@pytest.mark.parametrize("labels", ["hard", "soft", "smoothed"])
@pytest.mark.parametrize("dtype", ALL_FLOAT_DTYPES)
def test_bce_plain_chunks_give_the_general_bits(dtype, labels):
    # Chunks whose inputs all lie in [2^-29, 1) (float32 kernels) or [2^-144, 1)
    # (float64) take loops without the -100 clamp, the tiny-x care and, for float32, the
    # d/dx eps (kernels.inc.h, range_bad_loop's `plain`), for hard labels, soft ones and
    # label smoothing alike. An element's bits must not depend on that: the same
    # elements in chunks that also hold a 0 or a 1 (which take the general loops) must
    # give the same loss, value_and_grad and grad, with and without weights; and a sum
    # must not change when every chunk holds such an element with weight 0.
    dtype = np.dtype(dtype)
    rng = np.random.default_rng(13)
    n = 5000
    x = rng.uniform(0.001, 0.999, n).astype(dtype)
    low = 2.0**-29 if dtype != np.float64 else 2.0**-144  # the plain ranges' ends
    if dtype == np.float16:
        low = 2.0**-24  # the smallest float16 (a subnormal), still in float32's range
    x[[5, 1000, 4321]] = [low, _next_below_one(dtype), np.nextafter(dtype.type(low), dtype.type(1))]
    t = rng.integers(0, 2, n).astype(dtype)
    if labels == "soft":
        t = random_targets(rng, n, dtype)
    ls = {"label_smoothing": 0.1} if labels == "smoothed" else {}
    w = rng.uniform(0.1, 3, n).astype(dtype)
    edge = x.copy()
    edge[::97] = np.resize(np.asarray([0, 1], dtype), edge[::97].size)  # in every chunk
    keep = np.ones(n, bool)
    keep[::97] = False
    for kw in (ls, {"weight": w, **ls}):
        assert_bitwise_equal(BCE(x, t, reduction="none", **kw)[keep],
                             BCE(edge, t, reduction="none", **kw)[keep])
        vg, vg_edge = (cbce.binary_cross_entropy_value_and_grad(a, t, reduction="none", **kw)
                       for a in (x, edge))
        assert_bitwise_equal(vg[0][keep], vg_edge[0][keep])
        assert_bitwise_equal(vg[1][keep], vg_edge[1][keep])
        assert_bitwise_equal(cbce.binary_cross_entropy_grad(x, t, reduction="none", **kw)[keep],
                             vg[1][keep])
    w0 = w.copy()
    w0[~keep] = 0
    for reduction in ("sum", "mean"):
        assert_bitwise_equal(BCE(x, t, weight=w0, reduction=reduction, **ls),
                             BCE(edge, t, weight=w0, reduction=reduction, **ls))


@pytest.mark.parametrize("dtype", ALL_FLOAT_DTYPES)
def test_logits_plain_chunks_give_the_general_bits(dtype):
    # Chunks whose logits all have |x| <= 708 (float32 kernels) or 700 (float64, whose
    # targets and pos_weights must also be below 2^480 in magnitude) take loops without
    # the selects for huge, infinite and NaN operands (kernels.inc.h, logits_plain_loop).
    # An element's bits must not depend on that: the same elements in chunks that also
    # hold a logit of 1e4 (or, for float64, a target of 1e200), which take the general
    # loops, must give the same loss, value_and_grad and grad, with and without factors
    # (zeros of both signs and targets outside [0, 1] included); and a sum must not
    # change when every chunk holds such an element with weight 0.
    dtype = np.dtype(dtype)
    rng = np.random.default_rng(14)
    n = 5000
    x = random_logits(rng, n, dtype, lo=-10, hi=2.5)
    top = 700.0 if dtype == np.float64 else 708.0
    if dtype == np.float16:
        top = 704.0  # the float16 below 708
    x[[3, 4, 5, 6]] = [top, -top, 0.0, -0.0]
    t = random_targets(rng, n, dtype)
    t[rng.integers(0, n, 300)] = rng.choice([0.0, -0.0, 1.0, 2.0, -1.0], 300)
    pw = rng.uniform(0, 5, n).astype(dtype)
    pw[rng.integers(0, n, 100)] = rng.choice([0.0, -0.0, -1.0], 100)
    w = rng.uniform(0.1, 3, n).astype(dtype)
    keep = np.ones(n, bool)
    keep[::97] = False
    edges = []
    edge_x = x.copy()
    edge_x[::97] = np.resize(np.asarray([1e4, -1e4], dtype), edge_x[::97].size)
    edges.append((edge_x, t))
    if dtype == np.float64:
        edge_t = t.copy()
        edge_t[::97] = 1e200
        edges.append((x, edge_t))
    for ex, et in edges:
        for kw in ({}, {"pos_weight": pw}, {"weight": w, "pos_weight": pw}):
            assert_bitwise_equal(BCEL(x, t, reduction="none", **kw)[keep],
                                 BCEL(ex, et, reduction="none", **kw)[keep])
            vg = cbce.binary_cross_entropy_with_logits_value_and_grad(x, t, reduction="none", **kw)
            vg_edge = cbce.binary_cross_entropy_with_logits_value_and_grad(
                ex, et, reduction="none", **kw)
            assert_bitwise_equal(vg[0][keep], vg_edge[0][keep])
            assert_bitwise_equal(vg[1][keep], vg_edge[1][keep])
            grad = cbce.binary_cross_entropy_with_logits_grad(x, t, reduction="none", **kw)
            assert_bitwise_equal(grad, vg[1])
        w0 = w.copy()
        w0[~keep] = 0
        for reduction in ("sum", "mean"):
            assert_bitwise_equal(BCEL(x, t, weight=w0, pos_weight=pw, reduction=reduction),
                                 BCEL(ex, et, weight=w0, pos_weight=pw, reduction=reduction))
