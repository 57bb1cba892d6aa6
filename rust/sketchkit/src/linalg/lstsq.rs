//! Sketched least squares: `min_x ‖A x − b‖² + λ‖x‖²`.

use super::op::{mul, mul_t, LinOp};
use super::{from_faer_mut, zeros, Field};
use crate::error::{try_vec, Result, SketchError};
use crate::sketch::{parse_name, FamilyKind, LinearSketch};
use faer::linalg::solvers::Qr;
use faer::linalg::triangular_solve::{
    solve_lower_triangular_in_place, solve_upper_triangular_in_place,
};
use faer::{Mat, MatMut, MatRef, Par};

/// How [`lstsq`] solves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LstsqMethod {
    /// `precondition` for every input (the accurate default).
    Auto,
    /// Sketch-and-precondition (Blendenpik/LSRN): `R` from a QR of `S [A; √λ I]`,
    /// then LSQR on `[A; √λ I] R⁻¹`. Converges at the rate `√(d/m)` per iteration
    /// whatever the condition number of `A`.
    Precondition,
    /// Sketch-and-solve: `argmin ‖S(Ax − b)‖² + λ‖x‖²`, with the `(1 + ε)` (or the ℓ∞)
    /// guarantee of [`sketch_size`].
    SketchSolve,
    /// Iterative Hessian sketch with one sketch and heavy-ball momentum
    /// (`x ← x + μ H⁻¹ Aᵀ(b − Ax) + β(x − x_prev)`, `H = R R ᵀ` from the sketch,
    /// `μ = (1 − d/m)²`, `β = d/m`); needs only products with `A` and `Aᵀ`.
    Iterative,
}

impl LstsqMethod {
    /// Every method.
    pub const ALL: [LstsqMethod; 4] = [
        LstsqMethod::Auto,
        LstsqMethod::Precondition,
        LstsqMethod::SketchSolve,
        LstsqMethod::Iterative,
    ];
    /// The name every API uses.
    pub fn name(self) -> &'static str {
        match self {
            LstsqMethod::Auto => "auto",
            LstsqMethod::Precondition => "precondition",
            LstsqMethod::SketchSolve => "sketch_solve",
            LstsqMethod::Iterative => "iterative",
        }
    }
}

impl std::str::FromStr for LstsqMethod {
    type Err = SketchError;
    fn from_str(s: &str) -> Result<Self> {
        parse_name(s, Self::ALL, Self::name, "method")
    }
}

/// The guarantee sketch-and-solve is sized for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Guarantee {
    /// `‖A x̃ − b‖ ≤ (1 + ε) min_x ‖A x − b‖` with probability `1 − δ`.
    L2,
    /// The per-coordinate guarantee of ℓ∞ sketched regression:
    /// `‖x̃ − x*‖_∞ ≤ ε/√d · ‖A x* − b‖ · ‖A⁺‖₂`, which needs a dense sketch (Gaussian or
    /// SRHT) of `m = ε⁻² d ln³(n/δ)` rows; sparse sketches provably fail it.
    Linf,
}

impl Guarantee {
    /// Both guarantees.
    pub const ALL: [Guarantee; 2] = [Guarantee::L2, Guarantee::Linf];
    /// The name every API uses.
    pub fn name(self) -> &'static str {
        match self {
            Guarantee::L2 => "l2",
            Guarantee::Linf => "linf",
        }
    }
}

impl std::str::FromStr for Guarantee {
    type Err = SketchError;
    fn from_str(s: &str) -> Result<Self> {
        parse_name(s, Self::ALL, Self::name, "guarantee")
    }
}

