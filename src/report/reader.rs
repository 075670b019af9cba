//! The streaming report reader (SPEC §5 step 3): header first, then one row at a time, so memory
//! stays bounded whatever the file's size.
//!
//! Header rules: a UTF-8 byte-order mark is dropped; a UTF-16 one is an error ("save it as
//! UTF-8"); blank lines before the header are skipped; the delimiter is the most frequent of `,`
//! `;` and tab outside quotes in the header, comma on a tie or when none appears. Names are kept
//! exactly as written; [`Header::resolve`] forgives case and surrounding spaces when unambiguous.
//! A name appearing twice is an error only for whoever asks for it (SPEC: "a mapped column name
//! appearing twice"), so an export with two unused columns of one name still works.
//!
//! Rows: completely empty lines are skipped (not rows, not counted, not rejected: exports often end
//! with one); any other line is a row, so a line of spaces in a one-column report is a row whose
//! cell is blank. Cells keep their surrounding spaces; conversion trims.

use std::fmt::{self, Write as _};
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use super::tokenizer::{MAX_CELL_BYTES, MAX_ROW_BYTES, RawRecord, Tokenizer};

/// The header may take at most this many bytes: more is not a report.
pub const MAX_HEADER_BYTES: usize = 1024 * 1024;

/// Fields stored beyond the header's width, so a ragged row can still be shown in `rejected.csv`.
const EXTRA_FIELDS_KEPT: usize = 16;

const READ_BUFFER: usize = 64 * 1024;

/// A report that cannot be used as a whole (exit 2, nothing written).
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot open the report {}", .path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot read the report")]
    Read(#[source] io::Error),
    #[error("the report is empty: it has no header line")]
    Empty,
    #[error("the report is UTF-16 encoded; save it as UTF-8")]
    Utf16,
    #[error("the header (line {line}) is not UTF-8; save the report as UTF-8")]
    HeaderNotUtf8 { line: u64 },
    #[error("the header (line {line}) holds NUL bytes; is the report UTF-16? Save it as UTF-8")]
    HeaderNul { line: u64 },
    #[error("the header (line {line}) opens a quote that is never closed")]
    HeaderUnclosedQuote { line: u64 },
    #[error("the header is longer than {max} bytes; is this a CSV report?")]
    HeaderTooLong { max: usize },
}

/// A column asked for by name that the header cannot give.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ColumnError {
    #[error("{}", missing_message(.name, .available, .close))]
    Missing {
        name: String,
        available: Vec<String>,
        close: Vec<String>,
    },
    #[error("column {name:?} matches several columns when case and spaces are ignored: {}; rename it to one of them exactly", quote_list(.candidates))]
    Ambiguous {
        name: String,
        candidates: Vec<String>,
    },
    #[error("column {name:?} appears {count} times in the header")]
    Duplicate { name: String, count: usize },
}

fn quote_list(names: &[String]) -> String {
    const SHOWN: usize = 20;
    let mut list = names
        .iter()
        .take(SHOWN)
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        let _ = write!(list, " and {} more", names.len() - SHOWN);
    }
    list
}

fn missing_message(name: &str, available: &[String], close: &[String]) -> String {
    let mut message = format!("column {name:?} is not in the report");
    if !close.is_empty() {
        let _ = write!(message, "; did you mean {}?", quote_list(close));
    }
    if available.is_empty() {
        message.push_str(" (the header has no columns)");
    } else {
        let _ = write!(
            message,
            " (the report's columns: {})",
            quote_list(available)
        );
    }
    message
}

/// The report's column names, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    names: Vec<String>,
}

/// Case-folded and trimmed, for the forgiving match.
fn loose(name: &str) -> String {
    name.trim().to_lowercase()
}

