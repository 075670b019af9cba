//! The RFC 4180 tokenizer under [`super::reader`].
//!
//! Why not `csv::Reader`: it grows a record's buffer without limit (a 10 MB cell, or an unclosed
//! quote near the top of a 1 GB file, would be held whole in memory) and it ends a record that
//! hits end-of-file inside quotes without saying so. This tokenizer follows the same grammar as the
//! `csv` crate's defaults (`"` quotes, `""` escapes, `\n`, `\r\n` or `\r` ends a record, completely
//! empty lines are skipped, a `"` inside an unquoted field is literal, text after a closing quote is
//! appended) and the tests compare it with `csv` on well-formed input, but it stores at most
//! [`MAX_CELL_BYTES`] per cell and [`MAX_ROW_BYTES`] per row, counts physical lines, and reports an
//! unclosed quote.

use std::io::{self, BufRead};

/// A cell holds at most this many bytes: Salesforce's largest text field holds 131,072
/// characters (Long Text Area), which UTF-8 writes in at most four times as many bytes.
pub const MAX_CELL_BYTES: usize = 4 * 131_072;

/// A row holds at most this many bytes of cells, whatever its width.
pub const MAX_ROW_BYTES: usize = 8 * 1024 * 1024;

/// One record as read, before UTF-8 and width checks.
// Each flag is one independent reason to reject the row; the reader reports the first that holds.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Default)]
pub(crate) struct RawRecord {
    /// The physical line where the record starts (1-based).
    pub line: u64,
    /// The stored cells' bytes: at most `max_fields` cells, cell `i` ending at `ends[i]` and
    /// starting at `starts[i]`, or where the cell before it ends when there are no `starts`
    /// (cells one after another). One buffer reused from record to record instead of a `Vec`
    /// per cell (issue 6).
    pub bytes: Vec<u8>,
    pub starts: Vec<usize>,
    pub ends: Vec<usize>,
    /// How many fields the record has, stored or not.
    pub field_count: usize,
    pub cell_too_long: bool,
    pub row_too_long: bool,
    pub nul: bool,
    /// End of input came inside a quoted field.
    pub unclosed_quote: bool,
    stored_bytes: usize,
}

impl RawRecord {
    /// Stored cells.
    #[must_use]
    pub fn cell_count(&self) -> usize {
        self.ends.len()
    }

    /// Where stored cell `i` starts.
    #[must_use]
    pub fn start(&self, i: usize) -> usize {
        crate::csvtext::cell_start(&self.starts, &self.ends, i)
    }

    /// Stored cell `i`.
    #[must_use]
    pub fn cell(&self, i: usize) -> &[u8] {
        &self.bytes[self.start(i)..self.ends[i]]
    }

    /// The stored cells, copied.
    #[must_use]
    pub fn cells(&self) -> Vec<Vec<u8>> {
        (0..self.cell_count())
            .map(|i| self.cell(i).to_vec())
            .collect()
    }

    fn clear(&mut self) {
        self.line = 0;
        self.bytes.clear();
        self.starts.clear();
        self.ends.clear();
        self.field_count = 0;
        self.cell_too_long = false;
        self.row_too_long = false;
        self.nul = false;
        self.unclosed_quote = false;
        self.stored_bytes = 0;
    }

    fn cell_start(&self) -> usize {
        self.ends.last().copied().unwrap_or(0)
    }

    fn push(&mut self, byte: u8) {
        if byte == 0 {
            self.nul = true;
        }
        if self.bytes.len() - self.cell_start() >= MAX_CELL_BYTES {
            self.cell_too_long = true;
        } else if self.stored_bytes >= MAX_ROW_BYTES {
            self.row_too_long = true;
        } else {
            self.bytes.push(byte);
            self.stored_bytes += 1;
        }
    }

