"""dmd_lab against scipy's exact assignment and known answers (run by `cargo xtask test`)."""
import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

import dmd_lab


def rng(seed):
    return np.random.default_rng(seed)


@pytest.mark.parametrize("n,d", [(2, 3), (50, 4), (300, 16), (200, 1024)])
def test_delta_e_matches_scipy(n, d):
    r = rng(n + d)
    phi = r.standard_normal((n, d)).astype(np.float32)
    g = (phi + 0.5 * r.standard_normal((n, d))).astype(np.float32)
    out = dmd_lab.delta_e(phi, g)
    c = ((phi[:, None, :].astype(np.float64) - g[None, :, :]) ** 2).sum(-1)
    rows, cols = linear_sum_assignment(c)
    e_ot = c[rows, cols].mean()
    e_dt = np.trace(c) / n
    assert out["e_ot"] == pytest.approx(e_ot, rel=1e-9)
    assert out["e_dt"] == pytest.approx(e_dt, rel=1e-9)
    assert out["delta_e"] == pytest.approx(max(e_dt / e_ot - 1.0, 0.0), rel=1e-7, abs=1e-12)
    assert out["copy_score"] == pytest.approx((c.mean() - e_dt) / (c.mean() - e_ot), rel=1e-7)
    assert sorted(out["assignment"]) == list(range(n))


def test_solve_assignment_is_certified_and_optimal():
    c = rng(1).random((400, 400)) * 10 ** rng(2).uniform(-6, 6, (400, 400))
    cols, total, cert = dmd_lab.solve_assignment(c)
    r, s = linear_sum_assignment(c)
    assert total == pytest.approx(c[r, s].sum(), rel=1e-12)
    assert cert["optimal"]
    assert c[np.arange(400), cols].sum() == pytest.approx(total, rel=1e-12)


def test_within_classes_only_pairs_same_labels():
    r = rng(3)
    phi = r.standard_normal((90, 5)).astype(np.float32)
    g = r.standard_normal((90, 5)).astype(np.float32)
    labels = [i % 3 for i in range(90)]
    out = dmd_lab.delta_e(phi, g, labels=labels)
    a = out["assignment"]
    assert all(labels[i] == labels[a[i]] for i in range(90))
    assert out["e_ot"] >= dmd_lab.delta_e(phi, g)["e_ot"] * (1 - 1e-12)


def test_ranks_and_rotation():
    r = rng(4)
    phi = r.standard_normal((200, 6)).astype(np.float32)
    rank, p = dmd_lab.partner_ranks(phi, phi + np.float32(1e-3))
    assert rank.max() == 0.0 and np.allclose(p, 1 / 200)
    z = r.standard_normal((10, 7)).astype(np.float32)
    assert np.array_equal(dmd_lab.rotate_noise(z, 0.0, 1), z)
    assert np.allclose(np.linalg.norm(dmd_lab.rotate_noise(z, 0.7, 1), axis=1), np.linalg.norm(z, axis=1), rtol=1e-5)


def test_bad_input_is_one_clear_error():
    with pytest.raises(ValueError, match="2-D"):
        dmd_lab.delta_e(np.zeros(3), np.zeros((3, 2), dtype=np.float32))
    with pytest.raises(ValueError, match="square"):
        dmd_lab.solve_assignment(np.zeros((2, 3)))
    with pytest.raises(ValueError):
        dmd_lab.delta_e(np.zeros((3, 2), np.float32), np.zeros((4, 2), np.float32))
