"""Exact references for the formulas of SPEC 2.1 and the error measure of SPEC 3.

Everything here is independent of cbce: mpmath at ``DPS`` decimal digits evaluates the
formulas on the exact binary values the kernels see, and ``err_ulps`` implements the
measure of SPEC 3:

* relative ulps of the exact result, in the result dtype (the ulp of a subnormal or zero
  result is the smallest subnormal, so an underflowed result may be 0);
* where the formula subtracts two inexact terms (logits gradients, the BCE target gradient,
  logits losses with targets outside [0, 1] or a negative pos_weight) ulps of the larger
  term's magnitude (or of the result, when the terms add up to more than either: the
  measure relaxes the relative one for cancellation and never tightens it);
* for ``"sum"``/``"mean"``: ulps of the sum of the magnitudes of cbce's own elementwise
  values (``sum_err_ulps``), with the exact sum formed in integers.

Each reference function returns two lists, ``values`` (exact results, mpmath numbers, or
``inf``/``nan`` where SPEC 2.1 prescribes a limit) and ``scales`` (the magnitude whose ulp
is the unit of error).
"""

from __future__ import annotations

import math

import mpmath
import numpy as np

DPS = 64
ctx = mpmath.MPContext()
ctx.dps = DPS
mpf = ctx.mpf

F16, F32, F64 = np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)

# SPEC 2.1: eps = 1e-12 rounded to float32 and widened.
EPS = float(np.float32(1e-12))

# (precision p in bits including the hidden bit, smallest normal exponent)
_FORMATS = {F16: (11, -14), F32: (24, -126), F64: (53, -1022)}

# Largest error seen per (what, dtype): printed at the end of the run by conftest.py.
STATS: dict[tuple[str, str], float] = {}


def kernel_dtype(dtype) -> np.dtype:
    """SPEC 2.3: the kernel dtype C is float32 for float16 input, else the input dtype."""
    dtype = np.dtype(dtype)
    return F32 if dtype == F16 else dtype


def bound_ulps(dtype, scaled: bool) -> int:
    """SPEC 3: float32/float16 <= 1 ulp; float64 <= 2 ulp unscaled, <= 4 ulp scaled."""
    dtype = np.dtype(dtype)
    if dtype in (F16, F32):
        return 1
    return 4 if scaled else 2


def ulp(magnitude, dtype):
    """The ulp of a value of this magnitude in ``dtype`` (subnormal spacing below normal)."""
    p, emin = _FORMATS[np.dtype(dtype)]
    m = abs(mpf(magnitude))
    if m == 0 or not ctx.isfinite(m):
        e = emin
    else:
        _, e2 = ctx.frexp(m)  # m = f * 2**e2 with 0.5 <= f < 1
        e = max(int(e2) - 1, emin)
    return ctx.ldexp(mpf(1), e - p + 1)


def _overflow_threshold(dtype):
    big = mpf(float(np.finfo(dtype).max))
    return big + ulp(big, dtype) / 2


def _is_nan(v) -> bool:
    return isinstance(v, float) and math.isnan(v) or (not isinstance(v, float) and ctx.isnan(v))


def err_ulps(computed, exact, scale, dtype) -> float:
    """|computed - exact| in ulps (in ``dtype``) of ``scale``; 0 or inf for specials."""
    c = float(computed)
    if _is_nan(exact):
        return 0.0 if math.isnan(c) else math.inf
    if math.isnan(c):
        return math.inf
    e = mpf(exact)
    if ctx.isinf(e):
        return 0.0 if c == float(e) else math.inf
    if math.isinf(c):
        # Correct rounding overflows only beyond max + ulp(max)/2, with the same sign.
        ok = abs(e) >= _overflow_threshold(dtype) and (c > 0) == (e > 0)
        return 0.0 if ok else math.inf
    return float(abs(mpf(c) - e) / ulp(scale, dtype))


def record(what: str, dtype, value: float) -> None:
    key = (what, np.dtype(dtype).name)
    if value > STATS.get(key, -1.0):
        STATS[key] = value


def assert_ulps(computed, values, scales, dtype, bound, what, context=None):
    """Assert every element of ``computed`` is within ``bound`` ulps; record the maximum."""
    flat = np.asarray(computed).ravel()
    assert flat.size == len(values)
    worst, worst_i = -1.0, -1
    for i, (c, v, s) in enumerate(zip(flat.tolist(), values, scales)):
        err = err_ulps(c, v, s, dtype)
        if err > worst:
            worst, worst_i = err, i
    if flat.size:
        record(what, dtype, worst if math.isfinite(worst) else math.inf)
    if worst > bound:
        extra = ""
        if context is not None:
            extra = ", ".join(
                f"{k}={np.asarray(a).ravel()[worst_i] if np.ndim(a) else a!r}"
                for k, a in context.items()
            )
        raise AssertionError(
            f"{what} [{np.dtype(dtype).name}]: error {worst:.3g} ulp > {bound} ulp at flat "
            f"index {worst_i} ({extra}): got {flat[worst_i]!r}, exact "
            f"{ctx.nstr(mpf(values[worst_i]), 20) if not _is_nan(values[worst_i]) else 'nan'}"
        )
    return worst