/// Default sketch rows per column of `A` for sketch-and-precondition: `m = 4d` gives
/// `cond(A R⁻¹) ≈ (1 + √(d/m)) / (1 − √(d/m)) = 3` (Blendenpik's choice).
pub const DEFAULT_PRECONDITION_RATIO: usize = 4;
/// Default sketch rows per column for the iterative Hessian sketch (`d/m = 1/8`: a
/// contraction of `√(1/8) ≈ 0.35` per iteration).
pub const DEFAULT_ITERATIVE_RATIO: usize = 8;
/// `ε` of the default sketch-and-solve size.
pub const DEFAULT_EPS: f64 = 0.5;
/// `δ` of the default sketch-and-solve size.
pub const DEFAULT_DELTA: f64 = 0.01;

/// Rows `m` of a sketch of family `family` for a problem `A` of shape `(n, d)` with
/// the guarantee `guarantee` at accuracy `eps` and failure probability `delta`
/// (natural logarithms; the bounds' constants taken as 1, so the sizes are the
/// bounds' shapes, not worst-case certificates).
///
/// `l2`: an `ε/3` subspace embedding of the `d' = d + 1` columns of `[A, b]` makes
/// sketch-and-solve `(1 + ε)`-optimal. Its size by family:
/// * gaussian, rademacher: `m = (d' + ln(1/δ)) / (ε/3)²`;
/// * sparse_sign, very_sparse (OSNAP, `s = O(ln(d'/δ)/ε)` nonzeros per column):
///   `m = d' ln(d'/δ) / (ε/3)²`;
/// * countsketch: `m = d'² / (δ (ε/3)²)`;
/// * srht: `m = (√d' + √(8 ln(n/δ)))² ln(d'/δ) / (ε/3)²`.
///
/// `linf` (gaussian or srht only): `m = ε⁻² d ln³(n/δ)`.
pub fn sketch_size(
    n: usize,
    d: usize,
    eps: f64,
    delta: f64,
    guarantee: Guarantee,
    family: FamilyKind,
) -> Result<usize> {
    if n == 0 {
        return Err(SketchError::arg("n", "must be at least 1"));
    }
    if d == 0 {
        return Err(SketchError::arg("d", "must be at least 1"));
    }
    if !(eps > 0.0 && eps < 1.0) {
        return Err(SketchError::arg(
            "eps",
            format!("must lie in (0, 1), got {eps}"),
        ));
    }
    if !(delta > 0.0 && delta < 1.0) {
        return Err(SketchError::arg(
            "delta",
            format!("must lie in (0, 1), got {delta}"),
        ));
    }
    let (nf, df) = (n as f64, d as f64);
    let m = match guarantee {
        Guarantee::Linf => {
            if !matches!(family, FamilyKind::Gaussian | FamilyKind::Srht) {
                return Err(SketchError::arg(
                    "sketch",
                    format!(
                        "the l-infinity guarantee needs a dense sketch (gaussian or srht); \
                         a {} sketch provably fails it",
                        family.name()
                    ),
                ));
            }
            (nf / delta).ln().powi(3) * df / (eps * eps)
        }
        Guarantee::L2 => {
            let dp = df + 1.0;
            let e2 = (eps / 3.0).powi(2);
            match family {
                FamilyKind::Gaussian | FamilyKind::Rademacher => (dp + (1.0 / delta).ln()) / e2,
                FamilyKind::SparseSign | FamilyKind::VerySparse => dp * (dp / delta).ln() / e2,
                FamilyKind::CountSketch => dp * dp / (delta * e2),
                FamilyKind::Srht => {
                    (dp.sqrt() + (8.0 * (nf / delta).ln()).sqrt()).powi(2) * (dp / delta).ln() / e2
                }
            }
        }
    };
    if !m.is_finite() || m >= usize::MAX as f64 {
        return Err(SketchError::overflow(
            "eps",
            format!("sketch size {m:e} overflows"),
        ));
    }
    Ok((m.ceil() as usize).max(d))
}

