//! The project's one seed mixer: SplitMix64 (Steele, Lea and Flood, 2014, "Fast splittable
//! pseudorandom number generators"), used wherever a seed is turned into data order, a
//! renderer's stream or a bootstrap draw. Defined once so that every crate mixes a seed to
//! the same bits.

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

/// Mixes a seed with a stream id and a counter into a new seed (the trainer's per-step and
/// per-epoch seeds).
pub fn derive_seed(seed: u64, stream: u64, counter: u64) -> u64 {
    let mut r = SplitMix64(seed ^ stream.rotate_left(32));
    r.0 ^= counter.wrapping_mul(0xD1B5_4A32_D192_ED03);
    r.next_u64()
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
}
