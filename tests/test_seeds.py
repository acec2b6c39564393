"""The examples of the seed documents (/shared/seeds), written in Python with NumPy.

000/002 (R nn_bce_loss), 001 (PyTorch BCELoss), 003 (TypeScript BCELoss: binary and
multi-label examples), 004 (R nn_bce_with_logits_loss with the 64-class pos_weight example).
"""

import numpy as np
import pytest

import cbce
import reference as R


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _check_mean_bce(out, p, t, dtype):
    # mean of N positive losses: elementwise <= bound (SPEC 3) plus <= 1 ulp for the sum
    vals, _ = R.bce_loss(p, t)
    exact = R.ctx.fsum(vals) / p.size
    err = R.err_ulps(out, exact, exact, dtype)
    assert err <= R.bound_ulps(dtype, True) + 1, err


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pytorch_bceloss_example_sigmoid_of_randn_and_rand_targets(dtype):
    # 001: m = nn.Sigmoid(); loss = nn.BCELoss(); input = torch.randn(3, 2);
    #      target = torch.rand(3, 2); output = loss(m(input), target); output.backward()
    rng = np.random.default_rng(2024)
    x = rng.standard_normal((3, 2)).astype(dtype)
    target = rng.random((3, 2)).astype(dtype)
    loss = cbce.BCELoss()
    p = _sigmoid(x)
    output = loss(p, target)
    assert type(output) is np.dtype(dtype).type and output > 0
    _check_mean_bce(output, p, target, dtype)
    grad_p = loss.backward()
    assert grad_p.shape == (3, 2) and grad_p.dtype == dtype
    # chain rule through the sigmoid: d/dx = d/dp * p(1-p) = (p - t)/N
    grad_x = grad_p * p * (1 - p)
    np.testing.assert_allclose(grad_x, (p - target) / 6,
                               rtol=1e-5 if dtype == np.float32 else 1e-13)


def test_r_nn_bce_loss_example():
    # 000/002: m <- nn_sigmoid(); loss <- nn_bce_loss(); input <- torch_randn(3);
    #          target <- torch_rand(3); output <- loss(m(input), target); output$backward()
    rng = np.random.default_rng(3)
    x = rng.standard_normal(3).astype(np.float32)
    target = rng.random(3).astype(np.float32)
    loss = cbce.BCELoss()
    output = loss(_sigmoid(x), target)
    _check_mean_bce(output, _sigmoid(x), target, np.float32)
    g = loss.backward()
    assert g.shape == (3,) and np.all(np.isfinite(g))
    assert np.all(np.sign(g) == np.sign(_sigmoid(x) - target))


def test_r_bce_with_logits_example_with_ones_targets():
    # 004: loss <- nn_bce_with_logits_loss(); input <- torch_randn(3);
    #      target <- torch_empty(3)$random_(1, 2)   (integers in [1, 2): all ones)
    rng = np.random.default_rng(4)
    x = rng.standard_normal(3).astype(np.float32)
    target = rng.integers(1, 2, 3)
    loss = cbce.BCEWithLogitsLoss()
    output = loss(x, target)
    assert type(output) is np.float32
    vals, _ = R.logits_loss(x, np.ones(3))
    exact = R.ctx.fsum(vals) / 3
    assert R.err_ulps(output, exact, exact, np.float32) <= 2  # 1 ulp elementwise + 1 sum
    g = loss.backward()
    gv, gs = R.logits_grad(x, np.ones(3), n=3)
    R.assert_ulps(g, gv, gs, np.float32, 1, "seed 004 backward")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_r_64_class_pos_weight_example_gives_minus_log_sigmoid_1_5(dtype):
    # 004: target <- torch_ones(10, 64); output <- torch_full(c(10, 64), 1.5);
    #      pos_weight <- torch_ones(64); criterion(output, target)  # -log(sigmoid(1.5))
    target = np.ones((10, 64), dtype=dtype)
    output = np.full((10, 64), 1.5, dtype=dtype)
    criterion = cbce.BCEWithLogitsLoss(pos_weight=np.ones(64, dtype=dtype))
    got = criterion(output, target)
    exact = -R.ctx.log(1 / (1 + R.ctx.exp(-R.mpf(1.5))))
    # The mean of 640 equal values is that value; elementwise bound (pos_weight scales):
    # float32 1 ulp; float64 4 ulp, + 1 ulp for the sum.
    bound = 1 if dtype == np.float32 else 5
    assert R.err_ulps(got, exact, exact, dtype) <= bound
    assert abs(float(got) - 0.20141327798275246) < 1e-6


