"""Objective functions: OC-NN Eq. (3)-(5) and Theorem 3.1, Deep SVDD Eq. (3)-(4) and Prop. 4."""

import numpy as np
import pytest
import torch

from ocad_lab.objectives import (
    check_nu,
    ocnn_loss,
    ocnn_quantile_r,
    ocnn_r_objective,
    ocnn_scores,
    soft_boundary_radius,
    svdd_distances,
    svdd_one_class_loss,
    svdd_soft_boundary_loss,
)


@pytest.mark.parametrize("activation", ["linear", "sigmoid", "relu"])
def test_ocnn_loss_gradient_matches_finite_differences(activation):
    """Eq. (3)'s autograd gradient in w, V and r agrees with central finite differences (float64)."""
    g = torch.Generator().manual_seed(1)
    X = torch.randn(20, 5, generator=g, dtype=torch.float64)
    w = torch.randn(4, generator=g, dtype=torch.float64, requires_grad=True)
    V = torch.randn(4, 5, generator=g, dtype=torch.float64, requires_grad=True)
    r = torch.tensor(0.1, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda w, V, r: ocnn_loss(w, V, X, r, 0.3, activation), (w, V, r))


def test_ocnn_loss_gradient_by_hand_linear():
    """For g = identity the gradient in w is w + (1/nu) mean over active hinges of -(V x_n)."""
    g = torch.Generator().manual_seed(2)
    X = torch.randn(30, 3, generator=g, dtype=torch.float64)
    w = torch.randn(2, generator=g, dtype=torch.float64, requires_grad=True)
    V = torch.randn(2, 3, generator=g, dtype=torch.float64)
    nu, r = 0.2, 0.05
    ocnn_loss(w, V, X, r, nu).backward()
    h = X @ V.T
    active = (r - h @ w.detach()) > 0
    expected = w.detach() - (h * active[:, None]).sum(0) / (nu * len(X))
    assert torch.allclose(w.grad, expected)


def test_ocnn_loss_is_eq3():
    """ocnn_loss equals 1/2||w||^2 + 1/2||V||_F^2 + (1/nu) mean hinge - r written out."""
    rng = np.random.default_rng(0)
    X, w, V = rng.normal(size=(8, 3)), rng.normal(size=2), rng.normal(size=(2, 3))
    r, nu = 0.4, 0.25
    y = (1 / (1 + np.exp(-(X @ V.T)))) @ w
    expected = 0.5 * w @ w + 0.5 * (V**2).sum() + np.maximum(0, r - y).mean() / nu - r
    got = ocnn_loss(torch.tensor(w), torch.tensor(V), torch.tensor(X), r, nu, "sigmoid")
    assert got.item() == pytest.approx(expected)
    assert np.allclose(ocnn_scores(torch.tensor(w), torch.tensor(V), torch.tensor(X), "sigmoid").numpy(), y)


@pytest.mark.parametrize("n,nu", [(50, 0.1), (37, 0.23), (200, 0.05), (9, 0.33), (10, 0.3), (13, 1.0), (5, 0.01)])
def test_quantile_r_minimises_eq5_against_grid(n, nu):
    """Theorem 3.1: no r on a fine grid (plus every score) gives a lower Eq. (5) than ocnn_quantile_r."""
    y = np.random.default_rng(n).normal(size=n) * 3
    r_star = ocnn_quantile_r(y, nu)
    grid = np.concatenate([np.linspace(y.min() - 2, y.max() + 2, 20001), y])
    f_grid = ocnn_r_objective(grid, y, nu)
    assert ocnn_r_objective(r_star, y, nu) <= f_grid.min() + 1e-9
    assert r_star in y  # an order statistic, not an interpolation


def test_quantile_r_paper_example():
    """The paper's worked example: y = 1..9, nu = 0.33 -> minimum at r = 3."""
    y = np.arange(1.0, 10.0)
    assert ocnn_quantile_r(y, 0.33) == 3.0
    assert np.argmin(ocnn_r_objective(y, y, 0.33)) == 2


def test_quantile_r_flat_interval_picks_left_end():
    """N*nu integer: f is flat between the (N nu)-th and (N nu + 1)-th scores; the left end is returned."""
    y = np.random.default_rng(3).permutation(np.arange(20.0))
    nu = 0.25  # N * nu = 5
    r = ocnn_quantile_r(y, nu)
    s = np.sort(y)
    assert r == s[4]
    assert ocnn_r_objective(s[4], y, nu) == pytest.approx(ocnn_r_objective(s[5], y, nu))
    assert ocnn_r_objective(s[3], y, nu) > ocnn_r_objective(s[4], y, nu)


@pytest.mark.parametrize("nu", [0.05, 0.1, 0.3, 0.5])
def test_quantile_r_nu_property(nu):
    """The fraction of scores strictly below r is nu within 1/N (S_n < 0 marks an outlier)."""
    y = np.random.default_rng(4).normal(size=123)
    frac = np.mean(y < ocnn_quantile_r(y, nu))
    assert nu - 1 / len(y) - 1e-12 <= frac <= nu