impl Header {
    /// The names, in file order.
    #[must_use]
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The number of columns.
    #[must_use]
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the header has no column (never true for a header read from a file).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The index of the column `name`: an exact match first; else a match ignoring case and
    /// surrounding spaces, accepted only when exactly one column matches.
    pub fn resolve(&self, name: &str) -> Result<usize, ColumnError> {
        let exact: Vec<usize> = (0..self.names.len())
            .filter(|&i| self.names[i] == name)
            .collect();
        match exact.as_slice() {
            [index] => return Ok(*index),
            [] => {}
            _ => {
                return Err(ColumnError::Duplicate {
                    name: name.to_owned(),
                    count: exact.len(),
                });
            }
        }
        let wanted = loose(name);
        let similar: Vec<usize> = (0..self.names.len())
            .filter(|&i| loose(&self.names[i]) == wanted)
            .collect();
        match similar.as_slice() {
            [index] => Ok(*index),
            [] => Err(ColumnError::Missing {
                name: name.to_owned(),
                available: self.names.clone(),
                close: self.close_to(&wanted),
            }),
            _ => Err(ColumnError::Ambiguous {
                name: name.to_owned(),
                candidates: similar.iter().map(|&i| self.names[i].clone()).collect(),
            }),
        }
    }

    /// Up to three names that look like a typo of `wanted` (already loose).
    fn close_to(&self, wanted: &str) -> Vec<String> {
        let mut scored: Vec<(f64, &String)> = self
            .names
            .iter()
            .map(|n| (strsim::jaro_winkler(&loose(n), wanted), n))
            .filter(|(score, _)| *score >= 0.8)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        scored.into_iter().take(3).map(|(_, n)| n.clone()).collect()
    }
}

/// A row of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The physical line where the row starts (the header is line 1 when it is the first line).
    pub line: u64,
    /// One cell per header column, surrounding spaces kept.
    pub cells: Vec<String>,
}

/// A row that cannot be used; the rest of the report goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub line: u64,
    pub reason: String,
    /// The cells for `rejected.csv` (invalid UTF-8 replaced by U+FFFD), when they are worth
    /// keeping: `None` for a row cut by a size limit or swallowed by an unclosed quote.
    pub cells: Option<Vec<String>>,
}

type Source<R> = BufReader<io::Chain<io::Cursor<Vec<u8>>, R>>;

/// A report being read: the header is read by `open`, the rows by iterating.
///
/// Iteration ends at the end of the file or at a read error; call [`Report::finish`] afterwards
/// to learn which, so a disk error is never mistaken for the end of the report.
pub struct Report<R: Read = File> {
    header: Header,
    delimiter: u8,
    rows: Tokenizer<Source<R>>,
    /// The record being read, its buffers reused.
    record: RawRecord,
    error: Option<io::Error>,
}

impl<R: Read> fmt::Debug for Report<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Report")
            .field("header", &self.header)
            .field("delimiter", &char::from(self.delimiter))
            .finish_non_exhaustive()
    }
}

fn fields(count: usize) -> String {
    if count == 1 {
        "1 field".to_owned()
    } else {
        format!("{count} fields")
    }
}

/// Reads the header only, for `validate`.
pub fn read_header(path: &Path) -> Result<Header, ReportError> {
    Report::open(path).map(|report| report.header)
}

impl Report<File> {
    /// Opens the report and reads its header.
    pub fn open(path: &Path) -> Result<Self, ReportError> {
        let file = File::open(path).map_err(|source| ReportError::Open {
            path: path.to_owned(),
            source,
        })?;
        Self::from_reader(file)
    }
}

