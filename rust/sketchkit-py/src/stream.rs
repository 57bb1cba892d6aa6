//! `RowSketch`, the streaming and mergeable `S · A` (see `_native.pyi` and the core's
//! `sketchkit::stream`). Conversion, GIL release and error mapping only.

use crate::convert::{array, count, readonly, view, with_csr, Csr, Float, FloatKind};
use crate::error::{invalid, nogil, Error};
use crate::operator::SketchOperator;
use numpy::{Element, Ix2};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use sketchkit::{LinearSketch, Real, Sketch, SparseIndex};

type Core<T> = sketchkit::RowSketch<T>;

/// The state, once its element type is known.
enum Typed {
    /// Nothing added yet and no `dtype` given.
    Open,
    F32(Core<f32>),
    F64(Core<f64>),
}

/// Element types a state holds, with their little-endian serialization.
trait StateFloat: Float + Real {
    const KIND: FloatKind;
    fn get_mut(t: &mut Typed) -> Option<&mut Core<Self>>;
    fn wrap(c: Core<Self>) -> Typed;
    fn to_le(v: &[Self]) -> Vec<u8>;
    fn from_le(b: &[u8]) -> Option<Vec<Self>>;
}

macro_rules! state_float {
    ($t:ty, $kind:ident, $n:expr) => {
        impl StateFloat for $t {
            const KIND: FloatKind = FloatKind::$kind;
            fn get_mut(t: &mut Typed) -> Option<&mut Core<Self>> {
                match t {
                    Typed::$kind(c) => Some(c),
                    _ => None,
                }
            }
            fn wrap(c: Core<Self>) -> Typed {
                Typed::$kind(c)
            }
            fn to_le(v: &[Self]) -> Vec<u8> {
                v.iter().flat_map(|x| x.to_le_bytes()).collect()
            }
            fn from_le(b: &[u8]) -> Option<Vec<Self>> {
                if b.len() % $n != 0 {
                    return None;
                }
                let chunks = b.chunks_exact($n);
                Some(
                    chunks
                        .map(|c| <$t>::from_le_bytes(c.try_into().expect("chunk of $n")))
                        .collect(),
                )
            }
        }
    };
}
state_float!(f32, F32, 4);
state_float!(f64, F64, 8);

fn dtype_name(k: FloatKind) -> &'static str {
    match k {
        FloatKind::F32 => "float32",
        FloatKind::F64 => "float64",
    }
}

/// A node `(h, a, little-endian values)` and a piece `(row0, little-endian values)`
/// of a serialized state.
type NodeState<'py> = (u32, usize, Bound<'py, PyBytes>);
type PieceState<'py> = (usize, Bound<'py, PyBytes>);

/// The streaming, mergeable `S · A` (see `_native.pyi`).
#[pyclass(module = "sketchkit._native")]
pub(crate) struct RowSketch {
    op: Sketch,
    m: usize,
    state: Typed,
}

impl RowSketch {
    fn kind(&self) -> Option<FloatKind> {
        match self.state {
            Typed::Open => None,
            Typed::F32(_) => Some(FloatKind::F32),
            Typed::F64(_) => Some(FloatKind::F64),
        }
    }

    /// The typed state for input of element `T` named `name`: created when open, an
    /// error when the state holds the other type (no silent cast).
    fn typed<T: StateFloat>(&mut self, name: &str) -> PyResult<&mut Core<T>> {
        match self.kind() {
            None => {
                let c = Core::<T>::new(&self.op, self.m).map_err(Error::from)?;
                self.state = T::wrap(c);
            }
            Some(k) if k != T::KIND => {
                return Err(invalid(
                    name,
                    format!(
                        "has dtype {} but the sketch holds {}; convert it explicitly \
                         (no implicit cast)",
                        dtype_name(T::KIND),
                        dtype_name(k)
                    ),
                ))
            }
            Some(_) => {}
        }
        T::get_mut(&mut self.state).ok_or_else(|| invalid(name, "internal dtype mismatch"))
    }

    fn update_dense<T: StateFloat>(
        &mut self,
        py: Python<'_>,
        block: &Bound<'_, PyAny>,
        row0: usize,
    ) -> PyResult<()> {
        let a = array::<T, Ix2>(block, "block")?;
        let guard = readonly(a, "block")?;
        let v = view(&guard, "block")?;
        let st = self.typed::<T>("block")?;
        nogil(py, "block", move || st.update(row0, v))
    }

