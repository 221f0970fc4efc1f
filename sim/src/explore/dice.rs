//! The dice of one drawn world: a [`SplitMix`] stream seeded from the explorer seed and the
//! backend, with the few shapes the draw needs (chances, picks, uniform and log-uniform
//! milliseconds). Nothing else in the explorer draws a random number, and nothing here keeps
//! state beyond the stream, so the same seed and backend always draw the same world.

use crate::scenario::BackendKind;
use crate::splitmix::SplitMix;

/// A world's random stream.
pub(crate) struct Dice(SplitMix);

impl Dice {
    /// The stream of `seed` on `backend` (each backend draws its own worlds).
    pub fn new(seed: u64, backend: BackendKind) -> Dice {
        let salt = match backend {
            BackendKind::Memory => 0,
            BackendKind::EtcdSim => 0xe7cd_5100_0000_0000,
        };
        Dice(SplitMix::new(seed ^ salt))
    }

    /// A number in `lo..=hi`.
    pub fn int(&mut self, lo: u64, hi: u64) -> u64 {
        self.0.range(lo, hi.saturating_add(1))
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.0.range(0, 100) < percent
    }

    /// One of `items` (which must not be empty).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.0.range(0, items.len() as u64) as usize]
    }

    /// An index drawn with the given weights (at least one positive).
    pub fn weighted(&mut self, weights: &[u64]) -> usize {
        let total: u64 = weights.iter().sum();
        let mut roll = self.0.range(0, total.max(1));
        for (i, w) in weights.iter().enumerate() {
            if roll < *w {
                return i;
            }
            roll -= w;
        }
        weights.len() - 1
    }

    /// A value in `lo..=hi` whose logarithm is uniform: as many draws between 100 and 1,000 as
    /// between 1,000 and 10,000. `lo` must be positive.
    pub fn log_uniform(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        let (a, b) = ((lo as f64).ln(), (hi as f64).ln());
        let unit = self.0.next_u64() as f64 / u64::MAX as f64;
        ((a + (b - a) * unit).exp().round() as u64).clamp(lo, hi)
    }

    /// `+1` or `-1`.
    pub fn sign(&mut self) -> i64 {
        if self.chance(50) {
            1
        } else {
            -1
        }
    }
}