impl<R: Read> Report<R> {
    /// Reads the header from any byte stream (a file, a downloaded body).
    pub fn from_reader(reader: R) -> Result<Self, ReportError> {
        let mut source = strip_bom(reader)?;
        let (raw, header_line, delimiter) = scan_header(&mut source)?;
        if let Err(e) = std::str::from_utf8(&raw) {
            return Err(ReportError::HeaderNotUtf8 {
                line: header_line + count_lines(&raw[..e.valid_up_to()]),
            });
        }
        if let Some(nul) = raw.iter().position(|&b| b == 0) {
            return Err(ReportError::HeaderNul {
                line: header_line + count_lines(&raw[..nul]),
            });
        }
        let mut tokenizer = Tokenizer::new(raw.as_slice(), delimiter, header_line, usize::MAX);
        let record = tokenizer
            .next_record()
            .map_err(ReportError::Read)?
            .ok_or(ReportError::Empty)?;
        if record.unclosed_quote {
            return Err(ReportError::HeaderUnclosedQuote { line: header_line });
        }
        let names = record
            .cells()
            .into_iter()
            .map(|cell| {
                String::from_utf8(cell)
                    .map_err(|_| ReportError::HeaderNotUtf8 { line: header_line })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let next_line = header_line + count_lines(&raw);
        let max_fields = names.len() + EXTRA_FIELDS_KEPT;
        Ok(Self {
            header: Header { names },
            delimiter,
            rows: Tokenizer::new(source, delimiter, next_line, max_fields),
            record: RawRecord::default(),
            error: None,
        })
    }

    /// The column names, in file order.
    #[must_use]
    pub fn header(&self) -> &[String] {
        &self.header.names
    }

    /// The header, for [`Header::resolve`].
    #[must_use]
    pub fn columns(&self) -> &Header {
        &self.header
    }

    /// The detected delimiter: `b','`, `b';'` or `b'\t'`.
    #[must_use]
    pub fn delimiter(&self) -> u8 {
        self.delimiter
    }

    /// Ends the reading: `Err` when iteration stopped on a read error rather than at the end.
    pub fn finish(self) -> Result<(), ReportError> {
        self.error.map_or(Ok(()), |e| Err(ReportError::Read(e)))
    }

    /// The next row, borrowed from the reader's buffers (no allocation per row; the
    /// [`Iterator`] gives owned [`Row`]s). `None` at the end of the file or at a read error.
    pub fn next_row(&mut self) -> Option<Result<RowRef<'_>, Rejected>> {
        if self.error.is_some() {
            return None;
        }
        match self.rows.next_record_into(&mut self.record) {
            Ok(true) => Some(check(&self.header, &self.record)),
            Ok(false) => None,
            Err(e) => {
                self.error = Some(e);
                None
            }
        }
    }
}

/// A row of the report, borrowed from the reader.
#[derive(Debug, Clone, Copy)]
pub struct RowRef<'a> {
    /// The physical line where the row starts.
    pub line: u64,
    text: &'a str,
    record: &'a RawRecord,
}

impl<'a> RowRef<'a> {
    /// Cell `i`, surrounding spaces kept.
    #[must_use]
    pub fn get(&self, i: usize) -> Option<&'a str> {
        let end = *self.record.ends.get(i)?;
        self.text.get(self.record.start(i)..end)
    }

    /// The row, owned.
    #[must_use]
    pub fn to_row(&self) -> Row {
        Row {
            line: self.line,
            cells: (0..self.record.ends.len())
                .map(|i| self.get(i).unwrap_or_default().to_owned())
                .collect(),
        }
    }
}

fn check<'r>(header: &Header, record: &'r RawRecord) -> Result<RowRef<'r>, Rejected> {
    let line = record.line;
    let reject = |reason: String, keep: bool| Rejected {
        line,
        reason,
        cells: keep.then(|| {
            (0..record.cell_count())
                .map(|i| String::from_utf8_lossy(record.cell(i)).into_owned())
                .collect()
        }),
    };
    if record.unclosed_quote {
        return Err(reject(
            format!("a quote opened on line {line} is never closed before the end of the file"),
            false,
        ));
    }
    if record.cell_too_long {
        return Err(reject(
            format!("a cell is longer than {MAX_CELL_BYTES} bytes"),
            false,
        ));
    }
    if record.row_too_long {
        return Err(reject(
            format!("the row is longer than {MAX_ROW_BYTES} bytes"),
            false,
        ));
    }
    if record.nul {
        return Err(reject("the row holds a NUL byte".to_owned(), true));
    }
    if record.field_count != header.len() {
        return Err(reject(
            format!(
                "the row has {}, the header has {}",
                fields(record.field_count),
                fields(header.len())
            ),
            true,
        ));
    }
    // The whole row at once; then every cell must end on a character boundary (two cells
    // copied one after another could otherwise split one character between them), as it does
    // in an ASCII row. Cells read where they lie are between ASCII delimiters and quotes.
    let text = std::str::from_utf8(&record.bytes).ok().filter(|text| {
        text.is_ascii() || record.ends.iter().all(|&end| text.is_char_boundary(end))
    });
    let Some(text) = text else {
        let index = (0..record.cell_count())
            .position(|i| std::str::from_utf8(record.cell(i)).is_err())
            .unwrap_or(0);
        let column = &header.names[index];
        return Err(reject(
            format!("the cell of column {column:?} is not UTF-8"),
            true,
        ));
    };
    Ok(RowRef { line, text, record })
}

