"""Gradients (SPEC 1.2, 2.1): accuracy against exact math, grad_output, mean, fused calls.

Tolerances (SPEC 3): float32 <= 1 ulp; float64 <= 2 ulp unscaled, <= 4 ulp with weight,
pos_weight, grad_output, 1/N or label smoothing. Logits gradients and the BCE target
gradient are measured in ulps of the larger term's magnitude; the BCE input gradient and,
for targets in {0, 1}, the logits input gradient (SPEC 2.1: "without saturation") relative
to the exact result.
"""

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

BCE_GRAD = cbce.binary_cross_entropy_grad
BCEL_GRAD = cbce.binary_cross_entropy_with_logits_grad
BCE_VG = cbce.binary_cross_entropy_value_and_grad
BCEL_VG = cbce.binary_cross_entropy_with_logits_value_and_grad
BCE = cbce.binary_cross_entropy
BCEL = cbce.binary_cross_entropy_with_logits

CONFIGS = {
    "plain_sum": dict(reduction="sum"),
    "mean": dict(reduction="mean"),
    "none_scalar_g": dict(reduction="none", g="scalar"),
    "none_array_g": dict(reduction="none", g="array"),
    "weight_mean_g": dict(reduction="mean", weight=True, g="scalar"),
    "smoothing": dict(reduction="sum", label_smoothing=0.15),
    "everything": dict(reduction="none", weight=True, g="array", label_smoothing=0.3),
}


def _setup(cfg, rng, n, dtype, with_pw=False):
    kernel = R.kernel_dtype(dtype)
    w = (loguniform(rng, -2, 2, n) * rng.choice([-1, 1], n)).astype(kernel) if cfg.get(
        "weight") else None
    g = cfg.get("g")
    if g == "scalar":
        g = 0.37
    elif g == "array":
        g = (loguniform(rng, -2, 2, n) * rng.choice([-1, 1], n)).astype(kernel)
    else:
        g = 1.0
    pw = loguniform(rng, -2, 2, n).astype(kernel) if with_pw else None
    s = cfg.get("label_smoothing", 0.0)
    red = cfg["reduction"]
    scaled = (w is not None or pw is not None or cfg.get("g") is not None or red == "mean"
              or s != 0)
    nd = n if red == "mean" else 1
    return w, g, pw, s, red, scaled, nd


def _g_for_ref(g, n, dtype):
    """grad_output as the kernel sees it: converted to C first (SPEC 2.3)."""
    g = np.asarray(g).astype(R.kernel_dtype(dtype)).astype(np.float64)
    return np.broadcast_to(g, (n,))


@pytest.mark.parametrize("config", sorted(CONFIGS))
@pytest.mark.parametrize("wrt", ["input", "target"])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_bce_grad_random_sweep_within_bound(dtype, wrt, config):
    # d/dx relative; d/dt (clamped logs) in ulps of the larger log term.
    cfg = CONFIGS[config]
    rng = np.random.default_rng(300 + len(config) + len(wrt))
    n = 2500
    x = random_probabilities(rng, n, dtype)
    t = random_targets(rng, n, dtype)
    w, g, _, s, red, scaled, nd = _setup(cfg, rng, n, dtype)
    got = BCE_GRAD(x, t, w, red, grad_output=g, wrt=wrt, label_smoothing=s)
    assert got.shape == x.shape and got.dtype == dtype
    vals, scales = R.bce_grad(x, t, w, _g_for_ref(g, n, dtype), s, wrt, nd, kernel=dtype)
    R.assert_ulps(got, vals, scales, dtype, R.bound_ulps(dtype, scaled),
                  f"bce grad wrt {wrt} ({config})", {"x": x, "t": t})


@pytest.mark.parametrize("config", sorted(CONFIGS) + ["pos_weight"])
@pytest.mark.parametrize("wrt", ["input", "target"])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_logits_grad_random_sweep_within_bound(dtype, wrt, config):
    # Both gradients in ulps of the larger term (SPEC 3).
    cfg = CONFIGS.get(config, dict(reduction="mean"))
    rng = np.random.default_rng(400 + len(config) + len(wrt))
    n = 2500
    x = random_logits(rng, n, dtype)
    t = random_targets(rng, n, dtype)
    with_pw = config in ("pos_weight", "everything")
    w, g, pw, s, red, scaled, nd = _setup(cfg, rng, n, dtype, with_pw)
    got = BCEL_GRAD(x, t, w, red, pw, grad_output=g, wrt=wrt, label_smoothing=s)
    assert got.shape == x.shape and got.dtype == dtype
    vals, scales = R.logits_grad(x, t, w, pw, _g_for_ref(g, n, dtype), s, wrt, nd, kernel=dtype)
    R.assert_ulps(got, vals, scales, dtype, R.bound_ulps(dtype, scaled),
                  f"logits grad wrt {wrt} ({config})", {"x": x, "t": t})


