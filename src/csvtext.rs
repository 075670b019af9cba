//! Writing CSV cells by hand where millions are written (the Bulk ingest CSV, `changes.csv`): a
//! cell is quoted only when it holds a comma, a quote, a line break, or space at either end. Also
//! where a cell starts in the two hand-written readers' records (report and Bulk results).

/// Where cell `i` of a record starts, the record's cells ending at `ends` and starting at
/// `starts`, or where the cell before ends when `starts` is empty (cells one after another).
#[inline]
#[must_use]
pub fn cell_start(starts: &[usize], ends: &[usize], i: usize) -> usize {
    match starts.get(i) {
        Some(&start) => start,
        None if i == 0 => 0,
        None => ends[i - 1],
    }
}

/// Whether `text` must be quoted. Sixteen bytes at a time where it is that long (compared all
/// at once, without a branch per byte), eight at a time below: this runs for every cell of
/// `changes.csv` and of the Bulk upload (issue 6).
#[must_use]
fn needs_quotes(text: &[u8]) -> bool {
    use crate::swar::{equal_bytes, load};
    let (Some(&first), Some(&last)) = (text.first(), text.last()) else {
        return false;
    };
    if first == b' ' || last == b' ' {
        return true;
    }
    if text.len() >= 16 {
        // Whole blocks, then the last sixteen bytes (overlapping the blocks before).
        let (blocks, _) = text.as_chunks::<16>();
        let tail: &[u8; 16] = text[text.len() - 16..].try_into().unwrap_or(&[0; 16]);
        return blocks.iter().any(special_in_block) || special_in_block(tail);
    }
    let any_special = |word: u64| {
        equal_bytes(word, b',')
            | equal_bytes(word, b'"')
            | equal_bytes(word, b'\n')
            | equal_bytes(word, b'\r')
            != 0
    };
    if text.len() < 8 {
        // One word, the missing bytes zero (never special).
        let short = text
            .iter()
            .rev()
            .fold(0u64, |word, &b| (word << 8) | u64::from(b));
        return any_special(short);
    }
    // The first eight bytes and the last eight (overlapping).
    any_special(load(text)) || any_special(load(&text[text.len() - 8..]))
}

/// Whether a block holds a byte that must be quoted: every byte is looked at, with no early
/// exit, so the compiler compares the sixteen at once.
#[inline]
#[allow(clippy::needless_bitwise_bool)] // a branch per byte is what this avoids
fn special_in_block(block: &[u8; 16]) -> bool {
    block.iter().fold(false, |any, &b| {
        any | (b == b',') | (b == b'"') | (b == b'\n') | (b == b'\r')
    })
}

/// Append `text` as one CSV cell.
pub fn push_cell(out: &mut Vec<u8>, text: &str) {
    push_cell_bytes(out, text.as_bytes());
}

/// Append `text` (UTF-8) as one CSV cell.
#[inline]
pub fn push_cell_bytes(out: &mut Vec<u8>, text: &[u8]) {
    if needs_quotes(text) {
        push_quoted(out, text);
    } else {
        out.extend_from_slice(text);
    }
}

/// Append `text` quoted, its quotes doubled (kept out of line: most cells need no quotes).
#[inline(never)]
fn push_quoted(out: &mut Vec<u8>, text: &[u8]) {
    out.push(b'"');
    for (i, part) in text.split(|&b| b == b'"').enumerate() {
        if i > 0 {
            out.extend_from_slice(b"\"\"");
        }
        out.extend_from_slice(part);
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_read_back_as_written() {
        let cells = [
            "plain",
            "",
            "a,b",
            "say \"hi\"",
            "two\nlines",
            "cr\rhere",
            " lead",
            "trail ",
            "é ü",
        ];
        let mut line = Vec::new();
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                line.push(b',');
            }
            push_cell(&mut line, c);
        }
        line.push(b'\n');
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(line.as_slice());
        let record = reader
            .records()
            .next()
            .expect("a record")
            .expect("valid CSV");
        assert_eq!(record.iter().collect::<Vec<_>>(), cells);
        assert!(!needs_quotes(b"plain"));
        // Each special byte at every position of cells of 1–40 bytes (shorter than a word,
        // one or two words, whole blocks of sixteen and a rest), and none.
        for len in 1..=40 {
            let plain = &b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"[..len];
            assert!(!needs_quotes(plain), "{plain:?}");
            for special in [b',', b'"', b'\n', b'\r'] {
                for at in 0..len {
                    let mut cell = plain.to_vec();
                    cell[at] = special;
                    assert!(needs_quotes(&cell), "{cell:?}");
                }
            }
        }
        assert!(!needs_quotes(
            "ünïcode-€-ok!#+./:;<=>?@[]^_`{|}~".as_bytes()
        ));
        assert!(!needs_quotes(b"inner space"));
    }
}