    /// Append a run of ordinary bytes (no NUL), as [`RawRecord::push`] would one by one: what
    /// fits the cell and row limits is stored, the rest only flags the record.
    fn push_run(&mut self, run: &[u8]) {
        let cell_room = MAX_CELL_BYTES.saturating_sub(self.bytes.len() - self.cell_start());
        let row_room = MAX_ROW_BYTES.saturating_sub(self.stored_bytes);
        let n = run.len().min(cell_room).min(row_room);
        self.bytes.extend_from_slice(&run[..n]);
        self.stored_bytes += n;
        if n < run.len() {
            if n == cell_room {
                self.cell_too_long = true;
            } else {
                self.row_too_long = true;
            }
        }
    }

    fn end_field(&mut self, max_fields: usize) {
        self.field_count += 1;
        if self.ends.len() < max_fields {
            self.ends.push(self.bytes.len());
        } else {
            let start = self.cell_start();
            self.bytes.truncate(start);
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the first record byte: blank lines are skipped here.
    BeforeRecord,
    StartField,
    Unquoted,
    Quoted,
    /// A `"` inside a quoted field: either an escaped quote or the closing one.
    QuoteInQuoted,
}

pub(crate) struct Tokenizer<R> {
    source: R,
    delimiter: u8,
    /// The physical line of the next byte.
    line: u64,
    previous_cr: bool,
    /// Fields stored per record; the rest are only counted.
    max_fields: usize,
    /// Whether [`whole_record`] is tried first (off in tests that hold the two paths together).
    fast: bool,
    /// Records [`whole_record`] read, for the tests.
    #[cfg(test)]
    whole_records: usize,
}

/// The source's buffer, read again after an interruption; a read error is the caller's.
fn fill<R: BufRead>(source: &mut R) -> io::Result<&[u8]> {
    loop {
        match source.fill_buf() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
            // Borrowed again below: returning this borrow from inside the loop does not compile.
            Ok(_) => break,
        }
    }
    source.fill_buf()
}

/// The usual record read in one go, when it lies whole in `buf`: cells within the limits, no
/// NUL, a `\r` only in its `\r\n` line end, no text after a closing quote nor a quote inside an
/// unquoted cell, at most `max_fields` fields, and not a blank line. Returns the bytes it took
/// (line end included) and the line breaks inside it; `None` leaves the record to the state
/// machine, which reads everything (issue 6: the state machine's per-byte steps were a tenth
/// of a wide sync's instructions).
fn whole_record(
    buf: &[u8],
    delimiter: u8,
    max_fields: usize,
    record: &mut RawRecord,
) -> Option<(usize, u64)> {
    // Shorter than the smallest limit, so none can be crossed.
    let buf = &buf[..buf.len().min(MAX_CELL_BYTES)];
    if matches!(buf.first(), None | Some(b'\n' | b'\r')) {
        return None;
    }
    // Usually no cell holds an escaped quote: the record's bytes are taken in one copy and its
    // cells are where they lie in it (a copy per cell was a tenth of the report's reading).
    let mut at = 0;
    let mut breaks = 0;
    loop {
        let cell_end = if buf.get(at) == Some(&b'"') {
            let quote = at + 1 + memchr::memchr(b'"', &buf[at + 1..])?;
            if buf.get(quote + 1) == Some(&b'"') {
                // An escaped quote: the cells are copied one by one, unescaped.
                record.starts.clear();
                record.ends.clear();
                record.field_count = 0;
                return whole_record_copied(buf, delimiter, max_fields, record);
            }
            breaks += quoted_breaks(&buf[at + 1..quote])?;
            record.starts.push(at + 1);
            at = quote + 1;
            quote
        } else {
            record.starts.push(at);
            at += first_stop(&buf[at..], delimiter);
            at
        };
        let end = after_cell(buf, at, delimiter)?;
        if record.ends.len() == max_fields {
            return None;
        }
        record.ends.push(cell_end);
        record.field_count += 1;
        if let After::LineEnd(end) = end {
            record.bytes.extend_from_slice(&buf[..cell_end]);
            record.stored_bytes = record.bytes.len();
            return Some((end, breaks));
        }
        at += 1;
    }
}

/// [`whole_record`] for a record with an escaped quote: each cell copied, unescaped.
fn whole_record_copied(
    buf: &[u8],
    delimiter: u8,
    max_fields: usize,
    record: &mut RawRecord,
) -> Option<(usize, u64)> {
    let mut at = 0;
    let mut breaks = 0;
    loop {
        if buf.get(at) == Some(&b'"') {
            at += 1;
            loop {
                let quote = memchr::memchr(b'"', &buf[at..])?;
                let part = &buf[at..at + quote];
                breaks += quoted_breaks(part)?;
                record.bytes.extend_from_slice(part);
                at += quote + 1;
                if buf.get(at) != Some(&b'"') {
                    break;
                }
                record.bytes.push(b'"');
                at += 1;
            }
        } else {
            let run = first_stop(&buf[at..], delimiter);
            record.bytes.extend_from_slice(&buf[at..at + run]);
            at += run;
        }
        let end = after_cell(buf, at, delimiter)?;
        if record.ends.len() == max_fields {
            return None;
        }
        record.ends.push(record.bytes.len());
        record.field_count += 1;
        if let After::LineEnd(end) = end {
            record.stored_bytes = record.bytes.len();
            return Some((end, breaks));
        }
        at += 1;
    }
}

/// What follows a cell of the usual record.
enum After {
    Delimiter,
    /// The line end: the record takes the bytes before this.
    LineEnd(usize),
}

/// What follows a cell of the usual record at `at`; `None` for anything else.
fn after_cell(buf: &[u8], at: usize, delimiter: u8) -> Option<After> {
    match buf.get(at) {
        Some(&b) if b == delimiter => Some(After::Delimiter),
        Some(b'\n') => Some(After::LineEnd(at + 1)),
        Some(b'\r') if buf.get(at + 1) == Some(&b'\n') => Some(After::LineEnd(at + 2)),
        _ => None,
    }
}

/// The line breaks in a quoted part of the usual record; `None` when it holds a NUL or a `\r`.
fn quoted_breaks(part: &[u8]) -> Option<u64> {
    let mut breaks = 0;
    for &b in part {
        match b {
            0 | b'\r' => return None,
            b'\n' => breaks += 1,
            _ => {}
        }
    }
    Some(breaks)
}

/// Where the first byte that ends a run of ordinary ones is (the delimiter, `"`, a line end,
/// NUL), or `bytes.len()`: eight bytes at a time, most of a report being ordinary bytes.
fn first_stop(bytes: &[u8], delimiter: u8) -> usize {
    use crate::swar::{equal_bytes, load};
    let stop = |b: u8| b == delimiter || matches!(b, b'"' | b'\n' | b'\r' | 0);
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut words {
        let word = load(chunk);
        let found = equal_bytes(word, delimiter)
            | equal_bytes(word, b'"')
            | equal_bytes(word, b'\n')
            | equal_bytes(word, b'\r')
            | equal_bytes(word, 0);
        if found != 0 {
            return at + (found.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    at + words
        .remainder()
        .iter()
        .position(|&b| stop(b))
        .unwrap_or(words.remainder().len())
}

impl<R: BufRead> Tokenizer<R> {
    pub(crate) fn new(source: R, delimiter: u8, first_line: u64, max_fields: usize) -> Self {
        Self {
            source,
            delimiter,
            line: first_line,
            previous_cr: false,
            max_fields,
            fast: true,
            #[cfg(test)]
            whole_records: 0,
        }
    }

    /// The next record, or `None` at the end of input.
    pub(crate) fn next_record(&mut self) -> io::Result<Option<RawRecord>> {
        let mut record = RawRecord::default();
        Ok(self.next_record_into(&mut record)?.then_some(record))
    }

    /// Read the next record into `record` (its buffers reused); false at the end of input.
    pub(crate) fn next_record_into(&mut self, record: &mut RawRecord) -> io::Result<bool> {
        record.clear();
        if self.fast {
            // The `\n` of a `\r\n` the state machine ended a record at (the header's, say):
            // part of the line end already counted.
            if self.previous_cr && fill(&mut self.source)?.first() == Some(&b'\n') {
                self.source.consume(1);
                self.previous_cr = false;
            }
            if !self.previous_cr {
                let (delimiter, max_fields) = (self.delimiter, self.max_fields);
                let buffer = fill(&mut self.source)?;
                if let Some((used, breaks)) = whole_record(buffer, delimiter, max_fields, record) {
                    record.line = self.line;
                    self.line += 1 + breaks;
                    self.source.consume(used);
                    #[cfg(test)]
                    {
                        self.whole_records += 1;
                    }
                    return Ok(true);
                }
                record.clear();
            }
        }
        let mut state = State::BeforeRecord;
        loop {
            let buffer = match self.source.fill_buf() {
                Ok(buffer) => buffer,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buffer.is_empty() {
                return Ok(match state {
                    State::BeforeRecord => false,
                    State::Quoted => {
                        record.unclosed_quote = true;
                        record.end_field(self.max_fields);
                        true
                    }
                    State::StartField | State::Unquoted | State::QuoteInQuoted => {
                        record.end_field(self.max_fields);
                        true
                    }
                });
            }
            let mut used = 0;
            let mut finished = false;
            while used < buffer.len() {
                // A run of ordinary bytes inside a field is copied at once (most of a report);
                // the state machine below sees only quotes, delimiters, line ends and NULs.
                if matches!(state, State::StartField | State::Unquoted | State::Quoted) {
                    let run = first_stop(&buffer[used..], self.delimiter);
                    if run > 0 {
                        record.push_run(&buffer[used..used + run]);
                        used += run;
                        self.previous_cr = false;
                        if state == State::StartField {
                            state = State::Unquoted;
                        }
                        continue;
                    }
                }
                let byte = buffer[used];
                used += 1;
                let newline = byte == b'\n' || byte == b'\r';
                if state == State::BeforeRecord && !newline {
                    record.line = self.line;
                    state = State::StartField;
                }
                // Lines: `\r\n` is one line end, and so is a lone `\r` or `\n`.
                if byte == b'\r' || (byte == b'\n' && !self.previous_cr) {
                    self.line += 1;
                }
                self.previous_cr = byte == b'\r';
                let delimiter = byte == self.delimiter;
                state = match state {
                    State::BeforeRecord => State::BeforeRecord,
                    State::StartField | State::Unquoted | State::QuoteInQuoted
                        if delimiter || newline =>
                    {
                        record.end_field(self.max_fields);
                        if newline {
                            finished = true;
                            break;
                        }
                        State::StartField
                    }
                    State::StartField if byte == b'"' => State::Quoted,
                    State::Quoted if byte == b'"' => State::QuoteInQuoted,
                    State::QuoteInQuoted if byte == b'"' => {
                        record.push(b'"');
                        State::Quoted
                    }
                    State::Quoted => {
                        record.push(byte);
                        State::Quoted
                    }
                    State::StartField | State::Unquoted | State::QuoteInQuoted => {
                        record.push(byte);
                        State::Unquoted
                    }
                };
            }
            self.source.consume(used);
            if finished {
                return Ok(true);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_ends_at_the_first_special_byte_wherever_it_is() {
        for delimiter in [b',', b';', b'\t', b'|'] {
            for special in [delimiter, b'"', b'\n', b'\r', 0] {
                for len in 0..20 {
                    for at in 0..=len {
                        let mut bytes = vec![b'a'; len];
                        // Bytes around the special one that a careless word test could confuse.
                        for (i, b) in bytes.iter_mut().enumerate() {
                            *b = [b'a', 0x80, 0xff, b' ', 0x01, b'!'][i % 6];
                        }
                        if at < len {
                            bytes[at] = special;
                            // A second stop later never wins.
                            if at + 3 < len {
                                bytes[at + 3] = b'"';
                            }
                        }
                        assert_eq!(first_stop(&bytes, delimiter), at, "{bytes:?}");
                    }
                }
            }
        }
    }

    /// Everything the tokenizer says of each record, and where it leaves the line count.
    fn read_all(input: &[u8], capacity: usize, max_fields: usize, fast: bool) -> Vec<String> {
        let source = std::io::BufReader::with_capacity(capacity, input);
        let mut tokenizer = Tokenizer::new(source, b',', 1, max_fields);
        tokenizer.fast = fast;
        let mut out = Vec::new();
        let mut record = RawRecord::default();
        while tokenizer.next_record_into(&mut record).unwrap() {
            out.push(format!(
                "{} {:?} {} {} {} {} {}",
                record.line,
                record.cells(),
                record.field_count,
                record.cell_too_long,
                record.row_too_long,
                record.nul,
                record.unclosed_quote
            ));
        }
        out.push(format!("next line {}", tokenizer.line));
        out
    }

    #[test]
    fn the_whole_record_path_reads_as_the_state_machine_does() {
        // Random input from the bytes that steer the grammar, read through buffers of several
        // sizes (records split between them) and field limits; a fixed seed, so a failure
        // repeats.
        let alphabet = b"\"\",,,\n\n\r\0 abc\xc3\xa9";
        let mut rng = crate::testrng::XorShift::new(0x853c_49e6_748f_ea9b);
        for round in 0..5_000 {
            let len = rng.below(60);
            let input = rng.bytes(alphabet, len);
            for capacity in [1, 7, 64, 8192] {
                for max_fields in [2, usize::MAX] {
                    assert_eq!(
                        read_all(&input, capacity, max_fields, true),
                        read_all(&input, capacity, max_fields, false),
                        "round {round}, buffer {capacity}, {max_fields} fields: {input:?}"
                    );
                }
            }
        }
    }

    /// A record's line and cells.
    type Read = (u64, Vec<Vec<u8>>);

    /// Each record's line and cells through an 8 KiB buffer, and how many were read whole.
    fn read_whole(input: &[u8], first_line: u64) -> (Vec<Read>, usize) {
        let source = std::io::BufReader::with_capacity(8192, input);
        let mut tokenizer = Tokenizer::new(source, b',', first_line, usize::MAX);
        let mut record = RawRecord::default();
        let mut records = Vec::new();
        while tokenizer.next_record_into(&mut record).unwrap() {
            records.push((record.line, record.cells()));
        }
        (records, tokenizer.whole_records)
    }

    #[test]
    fn crlf_records_are_read_whole_too() {
        // The rows of a CRLF report after its header: the stream starts with the `\n` of the
        // header's line end, and each record the state machine ends at a `\r` leaves its `\n`.
        let mut input = b"\n".to_vec();
        for i in 0..100 {
            input.extend_from_slice(format!("{i},x\r\n").as_bytes());
        }
        let (records, whole) = read_whole(&input, 2);
        assert_eq!(records.len(), 100);
        assert!(whole >= 99, "{whole}");
        assert_eq!(
            read_all(&input, 8192, usize::MAX, true),
            read_all(&input, 8192, usize::MAX, false)
        );
    }

    #[test]
    fn records_with_escaped_quotes_are_read_whole_too() {
        let mut input = Vec::new();
        for i in 0..100 {
            input.extend_from_slice(format!("{i},\"say \"\"hi\"\"\",x\n").as_bytes());
        }
        let (records, whole) = read_whole(&input, 1);
        assert_eq!(records.len(), 100);
        assert_eq!(
            records[7],
            (
                8,
                vec![b"7".to_vec(), b"say \"hi\"".to_vec(), b"x".to_vec()]
            )
        );
        assert!(whole >= 99, "{whole}");
    }

    fn records(input: &[u8], delimiter: u8) -> Vec<RawRecord> {
        let mut tokenizer = Tokenizer::new(input, delimiter, 1, usize::MAX);
        let mut out = Vec::new();
        while let Some(record) = tokenizer.next_record().unwrap() {
            out.push(record);
        }
        out
    }

    fn cells(input: &[u8]) -> Vec<Vec<String>> {
        records(input, b',')
            .into_iter()
            .map(|r| {
                r.cells()
                    .into_iter()
                    .map(|c| String::from_utf8(c).unwrap())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn quoting_and_line_numbers() {
        let input = b"a,b\n\"x,1\",\"say \"\"hi\"\"\"\r\n\n\"multi\nline\",z\rlast,\"\"";
        let got = records(input, b',');
        let lines: Vec<u64> = got.iter().map(|r| r.line).collect();
        assert_eq!(lines, [1, 2, 4, 6]);
        assert_eq!(
            cells(input),
            [
                vec!["a", "b"],
                vec!["x,1", "say \"hi\""],
                vec!["multi\nline", "z"],
                vec!["last", ""]
            ]
        );
        assert!(got.iter().all(|r| !r.unclosed_quote));
    }

    #[test]
    fn unclosed_quote_at_end_is_flagged() {
        let got = records(b"a,b\n1,\"open\n2,3\n", b',');
        assert_eq!(got.len(), 2);
        assert!(got[1].unclosed_quote);
        assert_eq!(got[1].line, 2);
    }

    #[test]
    fn caps_cells_without_storing_them() {
        let mut input = b"k,v\n1,".to_vec();
        input.extend(std::iter::repeat_n(b'x', MAX_CELL_BYTES + 10));
        input.extend(b"\n2,ok\n");
        let got = records(&input, b',');
        assert!(got[1].cell_too_long);
        assert_eq!(got[1].cell(1).len(), MAX_CELL_BYTES);
        assert!(!got[2].cell_too_long);
        assert_eq!(got[2].line, 3);
    }

    /// The grammar matches the `csv` crate's on well-formed input (deterministic pseudo-random).
    #[test]
    fn agrees_with_the_csv_crate() {
        let alphabet: &[&[u8]] = &[
            b"a",
            b"b",
            b" ",
            b",",
            b"\n",
            b"\r\n",
            b"\"",
            b"\"\"",
            b"\xc3\xa9",
            b";",
        ];
        let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..500 {
            let mut input = Vec::new();
            let rows = 1 + seed % 4;
            for _ in 0..rows {
                for column in 0..3 {
                    if column > 0 {
                        input.push(b',');
                    }
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let quoted = seed.is_multiple_of(2);
                    let len = (seed >> 8) % 6;
                    let mut cell = Vec::new();
                    for i in 0..len {
                        let piece = alphabet[((seed >> (12 + 3 * i)) % 10) as usize];
                        // Unquoted cells hold no delimiter, quote or line end.
                        if quoted || !piece.iter().any(|b| b"\",\r\n".contains(b)) {
                            cell.extend(if quoted && piece == b"\"" {
                                b"\"\""
                            } else {
                                piece
                            });
                        }
                    }
                    if quoted {
                        input.push(b'"');
                        input.extend(&cell);
                        input.push(b'"');
                    } else {
                        input.extend(&cell);
                    }
                }
                input.push(b'\n');
            }
            let ours: Vec<Vec<Vec<u8>>> = records(&input, b',')
                .into_iter()
                .map(|r| r.cells())
                .collect();
            let theirs: Vec<Vec<Vec<u8>>> = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(input.as_slice())
                .byte_records()
                .map(|r| r.unwrap().iter().map(<[u8]>::to_vec).collect())
                .collect();
            assert_eq!(ours, theirs, "{}", String::from_utf8_lossy(&input));
        }
    }
}