@pytest.mark.parametrize("pos_weight", [None, 2.5])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_logits_grad_for_binary_targets_has_small_relative_error(dtype, pos_weight):
    # SPEC 2.1: for t in {0, 1} d/dx = lw*sigmoid(x) - pw*t has small relative error even
    # where sigmoid(x) rounds to 1 (x up to 1e4). Read with SPEC 3's bounds, relative:
    # float32 1 ulp, float64 2 ulp (4 ulp with pos_weight).
    xs = np.array([1e-8, 0.5, 1, 5, 17, 20, 30, 37, 40, 88, 100, 300, 700, 745, 1e3, 1e4])
    x = np.concatenate([xs, -xs]).astype(dtype)
    x, t = (a.ravel() for a in np.meshgrid(x, np.array([0, 1], dtype=dtype), indexing="ij"))
    pw = None if pos_weight is None else np.full_like(x, pos_weight)
    got = BCEL_GRAD(x, t, reduction="none", pos_weight=pw)
    vals, scales = R.logits_grad(x, t, pw=pw, relative=True)
    R.assert_ulps(got, vals, scales, dtype, R.bound_ulps(dtype, pw is not None),
                  "logits grad wrt input, t in {0,1}, relative", {"x": x, "t": t})
    # e.g. sigmoid(40) - 1 = -4.248e-18 in float64, not 0 (until exp(-x) underflows)
    limit = 700 if dtype == np.float64 else 100
    assert np.all(got[(t == 1) & (x > 0) & (x <= limit)] < 0)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_bce_grad_wrt_target_is_the_clamped_derivative(dtype):
    # SPEC 2.1: d/dt = max(log(1-x), -100) - max(log x, -100): finite everywhere, 100 at
    # x = 0 and -100 at x = 1 (PyTorch: +-inf). Exact at the endpoints.
    x = np.array([0, 1, 0.5], dtype=dtype)
    t = np.array([0.3, 0.3, 0.9], dtype=dtype)
    got = BCE_GRAD(x, t, reduction="sum", wrt="target")
    np.testing.assert_array_equal(got, np.array([100, -100, 0], dtype=dtype))
    tiny = np.array([1e-50 if dtype == np.float64 else 1e-44], dtype=dtype)  # log x < -100
    g = BCE_GRAD(tiny, np.zeros(1, dtype), reduction="sum", wrt="target")
    assert g[0] == 100


@pytest.mark.parametrize("dtype", ALL_FLOAT_DTYPES)
def test_bce_grad_wrt_input_is_finite_at_endpoints(dtype):
    # SPEC 2.1: (x - t)/max(x(1-x), eps), eps = float32(1e-12): about -+1e12 at x = 0/1
    # with t = 1/0 (inf in float16: computed in float32, then rounded).
    x = np.array([0, 1], dtype=dtype)
    t = np.array([1, 0], dtype=dtype)
    got = BCE_GRAD(x, t, reduction="sum")
    if dtype == np.float16:
        np.testing.assert_array_equal(got, np.array([-np.inf, np.inf], dtype=np.float16))
    else:
        vals = [R.mpf(-1) / R.mpf(R.EPS), R.mpf(1) / R.mpf(R.EPS)]
        R.assert_ulps(got, vals, [abs(v) for v in vals], dtype, R.bound_ulps(dtype, False),
                      "bce grad wrt input at 0/1")


