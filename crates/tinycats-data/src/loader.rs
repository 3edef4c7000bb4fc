//! The batch loader: seeded shuffling, parallel decode and augmentation (rayon), a
//! prefetch thread, and a saveable position so that a resumed run sees the same batches.
//!
//! ```
//! use tinycats_data::{Loader, LoaderConfig, Normalize, Source, SynthCats, SynthConfig};
//! use tinycats_data::augment::Augment;
//!
//! let synth = SynthCats::new(SynthConfig { size: 32, seed: 1, ..SynthConfig::default() })?;
//! let cfg = LoaderConfig {
//!     batch_size: 8,
//!     image_size: 32,
//!     normalize: Normalize::MINUS_ONE_ONE, // the generator's [-1, 1]
//!     augment: Augment::generator_train(),
//!     ..LoaderConfig::default()
//! };
//! let mut loader = Loader::new(Source::synth(synth, 4), cfg)?; // 4 per class × 13
//! let first = loader.next_batch()?;
//! assert_eq!(first.shape, [8, 3, 32, 32]);
//! assert_eq!(first.images.len(), 8 * 3 * 32 * 32);
//!
//! // Checkpoint the position, take a batch, restore, and get the same batch again.
//! let saved = loader.state();
//! let a = loader.next_batch()?;
//! loader.restore(saved)?;
//! let b = loader.next_batch()?;
//! assert_eq!(a.images, b.images);
//!
//! // Or iterate over what is left of the epoch.
//! let rest: Vec<_> = loader.epoch().collect::<Result<_, _>>()?;
//! assert_eq!(rest.len(), loader.batches_per_epoch() - 2);
//! # Ok::<(), tinycats_data::DataError>(())
//! ```
use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::augment::{Augment, augment_into, mix_batch};
use crate::batch::Batch;
use crate::decode::{DecodeLimits, decode_file};
use crate::error::{DataError, Result};
use crate::loaders::Dataset;
use tinycats_core::seed::derive;

use crate::synth::{BreedSpec, SynthCats};
use tinycats_core::Normalize;
use tinycats_core::classes::NUM_CLASSES;

/// Where the images come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Image files on disk (ImageFolder, Oxford-IIIT Pet, or a list of your own).
    Files(Dataset),
    /// SynthCats rendered on the fly. Sample `i` is spec `i % specs.len()`, render
    /// index `index_offset + i / specs.len()`: use disjoint offsets for train and val.
    Synth {
        synth: SynthCats,
        /// Each spec with its label.
        specs: Vec<(BreedSpec, usize)>,
        per_class: u64,
        index_offset: u64,
    },
}

/// The disjoint SynthCats splits: the same renderer and seed, different render indices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SynthSplit {
    Train,
    Val,
    /// Held out: no training command ever renders these, so accuracy on them is honest.
    Test,
}

impl SynthSplit {
    /// First render index of the split; each split has 2⁴⁰ indices per breed.
    pub fn index_offset(self) -> u64 {
        match self {
            SynthSplit::Train => 0,
            SynthSplit::Val => 1 << 40,
            SynthSplit::Test => 2 << 40,
        }
    }
}

impl Source {
    /// The 13 preset breeds, `per_class` images each, labels = class ids.
    pub fn synth(synth: SynthCats, per_class: u64) -> Self {
        let specs = synth
            .presets()
            .iter()
            .cloned()
            .enumerate()
            .map(|(i, s)| (s, i))
            .collect();
        Self::Synth {
            synth,
            specs,
            per_class,
            index_offset: 0,
        }
    }