# ---------------------------------------------------------------------------------------
# Operands as the kernels see them


def as_exact(a, shape) -> list[float]:
    """An operand broadcast to ``shape`` as a flat list of Python floats (exact values)."""
    if a is None:
        return [1.0] * int(np.prod(shape, dtype=np.int64))
    return np.broadcast_to(np.asarray(a, dtype=np.float64), shape).ravel().tolist()


def smooth(t, s: float, kernel) -> np.ndarray:
    """SPEC 1.1/3: t' = t*(1-s) + 0.5*s, formed in float64 from t converted to C."""
    t = np.asarray(t).astype(kernel_dtype(kernel)).astype(np.float64)
    if s == 0:
        return t
    return t * (1.0 - s) + 0.5 * s  # numpy float64: IEEE, no contraction


def _clamped_log(v):
    """max(log v, -100), with log 0 = -inf."""
    if v <= 0:
        return mpf(-100)
    return max(ctx.log(v), mpf(-100))


def _clamped_log1m(v):
    """max(log(1 - v), -100); log1p keeps tiny v exact (1 - 5e-324 is not 1)."""
    if v >= 1:
        return mpf(-100)
    lg = ctx.log1p(-v) if v < 0.5 else ctx.log(1 - v)  # 1 - v is exact for v >= 0.5
    return max(lg, mpf(-100))


def _softplus(z):
    return ctx.log1p(ctx.exp(z))


def _sigmoid(z):
    return 1 / (1 + ctx.exp(-z))


# ---------------------------------------------------------------------------------------
# BCE on probabilities


def bce_loss(x, t, w=None, s=0.0, kernel=F64):
    """l = -w * (t' log x + (1 - t') log(1 - x)), logs clamped at -100 (SPEC 2.1)."""
    shape = np.shape(x)
    tp = smooth(np.broadcast_to(t, shape), s, kernel)
    vals, scales = [], []
    for xi, ti, wi in zip(as_exact(x, shape), tp.ravel().tolist(), as_exact(w, shape)):
        X, T = mpf(xi), mpf(ti)
        v = -mpf(wi) * (T * _clamped_log(X) + (1 - T) * _clamped_log1m(X))
        vals.append(v)
        scales.append(abs(v))
    return vals, scales


def bce_grad(x, t, w=None, g=None, s=0.0, wrt="input", n=1, kernel=F64):
    """d/dx: (x - t')/max(x(1-x), eps); d/dt: (1-s)(clog(1-x) - clog(x)); times w g / n."""
    shape = np.shape(x)
    tp = smooth(np.broadcast_to(t, shape), s, kernel)
    vals, scales = [], []
    for xi, ti, wi, gi in zip(as_exact(x, shape), tp.ravel().tolist(), as_exact(w, shape),
                              as_exact(g, shape)):
        X, T = mpf(xi), mpf(ti)
        m = mpf(wi) * mpf(gi) / n
        if wrt == "input":
            v = m * (X - T) / max(X * (1 - X), mpf(EPS))
            vals.append(v)
            scales.append(abs(v))
        else:
            a, b = _clamped_log1m(X), _clamped_log(X)
            m = m * (1 - mpf(s))
            vals.append(m * (a - b))
            scales.append(max(abs(m * (a - b)), abs(m) * max(abs(a), abs(b))))
    return vals, scales


# ---------------------------------------------------------------------------------------
# BCE with logits


def _logits_terms(X, T, P):
    """SPEC 2.1's cancellation-free form of the logits loss: the two terms, and the largest
    magnitude among them with lw = pw*t + (1 - t) expanded (lw itself subtracts two
    inexact terms when pw < 0 or t is outside [0, 1])."""
    lw = P * T + (1 - T)
    sp = _softplus(-X) if X > 0 else _softplus(X)
    a = (1 - T) * X if X > 0 else -P * T * X
    b = lw * sp
    return a, b, max(abs(a), abs(P * T * sp), abs((1 - T) * sp))


