//! Looking at eight bytes at once in a `u64` (the report tokenizer's runs, the quoting check of
//! every written CSV cell; issue 6).

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The first eight bytes of `bytes` (at least eight), little-endian: byte `i` is bits `8i..`.
#[inline]
pub(crate) fn load(bytes: &[u8]) -> u64 {
    let mut eight = [0u8; 8];
    eight.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(eight)
}

/// The high bit of each byte of `word` that equals `byte`. The lowest one set is exact (a borrow
/// only reaches the bytes above a match), so `trailing_zeros() / 8` is the first match; the
/// others may be false, so only "any" and "first" are answers.
#[inline]
pub(crate) fn equal_bytes(word: u64, byte: u8) -> u64 {
    let word = word ^ (ONES * u64::from(byte));
    word.wrapping_sub(ONES) & !word & HIGHS
}