    /// The 13 preset breeds of one [`SynthSplit`]: `per_class` images each, rendered from
    /// that split's own range of render indices, so train, validation and test never share
    /// an image.
    pub fn synth_split(synth: SynthCats, split: SynthSplit, per_class: u64) -> Self {
        match Self::synth(synth, per_class) {
            Self::Synth {
                synth,
                specs,
                per_class,
                ..
            } => Self::Synth {
                synth,
                specs,
                per_class,
                index_offset: split.index_offset(),
            },
            files => files,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Self::Files(d) => d.len(),
            Self::Synth {
                specs, per_class, ..
            } => specs.len() * *per_class as usize,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Width of the soft targets: the dataset's classes, at least the 13 breeds for SynthCats.
    pub fn num_classes(&self) -> usize {
        match self {
            Self::Files(d) => d.num_classes(),
            Self::Synth { specs, .. } => specs
                .iter()
                .map(|s| s.1 + 1)
                .max()
                .unwrap_or(0)
                .max(NUM_CLASSES),
        }
    }

    fn label(&self, i: usize) -> usize {
        match self {
            Self::Files(d) => d.samples[i].label,
            Self::Synth { specs, .. } => specs[i % specs.len()].1,
        }
    }

    fn load(&self, i: usize, limits: &DecodeLimits) -> Result<image::RgbImage> {
        match self {
            Self::Files(d) => decode_file(&d.samples[i].path, limits).map(|d| d.image),
            Self::Synth {
                synth,
                specs,
                index_offset,
                ..
            } => {
                let n = specs.len();
                Ok(synth.render_spec(&specs[i % n].0, index_offset + (i / n) as u64))
            }
        }
    }
}

/// Loader settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LoaderConfig {
    pub batch_size: usize,
    /// Side of the square output images.
    pub image_size: u32,
    pub normalize: Normalize,
    pub augment: Augment,
    /// Shuffle every epoch (seeded); off for evaluation.
    pub shuffle: bool,
    /// Drop the last, smaller batch of an epoch.
    pub drop_last: bool,
    pub seed: u64,
    /// Batches prepared ahead by the background thread (0 = prepare on demand).
    pub prefetch: usize,
    pub limits: DecodeLimits,
    /// Bytes of decoded (or rendered) images the loader keeps between epochs, so that every
    /// later epoch augments them without decoding or rendering again; images past the budget
    /// are loaded anew each time. 0 keeps none.
    #[serde(default = "default_keep_decoded")]
    pub keep_decoded: usize,
}

/// [`LoaderConfig::keep_decoded`]'s default, 512 MiB: a SynthCats training set of 40,000
/// images at 64 px (12 KiB each), or a few hundred decoded photos.
pub const KEEP_DECODED: usize = 512 << 20;

fn default_keep_decoded() -> usize {
    KEEP_DECODED
}

impl Default for LoaderConfig {
    fn default() -> Self {
        Self {
            batch_size: 64,
            image_size: 64,
            normalize: Normalize::MINUS_ONE_ONE,
            augment: Augment::eval(),
            shuffle: true,
            drop_last: true,
            seed: 0,
            prefetch: 4,
            limits: DecodeLimits::default(),
            keep_decoded: KEEP_DECODED,
        }
    }
}

/// A loader's source and the decoded images it keeps, up to its byte budget: each slot is
/// filled the first time its image is loaded, and read by every later epoch.
struct Kept {
    source: Source,
    images: Vec<OnceLock<image::RgbImage>>,
    bytes: AtomicUsize,
    budget: usize,
}

impl Kept {
    fn new(source: Source, budget: usize) -> Self {
        Kept {
            images: (0..source.len()).map(|_| OnceLock::new()).collect(),
            source,
            bytes: AtomicUsize::new(0),
            budget,
        }
    }

    /// Image `i`: kept from an earlier load, or loaded now (and kept if it fits).
    fn get(&self, i: usize, limits: &DecodeLimits) -> Result<Cow<'_, image::RgbImage>> {
        if let Some(image) = self.images[i].get() {
            return Ok(Cow::Borrowed(image));
        }
        let image = self.source.load(i, limits)?;
        let size = image.as_raw().len();
        if self.bytes.fetch_add(size, Ordering::Relaxed) + size > self.budget {
            self.bytes.fetch_sub(size, Ordering::Relaxed);
            return Ok(Cow::Owned(image));
        }
        if let Err(image) = self.images[i].set(image) {
            // Another thread kept the same image first.
            self.bytes.fetch_sub(size, Ordering::Relaxed);
            return Ok(Cow::Owned(image));
        }
        Ok(Cow::Borrowed(self.images[i].get().expect("set above")))
    }
}

/// The loader's position: save it with a checkpoint, [`Loader::restore`] it on resume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoaderState {
    pub seed: u64,
    pub epoch: u64,
    /// Next batch within the epoch.
    pub batch: usize,
    /// Dataset size when saved, to catch a resume on different data.
    pub dataset_len: usize,
}