/// Options of [`lstsq`]; `Default` gives every documented default.
#[derive(Clone, Debug)]
pub struct LstsqOptions {
    /// Solver.
    pub method: LstsqMethod,
    /// Sketch family.
    pub sketch: FamilyKind,
    /// Sketch rows (`None`: the method's default rule).
    pub sketch_size: Option<usize>,
    /// Relative tolerance of the iterative methods (`None`: `ε^{3/4}` of the dtype,
    /// ≈ 1.8e-12 in float64 and 6.4e-6 in float32).
    pub rtol: Option<f64>,
    /// Iteration limit (`None`: three times the iterations the sketch's contraction
    /// rate needs for `rtol`, at least 50).
    pub maxiter: Option<usize>,
    /// Ridge parameter `λ ≥ 0`.
    pub reg: f64,
    /// What sketch-and-solve's default size guarantees.
    pub guarantee: Guarantee,
    /// `ε` for the sketch-and-solve size.
    pub eps: f64,
    /// `δ` for the sketch-and-solve size.
    pub delta: f64,
    /// Seed of the sketch.
    pub seed: u64,
}

impl Default for LstsqOptions {
    fn default() -> Self {
        LstsqOptions {
            method: LstsqMethod::Auto,
            sketch: FamilyKind::SparseSign,
            sketch_size: None,
            rtol: None,
            maxiter: None,
            reg: 0.0,
            guarantee: Guarantee::L2,
            eps: DEFAULT_EPS,
            delta: DEFAULT_DELTA,
            seed: 0,
        }
    }
}

/// What [`lstsq`] returns.
#[derive(Clone, Debug)]
pub struct LstsqResult<T> {
    /// The solution, `d × p`.
    pub x: Mat<T>,
    /// `‖b_j − A x_j‖` per right-hand side (computed, not estimated).
    pub residual_norm: Vec<f64>,
    /// Iterations run (0 for sketch-and-solve).
    pub iterations: usize,
    /// Whether every right-hand side met the tolerance (always true for
    /// sketch-and-solve).
    pub converged: bool,
    /// The method that ran (`auto` resolved).
    pub method: LstsqMethod,
    /// Rows of the sketch used.
    pub sketch_size: usize,
    /// Residual norm (over all right-hand sides) after each iteration: the LSQR
    /// estimate for `precondition`, the computed value for `iterative`.
    pub history: Vec<f64>,
}

fn default_rtol<T: Field>() -> f64 {
    T::eps().to_f64().powf(0.75)
}

/// The QR factorization of `[SA; √λ I]` (of `SA` alone when `λ = 0`), after the rank
/// check: every method takes its `R`, sketch-and-solve its `Q` too.
fn sketch_qr<T: Field>(sa: MatRef<'_, T>, reg: f64) -> Result<Qr<T>> {
    let (m, d) = (sa.nrows(), sa.ncols());
    let qr = if reg > 0.0 {
        let mut s = zeros(m + d, d, "sketch")?;
        s.as_mut().subrows_mut(0, m).copy_from(sa);
        let r = T::from_f64(reg.sqrt());
        for j in 0..d {
            s[(m + j, j)] = r;
        }
        s.qr()
    } else {
        sa.qr()
    };
    check_rank(qr.thin_R(), if reg > 0.0 { m + d } else { m })?;
    Ok(qr)
}

/// Rank-deficiency check on the diagonal of `R`.
fn check_rank<T: Field>(r: MatRef<'_, T>, m: usize) -> Result<()> {
    let d = r.ncols();
    let diag: Vec<f64> = (0..d).map(|i| r[(i, i)].to_f64().abs()).collect();
    let rmax = diag.iter().cloned().fold(0.0, f64::max);
    let tol = rmax * (m.max(d) as f64) * T::eps().to_f64();
    let rank = diag.iter().filter(|&&v| v > tol).count();
    if rank < d {
        return Err(SketchError::arg(
            "A",
            format!(
                "A is rank deficient to working precision (numerical rank {rank} of {d} \
                 columns): the least-squares solution is not unique; pass reg > 0 for the \
                 ridge solution"
            ),
        ));
    }
    Ok(())
}

