//! # dmd-py
//!
//! The Python module `dmd_lab`: dmd-lab's torch-free measurements on numpy arrays, so a
//! researcher working in Python gets the exact `Delta_E` (paper Definition 1, Eq. 6) without
//! the Rust toolchain's other crates or libtorch. Every function releases the GIL while it
//! computes.
//!
//! ```python
//! import numpy as np, dmd_lab
//! phi, g = np.random.randn(1000, 64), np.random.randn(1000, 64)
//! r = dmd_lab.delta_e(phi, g)            # dict: delta_e, e_dt, e_ot, e_rand, copy_score, ...
//! ```
//!
//! | Python | Rust |
//! |---|---|
//! | `delta_e(phi, g, labels=None)` | [`dmd_ot::pairing_inefficiency`] (within classes with labels: [`dmd_ot::pairing_inefficiency_within_classes`]) |
//! | `solve_assignment(cost)` | [`dmd_ot::solve_assignment`] and its [`dmd_ot::Assignment::certificate`] |
//! | `partner_ranks(phi, g)` | [`dmd_analysis::partner_ranks`] |
//! | `rotate_noise(z, theta, seed)` | [`dmd_analysis::rotate_noise`] (the remapping ruler's `R_theta`) |

use numpy::{IntoPyArray, PyArray1, PyArray2, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// A Rust error as a Python `ValueError` with the same one-line message.
fn value_error(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// A 2-D float32 or float64 numpy array as an `f32` matrix (sample sets are compared in
/// `f32`, as the pipeline stores them; costs are summed in `f64`).
fn as_f32(a: &Bound<'_, PyAny>, name: &str) -> PyResult<ndarray::Array2<f32>> {
    if let Ok(arr) = a.extract::<PyReadonlyArray2<'_, f32>>() {
        return Ok(arr.as_array().to_owned());
    }
    if let Ok(arr) = a.extract::<PyReadonlyArray2<'_, f64>>() {
        return Ok(arr.as_array().mapv(|x| x as f32));
    }
    Err(PyValueError::new_err(format!(
        "{name} must be a 2-D float32 or float64 numpy array (N x d); for vectors pass {name}.reshape(len({name}), -1)"
    )))
}

/// `Delta_E = E_DT / E_OT - 1` of seed-aligned sets `phi`, `g` (`N x d` float32), with the
/// energies, the copy score `(E_rand - E_DT) / (E_rand - E_OT)`, the fixed-point fraction and
/// the optimal assignment. With `labels` (`N` int64), only same-label pairs are allowed
/// (within-class `E_OT` and `E_rand`).
#[pyfunction]
#[pyo3(signature = (phi, g, labels=None))]
fn delta_e<'py>(
    py: Python<'py>,
    phi: &Bound<'py, PyAny>,
    g: &Bound<'py, PyAny>,
    labels: Option<Vec<i64>>,
) -> PyResult<Bound<'py, PyDict>> {
    let (phi, g) = (as_f32(phi, "phi")?, as_f32(g, "g")?);
    let p = py
        .allow_threads(|| match &labels {
            None => dmd_ot::pairing_inefficiency(phi.view(), g.view()),
            Some(l) => {
                if phi.dim() != g.dim() {
                    return Err(dmd_ot::OtError::ShapeMismatch {
                        what: "phi and g must both be N x d",
                        expected: phi.dim(),
                        got: g.dim(),
                    });
                }
                let cost = dmd_ot::try_sq_euclidean_cost(phi.view(), g.view())?;
                dmd_ot::pairing_inefficiency_within_classes(cost.view(), l)
            }
        })
        .map_err(value_error)?;
    let out = PyDict::new(py);
    out.set_item("delta_e", p.delta_e)?;
    out.set_item("e_dt", p.e_dt)?;
    out.set_item("e_ot", p.e_ot)?;
    out.set_item("e_rand", p.e_rand)?;
    out.set_item("copy_score", p.copy_score())?;
    out.set_item("fixed_point_fraction", p.fixed_point_fraction())?;
    out.set_item("n", p.n)?;
    let assignment: Vec<i64> = p.assignment.iter().map(|&j| j as i64).collect();
    out.set_item("assignment", assignment.into_pyarray(py))?;
    Ok(out)
}

/// `(row_to_col, total_cost, certificate)` as returned to Python.
type AssignmentResult<'py> = (Bound<'py, PyArray1<i64>>, f64, Bound<'py, PyDict>);

/// The exact optimal assignment of a square cost matrix (float64): `(row_to_col, total_cost,
/// certificate)`, the certificate a dict with the exactly summed duality gap, the scale it is
/// measured against, the largest dual infeasibility relative to its entry, and `optimal`
/// (both within 1e-12 relative).
#[pyfunction]
fn solve_assignment<'py>(
    py: Python<'py>,
    cost: PyReadonlyArray2<'py, f64>,
) -> PyResult<AssignmentResult<'py>> {
    let (n, m) = (cost.shape()[0], cost.shape()[1]);
    if n != m {
        return Err(PyValueError::new_err(format!(
            "cost must be square, got {n} x {m}"
        )));
    }
    let c = cost.as_array().to_owned();
    let (a, cert) = py
        .allow_threads(|| {
            let a = dmd_ot::solve_assignment(c.view())?;
            let cert = a.certificate(c.view())?;
            Ok::<_, dmd_ot::OtError>((a, cert))
        })
        .map_err(value_error)?;
    let d = PyDict::new(py);
    d.set_item("duality_gap", cert.duality_gap)?;
    d.set_item("optimum_scale", cert.optimum_scale)?;
    d.set_item(
        "max_relative_infeasibility",
        cert.max_relative_infeasibility,
    )?;
    d.set_item("optimal", cert.is_optimal(1e-12))?;
    let cols: Vec<i64> = a.row_to_col.iter().map(|&j| j as i64).collect();
    Ok((cols.into_pyarray(py), a.total_cost, d))
}

/// `(rank, p_value)` as returned to Python.
type RanksResult<'py> = (Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<f64>>);

/// Per-seed partner ranks `u_i` (0 = the seed's own partner is nearest; uniform under a random
/// pairing) and their exact p-values: `(rank, p_value)`.
#[pyfunction]
fn partner_ranks<'py>(
    py: Python<'py>,
    phi: &Bound<'py, PyAny>,
    g: &Bound<'py, PyAny>,
) -> PyResult<RanksResult<'py>> {
    let (phi, g) = (as_f32(phi, "phi")?, as_f32(g, "g")?);
    let r = py
        .allow_threads(|| dmd_analysis::partner_ranks(phi.view(), g.view()))
        .map_err(value_error)?;
    Ok((r.rank.into_pyarray(py), r.p_value.into_pyarray(py)))
}

/// `R_theta z` for each row of `z` (float32): the remapping ruler's rotation by `theta` in
/// `floor(D / 2)` coordinate planes chosen by `seed` (orthogonal; the identity at 0).
#[pyfunction]
fn rotate_noise<'py>(
    py: Python<'py>,
    z: &Bound<'py, PyAny>,
    theta: f64,
    seed: u64,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    let z = as_f32(z, "z")?;
    let out = py.allow_threads(|| dmd_analysis::rotate_noise(z.view(), theta, seed));
    Ok(out.into_pyarray(py))
}

/// The `dmd_lab` module.
#[pymodule]
fn dmd_lab(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(delta_e, m)?)?;
    m.add_function(wrap_pyfunction!(solve_assignment, m)?)?;
    m.add_function(wrap_pyfunction!(partner_ranks, m)?)?;
    m.add_function(wrap_pyfunction!(rotate_noise, m)?)?;
    Ok(())
}