    fn update_sparse<T: StateFloat, I: SparseIndex + Element>(
        &mut self,
        py: Python<'_>,
        csr: &Csr<'_, T, I>,
        n_cols: usize,
        row0: usize,
    ) -> PyResult<()> {
        let parts = csr.parts()?;
        let rows = csr.rows()?;
        let st = self.typed::<T>("block")?;
        nogil(py, "block", move || {
            st.update_csr(row0, &parts.view(rows, n_cols)?)
        })
    }

    fn result_of<T: StateFloat>(&self, py: Python<'_>, st: &Core<T>) -> PyResult<Py<PyAny>> {
        let (k, _) = self.op.shape();
        let v = nogil(py, "A", || st.result())?;
        Ok(crate::convert::matrix(py, v, [k, self.m])?
            .into_any()
            .unbind())
    }

    #[allow(clippy::type_complexity)]
    fn state_of<'py, T: StateFloat>(
        py: Python<'py>,
        st: &Core<T>,
    ) -> PyResult<(Vec<NodeState<'py>>, Vec<PieceState<'py>>)> {
        let nodes = st
            .nodes()
            .map(|(h, a, v)| (h, a, PyBytes::new(py, &T::to_le(v))))
            .collect();
        let pieces = st
            .pieces()
            .map_err(Error::from)?
            .into_iter()
            .map(|(r, v)| (r, PyBytes::new(py, &T::to_le(&v))))
            .collect();
        Ok((nodes, pieces))
    }

    fn restore<T: StateFloat>(
        op: &Sketch,
        m: usize,
        nodes: Vec<NodeState<'_>>,
        pieces: Vec<PieceState<'_>>,
    ) -> PyResult<Typed> {
        let bad = |arg: &str| {
            invalid(
                arg,
                "holds a byte string whose length is not whole elements",
            )
        };
        let nodes = nodes
            .into_iter()
            .map(|(h, a, b)| Ok((h, a, T::from_le(b.as_bytes()).ok_or_else(|| bad("nodes"))?)))
            .collect::<PyResult<Vec<_>>>()?;
        let pieces = pieces
            .into_iter()
            .map(|(r, b)| Ok((r, T::from_le(b.as_bytes()).ok_or_else(|| bad("pieces"))?)))
            .collect::<PyResult<Vec<_>>>()?;
        let c = Core::<T>::from_parts(op, m, nodes, pieces).map_err(Error::from)?;
        Ok(T::wrap(c))
    }

    fn try_clone(&self) -> PyResult<RowSketch> {
        let state = match &self.state {
            Typed::Open => Typed::Open,
            Typed::F32(c) => Typed::F32(c.try_clone().map_err(Error::from)?),
            Typed::F64(c) => Typed::F64(c.try_clone().map_err(Error::from)?),
        };
        Ok(RowSketch {
            op: self.op.clone(),
            m: self.m,
            state,
        })
    }
}

#[pymethods]
impl RowSketch {
    #[new]
    #[pyo3(signature = (operator, n_columns, dtype = None))]
    fn new(
        operator: PyRef<'_, SketchOperator>,
        n_columns: i64,
        dtype: Option<&str>,
    ) -> PyResult<Self> {
        let op = operator.inner.clone();
        let m = count(n_columns, "n_columns")?;
        Core::<f64>::check(&op, m).map_err(Error::from)?;
        let mut s = RowSketch {
            op,
            m,
            state: Typed::Open,
        };
        match dtype.map(FloatKind::parse).transpose()? {
            Some(FloatKind::F32) => {
                s.typed::<f32>("dtype")?;
            }
            Some(FloatKind::F64) => {
                s.typed::<f64>("dtype")?;
            }
            None => {}
        }
        Ok(s)
    }

