//! A CSV reader fed chunk by chunk, as an HTTP body arrives: a Bulk API result page of 200,000
//! records is read without ever holding the page (issue 6). The parsing is hand-written, with
//! `memchr` finding quotes and field ends (`csv_core`, which it replaced, steps through every
//! byte: it was 9 % of the instructions of a wide sync); a test holds the two to the same records
//! on random input split at random places.

/// One complete record: its fields as bytes, field `i` ending at `ends[i]` and starting at
/// `starts[i]`, or where the field before it ends when there are no `starts` (fields unquoted
/// one after another).
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    bytes: &'a [u8],
    starts: &'a [usize],
    ends: &'a [usize],
}

impl<'a> Record<'a> {
    /// Field `i`, or empty past the last one.
    #[must_use]
    pub fn get(&self, i: usize) -> &'a [u8] {
        let Some(&end) = self.ends.get(i) else {
            return &[];
        };
        &self.bytes[crate::csvtext::cell_start(self.starts, self.ends, i)..end]
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The record as text, checked as UTF-8 once for all its fields (a record read where it
    /// lay, with its quotes and delimiters).
    pub fn text(&self) -> Result<TextRecord<'a>, std::str::Utf8Error> {
        Ok(TextRecord {
            text: std::str::from_utf8(self.bytes)?,
            starts: self.starts,
            ends: self.ends,
        })
    }
}

/// A record known to be UTF-8.
#[derive(Debug, Clone, Copy)]
pub struct TextRecord<'a> {
    text: &'a str,
    starts: &'a [usize],
    ends: &'a [usize],
}

impl<'a> TextRecord<'a> {
    /// Field `i` (empty past the last field); `None` when a character straddles two fields.
    #[must_use]
    pub fn get(&self, i: usize) -> Option<&'a str> {
        let Some(&end) = self.ends.get(i) else {
            return Some("");
        };
        self.text
            .get(crate::csvtext::cell_start(self.starts, self.ends, i)..end)
    }
}

/// The reader: feed chunks with [`CsvStream::feed`], then call [`CsvStream::finish`].
#[derive(Debug, Default)]
pub struct CsvStream {
    /// The start of a record the chunks so far have not completed (and, for a long record, the
    /// chunks after it until it is read again).
    pending: Vec<u8>,
    /// The length `pending` must reach before it is read again: twice what it was when last
    /// found incomplete, so a long record is read from its start a logarithmic number of times.
    retry_at: usize,
    /// The current record's fields, unquoted, one after another, or where they lie in the
    /// input (`starts`: see [`Record`]).
    out: Vec<u8>,
    starts: Vec<usize>,
    ends: Vec<usize>,
    /// Bytes read again from `pending`, for the test that bounds them.
    #[cfg(test)]
    reread: usize,
}

/// What [`parse_record`] found at the start of its input.
#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    /// A record that took this many bytes (its line end included).
    Record(usize),
    /// Only line ends (skipped, as empty lines are), this many bytes.
    Blank(usize),
    /// A record that the input ends before completing.
    More,
}

