//! Property tests of the report stage: the reader never panics and stays consistent on any
//! bytes, reads back exactly what a CSV writer wrote, and every converted value survives the trip
//! to Salesforce and back (what we write is what the diff later reads as equal).

use chrono::{DateTime, Duration, FixedOffset, Utc};
use proptest::prelude::*;

use super::reader::{Report, count_lines};
use super::test_support::{field, picklist};
use super::{Value, convert};
use crate::salesforce::describe::FieldType;

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(256)
}

/// Bytes drawn mostly from what makes CSV hard.
fn nasty_bytes() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        4 => prop::sample::select(b"\",;\t\r\n ab".to_vec()),
        1 => any::<u8>(),
        1 => prop::sample::select(vec![0u8, 0xEF, 0xBB, 0xBF, 0xFF, 0xFE, 0xC3]),
    ];
    prop::collection::vec(byte, 0..600)
}

fn cell_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-z ,;\t\"\r\n]{0,12}",
        1 => "\\PC{0,8}",
    ]
    .prop_map(|s| s.replace('\0', ""))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_reader_never_panics(bytes in nasty_bytes()) {
        let Ok(mut report) = Report::from_reader(bytes.as_slice()) else {
            return Ok(());
        };
        let width = report.header().len();
        prop_assert!(width >= 1);
        let mut last_line = 0;
        for item in report.by_ref() {
            let line = match item {
                Ok(row) => {
                    prop_assert_eq!(row.cells.len(), width);
                    row.line
                }
                Err(rejected) => rejected.line,
            };
            prop_assert!(line > last_line, "lines go forward: {} after {}", line, last_line);
            prop_assert!(line >= 2);
            last_line = line;
        }
        prop_assert!(report.finish().is_ok());
    }

    #[test]
    fn reads_back_what_a_csv_writer_wrote(
        width in 2usize..5,
        rows in prop::collection::vec(prop::collection::vec(cell_text(), 5), 0..8),
        delimiter in prop::sample::select(vec![b',', b';', b'\t']),
        crlf in any::<bool>(),
    ) {
        let header: Vec<String> = (0..width).map(|i| format!("Column {i}")).collect();
        let rows: Vec<Vec<String>> = rows.into_iter().map(|mut r| { r.truncate(width); r }).collect();
        let mut writer = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .terminator(if crlf { csv::Terminator::CRLF } else { csv::Terminator::Any(b'\n') })
            .from_writer(Vec::new());
        writer.write_record(&header).unwrap();
        let mut starts = Vec::new();
        for row in &rows {
            writer.flush().unwrap();
            starts.push(writer.get_ref().len());
            writer.write_record(row).unwrap();
        }
        let bytes = writer.into_inner().unwrap();

        let mut report = Report::from_reader(bytes.as_slice()).unwrap();
        prop_assert_eq!(report.header(), header.as_slice());
        prop_assert_eq!(report.delimiter(), delimiter);
        let read: Vec<_> = report.by_ref().collect();
        prop_assert!(report.finish().is_ok());
        prop_assert_eq!(read.len(), rows.len());
        for ((item, row), start) in read.into_iter().zip(&rows).zip(&starts) {
            let got = item.map_err(|r| TestCaseError::fail(r.reason))?;
            prop_assert_eq!(&got.cells, row);
            prop_assert_eq!(got.line, 1 + count_lines(&bytes[..*start]));
        }
    }

    #[test]
    fn converted_values_survive_the_round_trip_through_salesforce(
        cell in prop_oneof![
            "\\PC{1,20}",
            "[-+]?[0-9]{1,12}(\\.[0-9]{0,8})?%?",
            "(true|false|yes|no|y|n|1|0|TRUE|Yes)",
            "[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:?[0-9]{2})?)?",
            "[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?",
            "[a-z.]{1,8}@[a-z]{1,8}\\.[a-z]{2,3}",
            "(red|Green|BLUE|pink)(;(red|Green|BLUE|pink)){0,3}",
        ],
        field_type in prop::sample::select(vec![
            FieldType::String, FieldType::Textarea, FieldType::Email, FieldType::Picklist,
            FieldType::Multipicklist, FieldType::Boolean, FieldType::Int, FieldType::Long,
            FieldType::Double, FieldType::Currency, FieldType::Percent, FieldType::Date,
            FieldType::Datetime, FieldType::Id, FieldType::Reference, FieldType::Phone,
            FieldType::Url, FieldType::Time, FieldType::Base64,
        ]),
        restricted in any::<bool>(),
        scale in 0u32..6,
        precision in 1u32..19,
        length in 0u32..30,
    ) {
        let mut f = field(field_type);
        f.scale = scale.min(precision);
        f.precision = precision;
        f.length = length;
        f.restricted_picklist = restricted;
        f.picklist_values = picklist(&["Red", "Green", "Blue"]);
        let Ok(value) = convert(&cell, &f, None) else {
            return Ok(());
        };
        prop_assert!(!value.is_null());
        let via_json = Value::from_salesforce_json(&value.to_json(), &f);
        prop_assert_eq!(via_json.as_ref(), Ok(&value), "JSON {}", value.to_json());
        let bulk = value.to_bulk_csv();
        prop_assert_eq!(Value::from_bulk_csv(&bulk, &f), Ok(value.clone()), "CSV {}", bulk);
        // Converting what was written gives the same value again (no drift between runs).
        prop_assert_eq!(convert(&value.to_string(), &f, None), Ok(value.clone()));
    }

    #[test]
    fn datetimes_in_any_offset_are_the_same_instant(
        millis in 0i64..(2_000i64 * 365 * 86_400_000),
        offset_minutes in -14i32 * 60..=14 * 60,
        style in 0usize..4,
    ) {
        let base = DateTime::parse_from_rfc3339("1800-01-01T00:00:00Z").unwrap().with_timezone(&Utc);
        let instant = base + Duration::milliseconds(millis);
        let offset = FixedOffset::east_opt(offset_minutes * 60).unwrap();
        let local = instant.with_timezone(&offset);
        let text = match style {
            0 => local.format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string(),
            1 => local.format("%Y-%m-%d %H:%M:%S%.6f%z").to_string(),
            2 => instant.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            _ => instant.format("%Y-%m-%d %H:%M:%S%.3f").to_string(),
        };
        let f = field(FieldType::Datetime);
        prop_assert_eq!(convert(&text, &f, None), Ok(Value::DateTime(instant)), "{}", text);
        let salesforce = instant.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string();
        prop_assert_eq!(
            Value::from_salesforce_json(&serde_json::Value::String(salesforce), &f),
            Ok(Value::DateTime(instant))
        );
    }
}
