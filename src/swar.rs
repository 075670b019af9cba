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

/// Where the first `byte` of `bytes` is: up to 32 bytes a word at a time in line, the rest with
/// `memchr`, whose call costs more than the search for a short cell (a Bulk query result quotes
/// every field; issue 6).
#[inline]
pub(crate) fn find_byte(bytes: &[u8], byte: u8) -> Option<usize> {
    let mut at = 0;
    while at < 32 && at + 8 <= bytes.len() {
        let found = equal_bytes(load(&bytes[at..]), byte);
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    memchr::memchr(byte, &bytes[at..]).map(|p| at + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_byte_finds_what_memchr_finds() {
        // Every length up to past the in-line words, the byte at every position, once and twice,
        // and bytes that differ from it by one bit (a borrow must not make them match).
        for len in 0..80 {
            let plain: Vec<u8> = b"abcdefghijklmnopqrstuvwxyz"
                .iter()
                .cycle()
                .take(len)
                .copied()
                .collect();
            assert_eq!(find_byte(&plain, b'"'), None, "{len}");
            for at in 0..len {
                let mut bytes = plain.clone();
                bytes[at] = b'"';
                assert_eq!(find_byte(&bytes, b'"'), Some(at), "{len} {at}");
                if at + 1 < len {
                    bytes[len - 1] = b'"';
                    assert_eq!(find_byte(&bytes, b'"'), Some(at), "{len} {at}");
                }
                let mut near = plain.clone();
                near[at] = b'"' ^ 1;
                near[len - 1] = b'"' + 1;
                assert_eq!(
                    find_byte(&near, b'"'),
                    memchr::memchr(b'"', &near),
                    "{len} {at}"
                );
            }
        }
    }
}
