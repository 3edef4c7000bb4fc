//! What the trainer reads: batches of tensors addressed by `(epoch, index)`, so that the data
//! order is a pure function of the seed and a resumed run sees exactly the batches the
//! uninterrupted run would have seen.

use tch::{Device, Kind, Tensor};

use crate::error::Result;

/// One batch on a device (a [`tinycats_data::Batch`] of host `f32` values, copied into tensors).
#[derive(Debug)]
pub struct DeviceBatch {
    /// `(N, C, H, W)` f32 images, normalised for the model.
    pub images: Tensor,
    /// `(N,)` int64 labels.
    pub labels: Tensor,
    /// `(N, K)` soft targets from CutMix/MixUp, when the loader mixed the batch.
    pub soft_targets: Option<Tensor>,
}

impl DeviceBatch {
    /// Number of images.
    pub fn len(&self) -> i64 {
        self.images.size()[0]
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Copies a `tinycats_data` batch (contiguous NCHW `f32`) into tensors on the CPU.
    pub fn from_data(b: &tinycats_data::Batch) -> DeviceBatch {
        let [n, c, h, w] = b.shape.map(|d| d as i64);
        DeviceBatch {
            images: Tensor::from_slice(&b.images).reshape([n, c, h, w]), // (N, C, H, W)
            labels: Tensor::from_slice(&b.labels),                       // (N,)
            soft_targets: b
                .soft_targets
                .as_ref()
                .map(|s| Tensor::from_slice(s).reshape([n, b.num_classes as i64])), // (N, K)
        }
    }

    /// Moves every tensor to `device`.
    pub fn to_device(&self, device: Device) -> DeviceBatch {
        DeviceBatch {
            images: self.images.to_device(device),
            labels: self.labels.to_device(device),
            soft_targets: self.soft_targets.as_ref().map(|t| t.to_device(device)),
        }
    }
}

/// A source of training or validation batches.
pub trait BatchSource {
    /// Batches in one epoch.
    fn batches_per_epoch(&self) -> usize;
    /// Batch `index` of epoch `epoch`; the same arguments always give the same batch.
    fn batch(&mut self, epoch: u64, index: usize) -> Result<DeviceBatch>;
}

/// tinycats-data's loader is sequential with a saveable position; asking for the batch at
/// its current position is a plain `next_batch` (so its prefetching stays useful), and any
/// other position is restored first.
impl BatchSource for tinycats_data::Loader {
    fn batches_per_epoch(&self) -> usize {
        tinycats_data::Loader::batches_per_epoch(self)
    }

    fn batch(&mut self, epoch: u64, index: usize) -> Result<DeviceBatch> {
        let at = self.state();
        if (at.epoch, at.batch) != (epoch, index) {
            self.restore(tinycats_data::LoaderState {
                epoch,
                batch: index,
                ..at
            })?;
        }
        Ok(DeviceBatch::from_data(&self.next_batch()?))
    }
}

use tinycats_core::seed::{SplitMix64, derive};

/// The stream of a [`TensorDataset`]'s epoch order, apart from the trainer's step seeds.
const ORDER_STREAM: u64 = 0x5EED_DA7A;

/// An in-memory dataset of images and labels, reshuffled every epoch from the seed.
#[derive(Debug)]
pub struct TensorDataset {
    images: Tensor,
    labels: Tensor,
    batch_size: i64,
    shuffle: bool,
    seed: u64,
    drop_last: bool,
}

impl TensorDataset {
    /// `images`: `(N, C, H, W)` f32, `labels`: `(N,)` int64. With `drop_last`, a final
    /// partial batch is skipped (training); without it, it is kept (validation).
    pub fn new(
        images: Tensor,
        labels: Tensor,
        batch_size: usize,
        shuffle: bool,
        seed: u64,
        drop_last: bool,
    ) -> Self {
        TensorDataset {
            images: images.to_kind(Kind::Float),
            labels: labels.to_kind(Kind::Int64),
            batch_size: batch_size.max(1) as i64,
            shuffle,
            seed,
            drop_last,
        }
    }

    /// Number of images.
    pub fn len(&self) -> i64 {
        self.images.size()[0]
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn order(&self, epoch: u64) -> Vec<i64> {
        let mut idx: Vec<i64> = (0..self.len()).collect();
        if self.shuffle {
            let mut rng = SplitMix64(derive(self.seed ^ ORDER_STREAM, &[epoch]));
            for i in (1..idx.len()).rev() {
                let j = (rng.next_u64() % (i as u64 + 1)) as usize;
                idx.swap(i, j);
            }
        }
        idx
    }
}

impl BatchSource for TensorDataset {
    fn batches_per_epoch(&self) -> usize {
        let (n, b) = (self.len(), self.batch_size);
        (if self.drop_last {
            n / b
        } else {
            (n + b - 1) / b
        }) as usize
    }

    fn batch(&mut self, epoch: u64, index: usize) -> Result<DeviceBatch> {
        let order = self.order(epoch);
        let start = index * self.batch_size as usize;
        let end = (start + self.batch_size as usize).min(order.len());
        let idx = Tensor::from_slice(&order[start..end]);
        Ok(DeviceBatch {
            images: self.images.index_select(0, &idx),
            labels: self.labels.index_select(0, &idx),
            soft_targets: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_depends_only_on_seed_and_epoch() {
        let images = Tensor::arange(10, (Kind::Float, Device::Cpu)).reshape([10, 1, 1, 1]);
        let labels = Tensor::arange(10, (Kind::Int64, Device::Cpu));
        let mut a = TensorDataset::new(images.copy(), labels.copy(), 4, true, 7, true);
        let mut b = TensorDataset::new(images, labels, 4, true, 7, true);
        assert_eq!(a.batches_per_epoch(), 2);
        assert!(
            a.batch(3, 1)
                .unwrap()
                .labels
                .equal(&b.batch(3, 1).unwrap().labels)
        );
        assert!(
            !a.batch(0, 0)
                .unwrap()
                .labels
                .equal(&a.batch(1, 0).unwrap().labels)
        );
        let mut seen: Vec<i64> = (0..2)
            .flat_map(|i| Vec::<i64>::try_from(a.batch(5, i).unwrap().labels).unwrap())
            .collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 8, "an epoch has no repeats");
    }
}

#[cfg(test)]
mod loader_tests {
    use super::*;
    use tinycats_data::{Loader, LoaderConfig, Source, SynthCats, SynthConfig};

    #[test]
    fn the_data_loader_is_addressed_by_epoch_and_index() {
        let synth = SynthCats::new(SynthConfig {
            size: 16,
            seed: 3,
            ..SynthConfig::default()
        })
        .unwrap();
        let cfg = LoaderConfig {
            batch_size: 4,
            image_size: 16,
            prefetch: 0,
            ..LoaderConfig::default()
        };
        let mut loader = Loader::new(Source::synth(synth, 1), cfg).unwrap();
        let a = BatchSource::batch(&mut loader, 1, 2).unwrap();
        let _ = BatchSource::batch(&mut loader, 0, 0).unwrap();
        let b = BatchSource::batch(&mut loader, 1, 2).unwrap();
        assert_eq!(a.images.size(), [4, 3, 16, 16]);
        assert!(a.images.equal(&b.images) && a.labels.equal(&b.labels));
    }
}