def test_r_objective_shapes_and_types():
    """Scalar r gives a float, an array of r gives the same shape; torch scores give a tensor r."""
    y = np.linspace(-1, 1, 11)
    assert isinstance(ocnn_r_objective(0.2, y, 0.1), float)
    assert ocnn_r_objective(np.zeros((3, 4)), y, 0.1).shape == (3, 4)
    r_t = ocnn_quantile_r(torch.tensor(y), 0.2)
    assert isinstance(r_t, torch.Tensor) and r_t.item() == ocnn_quantile_r(y, 0.2)


@pytest.mark.parametrize("bad", [0, -0.1, 1.5, float("nan"), "a", None])
def test_nu_outside_range_raises(bad):
    """nu must be in (0, 1]."""
    with pytest.raises(ValueError, match="nu"):
        check_nu(bad)
    with pytest.raises(ValueError, match="nu"):
        ocnn_quantile_r(np.ones(4), bad)
    with pytest.raises(ValueError, match="nu"):
        soft_boundary_radius(np.ones(4), bad)


@pytest.mark.parametrize("n,nu", [(100, 0.1), (57, 0.17), (20, 0.25), (11, 0.5), (8, 1.0)])
def test_soft_boundary_radius_nu_property_and_optimality(n, nu):
    """Prop. 4: at most nu*n points strictly outside, at least nu*n on or outside; R minimises Eq. (3) in R."""
    d = np.random.default_rng(n).exponential(size=n)
    R = soft_boundary_radius(d, nu)
    assert np.mean(d > R**2) <= nu + 1e-12
    assert np.mean(d >= R**2 - 1e-12) >= nu - 1e-12
    grid = np.concatenate([np.linspace(0, np.sqrt(d.max()) + 1, 5001), np.sqrt(d)])
    J = grid**2 + np.maximum(0, d[None] - grid[:, None] ** 2).mean(1) / nu
    J_star = R**2 + np.maximum(0, d - R**2).mean() / nu
    assert J_star <= J.min() + 1e-9


def test_soft_boundary_radius_torch_matches_numpy():
    """Tensor input gives the same radius as NumPy input."""
    d = np.random.default_rng(5).exponential(size=40)
    assert soft_boundary_radius(torch.tensor(d), 0.1).item() == pytest.approx(soft_boundary_radius(d, 0.1))


def test_svdd_losses():
    """Eq. (4) is the mean squared distance; Eq. (3) with R = 0 is that mean divided by nu."""
    Z = torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    c = torch.tensor([1.0, 1.0])
    d = svdd_distances(Z, c)
    assert torch.allclose(d, torch.tensor([1.0, 2.0, 0.0]))
    assert svdd_one_class_loss(d).item() == pytest.approx(1.0)
    assert svdd_soft_boundary_loss(d, torch.tensor(0.0), 0.5).item() == pytest.approx(2.0)
    # R^2 = 1: only the point at distance 2 pays (2 - 1) / (nu n)
    assert svdd_soft_boundary_loss(d, torch.tensor(1.0), 0.5).item() == pytest.approx(1 + 1 / 1.5)


def test_svdd_threshold_sq_lies_halfway_and_keeps_the_nu_property():
    from ocad_lab.objectives import soft_boundary_radius_sq, svdd_threshold_sq

    rng = np.random.default_rng(0)
    for n, nu in [(20, 0.1), (37, 0.25), (10, 0.3), (50, 0.01), (8, 1.0)]:
        d = rng.random(n)
        T = svdd_threshold_sq(d, nu)
        assert not np.any(d == T)
        assert np.mean(d > T) <= nu + 1e-12
        s = np.sort(d)
        r2 = soft_boundary_radius_sq(d, nu)
        if nu < 1 and np.sum(d > r2) < n:
            assert np.sum(d > T) == np.sum(d > r2)  # the same points outside as with R^2 itself
        if nu == 1.0:
            assert T == pytest.approx(s[0] / 2)


def test_score_threshold_flags_the_same_points_as_the_quantile():
    from ocad_lab.objectives import ocnn_quantile_r, score_threshold

    rng = np.random.default_rng(1)
    for n, nu in [(20, 0.1), (37, 0.25), (10, 0.3), (50, 0.01)]:
        y = rng.normal(size=n)
        T, r = score_threshold(y, nu), ocnn_quantile_r(y, nu)
        assert not np.any(y == T)
        assert np.array_equal(y < T, y < r)


def test_activation_functions_pickle():
    import pickle

    from ocad_lab.objectives import activation_fn

    for name in ("linear", "sigmoid", "relu"):
        g = pickle.loads(pickle.dumps(activation_fn(name)))
        assert torch.equal(g(torch.tensor([-1.0, 2.0])), activation_fn(name)(torch.tensor([-1.0, 2.0])))
