//! Jonker-Volgenant shortest augmenting paths for the dense linear assignment problem.
//!
//! Minimises `sum_i C[i, x(i)]` over permutations `x` (Jonker & Volgenant 1987). The solver keeps
//! column potentials `v` and the invariant that every assigned row `i` sits on a minimiser of the
//! reduced row `C[i, j] - v[j]`; then `u_i = min_j (C[i, j] - v[j])` and `v` are dual feasible
//! (`C[i, j] - u_i - v_j >= 0`) with zero reduced cost on the assignment, which proves optimality
//! when every row is assigned (complementary slackness).
//!
//! Phases: column reduction with reduction transfer, two passes of augmenting row reduction
//! (a bounded heuristic), then one Dijkstra shortest augmenting path per remaining free row.

/// Marker for "not assigned".
pub(crate) const NONE: usize = usize::MAX;

/// Assignment state shared by the phases: `x[i]` column of row `i`, `y[j]` row of column `j`,
/// `v[j]` column potential.
pub(crate) struct LapState {
    pub(crate) n: usize,
    pub(crate) x: Vec<usize>,
    pub(crate) y: Vec<usize>,
    pub(crate) v: Vec<f64>,
}

impl LapState {
    /// Empty assignment with the given column potentials.
    pub(crate) fn with_potentials(v: Vec<f64>) -> Self {
        let n = v.len();
        Self {
            n,
            x: vec![NONE; n],
            y: vec![NONE; n],
            v,
        }
    }
}

/// Column minima of the cost matrix and the first row attaining each.
pub(crate) struct ColumnMinima {
    /// `min[j] = min_i C[i, j]`.
    pub(crate) min: Vec<f64>,
    /// `argmin[j]`: a row attaining `min[j]`.
    pub(crate) argmin: Vec<usize>,
}

/// One pass over `c` for its column minima (the first minimising row per column), in parallel
/// over blocks of columns, each scanned row by row.
pub(crate) fn column_minima(c: &[f64], n: usize) -> ColumnMinima {
    use rayon::prelude::*;
    let mut min = vec![f64::INFINITY; n];
    let mut argmin = vec![0usize; n];
    let block = n.div_ceil(rayon::current_num_threads().max(1)).max(256);
    min.par_chunks_mut(block)
        .zip(argmin.par_chunks_mut(block))
        .enumerate()
        .for_each(|(b, (min, argmin))| {
            let j0 = b * block;
            for i in 0..n {
                let row = &c[i * n + j0..i * n + j0 + min.len()];
                for ((m, a), &cij) in min.iter_mut().zip(argmin.iter_mut()).zip(row) {
                    if cij < *m {
                        *m = cij;
                        *a = i;
                    }
                }
            }
        });
    ColumnMinima { min, argmin }
}

/// The initial assignment from the column minima (`v = min`, each column's minimising row takes
/// it, one column per row), with JV's reduction transfer when `transfer` is set. Without the
/// transfer every potential is a column minimum, which keeps `|v|` within the optimum's scale.
pub(crate) fn reduce(
    c: &[f64],
    n: usize,
    cm: ColumnMinima,
    transfer: bool,
) -> (LapState, Vec<usize>) {
    let ColumnMinima { min, argmin } = cm;
    let mut st = LapState::with_potentials(min);
    let mut matches = vec![0u32; n];
    for j in (0..n).rev() {
        let i = argmin[j];
        matches[i] += 1;
        if matches[i] == 1 {
            st.x[i] = j;
            st.y[j] = i;
        } else if st.v[j] < st.v[st.x[i]] {
            let j_old = st.x[i];
            st.y[j_old] = NONE;
            st.x[i] = j;
            st.y[j] = i;
        }
    }
    let mut free = Vec::new();
    for i in 0..n {
        match matches[i] {
            0 => free.push(i),
            1 if transfer => {
                // reduction transfer: lower v[j1] so that row i's slack moves into u_i
                let j1 = st.x[i];
                let row = &c[i * n..(i + 1) * n];
                let mut min = f64::INFINITY;
                for (j, (&cij, &vj)) in row.iter().zip(&st.v).enumerate() {
                    let h = cij - vj;
                    if h < min && j != j1 {
                        min = h;
                    }
                }
                if min.is_finite() {
                    st.v[j1] -= min;
                }
            }
            _ => {}
        }
    }
    (st, free)
}

