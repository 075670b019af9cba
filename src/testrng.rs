//! A fixed-seed pseudo-random source (xorshift64) for tests that hold two ways of doing one
//! thing together on many inputs: the same inputs every run, so a failure repeats.

pub(crate) struct XorShift(u64);

impl XorShift {
    /// `seed` must not be zero.
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n`.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).expect("below a usize")
    }

    /// `len` bytes, each picked from `alphabet`.
    pub(crate) fn bytes(&mut self, alphabet: &[u8], len: usize) -> Vec<u8> {
        (0..len)
            .map(|_| alphabet[self.below(alphabet.len())])
            .collect()
    }
}
