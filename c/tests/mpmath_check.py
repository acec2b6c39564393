"""Cross-check cbce's element formulas (c/src/elementwise.h) against mpmath.

Compiles a tiny C driver (into a temporary directory) that evaluates every
cbce_ew_* function and the vmath exp/log/log1p at sample points and prints the
results as hex doubles; recomputes each value with mpmath at 60 digits from
the exact double inputs; prints the largest error per function in ulps
(float64; for differences of two inexact terms -- the logits gradients and the
BCE target gradient -- in ulps of the largest term, as SPEC 3 says) and fails
(exit 1) above the SPEC 3 bound of 2 ulp.

Usage: python3 c/tests/mpmath_check.py [n_random]   (needs gcc and mpmath)
"""

import os
import random
import subprocess
import sys
import tempfile

import mpmath

mpmath.mp.dps = 60
HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..", "src")
INC = os.path.join(HERE, "..", "include")
BOUND = 2.0

DRIVER = r"""
#include <stdio.h>
#include <stdlib.h>
#include "elementwise.h"
int main(void)
{
    char f[32];
    double x, t, p;
    while (scanf("%31s %la %la %la", f, &x, &t, &p) == 4) {
        double r;
        switch (f[0]) {
        case 'a': r = cbce_ew_bce_loss(x, t); break;
        case 'b': r = cbce_ew_bce_dx(x, t); break;
        case 'c': r = cbce_ew_bce_dt(x); break;
        case 'd': r = cbce_ew_logits_loss(x, t, p); break;
        case 'e': r = cbce_ew_logits_dx(x, t, p); break;
        case 'f': r = cbce_ew_logits_dt(x, p); break;
        case 'g': r = cbce_vexp(x); break;
        case 'h': r = cbce_vlog(x); break;
        default: r = cbce_vlog1p(x); break;
        }
        printf("%a\n", r);
    }
    return 0;
}
"""

mpf = mpmath.mpf


def clamp(v):
    return max(v, mpf(-100))


def log_(x):
    return mpmath.log(x) if x > 0 else mpf("-inf")


def log1m(x):
    return mpmath.log1p(-x) if x < 1 else mpf("-inf")


def sp(a):  # softplus(-a)
    return mpmath.log1p(mpmath.exp(-a))


def ref(code, x, t, p):
    """exact value and the magnitude the error is measured against"""
    x, t, p = mpf(x), mpf(t), mpf(p)
    if code == "a":
        v = -(t * clamp(log_(x)) + (1 - t) * clamp(log1m(x)))
        return v, abs(v)
    if code == "b":
        eps = mpf(float.fromhex("0x1.1979980000000p-40"))  # (double)1e-12f
        return (x - t) / max(x * (1 - x), eps), None
    if code == "c":
        a, b = clamp(log_(x)), clamp(log1m(x))
        return b - a, max(abs(a), abs(b), abs(b - a))
    a = abs(x)
    lw = 1 + (p - 1) * t
    if code == "d":
        v = ((1 - t) * a if x > 0 else p * t * a) + lw * sp(a)
        return v, abs(v)
    if code == "e":
        e = mpmath.exp(-a)
        s = e / (1 + e)
        c = (1 - t) if x > 0 else p * t
        v = c - lw * s if x > 0 else lw * s - c
        return v, max(abs(c), abs(lw * s), abs(v))
    if code == "f":
        c = -a if x > 0 else p * a
        v = c + (p - 1) * sp(a)
        return v, max(abs(c), abs((p - 1) * sp(a)), abs(v))
    if code == "g":
        return mpmath.exp(x), None
    if code == "h":
        return mpmath.log(x), None
    return mpmath.log1p(x), None


def ulp(m):
    m = abs(m)
    if m == 0:
        return mpf(2) ** -1074
    e = int(mpmath.floor(mpmath.log(m, 2)))
    return mpf(2) ** max(e - 52, -1074)