def _hard_label_probabilities(rng, n):
    """float64 x for hard-label d/dx: both sides of the fast form's range edges, x near
    0 and 1 down to 1e-15 (where x*(1-x) < eps), and x in the middle. The range test is
    |x - 1/2| < 1/2 - 2^-38 with x - 1/2 rounded (ulp 2^-54 near 2^-38, 2^-53 near 1), so
    the edge points step by those ulps to land on both sides."""
    edge = np.ldexp(1.0, -38)
    steps = np.arange(-40, 41)
    low = edge + steps * np.ldexp(1.0, -54)
    high = (1.0 - edge) + steps * np.ldexp(1.0, -53)
    for side in (low, high):  # the inputs themselves straddle the edge
        inside = np.abs(side - 0.5) < 0.5 - edge
        assert inside.any() and not inside.all()
    near_edges = np.concatenate([low, high, np.nextafter(0.5, [0.0, 1.0]), [0.5, 0.25]])
    k = (n - near_edges.size) // 3
    x = np.concatenate([near_edges, loguniform(rng, -15, 0, k), 1.0 - loguniform(rng, -15, 0, k),
                        rng.uniform(0, 1, n - near_edges.size - 2 * k)])
    return np.clip(x, 0, 1)


@pytest.mark.parametrize("config", ["plain_sum", "mean", "none_scalar_g", "none_array_g"])
def test_bce_grad_hard_labels_within_bound(config):
    # float64 d/dx for t in {0, 1} and unit weights takes its fast form, sgn/y with y = x
    # or 1 - x (elementwise.h), where x is in [~2^-38, 1 - 2^-38]; the general form
    # elsewhere. Both within SPEC 3 (relative), on whole hard-label arrays (the loops
    # without the select) and interleaved with soft targets (the select).
    cfg = CONFIGS[config]
    rng = np.random.default_rng(77 + len(config))
    n = 3000
    x = _hard_label_probabilities(rng, n)
    t = rng.integers(0, 2, n).astype(np.float64)
    w, g, _, s, red, scaled, nd = _setup(cfg, rng, n, np.float64)
    got = BCE_GRAD(x, t, w, red, grad_output=g)
    vals, scales = R.bce_grad(x, t, w, _g_for_ref(g, n, np.float64), s, "input", nd)
    R.assert_ulps(got, vals, scales, np.float64, R.bound_ulps(np.float64, scaled),
                  f"bce grad wrt input, t in {{0,1}} ({config})", {"x": x, "t": t})
    # one value per element, whichever loop ran: hard chunks alone, with weights of 1
    # given, fused with the loss, and (except for "mean", whose 1/N would change with
    # the doubled size) interleaved with soft targets
    others = [(BCE_GRAD(x, t, np.ones(n), red, grad_output=g), "weights of 1"),
              (BCE_VG(x, t, None, red, grad_output=g)[1], "value_and_grad")]
    if red != "mean":
        xm, tm = np.repeat(x, 2), np.repeat(t, 2)
        tm[1::2] = 0.375
        gm = np.repeat(g, 2) if np.ndim(g) else g
        others.append((BCE_GRAD(xm, tm, None, red, grad_output=gm)[::2],
                       "mixed with soft targets"))
    for other, what in others:
        assert_bitwise_equal(other, got, what)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_logits_grad_at_infinite_logits_is_the_limit(dtype):
    # SPEC 2.1: d/dx -> 1 - t at +inf, -pw*t at -inf; d/dt -> -inf at +inf, +inf at -inf.
    x = np.array([np.inf, np.inf, -np.inf, -np.inf], dtype=dtype)
    t = np.array([1, 0.25, 0, 0.75], dtype=dtype)
    pw = np.full(4, 2.0, dtype=dtype)
    np.testing.assert_array_equal(BCEL_GRAD(x, t, reduction="sum"),
                                  np.array([0, 0.75, 0, -0.75], dtype=dtype))
    np.testing.assert_array_equal(BCEL_GRAD(x, t, reduction="sum", pos_weight=pw),
                                  np.array([0, 0.75, 0, -1.5], dtype=dtype))
    np.testing.assert_array_equal(BCEL_GRAD(x, t, reduction="sum", wrt="target"),
                                  np.array([-np.inf, -np.inf, np.inf, np.inf], dtype=dtype))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_logits_grad_wrt_target_is_minus_x_without_pos_weight(dtype):
    # SPEC 2.1: d/dt = -x exactly (times w, g): no rounding at all for unscaled sums.
    rng = np.random.default_rng(5)
    x = random_logits(rng, 1000, dtype)
    t = random_targets(rng, 1000, dtype)
    np.testing.assert_array_equal(BCEL_GRAD(x, t, reduction="sum", wrt="target"), -x)