/// `z = R⁻¹ v` (in place).
fn r_solve<T: Field>(r: MatRef<'_, T>, v: MatMut<'_, T>) {
    solve_upper_triangular_in_place(r, v, Par::Seq);
}

/// `z = R⁻ᵀ v` (in place).
fn rt_solve<T: Field>(r: MatRef<'_, T>, v: MatMut<'_, T>) {
    solve_lower_triangular_in_place(r.transpose(), v, Par::Seq);
}

fn col_norms<T: Field>(m: MatRef<'_, T>) -> Vec<f64> {
    (0..m.ncols())
        .map(|j| {
            (0..m.nrows())
                .map(|i| m[(i, j)].to_f64().powi(2))
                .sum::<f64>()
                .sqrt()
        })
        .collect()
}

fn scale_cols<T: Field>(mut m: MatMut<'_, T>, s: &[f64]) {
    for (j, &sj) in s.iter().enumerate() {
        let f = T::from_f64(sj);
        for i in 0..m.nrows() {
            m[(i, j)] *= f;
        }
    }
}

/// `b − A x` per column norms, computed.
fn residual_norms<T: Field>(
    op: &dyn LinOp<T>,
    x: MatRef<'_, T>,
    b: MatRef<'_, T>,
) -> Result<Vec<f64>> {
    let mut r = mul(op, x)?;
    for j in 0..r.ncols() {
        for i in 0..r.nrows() {
            r[(i, j)] = b[(i, j)] - r[(i, j)];
        }
    }
    Ok(col_norms(r.as_ref()))
}