struct Worker {
    rx: Receiver<(LoaderState, Result<Batch>)>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Unblock a worker waiting on a full channel.
        while self.rx.try_recv().is_ok() {}
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Yields [`Batch`]es, epoch after epoch. See the module docs for an example.
pub struct Loader {
    kept: Arc<Kept>,
    cfg: LoaderConfig,
    state: LoaderState,
    worker: Option<Worker>,
}

impl std::fmt::Debug for Loader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loader")
            .field("len", &self.kept.source.len())
            .field("cfg", &self.cfg)
            .field("state", &self.state)
            .field("prefetching", &self.worker.is_some())
            .finish()
    }
}

const MIX_STREAM: u64 = 0x6d69_785f_6261_7463; // "mix_batc"

fn epoch_order(n: usize, seed: u64, epoch: u64, shuffle: bool) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    if shuffle {
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(derive(seed, &[epoch])));
    }
    order
}

/// Builds batch `b` of an epoch whose sample order is `order`. A pure function of its
/// inputs: per-sample randomness is keyed by (seed, epoch, position), never by thread.
fn make_batch(
    kept: &Kept,
    cfg: &LoaderConfig,
    order: &[usize],
    epoch: u64,
    b: usize,
) -> Result<Batch> {
    let start = b * cfg.batch_size;
    let idx = &order[start..(start + cfg.batch_size).min(order.len())];
    let s = cfg.image_size as usize;
    let per = 3 * s * s;
    let mut images = vec![0f32; idx.len() * per];
    images
        .par_chunks_mut(per)
        .zip(idx.par_iter().enumerate())
        .try_for_each(|(out, (k, &i))| -> Result<()> {
            let key = derive(cfg.seed, &[epoch, (start + k) as u64]);
            let mut rng = ChaCha8Rng::seed_from_u64(key);
            let img = kept.get(i, &cfg.limits)?;
            augment_into(
                &img,
                cfg.image_size,
                &cfg.augment,
                &cfg.normalize,
                &mut rng,
                out,
            );
            Ok(())
        })?;
    let labels: Vec<i64> = idx.iter().map(|&i| kept.source.label(i) as i64).collect();
    let shape = [idx.len(), 3, s, s];
    let num_classes = kept.source.num_classes();
    let soft_targets = cfg.augment.mixing.as_ref().and_then(|m| {
        let mut rng = ChaCha8Rng::seed_from_u64(derive(cfg.seed ^ MIX_STREAM, &[epoch, b as u64]));
        mix_batch(&mut images, shape, &labels, num_classes, m, &mut rng)
    });
    Ok(Batch {
        images,
        shape,
        labels,
        soft_targets,
        num_classes,
        indices: idx.to_vec(),
    })
}

impl Loader {
    /// Checks the settings against the source. Nothing is decoded until the first batch.
    pub fn new(source: Source, cfg: LoaderConfig) -> Result<Self> {
        if cfg.batch_size == 0 {
            return Err(DataError::config(
                "batch_size",
                0,
                "use a batch size of at least 1",
            ));
        }
        if !(8..=2048).contains(&cfg.image_size) {
            return Err(DataError::config(
                "image_size",
                cfg.image_size,
                "use an image size between 8 and 2048",
            ));
        }
        for (c, s) in cfg.normalize.std.iter().enumerate() {
            if *s <= 0.0 || !s.is_finite() {
                return Err(DataError::config(
                    "normalize.std",
                    format!("{s} (channel {c})"),
                    "standard deviations must be positive",
                ));
            }
        }
        cfg.augment.validate()?;
        let n = source.len();
        if n == 0 {
            return Err(DataError::config(
                "dataset",
                "0 images",
                "point the loader at a folder with images (run `tinycats data check DIR`)",
            ));
        }
        if cfg.drop_last && n < cfg.batch_size {
            return Err(DataError::config(
                "batch_size",
                cfg.batch_size,
                format!(
                    "the dataset has only {n} images; lower the batch size or set drop_last = false"
                ),
            ));
        }
        Ok(Self {
            state: LoaderState {
                seed: cfg.seed,
                epoch: 0,
                batch: 0,
                dataset_len: n,
            },
            kept: Arc::new(Kept::new(source, cfg.keep_decoded)),
            cfg,
            worker: None,
        })
    }

    pub fn len(&self) -> usize {
        self.kept.source.len()
    }

