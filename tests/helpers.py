"""Small helpers shared by the test modules (no cbce internals)."""

import numpy as np

FLOAT_DTYPES = (np.float32, np.float64)
ALL_FLOAT_DTYPES = (np.float16, np.float32, np.float64)

_UINT = {2: np.uint16, 4: np.uint32, 8: np.uint64}


def bits(a):
    """The raw bits of an array or NumPy scalar, in native byte order."""
    a = np.asarray(a)
    a = a.astype(a.dtype.newbyteorder("="), copy=False)
    return a.view(_UINT[a.dtype.itemsize])


def assert_bitwise_equal(a, b, what=""):
    """Same shape, same dtype, identical bits (NaN payloads and zero signs included)."""
    a_arr, b_arr = np.asarray(a), np.asarray(b)
    assert a_arr.shape == b_arr.shape, f"{what}: shapes {a_arr.shape} != {b_arr.shape}"
    assert a_arr.dtype.type is b_arr.dtype.type, f"{what}: dtypes {a_arr.dtype} != {b_arr.dtype}"
    ba, bb = bits(a_arr), bits(b_arr)
    if not np.array_equal(ba, bb):
        idx = np.flatnonzero(ba.ravel() != bb.ravel())
        i = idx[0]
        raise AssertionError(
            f"{what}: {idx.size} element(s) differ in bits, first at flat index {i}: "
            f"{a_arr.ravel()[i]!r} != {b_arr.ravel()[i]!r}"
        )


def loguniform(rng, lo_exp, hi_exp, size):
    return 10.0 ** rng.uniform(lo_exp, hi_exp, size)


def random_probabilities(rng, n, dtype):
    """Probabilities over the whole domain: near 0 (subnormals included), near 1, middle."""
    dtype = np.dtype(dtype)
    tiny_exp = -323 if dtype == np.float64 else (-45 if dtype == np.float32 else -7.5)
    near1_exp = -16 if dtype == np.float64 else (-7.5 if dtype == np.float32 else -3.3)
    k = n // 3
    x = np.concatenate([
        loguniform(rng, tiny_exp, 0, k),
        1.0 - loguniform(rng, near1_exp, 0, k),
        rng.uniform(0, 1, n - 2 * k),
    ])
    x = np.clip(x.astype(dtype), 0, 1)
    rng.shuffle(x)
    return x


def random_logits(rng, n, dtype, lo=-10, hi=4):
    """Logits of both signs, magnitudes log-uniform in [10**lo, 10**hi]."""
    dtype = np.dtype(dtype)
    if dtype == np.float16:
        lo, hi = max(lo, -7), min(hi, 4.5)
    sign = rng.choice([-1.0, 1.0], n)
    return (sign * loguniform(rng, lo, hi, n)).astype(dtype)


def random_targets(rng, n, dtype):
    """Targets in [0, 1]: a third 0/1 labels, a third uniform, a third near 0 or 1."""
    k = n // 3
    tiny = loguniform(rng, -30, 0, n - 2 * k)
    near = np.where(rng.random(n - 2 * k) < 0.5, tiny, 1.0 - tiny)
    t = np.concatenate([rng.integers(0, 2, k).astype(float), rng.uniform(0, 1, k), near])
    t = np.clip(t.astype(dtype), 0, 1)
    rng.shuffle(t)
    return t