NAMES = {
    "a": "bce_loss", "b": "bce_dx", "c": "bce_dt", "d": "logits_loss",
    "e": "logits_dx", "f": "logits_dt", "g": "vexp", "h": "vlog", "i": "vlog1p",
}


def points(n, rng):
    probs = [1.0, 5e-324, 1e-310, 2.2250738585072014e-308, 1e-300, 3.720075976020836e-44,
             1e-8, 0.1, 0.29289321881345254, 0.5, 0.9, 1 - 1e-8, 1 - 2**-53]
    logits = [0.0, 1e-8, 1.0, 17.0, 37.0, 88.0, 700.0, 744.0, 1e4]
    targets = [0.0, 1.0, 0.5, 0.3, 1e-9]
    pws = [1.0, 0.0, 0.5, 3.0, 1000.0]
    out = []
    for x in probs:
        for t in targets:
            out += [("a", x, t, 1.0), ("b", x, t, 1.0)]
        out.append(("c", x, 0.0, 1.0))
        out += [("h", x, 0, 0), ("i", -x if x < 1 else -0.5, 0, 0)]
    for x in logits:
        for s in (1, -1):
            out.append(("g", -x, 0, 0))
            for t in targets:
                for p in pws:
                    out += [("d", s * x, t, p), ("e", s * x, t, p), ("f", s * x, t, p)]
    for _ in range(n):
        x = rng.choice([10 ** rng.uniform(-300, 0), 1 - 10 ** rng.uniform(-16, -0.3), rng.random()])
        t = rng.choice([0.0, 1.0, rng.random(), 10 ** rng.uniform(-20, 0)])
        out += [("a", x, t, 1.0), ("b", x, t, 1.0), ("c", x, 0, 1.0)]
        z = rng.choice([-1, 1]) * 10 ** rng.uniform(-10, 4)
        p = rng.choice([1.0, 1.0, 10 ** rng.uniform(-3, 3)])
        out += [("d", z, t, p), ("e", z, t, p), ("f", z, t, p)]
        out += [("g", -(10 ** rng.uniform(-10, 2.87)), 0, 0), ("h", 10 ** rng.uniform(-307, 307), 0, 0),
                ("i", 10 ** rng.uniform(-20, 3) * rng.choice([1, -1e-3]), 0, 0)]
    return out


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    rng = random.Random(12345)
    pts = points(n, rng)
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "drv.c")
        exe = os.path.join(d, "drv")
        with open(src, "w") as f:
            f.write(DRIVER)
        subprocess.run(["gcc", "-std=c99", "-O2", "-ffp-contract=off", "-I" + SRC, "-I" + INC,
                        src, "-o", exe], check=True)
        inp = "".join(f"{c} {float(x).hex()} {float(t).hex()} {float(p).hex()}\n" for c, x, t, p in pts)
        res = subprocess.run([exe], input=inp, capture_output=True, text=True, check=True).stdout.split()
    worst = {}
    for (c, x, t, p), r in zip(pts, res):
        got = float.fromhex(r)
        v, scale = ref(c, x, t, p)
        if mpmath.isinf(v):
            err = 0.0 if got == float(v) else float("inf")
        else:
            unit = ulp(v if scale is None else scale)
            err = float(abs(mpf(got) - v) / unit)
        if err > worst.get(c, (-1,))[0]:
            worst[c] = (err, x, t, p)
    bad = 0
    print(f"{len(pts)} points, mpmath at {mpmath.mp.dps} digits; max error in float64 ulps:")
    for c in sorted(worst):
        err, x, t, p = worst[c]
        flag = "" if err <= BOUND else "  FAIL"
        bad += err > BOUND
        print(f"  {NAMES[c]:12s} {err:.3f} ulp at x={x!r} t={t!r} pw={p!r}{flag}")
    print(f"{len(worst) - bad} passed, {bad} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