/// Solves `min_x ‖A x − b‖² + λ‖x‖²` for every column of `b` (`n × p`).
///
/// Errors name the argument: `b` with a row count other than `A`'s, NaN/inf in `A`
/// or `b` (checked when the operators are built), `reg < 0`, `rtol` outside (0, 1),
/// `maxiter = 0`, a `sketch_size` below `d` or above `n`, the ℓ∞ guarantee with a
/// sparse sketch, and a rank-deficient `A` when `λ = 0` (the solution would not be
/// unique).
pub fn lstsq<T: Field>(
    op: &dyn LinOp<T>,
    b: MatRef<'_, T>,
    opts: &LstsqOptions,
) -> Result<LstsqResult<T>> {
    let (n, d) = (op.nrows(), op.ncols());
    if n == 0 || d == 0 {
        return Err(SketchError::arg(
            "A",
            format!("must have at least one row and column, got ({n}, {d})"),
        ));
    }
    if b.nrows() != n {
        return Err(SketchError::ShapeMismatch(format!(
            "b has {} rows, expected {n} (the rows of A)",
            b.nrows()
        )));
    }
    if b.ncols() == 0 {
        return Err(SketchError::arg("b", "must have at least one column"));
    }
    super::check_finite(b, "b")?;
    if !(opts.reg >= 0.0 && opts.reg.is_finite()) {
        return Err(SketchError::arg(
            "reg",
            format!("must be finite and >= 0, got {}", opts.reg),
        ));
    }
    let rtol = opts.rtol.unwrap_or_else(default_rtol::<T>);
    if !(rtol > 0.0 && rtol < 1.0) {
        return Err(SketchError::arg(
            "rtol",
            format!("must lie in (0, 1), got {rtol}"),
        ));
    }
    if opts.maxiter == Some(0) {
        return Err(SketchError::arg("maxiter", "must be at least 1"));
    }
    let method = match opts.method {
        LstsqMethod::Auto if opts.guarantee == Guarantee::Linf => LstsqMethod::SketchSolve,
        LstsqMethod::Auto => LstsqMethod::Precondition,
        m => m,
    };
    if opts.guarantee == Guarantee::Linf && method != LstsqMethod::SketchSolve {
        return Err(SketchError::arg(
            "guarantee",
            "the l-infinity guarantee is sketch-and-solve's (method='sketch_solve')",
        ));
    }
    if opts.guarantee == Guarantee::Linf {
        // The family rule lives in sketch_size; ask it even when a size is given.
        sketch_size(n, d, opts.eps, opts.delta, Guarantee::Linf, opts.sketch)?;
    }
    let m = match opts.sketch_size {
        Some(m) => {
            if m < d {
                return Err(SketchError::arg(
                    "sketch_size",
                    format!(
                        "{m} is below the {d} columns of A: the sketch cannot capture its range"
                    ),
                ));
            }
            if m > n {
                return Err(SketchError::arg(
                    "sketch_size",
                    format!("{m} exceeds the {n} rows of A: a sketch larger than the problem"),
                ));
            }
            m
        }
        None => match method {
            LstsqMethod::SketchSolve => {
                let m = sketch_size(n, d, opts.eps, opts.delta, opts.guarantee, opts.sketch)?;
                if m >= n {
                    return Err(SketchError::arg(
                        "sketch_size",
                        format!(
                            "the guarantee needs {m} sketch rows, not fewer than the {n} rows of \
                             A: sketch-and-solve would not reduce this problem (raise eps or \
                             use method='precondition')"
                        ),
                    ));
                }
                m
            }
            LstsqMethod::Iterative => d.saturating_mul(DEFAULT_ITERATIVE_RATIO).min(n),
            _ => d.saturating_mul(DEFAULT_PRECONDITION_RATIO).min(n),
        },
    };
    let s = super::sketch_of(opts.sketch, m, n, opts.seed)?;
    let sa = op.sketch_rows(&s)?;
    let qr = sketch_qr(sa.as_ref(), opts.reg)?;
    let r = qr.thin_R().to_owned();
    let rho = (d as f64 / m as f64).sqrt().min(0.9);
    let maxiter = opts
        .maxiter
        .unwrap_or_else(|| ((3.0 * rtol.ln() / rho.ln()).ceil() as usize).max(50));
    let (x, iterations, converged, history) = match method {
        LstsqMethod::SketchSolve => {
            let mut sb = zeros(m, b.ncols(), "S b")?;
            s.sketch(super::from_faer(b), from_faer_mut(sb.as_mut()))?;
            (sketch_solve(&qr, sb.as_ref()), 0, true, Vec::new())
        }
        LstsqMethod::Iterative => ihs(
            op,
            b,
            r.as_ref(),
            opts.reg,
            (d as f64) / (m as f64),
            rtol,
            maxiter,
        )?,
        _ => lsqr(op, b, r.as_ref(), opts.reg, rtol, maxiter)?,
    };
    let residual_norm = residual_norms(op, x.as_ref(), b)?;
    Ok(LstsqResult {
        x,
        residual_norm,
        iterations,
        converged,
        method,
        sketch_size: m,
        history,
    })
}

/// `argmin ‖SA x − Sb‖² + λ‖x‖²` from the QR of `[SA; √λ I]`: `x = R⁻¹ Q₁ᵀ Sb`, `Q₁`
/// the first `m` rows of `Q` (the ridge rows of the right-hand side are zero).
fn sketch_solve<T: Field>(qr: &Qr<T>, sb: MatRef<'_, T>) -> Mat<T> {
    let q = qr.compute_thin_Q();
    let mut x = q.subrows(0, sb.nrows()).transpose() * sb;
    r_solve(qr.thin_R(), x.as_mut());
    x
}

