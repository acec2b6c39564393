"""Criterion classes BCELoss and BCEWithLogitsLoss (SPEC 1.3, 2.3)."""

import pickle

import numpy as np
import pytest

import cbce
from helpers import assert_bitwise_equal

CLASSES = {
    "BCELoss": (cbce.BCELoss, cbce.binary_cross_entropy, cbce.binary_cross_entropy_grad,
                cbce.binary_cross_entropy_value_and_grad),
    "BCEWithLogitsLoss": (cbce.BCEWithLogitsLoss, cbce.binary_cross_entropy_with_logits,
                          cbce.binary_cross_entropy_with_logits_grad,
                          cbce.binary_cross_entropy_with_logits_value_and_grad),
}


def _data(name, shape=(8, 3), dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.02, 0.98, shape) if name == "BCELoss" else rng.normal(0, 4, shape)
    return x.astype(dtype), rng.uniform(0, 1, shape).astype(dtype)


def _settings(name):
    kw = dict(weight=np.array([0.5, 1.0, 2.0]), reduction="sum", label_smoothing=0.1)
    if name == "BCEWithLogitsLoss":
        kw["pos_weight"] = np.array([3.0, 1.0, 0.25])
    return kw


@pytest.mark.parametrize("name", sorted(CLASSES))
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_call_and_forward_equal_the_function(name, reduction):
    cls, fwd, _, _ = CLASSES[name]
    kw = _settings(name)
    kw["reduction"] = reduction
    crit = cls(**kw)
    x, t = _data(name)
    want = fwd(x, t, **kw)
    assert_bitwise_equal(crit(x, t), want, "__call__")
    assert_bitwise_equal(crit.forward(x, t), want, "forward")


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_default_reduction_is_mean(name):
    cls, fwd, _, _ = CLASSES[name]
    x, t = _data(name)
    r = cls()(x, t)
    assert type(r) is np.float64
    assert_bitwise_equal(r, fwd(x, t, reduction="mean"))


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_backward_before_forward_is_runtime_error(name):
    cls = CLASSES[name][0]
    with pytest.raises(RuntimeError) as info:
        cls().backward()
    assert len(str(info.value)) > 10  # a clear message, not an empty one


@pytest.mark.parametrize("name", sorted(CLASSES))
@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_backward_is_gradient_wrt_input_of_last_forward(name, reduction):
    cls, _, grad, _ = CLASSES[name]
    kw = _settings(name)
    kw["reduction"] = reduction
    crit = cls(**kw)
    x1, t1 = _data(name, seed=1)
    x2, t2 = _data(name, seed=2)
    crit(x1, t1)
    crit.forward(x2, t2)  # the last call counts
    assert_bitwise_equal(crit.backward(), grad(x2, t2, **kw))
    g = np.linspace(-1, 1, 24).reshape(8, 3) if reduction == "none" else 2.5
    assert_bitwise_equal(crit.backward(g), grad(x2, t2, grad_output=g, **kw))
    assert_bitwise_equal(crit.backward(grad_output=g), grad(x2, t2, grad_output=g, **kw))
    crit(x1, t1)
    assert_bitwise_equal(crit.backward(), grad(x1, t1, **kw))


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_value_and_grad_is_the_fused_call_and_records_arguments(name):
    cls, _, grad, vg = CLASSES[name]
    kw = _settings(name)
    crit = cls(**kw)
    x, t = _data(name, seed=3)
    v, g = crit.value_and_grad(x, t)
    wv, wg = vg(x, t, **kw)
    assert_bitwise_equal(v, wv)
    assert_bitwise_equal(g, wg)
    assert_bitwise_equal(crit.backward(), grad(x, t, **kw))


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_properties_are_read_only(name):
    cls = CLASSES[name][0]
    crit = cls(**_settings(name))
    props = ["weight", "reduction", "label_smoothing"]
    if name == "BCEWithLogitsLoss":
        props.append("pos_weight")
    for p in props:
        with pytest.raises(AttributeError):
            setattr(crit, p, None)
    assert crit.reduction == "sum"
    assert crit.label_smoothing == 0.1
    np.testing.assert_array_equal(crit.weight, [0.5, 1.0, 2.0])
    if name == "BCEWithLogitsLoss":
        np.testing.assert_array_equal(crit.pos_weight, [3.0, 1.0, 0.25])


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_defaults_of_properties(name):
    crit = CLASSES[name][0]()
    assert crit.weight is None and crit.reduction == "mean" and crit.label_smoothing == 0.0
    if name == "BCEWithLogitsLoss":
        assert crit.pos_weight is None


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_weights_are_stored_as_read_only_copies(name):
    cls = CLASSES[name][0]
    w = np.array([1.0, 2.0, 3.0])
    kw = {"weight": w}
    if name == "BCEWithLogitsLoss":
        pw = np.array([2.0, 2.0, 2.0])
        kw["pos_weight"] = pw
    crit = cls(**kw)
    x, t = _data(name)
    before = crit(x, t)
    w[:] = 100.0
    if name == "BCEWithLogitsLoss":
        pw[:] = 100.0
    assert_bitwise_equal(crit(x, t), before, "caller's array changed the criterion")
    assert not crit.weight.flags.writeable
    assert not np.shares_memory(crit.weight, w)
    with pytest.raises(ValueError):
        crit.weight[0] = 5.0
    if name == "BCEWithLogitsLoss":
        assert not crit.pos_weight.flags.writeable
        assert not np.shares_memory(crit.pos_weight, pw)