def test_typescript_binary_example_with_randint_targets_via_forward():
    # 003: const bce = new torch.nn.BCELoss();
    #      const predictions = torch.sigmoid(torch.randn([32, 1]));
    #      const targets = torch.randint(0, 2, [32, 1]);
    #      const loss = bce.forward(predictions, targets);
    bce = cbce.BCELoss()
    rng = np.random.default_rng(5)
    predictions = _sigmoid(rng.standard_normal((32, 1)).astype(np.float32))
    targets = rng.integers(0, 2, (32, 1))  # int64 labels
    loss = bce.forward(predictions, targets)
    assert type(loss) is np.float32
    assert loss == cbce.binary_cross_entropy(predictions, targets.astype(np.float32))
    _check_mean_bce(loss, predictions, targets.astype(np.float64), np.float32)
    # readonly weight and reduction
    assert bce.weight is None and bce.reduction == "mean"
    with pytest.raises(AttributeError):
        bce.reduction = "sum"
    with pytest.raises(AttributeError):
        bce.weight = np.ones(1)


class _MultiLabelClassifier:
    """003's MultiLabelClassifier: fc1 -> relu -> fc2 -> sigmoid, in NumPy (float32)."""

    def __init__(self, input_dim, num_labels, rng):
        lim1, lim2 = 1 / np.sqrt(input_dim), 1 / np.sqrt(128)
        self.w1 = rng.uniform(-lim1, lim1, (input_dim, 128)).astype(np.float32)
        self.b1 = rng.uniform(-lim1, lim1, 128).astype(np.float32)
        self.w2 = rng.uniform(-lim2, lim2, (128, num_labels)).astype(np.float32)
        self.b2 = rng.uniform(-lim2, lim2, num_labels).astype(np.float32)

    def forward(self, x):
        self.x = x
        self.h = np.maximum(x @ self.w1 + self.b1, 0)
        self.p = _sigmoid(self.h @ self.w2 + self.b2)
        return self.p  # [batch, num_labels] in (0, 1)

    def step(self, grad_p, lr):
        grad_z = grad_p * self.p * (1 - self.p)
        grad_h = (grad_z @ self.w2.T) * (self.h > 0)
        self.w2 -= lr * self.h.T @ grad_z
        self.b2 -= lr * grad_z.sum(0)
        self.w1 -= lr * self.x.T @ grad_h
        self.b1 -= lr * grad_h.sum(0)


def test_typescript_multi_label_example_with_integer_multi_hot_targets():
    # 003: model = MultiLabelClassifier(100, 5); bce = BCELoss();
    #      batch_x = randn([32, 100]); batch_y = randint(0, 2, [32, 5]);
    #      probs = model.forward(batch_x); loss = bce.forward(probs, batch_y)
    rng = np.random.default_rng(6)
    model = _MultiLabelClassifier(100, 5, rng)
    bce = cbce.BCELoss()
    batch_x = rng.standard_normal((32, 100)).astype(np.float32)
    batch_y = rng.integers(0, 2, (32, 5))  # multi-hot, int64
    probs = model.forward(batch_x)
    assert probs.shape == (32, 5) and probs.dtype == np.float32
    loss = bce.forward(probs, batch_y)  # each label is independent
    assert type(loss) is np.float32 and 0 < loss < 10
    _check_mean_bce(loss, probs, batch_y.astype(np.float64), np.float32)
    # training with cbce's backward decreases the loss
    first = loss
    for _ in range(20):
        bce.forward(model.forward(batch_x), batch_y)
        model.step(bce.backward(), lr=0.5)
    assert bce.forward(model.forward(batch_x), batch_y) < first * 0.9