/// Smallest and second-smallest reduced cost `C[i, j] - v[j]` of one row, with their columns.
#[inline]
fn two_smallest(row: &[f64], v: &[f64]) -> (f64, usize, f64, usize) {
    let mut u1 = f64::INFINITY;
    let mut u2 = f64::INFINITY;
    let mut j1 = 0usize;
    let mut j2 = NONE;
    for (j, (&cij, &vj)) in row.iter().zip(v).enumerate() {
        let h = cij - vj;
        if h < u2 {
            if h >= u1 {
                u2 = h;
                j2 = j;
            } else {
                u2 = u1;
                j2 = j1;
                u1 = h;
                j1 = j;
            }
        }
    }
    (u1, j1, u2, j2)
}

/// Augmenting row reduction (JV), `passes` times, with at most `budget` row visits per pass.
/// Keeps the invariant; returns the rows still free.
pub(crate) fn augmenting_row_reduction(
    c: &[f64],
    st: &mut LapState,
    mut free: Vec<usize>,
    passes: usize,
    budget: usize,
) -> Vec<usize> {
    let n = st.n;
    if n == 1 {
        // a single row is handled by the augmentation
        return free;
    }
    for _ in 0..passes {
        let mut k = 0usize;
        let prev = free.len();
        let mut next_free = Vec::with_capacity(prev);
        let mut visits = 0usize;
        while k < prev {
            let i = free[k];
            k += 1;
            visits += 1;
            if visits > budget {
                // out of budget: keep the remaining rows free for the augmentation
                next_free.push(i);
                next_free.extend_from_slice(&free[k..prev]);
                break;
            }
            let row = &c[i * n..(i + 1) * n];
            let (u1, mut j1, u2, j2) = two_smallest(row, &st.v);
            let mut i0 = st.y[j1];
            let strict = u1 < u2;
            if strict {
                st.v[j1] -= u2 - u1;
            } else if i0 != NONE {
                j1 = j2;
                i0 = st.y[j2];
            }
            if i0 != NONE {
                st.x[i0] = NONE;
            }
            st.x[i] = j1;
            st.y[j1] = i;
            if i0 != NONE {
                if strict {
                    // process the displaced row next
                    k -= 1;
                    free[k] = i0;
                } else {
                    next_free.push(i0);
                }
            }
        }
        free = next_free;
        if free.is_empty() {
            break;
        }
    }
    free
}

/// Reusable work buffers for the shortest-path augmentation.
pub(crate) struct Workspace {
    d: Vec<f64>,
    pred: Vec<usize>,
    cols: Vec<usize>,
    /// Rows scanned by the searches so far (each an `O(n)` pass): the augmentation's work.
    scans: u64,
}

impl Workspace {
    pub(crate) fn new(n: usize) -> Self {
        Self {
            d: vec![0.0; n],
            pred: vec![0; n],
            cols: (0..n).collect(),
            scans: 0,
        }
    }
}

