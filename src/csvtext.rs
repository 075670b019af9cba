//! Writing CSV cells by hand where millions are written (the Bulk ingest CSV, `changes.csv`): a
//! cell is quoted only when it holds a comma, a quote, a line break, or space at either end.

/// Whether `text` must be quoted. Eight bytes at a time: this runs for every cell of
/// `changes.csv` and of the Bulk upload (issue 6).
#[must_use]
fn needs_quotes(text: &[u8]) -> bool {
    use crate::swar::{equal_bytes, load};
    let any_special = |word: u64| {
        equal_bytes(word, b',')
            | equal_bytes(word, b'"')
            | equal_bytes(word, b'\n')
            | equal_bytes(word, b'\r')
            != 0
    };
    let (Some(&first), Some(&last)) = (text.first(), text.last()) else {
        return false;
    };
    if first == b' ' || last == b' ' {
        return true;
    }
    if text.len() < 8 {
        // One word, the missing bytes zero (never special).
        let short = text
            .iter()
            .rev()
            .fold(0u64, |word, &b| (word << 8) | u64::from(b));
        return any_special(short);
    }
    // Whole words, then the last eight bytes (overlapping the words before).
    let mut words = text.chunks_exact(8);
    if words.any(|w| any_special(load(w))) {
        return true;
    }
    !words.remainder().is_empty() && any_special(load(&text[text.len() - 8..]))
}

/// Append `text` as one CSV cell.
pub fn push_cell(out: &mut Vec<u8>, text: &str) {
    push_cell_bytes(out, text.as_bytes());
}

/// Append `text` (UTF-8) as one CSV cell.
pub fn push_cell_bytes(out: &mut Vec<u8>, text: &[u8]) {
    if !needs_quotes(text) {
        out.extend_from_slice(text);
        return;
    }
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
        // Each special byte at every position of cells of 1–17 bytes (shorter than a word,
        // whole words, words and a rest), and none.
        for len in 1..=17 {
            let plain = &b"abcdefghijklmnopq"[..len];
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
