//! The project's one seed mixer, SplitMix64 (Steele, Lea and Flood, 2014, "Fast splittable
//! pseudorandom number generators"), and its one way of deriving seeds from a run's seed
//! ([`derive()`]): data order, a render's stream, augmentation, the trainer's per-step seed and a
//! bootstrap draw are all `derive(seed, ids)`. Defined once so that every crate turns a seed
//! into the same bits, and a rerun, a resumed run or another crate's copy of the same
//! computation sees the same randomness.

/// SplitMix64's increment, 2⁶⁴ divided by the golden ratio.
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's finaliser: decorrelates nearby inputs (seeds 1, 2, 3 give unrelated outputs).
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The SplitMix64 output for state `z`: one step of [`SplitMix64`] started at `z`.
pub fn splitmix(z: u64) -> u64 {
    mix64(z.wrapping_add(GOLDEN))
}

/// The SplitMix64 generator: a tiny, well-mixed stream for data order and seeds.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        mix64(self.0)
    }
}

/// The project's one seed derivation: the seed of the thing that `ids` name (an epoch and a
/// position in it, a breed and a render index, a bootstrap round and a draw), from a run's
/// `seed`, as `mix64(seed ^ mix64(id₀ ^ mix64(id₁ ^ … mix64(idₙ))))`. Each id goes through the
/// mixer before it meets the next, so `[1, 2]` and `[2, 1]` give unrelated seeds, and a run's
/// random stream for one thing never depends on how many other things there are. An
/// independent stream of the same run (augmentation against batch mixing, say) XORs a
/// constant into the seed first: `derive(seed ^ STREAM, ids)`.
pub fn derive(seed: u64, ids: &[u64]) -> u64 {
    let inner = ids.iter().rev().fold(0, |acc, &id| mix64(id ^ acc));
    mix64(seed ^ inner)
}

/// A name as an id for [`derive()`] (a breed's, a class folder's): FNV-1a of its bytes, the same
/// on every machine and in every Rust version (the standard library's hasher is neither).
pub fn name_id(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_splitmix64_stream() {
        // The first outputs of SplitMix64 seeded with 0 (Vigna's reference splitmix64.c).
        let mut r = SplitMix64(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(splitmix(0), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn derivation_nests_the_ids_through_the_mixer() {
        assert_eq!(derive(7, &[]), mix64(7));
        assert_eq!(derive(7, &[3]), mix64(7 ^ mix64(3)));
        assert_eq!(derive(7, &[3, 5]), mix64(7 ^ mix64(3 ^ mix64(5))));
        // Order matters, and neighbouring seeds or ids give unrelated results.
        assert_ne!(derive(7, &[3, 5]), derive(7, &[5, 3]));
        let bits = |a: u64, b: u64| (a ^ b).count_ones();
        assert!(bits(derive(7, &[3]), derive(8, &[3])) > 16);
        assert!(bits(derive(7, &[3]), derive(7, &[4])) > 16);
    }

    #[test]
    fn name_ids_are_fnv1a() {
        // FNV-1a's published test vectors.
        assert_eq!(name_id(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(name_id("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(name_id("foobar"), 0x8594_4171_f739_67e8);
    }
}