@pytest.mark.parametrize("wdtype", [np.int64, np.int8, np.bool_])
@pytest.mark.parametrize("name", sorted(CLASSES))
def test_integer_and_bool_weights_become_float64(name, wdtype):
    # SPEC 2.3: integer and bool weights converted to float64.
    cls = CLASSES[name][0]
    kw = {"weight": np.array([1, 0, 1], dtype=wdtype)}
    if name == "BCEWithLogitsLoss":
        kw["pos_weight"] = np.array([2, 1, 1], dtype=wdtype)
    crit = cls(**kw)
    assert crit.weight.dtype == np.float64
    if name == "BCEWithLogitsLoss":
        assert crit.pos_weight.dtype == np.float64
    # list weights are accepted too
    assert cls(weight=[1, 2, 3]).weight.dtype == np.float64


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_reduction_validated_at_construction(name):
    with pytest.raises(ValueError, match="^'sums' is not a valid value for reduction$"):
        CLASSES[name][0](reduction="sums")


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_repr_shows_non_default_settings(name):
    cls = CLASSES[name][0]
    assert name in repr(cls())
    r = repr(cls(reduction="sum"))
    assert name in r and "reduction" in r and "sum" in r
    r = repr(cls(label_smoothing=0.25))
    assert "label_smoothing" in r and "0.25" in r
    r = repr(cls(weight=np.array([1.5, 2.0])))
    assert "weight" in r and "1.5" in r
    if name == "BCEWithLogitsLoss":
        r = repr(cls(pos_weight=np.array([4.0])))
        assert "pos_weight" in r and "4" in r


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_pickle_round_trip_and_equality_by_settings(name):
    cls = CLASSES[name][0]
    kw = _settings(name)
    crit = cls(**kw)
    clone = pickle.loads(pickle.dumps(crit))
    assert clone == crit and type(clone) is cls
    x, t = _data(name)
    assert_bitwise_equal(clone(x, t), crit(x, t))
    assert cls(**kw) == crit
    assert cls() == cls()
    assert cls() != crit
    assert cls(reduction="none") != cls()
    assert cls(label_smoothing=0.2) != cls()
    assert cls(weight=np.array([1.0, 2.0])) == cls(weight=np.array([1.0, 2.0]))
    assert cls(weight=np.array([1.0, 2.0])) != cls(weight=np.array([1.0, 3.0]))
    assert cls(weight=np.array([1.0, 2.0])) != cls()
    other = cbce.BCELoss if cls is cbce.BCEWithLogitsLoss else cbce.BCEWithLogitsLoss
    assert cls() != other()
    # equality ignores the recorded arguments of the last forward call
    used = cls(**kw)
    used(x, t)
    assert used == cls(**kw)


def test_pos_weight_lines_up_with_class_axis():
    # R's multi-label description: pos_weight (C,) weighs the positives of class c.
    x = np.zeros((4, 3))
    t = np.ones((4, 3))
    crit = cbce.BCEWithLogitsLoss(pos_weight=np.array([1.0, 2.0, 4.0]), reduction="none")
    got = crit(x, t)
    # SPEC 3: 4 ulp (pos_weight scales), + 0.5 ulp for NumPy's own log(2)
    np.testing.assert_allclose(got, np.log(2) * np.array([[1.0, 2.0, 4.0]] * 4),
                               rtol=4.5 * 2.0**-52, atol=0)


def test_float32_input_with_float64_class_weights_stays_float32():
    # SPEC 2.3: weights are converted to the kernel dtype; the result dtype is input.dtype.
    crit = cbce.BCELoss(weight=np.array([0.5, 1.0, 2.0]), reduction="none")
    x, t = _data("BCELoss", dtype=np.float32)
    r = crit(x, t)
    assert r.dtype == np.float32
    assert_bitwise_equal(r, cbce.binary_cross_entropy(x, t, np.float32([0.5, 1.0, 2.0]),
                                                      reduction="none"))
