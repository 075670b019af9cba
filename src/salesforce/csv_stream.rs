//! A CSV reader fed chunk by chunk, as an HTTP body arrives: a Bulk API result page of 200,000
//! records is read without ever holding the page (issue 6). `csv_core` does the parsing (RFC
//! 4180 quoting, CRLF or LF); this keeps the partial record between chunks.

/// One complete record: its fields as bytes.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    bytes: &'a [u8],
    ends: &'a [usize],
}

impl<'a> Record<'a> {
    /// Field `i`, or empty past the last one.
    #[must_use]
    pub fn get(&self, i: usize) -> &'a [u8] {
        let Some(&end) = self.ends.get(i) else {
            return &[];
        };
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.bytes[start..end]
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The record as text, checked as UTF-8 once for all its fields.
    pub fn text(&self) -> Result<TextRecord<'a>, std::str::Utf8Error> {
        Ok(TextRecord {
            text: std::str::from_utf8(self.bytes)?,
            ends: self.ends,
        })
    }
}

/// A record known to be UTF-8.
#[derive(Debug, Clone, Copy)]
pub struct TextRecord<'a> {
    text: &'a str,
    ends: &'a [usize],
}

impl<'a> TextRecord<'a> {
    /// Field `i` (empty past the last field); `None` when a character straddles two fields.
    #[must_use]
    pub fn get(&self, i: usize) -> Option<&'a str> {
        let Some(&end) = self.ends.get(i) else {
            return Some("");
        };
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.text.get(start..end)
    }
}

/// The reader: feed chunks with [`CsvStream::feed`], then call [`CsvStream::finish`].
pub struct CsvStream {
    core: csv_core::Reader,
    out: Vec<u8>,
    ends: Vec<usize>,
    nout: usize,
    nend: usize,
}

impl Default for CsvStream {
    fn default() -> Self {
        Self::new()
    }
}

impl CsvStream {
    #[must_use]
    pub fn new() -> Self {
        Self {
            core: csv_core::Reader::new(),
            out: vec![0; 4096],
            ends: vec![0; 64],
            nout: 0,
            nend: 0,
        }
    }

    /// Read a chunk; `each` gets every record the chunk completes. An error from `each` stops
    /// the reading and is returned.
    pub fn feed<E>(
        &mut self,
        mut input: &[u8],
        each: &mut impl FnMut(Record<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        // An empty input means "no more data" to csv_core: only `finish` passes one.
        while !input.is_empty() {
            if self.step(&mut input, each)? {
                return Ok(());
            }
        }
        Ok(())
    }

    /// The end of the data: completes a last record without a line break.
    pub fn finish<E>(
        &mut self,
        each: &mut impl FnMut(Record<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut input: &[u8] = &[];
        while !self.step(&mut input, each)? {}
        Ok(())
    }

    /// One parser call; true when the input is used up (or the data ended).
    fn step<E>(
        &mut self,
        input: &mut &[u8],
        each: &mut impl FnMut(Record<'_>) -> Result<(), E>,
    ) -> Result<bool, E> {
        use csv_core::ReadRecordResult as R;
        let (result, nin, nout, nend) = self.core.read_record(
            input,
            &mut self.out[self.nout..],
            &mut self.ends[self.nend..],
        );
        *input = &input[nin..];
        self.nout += nout;
        self.nend += nend;
        match result {
            R::InputEmpty => Ok(input.is_empty()),
            R::OutputFull => {
                self.out.resize(self.out.len() * 2, 0);
                Ok(false)
            }
            R::OutputEndsFull => {
                self.ends.resize(self.ends.len() * 2, 0);
                Ok(false)
            }
            R::Record => {
                let record = Record {
                    bytes: &self.out[..self.nout],
                    ends: &self.ends[..self.nend],
                };
                self.nout = 0;
                self.nend = 0;
                each(record)?;
                Ok(input.is_empty())
            }
            R::End => Ok(true),
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
            let t = r.text().map_err(drop)?;
            texts.push((t.get(1).map(str::to_owned), t.get(9).map(str::to_owned)));
            Ok(())
        };
        reader.feed("a,é\n".as_bytes(), &mut each).expect("utf-8");
        // One character split between two fields is not text.
        reader.feed(b"\xc3,\xa9\n", &mut each).expect("a record");
        assert_eq!(texts[0], (Some("é".to_owned()), Some(String::new())));
        assert_eq!(texts[1].0, None);
        for size in [1, 2, 3, 7, 64, 4095, 4096, 4097] {
            assert_eq!(read_in_chunks(&text, size), whole, "chunks of {size}");
        }
    }
}
