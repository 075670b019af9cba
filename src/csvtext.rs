//! Writing CSV cells by hand where millions are written (the Bulk ingest CSV, `changes.csv`): a
//! cell is quoted only when it holds a comma, a quote, a line break, or space at either end.

/// Whether `text` must be quoted.
#[must_use]
fn needs_quotes(text: &str) -> bool {
    text.bytes()
        .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
        || text.starts_with(' ')
        || text.ends_with(' ')
}

/// Append `text` as one CSV cell.
pub fn push_cell(out: &mut Vec<u8>, text: &str) {
    if !needs_quotes(text) {
        out.extend_from_slice(text.as_bytes());
        return;
    }
    out.push(b'"');
    for b in text.bytes() {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
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
        assert!(!needs_quotes("plain"));
    }
}