impl<R: Read> Iterator for Report<R> {
    type Item = Result<Row, Rejected>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_row().map(|row| row.map(|r| r.to_row()))
    }
}

/// Reads up to three bytes to recognise a byte-order mark, then hands on the stream without it.
fn strip_bom<R: Read>(mut reader: R) -> Result<Source<R>, ReportError> {
    let mut prefix = [0u8; 3];
    let mut filled = 0;
    while filled < prefix.len() {
        match reader.read(&mut prefix[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ReportError::Read(e)),
        }
    }
    let prefix = &prefix[..filled];
    if prefix.starts_with(&[0xFF, 0xFE]) || prefix.starts_with(&[0xFE, 0xFF]) {
        return Err(ReportError::Utf16);
    }
    let kept = if prefix == [0xEF, 0xBB, 0xBF] {
        Vec::new()
    } else {
        prefix.to_vec()
    };
    Ok(BufReader::with_capacity(
        READ_BUFFER,
        io::Cursor::new(kept).chain(reader),
    ))
}

/// Reads the header record's bytes (its line end stays in the stream), the line it starts on, and
/// the delimiter: the most frequent of `,` `;` tab outside quotes, comma on a tie or when none
/// appears. The delimiter is not known while scanning, so any candidate may start a field (and so
/// a quote).
fn scan_header<R: io::BufRead>(source: &mut R) -> Result<(Vec<u8>, u64, u8), ReportError> {
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum State {
        FieldStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let mut raw = Vec::new();
    let mut line = 1;
    let mut previous_cr = false;
    let mut state = State::FieldStart;
    let mut counts = [0usize; 3];
    loop {
        let buffer = match source.fill_buf() {
            Ok(buffer) => buffer,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ReportError::Read(e)),
        };
        if buffer.is_empty() {
            if raw.is_empty() {
                return Err(ReportError::Empty);
            }
            if state == State::Quoted {
                return Err(ReportError::HeaderUnclosedQuote { line });
            }
            return Ok((raw, line, pick_delimiter(counts)));
        }
        let mut used = 0;
        let mut done = false;
        for &byte in buffer {
            let newline = byte == b'\n' || byte == b'\r';
            if raw.is_empty() && newline {
                // A blank line before the header.
                if byte == b'\r' || !previous_cr {
                    line += 1;
                }
                previous_cr = byte == b'\r';
                used += 1;
                continue;
            }
            if newline && state != State::Quoted {
                done = true;
                break;
            }
            used += 1;
            if raw.len() >= MAX_HEADER_BYTES {
                return Err(ReportError::HeaderTooLong {
                    max: MAX_HEADER_BYTES,
                });
            }
            raw.push(byte);
            let candidate = match byte {
                b',' => Some(0),
                b';' => Some(1),
                b'\t' => Some(2),
                _ => None,
            };
            state = match (state, byte, candidate) {
                (State::Quoted, b'"', _) => State::QuoteInQuoted,
                (State::Quoted, _, _) | (State::FieldStart | State::QuoteInQuoted, b'"', _) => {
                    State::Quoted
                }
                (_, _, Some(index)) => {
                    counts[index] += 1;
                    State::FieldStart
                }
                _ => State::Unquoted,
            };
        }
        source.consume(used);
        if done {
            return Ok((raw, line, pick_delimiter(counts)));
        }
    }
}

/// Line ends within `bytes`, counted as the tokenizer does.
pub(crate) fn count_lines(bytes: &[u8]) -> u64 {
    let mut lines = 0;
    let mut previous_cr = false;
    for &byte in bytes {
        if byte == b'\r' || (byte == b'\n' && !previous_cr) {
            lines += 1;
        }
        previous_cr = byte == b'\r';
    }
    lines
}