@pytest.mark.parametrize("loss", ["bce", "logits"])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_mean_gradient_is_sum_gradient_divided_by_n(dtype, loss):
    # SPEC 1.2: the gradient is of the reduced loss, "mean" divides by N (never by the
    # sum of weights). With N a power of two the division is exact, so bitwise.
    rng = np.random.default_rng(6)
    n = 1024
    if loss == "bce":
        x, f = rng.uniform(0.05, 0.95, n).astype(dtype), BCE_GRAD
    else:
        x, f = rng.uniform(-5, 5, n).astype(dtype), BCEL_GRAD
    t = rng.uniform(0, 1, n).astype(dtype)
    w = rng.uniform(0.5, 4, n).astype(dtype)
    for wrt in ("input", "target"):
        total = f(x, t, w, "sum", wrt=wrt)
        mean = f(x, t, w, "mean", wrt=wrt)
        assert_bitwise_equal(mean * dtype(n), total, f"{loss} wrt {wrt}")


@pytest.mark.parametrize("loss", ["bce", "logits"])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_grad_output_scalar_and_broadcast_array_equal_full_array(dtype, loss):
    # SPEC 1.2: for "none", grad_output is a scalar or an array broadcasting to input.shape;
    # same values give the same bits whatever the shape of grad_output.
    rng = np.random.default_rng(8)
    shape = (6, 5)
    if loss == "bce":
        x, f = rng.uniform(0.01, 0.99, shape).astype(dtype), BCE_GRAD
    else:
        x, f = rng.uniform(-8, 8, shape).astype(dtype), BCEL_GRAD
    t = rng.uniform(0, 1, shape).astype(dtype)
    row = rng.uniform(-2, 2, 5).astype(dtype)
    for wrt in ("input", "target"):
        full = f(x, t, reduction="none", grad_output=np.broadcast_to(row, shape).copy(), wrt=wrt)
        assert_bitwise_equal(f(x, t, reduction="none", grad_output=row, wrt=wrt), full)
        assert_bitwise_equal(f(x, t, reduction="none", grad_output=row[None, :], wrt=wrt), full)
        scalar = f(x, t, reduction="none", grad_output=dtype(0.75), wrt=wrt)
        assert_bitwise_equal(
            scalar, f(x, t, reduction="none", grad_output=np.full(shape, 0.75, dtype), wrt=wrt))
        assert_bitwise_equal(
            f(x, t, reduction="none", grad_output=0.75, wrt=wrt), scalar)
        # sum/mean take a scalar grad_output: the gradient scales with it
        assert_bitwise_equal(f(x, t, reduction="sum", grad_output=2.0, wrt=wrt),
                             f(x, t, reduction="sum", wrt=wrt) * dtype(2))


@pytest.mark.parametrize("loss", ["bce", "logits"])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_label_smoothing_chain_rule_for_target_gradient(dtype, loss):
    # SPEC 2.1: d/dt through t' = t(1-s) + s/2 is (1-s) times d/dt'. Compare with the
    # exact reference (tolerance: float32 1 ulp, float64 4 ulp, larger-term measure) and
    # check s = 1 gives a zero target gradient.
    rng = np.random.default_rng(9)
    n = 800
    s = 0.4
    if loss == "bce":
        x = random_probabilities(rng, n, dtype)
        got = BCE_GRAD(x, random_targets(rng, n, dtype), reduction="sum", wrt="target",
                       label_smoothing=s)
        vals, scales = R.bce_grad(x, np.zeros(n), s=s, wrt="target", kernel=dtype)
        zero = BCE_GRAD(x, np.zeros(n, dtype), reduction="sum", wrt="target",
                        label_smoothing=1.0)
    else:
        x = random_logits(rng, n, dtype)
        pw = loguniform(rng, -1, 1, n).astype(dtype)
        got = BCEL_GRAD(x, random_targets(rng, n, dtype), reduction="sum", pos_weight=pw,
                        wrt="target", label_smoothing=s)
        vals, scales = R.logits_grad(x, np.zeros(n), pw=pw, s=s, wrt="target", kernel=dtype)
        zero = BCEL_GRAD(x, np.zeros(n, dtype), reduction="sum", wrt="target",
                         label_smoothing=1.0)
    R.assert_ulps(got, vals, scales, dtype, R.bound_ulps(dtype, True),
                  f"{loss} grad wrt target (smoothing)")
    assert np.all(zero == 0)