/// Augments the free row `f` along a shortest alternating path (Dijkstra on reduced costs),
/// updates `v` for the columns settled before the path's end, and flips the path.
pub(crate) fn augment(c: &[f64], st: &mut LapState, ws: &mut Workspace, f: usize) {
    let n = st.n;
    let Workspace {
        d,
        pred,
        cols,
        scans,
    } = ws;
    let v = &mut st.v;
    {
        let row = &c[f * n..(f + 1) * n];
        for j in 0..n {
            d[j] = row[j] - v[j];
            pred[j] = f;
            cols[j] = j;
        }
    }
    // cols[..lo]: settled ("ready"); cols[lo..up]: to scan, all at distance `min`;
    // cols[up..]: not yet reached with final distance.
    let mut lo = 0usize;
    let mut up = 0usize;
    let mut last = 0usize;
    let mut min = 0.0f64;
    let end: usize;
    'search: loop {
        if lo == up {
            last = lo;
            min = d[cols[up]];
            // `up` moves inside the loop; the scan still covers the range fixed at its start
            let start = up;
            for k in start..n {
                let j = cols[k];
                let dj = d[j];
                if dj <= min {
                    if dj < min {
                        up = lo;
                        min = dj;
                    }
                    cols[k] = cols[up];
                    cols[up] = j;
                    up += 1;
                }
            }
            for &j in &cols[lo..up] {
                if st.y[j] == NONE {
                    end = j;
                    break 'search;
                }
            }
        }
        let j1 = cols[lo];
        lo += 1;
        let i = st.y[j1];
        let row = &c[i * n..(i + 1) * n];
        let h = row[j1] - v[j1] - min;
        let mut k = up;
        while k < n {
            let j = cols[k];
            let cred = row[j] - v[j] - h;
            if cred < d[j] {
                d[j] = cred;
                pred[j] = i;
                if cred == min {
                    if st.y[j] == NONE {
                        end = j;
                        break 'search;
                    }
                    cols[k] = cols[up];
                    cols[up] = j;
                    up += 1;
                }
            }
            k += 1;
        }
    }
    // the first row and one row per settled column were scanned
    *scans += lo as u64 + 1;
    // dual update for the settled columns
    for &j in &cols[..last] {
        v[j] += d[j] - min;
    }
    // flip the alternating path
    let mut j = end;
    loop {
        let i = pred[j];
        st.y[j] = i;
        std::mem::swap(&mut st.x[i], &mut j);
        if i == f {
            break;
        }
    }
}

/// A solved problem: `x[i]` the column of row `i`, the column potentials `v`, and the work of
/// the shortest-path searches (rows scanned).
pub(crate) struct Solved {
    pub(crate) x: Vec<usize>,
    pub(crate) v: Vec<f64>,
    pub(crate) scans: u64,
}

/// Solves the dense square problem `c` (row-major, `n x n`, finite).
pub(crate) fn solve_jv(c: &[f64], n: usize) -> Solved {
    solve_jv_from(c, n, column_minima(c, n))
}

/// [`solve_jv`] from already computed column minima.
pub(crate) fn solve_jv_from(c: &[f64], n: usize, cm: ColumnMinima) -> Solved {
    let (mut st, free) = reduce(c, n, cm, true);
    let free = augmenting_row_reduction(c, &mut st, free, 2, 8 * n + 64);
    finish(c, st, free)
}

/// Successive shortest augmenting paths from the column minima, without JV's reduction transfer
/// and augmenting row reduction (both of which move potentials by whole cost gaps).
///
/// Every potential starts at a column minimum and only decreases, by at most the length of the
/// shortest path that is being augmented, and those lengths sum to the optimum minus the sum of
/// the column minima. For non-negative costs every `|v_j|` therefore stays below the optimum, so
/// reduced costs carry absolute errors of order `f64::EPSILON * optimum` whatever the spread of
/// the entries: the result is exact relative to the optimum even when the costs span hundreds of
/// orders of magnitude. Slower than [`solve_jv`] on hard instances (more rows are augmented).
pub(crate) fn solve_shortest_paths(c: &[f64], n: usize) -> Solved {
    let (st, free) = reduce(c, n, column_minima(c, n), false);
    finish(c, st, free)
}

/// Augments every row in `free`.
pub(crate) fn finish(c: &[f64], mut st: LapState, free: Vec<usize>) -> Solved {
    let mut ws = Workspace::new(st.n);
    for f in free {
        augment(c, &mut st, &mut ws, f);
    }
    debug_assert!(st.x.iter().all(|&j| j != NONE));
    Solved {
        x: st.x,
        v: st.v,
        scans: ws.scans,
    }
}