    pub fn is_empty(&self) -> bool {
        self.kept.source.is_empty()
    }

    pub fn num_classes(&self) -> usize {
        self.kept.source.num_classes()
    }

    pub fn config(&self) -> &LoaderConfig {
        &self.cfg
    }

    pub fn batches_per_epoch(&self) -> usize {
        let (n, b) = (self.kept.source.len(), self.cfg.batch_size);
        if self.cfg.drop_last {
            n / b
        } else {
            n.div_ceil(b)
        }
    }

    /// The position of the next batch.
    pub fn state(&self) -> LoaderState {
        self.state
    }

    /// Moves to a saved position; the next batch is the one that followed it.
    pub fn restore(&mut self, state: LoaderState) -> Result<()> {
        if state.seed != self.cfg.seed || state.dataset_len != self.kept.source.len() {
            return Err(DataError::State {
                reason: format!(
                    "saved for seed {} and {} images, this loader has seed {} and {} images",
                    state.seed,
                    state.dataset_len,
                    self.cfg.seed,
                    self.kept.source.len()
                ),
                fix: "resume with the same dataset and loader seed as the checkpointed run".into(),
            });
        }
        if state.batch >= self.batches_per_epoch() {
            return Err(DataError::State {
                reason: format!(
                    "batch {} is past the {} batches of an epoch",
                    state.batch,
                    self.batches_per_epoch()
                ),
                fix: "resume with the same batch size and drop_last as the checkpointed run".into(),
            });
        }
        self.worker = None;
        self.state = state;
        Ok(())
    }

    fn advance(&mut self) {
        self.state.batch += 1;
        if self.state.batch >= self.batches_per_epoch() {
            self.state.batch = 0;
            self.state.epoch += 1;
        }
    }

    fn spawn(&self) -> Worker {
        let (tx, rx) = sync_channel(self.cfg.prefetch.max(1));
        let stop = Arc::new(AtomicBool::new(false));
        let (kept, cfg, start, per_epoch) = (
            Arc::clone(&self.kept),
            self.cfg,
            self.state,
            self.batches_per_epoch(),
        );
        let flag = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name("tinycats-prefetch".into())
            .spawn(move || produce(&kept, &cfg, start, per_epoch, &tx, &flag))
            .ok();
        Worker { rx, stop, handle }
    }

    /// The next batch; rolls over into the next epoch (reshuffled) at the end of one.
    /// A file that cannot be decoded fails the batch with an error naming it.
    pub fn next_batch(&mut self) -> Result<Batch> {
        if self.cfg.prefetch == 0 {
            let order = epoch_order(
                self.kept.source.len(),
                self.cfg.seed,
                self.state.epoch,
                self.cfg.shuffle,
            );
            let batch = make_batch(
                &self.kept,
                &self.cfg,
                &order,
                self.state.epoch,
                self.state.batch,
            );
            self.advance();
            return batch;
        }
        if self.worker.as_ref().is_none_or(|w| w.handle.is_none()) {
            self.worker = Some(self.spawn());
        }
        let worker = self.worker.as_ref().expect("spawned above");
        let (at, batch) = match worker.rx.recv() {
            Ok(msg) => msg,
            Err(_) => {
                self.worker = None;
                return Err(DataError::Worker("the channel closed".into()));
            }
        };
        debug_assert_eq!((at.epoch, at.batch), (self.state.epoch, self.state.batch));
        self.advance();
        batch
    }

    /// An iterator over the rest of the current epoch.
    pub fn epoch(&mut self) -> EpochIter<'_> {
        let epoch = self.state.epoch;
        EpochIter {
            loader: self,
            epoch,
        }
    }
}

fn produce(
    kept: &Kept,
    cfg: &LoaderConfig,
    start: LoaderState,
    per_epoch: usize,
    tx: &SyncSender<(LoaderState, Result<Batch>)>,
    stop: &AtomicBool,
) {
    let mut at = start;
    loop {
        let order = epoch_order(kept.source.len(), cfg.seed, at.epoch, cfg.shuffle);
        while at.batch < per_epoch {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let batch = make_batch(kept, cfg, &order, at.epoch, at.batch);
            if tx.send((at, batch)).is_err() {
                return;
            }
            at.batch += 1;
        }
        at.batch = 0;
        at.epoch += 1;
    }
}