def test_label_smoothing_input_gradient_uses_smoothed_target():
    # SPEC 2.1: with s, d/dx uses t' (logits: sigmoid(x) - t'); at x = 0, t = 1, s = 0.5:
    # sigmoid(0) - 0.75 = -0.25 exactly.
    x = np.zeros(2)
    t = np.ones(2)
    np.testing.assert_array_equal(
        BCEL_GRAD(x, t, reduction="none", label_smoothing=0.5), [-0.25, -0.25])
    # BCE at x = 0.5: (0.5 - 0.75)/0.25 = -1 exactly
    np.testing.assert_array_equal(
        BCE_GRAD(np.full(2, 0.5), t, reduction="none", label_smoothing=0.5), [-1.0, -1.0])


# --- fused value_and_grad ------------------------------------------------------------

FUSED_CASES = [
    dict(reduction="mean"),
    dict(reduction="sum", wrt="target"),
    dict(reduction="none", grad_output="array"),
    dict(reduction="none", weight=True, label_smoothing=0.2, wrt="target"),
    dict(reduction="mean", weight=True, pos_weight=True, grad_output=0.5),
]


@pytest.mark.parametrize("case", range(len(FUSED_CASES)))
@pytest.mark.parametrize("loss", ["bce", "logits"])
@pytest.mark.parametrize("dtype", ALL_FLOAT_DTYPES)
def test_value_and_grad_equals_separate_calls_bitwise(dtype, loss, case):
    # SPEC 1.2: the fused call's results equal the separate calls bit for bit.
    cfg = dict(FUSED_CASES[case])
    rng = np.random.default_rng(10 + case)
    shape = (7, 9)
    n = 63
    if loss == "bce":
        x = random_probabilities(rng, n, dtype).reshape(shape)
        fwd, grad, vg = BCE, BCE_GRAD, BCE_VG
        cfg.pop("pos_weight", None)
    else:
        x = random_logits(rng, n, dtype).reshape(shape)
        fwd, grad, vg = BCEL, BCEL_GRAD, BCEL_VG
    t = random_targets(rng, n, dtype).reshape(shape)
    red = cfg.pop("reduction")
    kw = {}
    if cfg.pop("weight", False):
        kw["weight"] = rng.uniform(0.1, 3, shape[1]).astype(dtype)
    if cfg.pop("pos_weight", False):
        kw["pos_weight"] = rng.uniform(0.1, 3, shape[1]).astype(dtype)
    s = cfg.pop("label_smoothing", 0.0)
    g = cfg.pop("grad_output", 1.0)
    if isinstance(g, str):
        g = rng.uniform(-2, 2, shape).astype(dtype)
    wrt = cfg.pop("wrt", "input")
    value, gradient = vg(x, t, reduction=red, grad_output=g, wrt=wrt, label_smoothing=s, **kw)
    assert_bitwise_equal(value, fwd(x, t, reduction=red, label_smoothing=s, **kw), "value")
    assert_bitwise_equal(
        gradient, grad(x, t, reduction=red, grad_output=g, wrt=wrt, label_smoothing=s, **kw),
        "gradient")
    if red != "none":
        assert type(value) is np.dtype(dtype).type


@pytest.mark.parametrize("loss", ["bce", "logits"])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_value_and_grad_out_pair_is_filled_and_returned(dtype, loss):
    # SPEC 1.2/2.3: out=(loss_out, grad_out), either may be None; the loss part must be
    # None unless reduction is "none".
    rng = np.random.default_rng(11)
    shape = (4, 6)
    if loss == "bce":
        x, fwd, grad, vg = rng.uniform(0.01, 0.99, shape).astype(dtype), BCE, BCE_GRAD, BCE_VG
    else:
        x, fwd, grad, vg = rng.uniform(-9, 9, shape).astype(dtype), BCEL, BCEL_GRAD, BCEL_VG
    t = rng.uniform(0, 1, shape).astype(dtype)
    lo, go = np.empty(shape, dtype), np.empty(shape, dtype)
    v, g = vg(x, t, reduction="none", out=(lo, go))
    assert v is lo and g is go
    assert_bitwise_equal(lo, fwd(x, t, reduction="none"))
    assert_bitwise_equal(go, grad(x, t, reduction="none"))
    go2 = np.empty(shape, dtype)
    v, g = vg(x, t, reduction="mean", out=(None, go2))
    assert g is go2 and type(v) is np.dtype(dtype).type
    assert_bitwise_equal(go2, grad(x, t, reduction="mean"))
    lo3 = np.empty(shape, dtype)
    v, g = vg(x, t, reduction="none", out=(lo3, None))
    assert v is lo3
    assert_bitwise_equal(g, grad(x, t, reduction="none"))


