//! The operator cache: an operator's data on the device (sparse lists in sliced ELL,
//! SRHT signs and rows) for one direction, uploaded on first use and kept for the
//! most recently used operators within a byte budget.

use crate::device::dev_err;
use crate::layout::sliced_ell;
use crate::transfer::State;
use crate::Gpu;
use sketchkit::backend::{Lists, Plan};
use sketchkit::{Family, Result, Sketch};
use std::collections::VecDeque;
use std::sync::Arc;

/// Operators (per direction) whose data stay on the device, and their bytes at most.
const OP_CACHE: usize = 16;
const OP_CACHE_BYTES: u64 = 1 << 30;

/// Identity of an operator: its definition, not its address. (A [`Plan`] holds the
/// operator's data, not its definition, so the key comes from the operator.)
#[derive(Clone, Debug, PartialEq)]
struct OpKey {
    family: Family,
    k: usize,
    d: usize,
    seed: u64,
}

impl OpKey {
    fn of(op: &Sketch) -> Self {
        let (k, d) = sketchkit::LinearSketch::shape(op);
        OpKey {
            family: op.family(),
            k,
            d,
            seed: op.seed(),
        }
    }
}

/// An operator and a direction (`true`: the adjoint of a sparse operator, whose lists
/// differ from the projection's).
type Key = (OpKey, bool);

/// An operator's data on the device for one direction: sparse lists (slice offsets,
/// entries) of `S`'s rows (project) or columns (adjoint); the SRHT's (sign words,
/// sampled rows); nothing for the dense families.
pub(crate) struct OpBuffers {
    pub(crate) data: Option<(wgpu::Buffer, wgpu::Buffer)>,
    bytes: u64,
}

/// The cached operator directions, least recently used first.
#[derive(Default)]
pub(crate) struct OpCache(VecDeque<(Key, Arc<OpBuffers>)>);

impl OpCache {
    /// Forgets every operator.
    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }

    /// The entry of `key`, which becomes the most recently used.
    fn get(&mut self, key: &Key) -> Option<Arc<OpBuffers>> {
        let i = self.0.iter().position(|(k, _)| k == key)?;
        let entry = self.0.remove(i).expect("found above");
        let bufs = entry.1.clone();
        self.0.push_back(entry);
        Some(bufs)
    }

    /// Adds `bufs` as the most recently used entry, after dropping the least recently
    /// used ones while the cache is full or, with `bufs`, over its byte budget.
    fn insert(&mut self, key: Key, bufs: Arc<OpBuffers>) {
        let mut total: u64 = self.0.iter().map(|(_, b)| b.bytes).sum::<u64>() + bufs.bytes;
        while !self.0.is_empty() && (self.0.len() >= OP_CACHE || total > OP_CACHE_BYTES) {
            total -= self.0.pop_front().map_or(0, |(_, b)| b.bytes);
        }
        self.0.push_back((key, bufs));
    }
}

impl Gpu {
    /// The operator's data for one direction on the device, uploaded on first use and
    /// kept for the last [`OP_CACHE`] operator directions (at most [`OP_CACHE_BYTES`]).
    pub(crate) fn op_buffers(
        &self,
        st: &mut State,
        op: &Sketch,
        plan: &Plan<'_>,
        adjoint: bool,
    ) -> Result<Arc<OpBuffers>> {
        let key = (
            OpKey::of(op),
            adjoint && matches!(plan, Plan::Sparse { .. }),
        );
        if let Some(bufs) = st.ops.get(&key) {
            return Ok(bufs);
        }
        let data = match plan {
            Plan::Dense { .. } => None,
            Plan::Sparse { rows, cols, .. } => {
                Some(self.upload_lists(if adjoint { cols } else { rows })?)
            }
            Plan::Srht { rows, signs, .. } => {
                let words: Vec<u32> = signs
                    .iter()
                    .flat_map(|&w| [w as u32, (w >> 32) as u32])
                    .collect();
                Some((
                    self.storage_init("SRHT signs", &words),
                    self.storage_init("SRHT rows", rows),
                ))
            }
        };
        let bytes = data.as_ref().map_or(0, |(a, b)| a.size() + b.size());
        let bufs = Arc::new(OpBuffers { data, bytes });
        st.ops.insert(key, bufs.clone());
        Ok(bufs)
    }

    fn upload_lists(&self, l: &Lists<'_>) -> Result<(wgpu::Buffer, wgpu::Buffer)> {
        let (ptr, ent) = sliced_ell(l)?;
        if ent.len() * 4 > self.max_binding {
            return Err(dev_err(format!(
                "the operator's index lists ({} entries with padding) exceed the device's \
                 buffer limit",
                ent.len()
            )));
        }
        Ok((
            self.storage_init("list slices", &ptr),
            self.storage_init("list entries", &ent),
        ))
    }

    fn storage_init(&self, label: &str, data: &[u32]) -> wgpu::Buffer {
        let bytes = (data.len() * 4).max(16) as u64;
        let buf = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes.next_multiple_of(16),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        if !data.is_empty() {
            self.queue.write_buffer(&buf, 0, bytemuck::cast_slice(data));
        }
        buf
    }
}