def logits_loss(x, t, w=None, pw=None, s=0.0, kernel=F64):
    """l = w ((1 - t') x + lw softplus(-x)), lw = pw t' + 1 - t' (SPEC 2.1)."""
    shape = np.shape(x)
    tp = smooth(np.broadcast_to(t, shape), s, kernel)
    vals, scales = [], []
    for xi, ti, wi, pi in zip(as_exact(x, shape), tp.ravel().tolist(), as_exact(w, shape),
                              as_exact(pw, shape)):
        if math.isnan(xi) or math.isnan(ti) or math.isnan(wi) or math.isnan(pi):
            vals.append(math.nan)
            scales.append(0)
            continue
        if math.isinf(xi):
            # SPEC 2.1 limits (tests use 0 <= t <= 1, 0 < pw < inf, finite w != 0)
            if xi > 0:
                lim = 0.0 if ti == 1 else math.inf
            else:
                lim = 0.0 if ti == 0 else math.inf
            vals.append(math.copysign(lim, wi) if lim else 0.0)
            scales.append(0)
            continue
        X, T, P, W = mpf(xi), mpf(ti), mpf(pi), mpf(wi)
        a, b, largest = _logits_terms(X, T, P)
        v = W * (a + b)
        vals.append(v)
        if 0 <= T <= 1 and P >= 0:
            scales.append(abs(v))
        else:
            scales.append(max(abs(v), abs(W) * largest))
    return vals, scales


def logits_grad(x, t, w=None, pw=None, g=None, s=0.0, wrt="input", n=1, kernel=F64,
                relative=False):
    """d/dx: lw sigmoid(x) - pw t'; d/dt: (1-s)(-x + (pw-1) softplus(-x)); times w g / n.

    ``relative=True`` measures d/dx relative to the exact result (SPEC 2.1: no saturation
    for t in {0, 1}) instead of in ulps of the larger term (SPEC 3).
    """
    shape = np.shape(x)
    tp = smooth(np.broadcast_to(t, shape), s, kernel)
    vals, scales = [], []
    for xi, ti, wi, pi, gi in zip(as_exact(x, shape), tp.ravel().tolist(), as_exact(w, shape),
                                  as_exact(pw, shape), as_exact(g, shape)):
        if any(math.isnan(v) for v in (xi, ti, wi, pi, gi)):
            vals.append(math.nan)
            scales.append(0)
            continue
        X, T, P = mpf(xi), mpf(ti), mpf(pi)
        m = mpf(wi) * mpf(gi) / n
        if wrt == "input":
            if math.isinf(xi):
                lim = (1 - T) if xi > 0 else -P * T
                vals.append(m * lim)
                scales.append(abs(m * lim))
                continue
            sig, sigm = _sigmoid(X), _sigmoid(-X)
            # lw*sig - pw*t == (1-t)*sig - pw*t*sigmoid(-x): no cancellation in the reference
            v = m * ((1 - T) * sig - P * T * sigm)
            vals.append(v)
            lw = P * T + (1 - T)
            terms = max(abs(lw * sig), abs(P * T), abs((1 - T) * sig))  # lw expanded
            scales.append(abs(v) if relative else max(abs(v), abs(m) * terms))
        else:
            m = m * (1 - mpf(s))
            if math.isinf(xi):
                # -x + (pw - 1) softplus(-x): -inf at +inf; pw * inf at -inf (pw > 0)
                lim = -math.inf if xi > 0 else math.inf
                vals.append(lim if m > 0 else -lim)
                scales.append(0)
                continue
            a, b = -X, (P - 1) * _softplus(-X)
            vals.append(m * (a + b))
            scales.append(max(abs(m * (a + b)), abs(m) * max(abs(a), abs(b))))
    return vals, scales


# ---------------------------------------------------------------------------------------
# Reductions


def _as_int(v: float) -> int:
    num, den = float(v).as_integer_ratio()
    return num * ((1 << 1074) // den)


def exact_sum(values) -> tuple:
    """Exact (sum, sum of magnitudes) of finite float values, as mpmath numbers."""
    tot = mag = 0
    for v in np.asarray(values, dtype=np.float64).ravel().tolist():
        k = _as_int(v)
        tot += k
        mag += abs(k)
    scale = mpf(2) ** -1074
    return mpf(tot) * scale, mpf(mag) * scale


def sum_err_ulps(result, elementwise, dtype, mean=False) -> float:
    """SPEC 3: error of a reduction in ulps of the sum of magnitudes of cbce's own
    elementwise values (divided by N for "mean")."""
    el = np.asarray(elementwise, dtype=np.float64).ravel()
    n = el.size
    if not np.all(np.isfinite(el)):
        raise ValueError("sum_err_ulps needs finite elementwise values")
    s, m = exact_sum(el)
    if mean:
        s, m = s / n, m / n
    return err_ulps(result, s, m, dtype)


def assert_sum(result, elementwise, dtype, mean, what):
    err = sum_err_ulps(result, elementwise, dtype, mean=mean)
    record(what, dtype, err)
    assert err <= 1, f"{what} [{np.dtype(dtype).name}]: {err:.3g} ulp > 1 ulp (got {result!r})"
    return err