/// Batches until the end of the current epoch.
#[derive(Debug)]
pub struct EpochIter<'a> {
    loader: &'a mut Loader,
    epoch: u64,
}

impl Iterator for EpochIter<'_> {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Self::Item> {
        (self.loader.state.epoch == self.epoch).then(|| self.loader.next_batch())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = if self.loader.state.epoch == self.epoch {
            self.loader.batches_per_epoch() - self.loader.state.batch
        } else {
            0
        };
        (left, Some(left))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::SynthConfig;

    fn loader(prefetch: usize, aug: Augment) -> Loader {
        let synth = SynthCats::new(SynthConfig {
            size: 24,
            seed: 3,
            ..SynthConfig::default()
        })
        .unwrap();
        let cfg = LoaderConfig {
            batch_size: 5,
            image_size: 24,
            augment: aug,
            prefetch,
            seed: 42,
            ..LoaderConfig::default()
        };
        Loader::new(Source::synth(synth, 2), cfg).unwrap()
    }

    #[test]
    fn prefetch_and_on_demand_give_identical_batches_across_epochs() {
        let mut a = loader(3, Augment::classifier_train());
        let mut b = loader(0, Augment::classifier_train());
        for _ in 0..(a.batches_per_epoch() * 2 + 1) {
            assert_eq!(a.next_batch().unwrap(), b.next_batch().unwrap());
        }
        assert_eq!(a.state(), b.state());
        assert_eq!(a.state().epoch, 2);
    }

    #[test]
    fn each_epoch_visits_every_sample_once_in_a_new_order() {
        let mut l = loader(2, Augment::eval());
        let epoch0: Vec<usize> = l.epoch().flat_map(|b| b.unwrap().indices).collect();
        let epoch1: Vec<usize> = l.epoch().flat_map(|b| b.unwrap().indices).collect();
        assert_eq!(epoch0.len(), 25); // 26 samples, batches of 5, last one dropped
        let mut sorted = epoch0.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 25);
        assert_ne!(epoch0, epoch1);
    }

    #[test]
    fn restoring_a_state_replays_the_same_batches() {
        let mut l = loader(2, Augment::classifier_train());
        for _ in 0..7 {
            l.next_batch().unwrap();
        }
        let saved = serde_json::to_string(&l.state()).unwrap();
        let expected: Vec<Batch> = (0..4).map(|_| l.next_batch().unwrap()).collect();
        let mut fresh = loader(2, Augment::classifier_train());
        fresh
            .restore(serde_json::from_str(&saved).unwrap())
            .unwrap();
        let got: Vec<Batch> = (0..4).map(|_| fresh.next_batch().unwrap()).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn a_state_from_other_data_is_refused() {
        let mut l = loader(0, Augment::eval());
        let mut st = l.state();
        st.dataset_len += 1;
        assert!(matches!(l.restore(st), Err(DataError::State { .. })));
    }

    #[test]
    fn settings_that_cannot_work_are_refused() {
        let synth = SynthCats::new(SynthConfig {
            size: 24,
            ..SynthConfig::default()
        })
        .unwrap();
        let too_big = LoaderConfig {
            batch_size: 100,
            image_size: 24,
            ..LoaderConfig::default()
        };
        assert!(Loader::new(Source::synth(synth.clone(), 1), too_big).is_err());
        let zero = LoaderConfig {
            batch_size: 0,
            ..LoaderConfig::default()
        };
        assert!(Loader::new(Source::synth(synth, 1), zero).is_err());
    }

    #[test]
    fn mixed_batches_carry_soft_targets_that_sum_to_one() {
        let mut aug = Augment::classifier_train();
        aug.mixing = Some(crate::augment::Mixing {
            cutmix_alpha: Some(1.0),
            mixup_alpha: Some(0.2),
            prob: 1.0,
        });
        let mut l = loader(0, aug);
        let b = l.next_batch().unwrap();
        let t = b.soft_targets.as_ref().expect("prob 1 mixes every batch");
        assert_eq!(t.len(), b.len() * b.num_classes);
        for row in t.chunks(b.num_classes) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        }
        assert!(
            loader(0, Augment::eval())
                .next_batch()
                .unwrap()
                .soft_targets
                .is_none()
        );
    }
}