/// Preconditioned LSQR (Paige–Saunders) on `Ā = [A; √λ I] R⁻¹`, all right-hand sides
/// at once. Each iteration is one fused pass over `A` ([`LinOp::apply_normal`]): the
/// Golub–Kahan vector `u` is kept unnormalized (`u = U / β`), so `U ← A R⁻¹ v − (α/β) U`
/// and `Aᵀ U` come from the same pass, and the division by the new `β` is applied to
/// the `d`-vector `Aᵀ U` instead of the `n`-vector `U`.
#[allow(clippy::type_complexity)]
fn lsqr<T: Field>(
    op: &dyn LinOp<T>,
    b: MatRef<'_, T>,
    r: MatRef<'_, T>,
    reg: f64,
    rtol: f64,
    maxiter: usize,
) -> Result<(Mat<T>, usize, bool, Vec<f64>)> {
    let (d, p) = (op.ncols(), b.ncols());
    let sq = T::from_f64(reg.sqrt());
    let ridge = reg > 0.0;
    // U: the A rows of the unnormalized u; ur: its ridge rows (√λ R⁻¹ v − …).
    let mut u = zeros::<T>(b.nrows(), p, "LSQR vector")?;
    u.copy_from(b);
    let mut ur = zeros::<T>(if ridge { d } else { 0 }, p, "LSQR vector")?;
    let bnorm = col_norms(b);
    let mut beta = bnorm.clone();
    let mut v = mul_t(op, u.as_ref())?;
    rt_solve(r, v.as_mut());
    scale_cols(
        v.as_mut(),
        &beta.iter().map(|&x| inv(x)).collect::<Vec<_>>(),
    );
    let mut alpha = col_norms(v.as_ref());
    scale_cols(
        v.as_mut(),
        &alpha.iter().map(|&x| inv(x)).collect::<Vec<_>>(),
    );
    let mut w = v.clone();
    let mut y = zeros::<T>(d, p, "LSQR solution")?;
    let mut phibar = beta.clone();
    let mut rhobar = alpha.clone();
    let mut anorm2 = try_vec(p, 0.0f64, "column norms")?;
    let mut done: Vec<bool> = (0..p).map(|j| bnorm[j] == 0.0 || alpha[j] == 0.0).collect();
    let mut history = Vec::new();
    let mut it = 0;
    let mut vt = zeros::<T>(d, p, "LSQR vector")?;
    let mut z = zeros::<T>(d, p, "LSQR vector")?;
    while it < maxiter && !done.iter().all(|&x| x) {
        it += 1;
        // U ← Ā v − α u = A z − (α/β) U, z = R⁻¹ v; vt = Aᵀ U.
        z.copy_from(&v);
        r_solve(r, z.as_mut());
        let c: Vec<T> = (0..p)
            .map(|j| T::from_f64(alpha[j] * inv(beta[j])))
            .collect();
        let mut norms = op.apply_normal(z.as_ref(), &c, u.as_mut(), vt.as_mut())?;
        if ridge {
            for j in 0..p {
                for i in 0..d {
                    let x = sq * z[(i, j)] - c[j] * ur[(i, j)];
                    ur[(i, j)] = x;
                    norms[j] += x.to_f64() * x.to_f64();
                    vt[(i, j)] += sq * x;
                }
            }
        }
        beta = norms.iter().map(|&x| x.sqrt()).collect();
        rt_solve(r, vt.as_mut());
        for j in 0..p {
            let (ib, bj) = (T::from_f64(inv(beta[j])), T::from_f64(beta[j]));
            for i in 0..d {
                v[(i, j)] = ib * vt[(i, j)] - bj * v[(i, j)];
            }
        }
        let alpha_new = col_norms(v.as_ref());
        scale_cols(
            v.as_mut(),
            &alpha_new.iter().map(|&x| inv(x)).collect::<Vec<_>>(),
        );
        let mut rnorm2 = 0.0;
        for j in 0..p {
            if done[j] {
                rnorm2 += phibar[j] * phibar[j];
                continue;
            }
            anorm2[j] = anorm2[j].max(alpha[j] * alpha[j] + beta[j] * beta[j]);
            let rho = (rhobar[j] * rhobar[j] + beta[j] * beta[j]).sqrt();
            let c = rhobar[j] / rho;
            let s = beta[j] / rho;
            let theta = s * alpha_new[j];
            rhobar[j] = -c * alpha_new[j];
            let phi = c * phibar[j];
            phibar[j] *= s;
            let (t1, t2) = (T::from_f64(phi / rho), T::from_f64(-theta / rho));
            for i in 0..d {
                let wi = w[(i, j)];
                y[(i, j)] += t1 * wi;
                w[(i, j)] = v[(i, j)] + t2 * wi;
            }
            let rn = phibar[j];
            let arn = phibar[j] * (alpha_new[j] * c).abs();
            if arn <= rtol * anorm2[j].sqrt() * rn || rn <= rtol * bnorm[j] || alpha_new[j] == 0.0 {
                done[j] = true;
            }
            rnorm2 += rn * rn;
        }
        alpha = alpha_new;
        history.push(rnorm2.sqrt());
    }
    let converged = done.iter().all(|&x| x);
    r_solve(r, y.as_mut());
    Ok((y, it, converged, history))
}