/// Comma wins ties: it is the CSV default and the most common export.
fn pick_delimiter([comma, semicolon, tab]: [usize; 3]) -> u8 {
    if comma >= semicolon.max(tab) || semicolon == tab {
        b','
    } else if semicolon > tab {
        b';'
    } else {
        b'\t'
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(bytes: &[u8]) -> Result<Report<&[u8]>, ReportError> {
        Report::from_reader(bytes)
    }

    fn all(bytes: &[u8]) -> Vec<Result<Row, Rejected>> {
        let mut report = open(bytes).unwrap();
        let rows: Vec<_> = report.by_ref().collect();
        report.finish().unwrap();
        rows
    }

    // Shaped like the iterator's items, so rows compare with `assert_eq!` directly.
    #[allow(clippy::unnecessary_wraps)]
    fn row(line: u64, cells: &[&str]) -> Result<Row, Rejected> {
        Ok(Row {
            line,
            cells: cells.iter().map(|&c| c.to_owned()).collect(),
        })
    }

    fn rejected_lines(rows: &[Result<Row, Rejected>]) -> Vec<(u64, String)> {
        rows.iter()
            .filter_map(|r| r.as_ref().err())
            .map(|r| (r.line, r.reason.clone()))
            .collect()
    }

    #[test]
    fn reads_a_plain_report() {
        let rows = all(b"User ID,First Login\nann@example.com, 2024-03-23 \n\nbob@example.com,\n");
        assert_eq!(
            rows,
            [
                row(2, &["ann@example.com", " 2024-03-23 "]),
                row(4, &["bob@example.com", ""])
            ]
        );
    }

    #[test]
    fn strips_a_utf8_bom() {
        let report = open(b"\xEF\xBB\xBFUser ID,Score\r\na,1\r\n").unwrap();
        assert_eq!(report.header(), ["User ID", "Score"]);
        assert_eq!(report.columns().resolve("User ID"), Ok(0));
        assert_eq!(all(b"\xEF\xBB\xBFk\r\na\r\n"), [row(2, &["a"])]);
    }

    #[test]
    fn refuses_utf16() {
        for bom in [&b"\xFF\xFEU\0s\0"[..], b"\xFE\xFF\0U\0s"] {
            let e = open(bom).unwrap_err();
            assert!(matches!(e, ReportError::Utf16));
            assert!(e.to_string().contains("save it as UTF-8"));
        }
        // UTF-16 without a mark shows up as NUL bytes.
        assert!(matches!(
            open(b"U\0s\0e\0r\0\n\0").unwrap_err(),
            ReportError::HeaderNul { line: 1 }
        ));
    }

    #[test]
    fn detects_delimiters() {
        let cases: [(&[u8], u8); 7] = [
            (b"a,b,c\n", b','),
            (b"a;b;c\n1;2,5;3\n", b';'),
            (b"a\tb\tc\n", b'\t'),
            (b"single\n", b','),
            (b"a;b,c\n", b','),
            (b"\"x;y;z\",b\n", b','),
            (b"a;b\tc\n", b','),
        ];
        for (input, expected) in cases {
            assert_eq!(
                open(input).unwrap().delimiter(),
                expected,
                "{}",
                String::from_utf8_lossy(input)
            );
        }
        let mut report = open(b"a;b\n1;\"2;5\"\n").unwrap();
        assert_eq!(report.next(), Some(row(2, &["1", "2;5"])));
        let mut report = open(b"a\tb\n1\t2 3\n").unwrap();
        assert_eq!(report.next(), Some(row(2, &["1", "2 3"])));
    }

    #[test]
    fn quoted_headers() {
        let report = open(b"\"User ID\",\"Score, 30 days\",\"Say \"\"hi\"\"\"\n").unwrap();
        assert_eq!(report.header(), ["User ID", "Score, 30 days", "Say \"hi\""]);
        // A quoted line end inside a header name moves the rows' line numbers.
        let rows = all(b"\"two\nlines\",b\nx,y\n");
        assert_eq!(rows, [row(3, &["x", "y"])]);
    }

    #[test]
    fn blank_lines_before_the_header_count_as_lines() {
        let report = open(b"\n\r\nk,v\n1,2\n").unwrap();
        assert_eq!(report.header(), ["k", "v"]);
        assert_eq!(all(b"\n\r\nk,v\n1,2\n"), [row(4, &["1", "2"])]);
    }

    #[test]
    fn empty_and_header_only() {
        for empty in [&b""[..], b"\n\n", b"\xEF\xBB\xBF", b"\r\n"] {
            assert!(matches!(open(empty).unwrap_err(), ReportError::Empty));
        }
        assert!(all(b"k,v").is_empty());
        assert!(all(b"k,v\n").is_empty());
        assert!(all(b"k,v\n\n\n").is_empty());
    }

    #[test]
    fn header_not_utf8_names_the_line() {
        let e = open(b"\nUser\xFF ID,x\n").unwrap_err();
        assert!(matches!(e, ReportError::HeaderNotUtf8 { line: 2 }), "{e:?}");
        assert!(e.to_string().contains("line 2"));
        let e = open(b"\"a\nb\xC3\",x\n").unwrap_err();
        assert!(matches!(e, ReportError::HeaderNotUtf8 { line: 2 }), "{e:?}");
    }

    #[test]
    fn header_quote_never_closed() {
        assert!(matches!(
            open(b"\"abc,def\nx,y\n").unwrap_err(),
            ReportError::HeaderUnclosedQuote { line: 1 }
        ));
    }

    #[test]
    fn header_too_long() {
        let header = vec![b'a'; MAX_HEADER_BYTES + 1];
        assert!(matches!(
            open(&header).unwrap_err(),
            ReportError::HeaderTooLong { .. }
        ));
    }

    #[test]
    fn a_character_split_between_two_cells_is_not_utf8() {
        // `é` is C3 A9: each cell alone is not UTF-8, the two cells' bytes together are.
        let rows = all(b"k,v\na\xC3,\xA9b\n\xC3\xA9,\xC3\xA9\n");
        assert_eq!(
            rejected_lines(&rows),
            [(2, "the cell of column \"k\" is not UTF-8".to_owned())]
        );
        assert_eq!(rows[1], row(3, &["é", "é"]));
    }

    #[test]
    fn rejects_bad_rows_and_goes_on() {
        let input = b"k,v\n\
            ok,1\n\
            bad\xFF,2\n\
            short\n\
            long,1,2\n\
            nul\0,3\n\
            \"multi\nline\",4\n\
            after,5\n";
        let rows = all(input);
        assert_eq!(
            rejected_lines(&rows),
            [
                (3, "the cell of column \"k\" is not UTF-8".to_owned()),
                (4, "the row has 1 field, the header has 2 fields".to_owned()),
                (
                    5,
                    "the row has 3 fields, the header has 2 fields".to_owned()
                ),
                (6, "the row holds a NUL byte".to_owned()),
            ]
        );
        let good: Vec<_> = rows.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(good.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 7, 9]);
        // The rejected row keeps its cells for rejected.csv.
        let ragged = rows[3].as_ref().unwrap_err();
        assert_eq!(
            ragged.cells.as_deref(),
            Some(&["long".to_owned(), "1".to_owned(), "2".to_owned()][..])
        );
        let bad = rows[1].as_ref().unwrap_err();
        assert_eq!(bad.cells.as_ref().unwrap()[0], "bad\u{FFFD}");
    }

    #[test]
    fn unclosed_quote_rejects_the_row_where_it_starts() {
        let rows = all(b"k,v\na,1\nb,\"2\nc,3\nd,4\n");
        assert_eq!(rows[0], row(2, &["a", "1"]));
        let rejected = rows[1].as_ref().unwrap_err();
        assert_eq!(rejected.line, 3);
        assert!(
            rejected.reason.contains("never closed"),
            "{}",
            rejected.reason
        );
        assert_eq!(rejected.cells, None);
        assert_eq!(rows.len(), 2);
    }

    #[test]
    fn a_ten_megabyte_cell_is_rejected_without_holding_it() {
        struct Cell {
            left: usize,
            tail: &'static [u8],
        }
        impl Read for Cell {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.left > 0 {
                    let n = buf.len().min(self.left);
                    buf[..n].fill(b'x');
                    self.left -= n;
                    return Ok(n);
                }
                let n = buf.len().min(self.tail.len());
                buf[..n].copy_from_slice(&self.tail[..n]);
                self.tail = &self.tail[n..];
                Ok(n)
            }
        }
        // `k,v\n1,` then 10 MB of `x`, then more rows.
        let head = b"k,v\n1,";
        let mut report = Report::from_reader(head.as_slice().chain(Cell {
            left: 10 * 1024 * 1024,
            tail: b"\n2,ok\n",
        }))
        .unwrap();
        let first = report.next().unwrap().unwrap_err();
        assert_eq!(first.line, 2);
        assert!(first.reason.contains("longer than"), "{}", first.reason);
        assert_eq!(first.cells, None);
        assert_eq!(report.next(), Some(row(3, &["2", "ok"])));
        assert_eq!(report.next(), None);
        report.finish().unwrap();
    }

    #[test]
    fn an_unclosed_quote_over_a_huge_tail_is_one_bounded_rejection() {
        // `k,v\n1,ok\n2,"` then 20 MB that never close the quote.
        let tail = io::repeat(b'x').take(20 * 1024 * 1024);
        let mut report = Report::from_reader(b"k,v\n1,ok\n2,\"".as_slice().chain(tail)).unwrap();
        assert_eq!(report.next(), Some(row(2, &["1", "ok"])));
        let rejected = report.next().unwrap().unwrap_err();
        assert_eq!(rejected.line, 3);
        assert!(
            rejected.reason.contains("never closed"),
            "{}",
            rejected.reason
        );
        assert_eq!(report.next(), None);
        report.finish().unwrap();
    }

    #[test]
    fn a_wide_row_is_bounded() {
        let mut input = b"k,v\n".to_vec();
        input.extend(std::iter::repeat_n(b',', 100_000));
        input.push(b'\n');
        let rows = all(&input);
        let rejected = rows[0].as_ref().unwrap_err();
        assert_eq!(
            rejected.reason,
            "the row has 100001 fields, the header has 2 fields"
        );
        assert_eq!(
            rejected.cells.as_ref().unwrap().len(),
            2 + EXTRA_FIELDS_KEPT
        );
    }

    #[test]
    fn a_read_error_is_not_the_end() {
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk gone"))
            }
        }
        let mut report = Report::from_reader(b"k\na\n".as_slice().chain(Failing)).unwrap();
        assert_eq!(report.next(), Some(row(2, &["a"])));
        assert_eq!(report.next(), None);
        assert!(matches!(report.finish(), Err(ReportError::Read(_))));
    }

    #[test]
    fn resolves_columns() {
        let report = open(b"User ID, First Login ,Score,score ,Dup,Dup\n").unwrap();
        let h = report.columns();
        assert_eq!(h.resolve("User ID"), Ok(0));
        assert_eq!(h.resolve("user id"), Ok(0));
        assert_eq!(h.resolve("First Login"), Ok(1));
        assert_eq!(h.resolve(" FIRST LOGIN"), Ok(1));
        // Exact wins over loose matches.
        assert_eq!(h.resolve("Score"), Ok(2));
        let e = h.resolve("SCORE").unwrap_err();
        assert!(
            matches!(e, ColumnError::Ambiguous { ref candidates, .. } if candidates.len() == 2)
        );
        assert!(e.to_string().contains("\"Score\", \"score \""), "{e}");
        assert_eq!(
            h.resolve("Dup"),
            Err(ColumnError::Duplicate {
                name: "Dup".into(),
                count: 2
            })
        );
        let e = h.resolve("UserID").unwrap_err();
        let message = e.to_string();
        assert!(message.contains("did you mean \"User ID\""), "{message}");
        assert!(message.contains("\" First Login \""), "{message}");
        let e = h.resolve("Zebra").unwrap_err();
        assert!(matches!(e, ColumnError::Missing { ref close, .. } if close.is_empty()));
        assert!(e.to_string().contains("the report's columns: \"User ID\""));
    }

    #[test]
    fn read_header_reads_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        std::fs::write(&path, "\u{feff}a;b;c\n1;2;3\n").unwrap();
        let header = read_header(&path).unwrap();
        assert_eq!(header.names(), ["a", "b", "c"]);
        let missing = read_header(&dir.path().join("nope.csv")).unwrap_err();
        assert!(missing.to_string().contains("nope.csv"));
    }
}