    /// `(k, n_columns)`.
    #[getter]
    fn shape(&self) -> (usize, usize) {
        (self.op.shape().0, self.m)
    }
    #[getter]
    fn n_columns(&self) -> usize {
        self.m
    }
    #[getter]
    fn dtype(&self) -> Option<&'static str> {
        self.kind().map(dtype_name)
    }
    #[getter]
    fn strip_rows(&self) -> usize {
        sketchkit::strip_rows(self.op.shape().0)
    }
    #[getter]
    fn rows_supplied(&self) -> usize {
        match &self.state {
            Typed::Open => 0,
            Typed::F32(c) => c.rows_supplied(),
            Typed::F64(c) => c.rows_supplied(),
        }
    }
    #[getter]
    fn missing_rows(&self) -> Vec<(usize, usize)> {
        match &self.state {
            Typed::Open => vec![(0, self.op.shape().1)],
            Typed::F32(c) => c.missing(),
            Typed::F64(c) => c.missing(),
        }
    }
    #[getter]
    fn operator(&self) -> SketchOperator {
        SketchOperator {
            inner: self.op.clone(),
        }
    }

    fn update(
        &mut self,
        py: Python<'_>,
        block: &Bound<'_, PyAny>,
        row_offset: i64,
    ) -> PyResult<()> {
        let row0 = count(row_offset, "row_offset")?;
        match FloatKind::of(block, "block")? {
            FloatKind::F32 => self.update_dense::<f32>(py, block, row0),
            FloatKind::F64 => self.update_dense::<f64>(py, block, row0),
        }
    }

    fn update_csr(
        &mut self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        indices: &Bound<'_, PyAny>,
        indptr: &Bound<'_, PyAny>,
        n_cols: i64,
        row_offset: i64,
    ) -> PyResult<()> {
        let row0 = count(row_offset, "row_offset")?;
        let n_cols = count(n_cols, "n_cols")?;
        with_csr!(data, indices, T, I => {
            let csr = Csr::<T, I>::borrow(data, indices, indptr)?;
            self.update_sparse::<T, I>(py, &csr, n_cols, row0)
        })
    }

    fn merge(slf: &Bound<'_, Self>, other: &Bound<'_, RowSketch>) -> PyResult<()> {
        let py = slf.py();
        let theirs = if slf.is(other) {
            slf.borrow().try_clone()?
        } else {
            other.borrow().try_clone()?
        };
        let mut me = slf.borrow_mut();
        if !me.op.same_operator(&theirs.op) || me.m != theirs.m {
            // The core's message names both operators.
            let mut a = Core::<f64>::new(&me.op, me.m).map_err(Error::from)?;
            let b = Core::<f64>::new(&theirs.op, theirs.m).map_err(Error::from)?;
            a.merge(b).map_err(Error::from)?;
        }
        match theirs.state {
            Typed::Open => Ok(()),
            Typed::F32(c) => {
                let st = me.typed::<f32>("other")?;
                nogil(py, "other", move || st.merge(c))
            }
            Typed::F64(c) => {
                let st = me.typed::<f64>("other")?;
                nogil(py, "other", move || st.merge(c))
            }
        }
    }

    fn result(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        match &self.state {
            Typed::Open => {
                let empty = Core::<f64>::new(&self.op, self.m).map_err(Error::from)?;
                nogil(py, "A", || empty.result())?;
                Err(invalid("A", "no rows have been supplied"))
            }
            Typed::F32(c) => self.result_of(py, c),
            Typed::F64(c) => self.result_of(py, c),
        }
    }

    fn copy(&self) -> PyResult<RowSketch> {
        self.try_clone()
    }

    /// `(dtype or None, nodes, pieces)`: the serialized state (values little-endian).
    #[allow(clippy::type_complexity)]
    fn state<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(
        Option<&'static str>,
        Vec<NodeState<'py>>,
        Vec<PieceState<'py>>,
    )> {
        let (nodes, pieces) = match &self.state {
            Typed::Open => (vec![], vec![]),
            Typed::F32(c) => Self::state_of(py, c)?,
            Typed::F64(c) => Self::state_of(py, c)?,
        };
        Ok((self.dtype(), nodes, pieces))
    }

    #[staticmethod]
    #[pyo3(signature = (operator, n_columns, dtype, nodes, pieces))]
    fn from_state(
        operator: PyRef<'_, SketchOperator>,
        n_columns: i64,
        dtype: Option<&str>,
        nodes: Vec<NodeState<'_>>,
        pieces: Vec<PieceState<'_>>,
    ) -> PyResult<RowSketch> {
        let op = operator.inner.clone();
        let m = count(n_columns, "n_columns")?;
        Core::<f64>::check(&op, m).map_err(Error::from)?;
        let state = match dtype.map(FloatKind::parse).transpose()? {
            Some(FloatKind::F32) => Self::restore::<f32>(&op, m, nodes, pieces)?,
            Some(FloatKind::F64) => Self::restore::<f64>(&op, m, nodes, pieces)?,
            None if nodes.is_empty() && pieces.is_empty() => Typed::Open,
            None => return Err(invalid("dtype", "is needed for a state holding rows")),
        };
        Ok(RowSketch { op, m, state })
    }

    fn __repr__(&self) -> String {
        let (k, d) = self.op.shape();
        format!(
            "RowSketch({:?}, k={k}, d={d}, n_columns={}, rows_supplied={})",
            self.op.family().name(),
            self.m,
            self.rows_supplied()
        )
    }
}