@pytest.mark.parametrize("loss", ["bce", "logits"])
def test_grad_out_is_filled_for_every_reduction(loss):
    # SPEC 2.3: out= for gradients works with any reduction, non-contiguous included.
    rng = np.random.default_rng(12)
    x = rng.uniform(0.1, 0.9, (5, 4))
    t = rng.uniform(0, 1, (5, 4))
    f = BCE_GRAD if loss == "bce" else BCEL_GRAD
    for red in ("none", "sum", "mean"):
        out = np.full((5, 8), np.nan)[:, ::2]
        r = f(x, t, reduction=red, out=out)
        assert r is out
        assert_bitwise_equal(out, f(x, t, reduction=red))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_gradient_of_empty_input_is_empty(dtype):
    # SPEC 2.2/1.2: shaped like input; no division warnings for "mean" of nothing.
    x = np.empty((3, 0), dtype=dtype)
    for f in (BCE_GRAD, BCEL_GRAD):
        for red in ("none", "sum", "mean"):
            g = f(x, x, reduction=red)
            assert g.shape == (3, 0) and g.dtype == dtype


def test_gradient_of_0d_input_is_0d_array():
    # SPEC 1.2: the gradient is shaped like input, for every reduction.
    for f in (BCE_GRAD, BCEL_GRAD):
        for red in ("none", "sum", "mean"):
            g = f(np.float32(0.25), np.float32(1.0), reduction=red)
            assert isinstance(g, np.ndarray) and g.shape == () and g.dtype == np.float32
    # sigmoid(0) - 1 = -0.5 exactly
    assert BCEL_GRAD(np.float64(0), np.float64(1), reduction="mean") == -0.5


@pytest.mark.parametrize("reduction", ["none", "sum"])
def test_logits_grad_subnormal_result_scaled_by_grad_output_within_bound(reduction):
    # SPEC 3: float64 <= 4 ulp with grad_output, over logits down to -1e4. Near
    # x = -710 .. -745, sigmoid(x) is subnormal; multiplying an already-rounded subnormal
    # by grad_output > 1 magnifies its error (x = -740, g = 100 was 21.9 ulp). The result
    # itself is subnormal, so its ulp is the subnormal spacing (relative ulps, SPEC 3).
    x = -np.array([709.5, 711.0, 715.3, 720.0, 725.0, 730.0, 735.5, 740.0, 744.0])
    t = np.zeros_like(x)
    for g in (5.0, 100.0, 1000.0):
        go = np.full_like(x, g) if reduction == "none" else g
        got = BCEL_GRAD(x, t, reduction=reduction, grad_output=go)
        vals, scales = R.logits_grad(x, t, g=np.full_like(x, g))
        R.assert_ulps(got, vals, scales, np.float64, R.bound_ulps(np.float64, True),
                      "logits grad wrt input (subnormal sigmoid x grad_output)",
                      {"x": x, "g": g})


def test_bce_grad_subnormal_result_scaled_by_grad_output_within_bound():
    # Same class as above, found by hypothesis: x = 0 with a subnormal target gives
    # (0 - t)/eps, subnormal; grad_output = 21 applied after rounding was 4.14 ulp.
    # SPEC 3: float64 <= 4 ulp with grad_output; targets in [0, 1] (subnormals included).
    t = np.array([5e-324, 1e-323, 3e-320, 1e-315, 2e-312])
    x = np.zeros_like(t)
    for g in (21.0, 100.0, 1000.0):
        got = BCE_GRAD(x, t, reduction="none", grad_output=np.full_like(x, g))
        vals, scales = R.bce_grad(x, t, g=np.full_like(x, g))
        R.assert_ulps(got, vals, scales, np.float64, R.bound_ulps(np.float64, True),
                      "bce grad wrt input (subnormal (x - t)/eps x grad_output)",
                      {"t": t, "g": g})