/// Read one record from the start of `input` into `out` and `ends`, with `csv_core`'s default
/// grammar: `,` between fields, `\r`, `\n` or `\r\n` ending a record, empty lines skipped, `"`
/// quoting a field that starts with it, `""` a quote inside quotes, a `"` inside an unquoted
/// field kept as it is, text after a closing quote appended to the field. At the end of the
/// data (`eof`) a record without a line end, or inside an unclosed quote, is complete.
fn parse_record(input: &[u8], eof: bool, out: &mut Vec<u8>, ends: &mut Vec<usize>) -> Parsed {
    out.clear();
    ends.clear();
    let mut at = input
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(input.len());
    if at == input.len() {
        return Parsed::Blank(at);
    }
    // The end of the data completes the record where it stands.
    let last = |out: &mut Vec<u8>, ends: &mut Vec<usize>, rest: &[u8]| {
        if !eof {
            return Parsed::More;
        }
        out.extend_from_slice(rest);
        ends.push(out.len());
        Parsed::Record(input.len())
    };
    loop {
        // A field: a quoted part when it starts with a quote, then an unquoted part up to the
        // next delimiter or line end (the whole field when it is not quoted).
        if input.get(at) == Some(&b'"') {
            at += 1;
            loop {
                let Some(quote) = crate::swar::find_byte(&input[at..], b'"') else {
                    return last(out, ends, &input[at..]);
                };
                out.extend_from_slice(&input[at..at + quote]);
                at += quote + 1;
                match input.get(at) {
                    Some(b'"') => {
                        out.push(b'"');
                        at += 1;
                    }
                    // The closing quote (at the end of a chunk, the unquoted part below waits
                    // for more).
                    _ => break,
                }
            }
        }
        // Salesforce quotes every field, so after the closing quote comes the delimiter or the
        // line end: looked at before searching.
        let stop = match input.get(at) {
            Some(b',' | b'\n' | b'\r') => Some(0),
            _ => memchr::memchr3(b',', b'\n', b'\r', &input[at..]),
        };
        let Some(stop) = stop else {
            return last(out, ends, &input[at..]);
        };
        if stop > 0 {
            out.extend_from_slice(&input[at..at + stop]);
        }
        ends.push(out.len());
        at += stop;
        if input[at] != b',' {
            return Parsed::Record(at + 1);
        }
        at += 1;
    }
}

/// The usual record read where it lies in `input`, without a copy (a Bulk query result quotes
/// every field; issue 6): every field quoted without a quote inside, or unquoted, and its line
/// end in `input`. The bytes it took, line end included; `None` for any other record (an
/// escaped quote, text after a closing quote, a blank line, the end of the input), which
/// [`parse_record`] reads.
fn record_in_place(input: &[u8], starts: &mut Vec<usize>, ends: &mut Vec<usize>) -> Option<usize> {
    starts.clear();
    ends.clear();
    if matches!(input.first(), None | Some(b'\r' | b'\n')) {
        return None;
    }
    let mut at = 0;
    loop {
        if input[at] == b'"' {
            let quote = at + 1 + crate::swar::find_byte(&input[at + 1..], b'"')?;
            starts.push(at + 1);
            ends.push(quote);
            at = quote + 1;
        } else {
            // A quote inside an unquoted field is kept as it is.
            let stop = match input[at] {
                b',' | b'\n' | b'\r' => at,
                _ => at + memchr::memchr3(b',', b'\n', b'\r', &input[at..])?,
            };
            starts.push(at);
            ends.push(stop);
            at = stop;
        }
        match input.get(at)? {
            b',' => at += 1,
            b'\n' | b'\r' => return Some(at + 1),
            _ => return None,
        }
        if at == input.len() {
            return None;
        }
    }
}