fn inv(x: f64) -> f64 {
    if x > 0.0 {
        1.0 / x
    } else {
        0.0
    }
}

/// Iterative Hessian sketch with heavy-ball momentum (one fixed sketch).
#[allow(clippy::type_complexity)]
fn ihs<T: Field>(
    op: &dyn LinOp<T>,
    b: MatRef<'_, T>,
    r: MatRef<'_, T>,
    reg: f64,
    ratio: f64,
    rtol: f64,
    maxiter: usize,
) -> Result<(Mat<T>, usize, bool, Vec<f64>)> {
    let (d, p) = (op.ncols(), b.ncols());
    let mu = T::from_f64((1.0 - ratio).powi(2));
    let beta = T::from_f64(ratio);
    let lam = T::from_f64(reg);
    let bnorm = col_norms(b);
    // The computed gradient Aᵀr carries rounding of order ε‖A‖‖r‖, which R⁻ᵀ amplifies
    // by ‖R⁻¹‖: the test cannot ask for less than about ε·cond(A) (estimated from R's
    // diagonal), so it asks for the larger of the two.
    let diag: Vec<f64> = (0..d).map(|i| r[(i, i)].to_f64().abs()).collect();
    let cond = diag.iter().cloned().fold(0.0, f64::max)
        / diag.iter().cloned().fold(f64::INFINITY, f64::min);
    let tol = rtol.max(10.0 * T::eps().to_f64() * cond);
    let mut x = zeros::<T>(d, p, "solution")?;
    let mut x_prev = zeros::<T>(d, p, "solution")?;
    let mut history = Vec::new();
    let mut it = 0;
    let mut converged = false;
    // One fused pass per iteration: e ← A x − b (= −residual), g ← −Aᵀ e − λx.
    let ones = vec![T::ONE; p];
    let mut e = zeros::<T>(b.nrows(), p, "residual")?;
    let mut g = zeros::<T>(d, p, "gradient")?;
    while it < maxiter {
        e.copy_from(b);
        let rn: Vec<f64> = op
            .apply_normal(x.as_ref(), &ones, e.as_mut(), g.as_mut())?
            .into_iter()
            .map(f64::sqrt)
            .collect();
        history.push(rn.iter().map(|v| v * v).sum::<f64>().sqrt());
        for j in 0..p {
            for i in 0..d {
                g[(i, j)] = -g[(i, j)] - lam * x[(i, j)];
            }
        }
        rt_solve(r, g.as_mut());
        let gn = col_norms(g.as_ref());
        if (0..p).all(|j| gn[j] <= tol * rn[j] || rn[j] <= rtol * bnorm[j]) {
            converged = true;
            break;
        }
        it += 1;
        r_solve(r, g.as_mut());
        for j in 0..p {
            for i in 0..d {
                let xi = x[(i, j)];
                let xn = xi + mu * g[(i, j)] + beta * (xi - x_prev[(i, j)]);
                x_prev[(i, j)] = xi;
                x[(i, j)] = xn;
            }
        }
    }
    Ok((x, it, converged, history))
}