impl CsvStream {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Read a chunk; `each` gets every record the chunk completes. An error from `each` stops
    /// the reading and is returned.
    pub fn feed<E>(
        &mut self,
        input: &[u8],
        each: &mut impl FnMut(Record<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut input = input;
        // A record begun in an earlier chunk: only a line end can complete it, so the chunk
        // is added up to each line end in turn and the record read again, until it is whole.
        // A quoted field of many short lines would be read again at each of them (quadratic
        // in its length), so once the record was found incomplete it is read again only when
        // it has doubled, and by then `pending` may hold the records after it too.
        while !self.pending.is_empty() {
            let Some(end) = memchr::memchr2(b'\n', b'\r', input) else {
                self.pending.extend_from_slice(input);
                return Ok(());
            };
            self.pending.extend_from_slice(&input[..=end]);
            input = &input[end + 1..];
            if self.pending.len() < self.retry_at {
                continue;
            }
            #[cfg(test)]
            {
                self.reread += self.pending.len();
            }
            let pending = std::mem::take(&mut self.pending);
            let used = self.read_all(&pending, false, each)?;
            if used == 0 {
                self.retry_at = 2 * pending.len();
                self.pending = pending;
            } else {
                self.retry_at = 0;
                self.pending = pending[used..].to_vec();
            }
        }
        // The rest of the chunk is read where it lies; its unfinished last record waits.
        let used = self.read_all(input, false, each)?;
        self.pending.extend_from_slice(&input[used..]);
        Ok(())
    }

    /// The end of the data: completes a last record without a line break.
    pub fn finish<E>(
        &mut self,
        each: &mut impl FnMut(Record<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let pending = std::mem::take(&mut self.pending);
        self.read_all(&pending, true, each)?;
        Ok(())
    }

    /// Read every complete record of `input`; the bytes they took.
    fn read_all<E>(
        &mut self,
        input: &[u8],
        eof: bool,
        each: &mut impl FnMut(Record<'_>) -> Result<(), E>,
    ) -> Result<usize, E> {
        let mut used = 0;
        while used < input.len() {
            if let Some(n) = record_in_place(&input[used..], &mut self.starts, &mut self.ends) {
                each(Record {
                    bytes: &input[used..used + n],
                    starts: &self.starts,
                    ends: &self.ends,
                })?;
                used += n;
                continue;
            }
            self.starts.clear();
            match parse_record(&input[used..], eof, &mut self.out, &mut self.ends) {
                Parsed::More => break,
                Parsed::Blank(n) => used += n,
                Parsed::Record(n) => {
                    used += n;
                    each(self.record())?;
                }
            }
        }
        Ok(used)
    }

    fn record(&self) -> Record<'_> {
        Record {
            bytes: &self.out,
            starts: &self.starts,
            ends: &self.ends,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_in_chunks(text: &str, size: usize) -> Vec<Vec<String>> {
        let mut rows = Vec::new();
        let mut reader = CsvStream::new();
        let mut each = |r: Record<'_>| -> Result<(), ()> {
            rows.push(
                (0..r.len())
                    .map(|i| String::from_utf8(r.get(i).to_vec()).expect("utf-8"))
                    .collect(),
            );
            Ok(())
        };
        for chunk in text.as_bytes().chunks(size) {
            reader.feed(chunk, &mut each).expect("feed");
        }
        reader.finish(&mut each).expect("finish");
        rows
    }

    #[test]
    fn records_split_anywhere_read_the_same() {
        let long = "x".repeat(10_000);
        let text = format!(
            "\"Id\",\"Email\",\"Note\"\r\n\"001\",\"a@example.com\",\"one, \"\"two\"\"\nthree\"\n\
             \"002\",\"\",\"{long}\"\n003,b@example.com,"
        );
        let whole = read_in_chunks(&text, text.len());
        assert_eq!(whole.len(), 4);
        assert_eq!(whole[1][2], "one, \"two\"\nthree");
        assert_eq!(whole[2][2], long);
        assert_eq!(whole[3], ["003", "b@example.com", ""]);
        let mut texts = Vec::new();
        let mut reader = CsvStream::new();
        let mut each = |r: Record<'_>| -> Result<(), ()> {
            let field = |i| r.text().ok().and_then(|t| t.get(i).map(str::to_owned));
            texts.push([field(0), field(1), field(9)]);
            Ok(())
        };
        reader.feed("a,é\n".as_bytes(), &mut each).expect("utf-8");
        // One character split between two fields is not text: read where it lies (the record
        // is not UTF-8), nor unquoted into one buffer (the fields' bytes are, but a field ends
        // inside the character).
        reader.feed(b"\xc3,\xa9\n", &mut each).expect("a record");
        reader
            .feed(b"\"x\"\"\xc3\",\xa9\n", &mut each)
            .expect("a record");
        let some = |t: &str| Some(t.to_owned());
        assert_eq!(texts[0], [some("a"), some("é"), some("")]);
        assert_eq!(texts[1][..2], [None, None]);
        assert_eq!(texts[2][..2], [None, None]);
        for size in [1, 2, 3, 7, 64, 4095, 4096, 4097] {
            assert_eq!(read_in_chunks(&text, size), whole, "chunks of {size}");
        }
    }

    #[test]
    fn a_long_field_of_many_lines_is_read_again_a_few_times_only() {
        // One quoted field of 20,000 short lines, then a plain record, in 8 KiB chunks: each
        // line end could complete the record, and reading it again from its start at every one
        // was quadratic.
        let field = "ab\n".repeat(20_000);
        let text = format!("\"{field}\",x\nnext,y\n");
        let mut rows: Vec<Vec<Vec<u8>>> = Vec::new();
        let mut reader = CsvStream::new();
        let mut each = |r: Record<'_>| -> Result<(), ()> {
            rows.push((0..r.len()).map(|i| r.get(i).to_vec()).collect());
            Ok(())
        };
        for chunk in text.as_bytes().chunks(8192) {
            reader.feed(chunk, &mut each).expect("feed");
        }
        reader.finish(&mut each).expect("finish");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0], [field.as_bytes().to_vec(), b"x".to_vec()]);
        assert_eq!(rows[1], [b"next".to_vec(), b"y".to_vec()]);
        assert!(
            reader.reread < 4 * text.len(),
            "{} bytes read again for a {}-byte page",
            reader.reread,
            text.len()
        );
    }

    /// Records as `csv_core` reads `input` (the grammar this reader follows).
    fn csv_core_records(input: &[u8]) -> Vec<Vec<Vec<u8>>> {
        use csv_core::ReadRecordResult as R;
        let mut core = csv_core::Reader::new();
        let (mut out, mut ends) = (vec![0; 1 << 16], vec![0; 1 << 12]);
        let mut records = Vec::new();
        let mut rest = input;
        // A record may take several calls: each writes after the output of the ones before.
        let (mut nout, mut nend) = (0, 0);
        loop {
            let (result, nin, n, m) = core.read_record(rest, &mut out[nout..], &mut ends[nend..]);
            rest = &rest[nin..];
            nout += n;
            nend += m;
            match result {
                R::Record => {
                    records.push(
                        (0..nend)
                            .map(|i| out[if i == 0 { 0 } else { ends[i - 1] }..ends[i]].to_vec())
                            .collect(),
                    );
                    (nout, nend) = (0, 0);
                }
                R::End => return records,
                R::InputEmpty => {}
                R::OutputFull | R::OutputEndsFull => unreachable!("buffers sized for the test"),
            }
        }
    }

    #[test]
    fn random_input_split_anywhere_reads_as_csv_core_reads_it() {
        // Mostly the bytes that steer the grammar, so quotes, line ends and delimiters meet in
        // every order; a fixed seed, so a failure repeats.
        let alphabet = b"\"\"\",,\n\r ab\xc3\xa9";
        let mut rng = crate::testrng::XorShift::new(0x9e37_79b9_7f4a_7c15);
        for round in 0..3_000 {
            let len = rng.below(40);
            let input = rng.bytes(alphabet, len);
            let expected = csv_core_records(&input);
            let split = |sizes: &mut dyn FnMut() -> usize| {
                let mut rows: Vec<Vec<Vec<u8>>> = Vec::new();
                let mut reader = CsvStream::new();
                let mut each = |r: Record<'_>| -> Result<(), ()> {
                    rows.push((0..r.len()).map(|i| r.get(i).to_vec()).collect());
                    Ok(())
                };
                let mut rest = &input[..];
                while !rest.is_empty() {
                    let n = sizes().clamp(1, rest.len());
                    reader.feed(&rest[..n], &mut each).expect("feed");
                    rest = &rest[n..];
                }
                reader.finish(&mut each).expect("finish");
                rows
            };
            assert_eq!(
                split(&mut || len),
                expected,
                "round {round}: {input:?} whole"
            );
            assert_eq!(
                split(&mut || 1),
                expected,
                "round {round}: {input:?} byte by byte"
            );
            let mut random = || rng.below(6);
            assert_eq!(
                split(&mut random),
                expected,
                "round {round}: {input:?} in pieces"
            );
        }
    }
}
