//! The report stage (SPEC §5 step 3): find the report file, stream its rows, and convert cells to
//! typed values that compare equal to what Salesforce returns.
//!
//! This module reads files and nothing else: no network, no Salesforce calls. It does not decide
//! policies (`empty_cells`, duplicate keys): those belong to `sync`.

pub mod convert;
pub mod decimal;
pub mod locate;
pub mod reader;
mod tokenizer;
pub mod value;

#[cfg(test)]
mod properties;

pub use convert::{ConvertError, check_format, convert};
pub use decimal::{Decimal, DecimalError};
pub use locate::{LocateError, locate};
pub use reader::{ColumnError, Header, Rejected, Report, ReportError, Row, RowRef, read_header};
pub use tokenizer::{MAX_CELL_BYTES, MAX_ROW_BYTES};
pub use value::Value;

#[cfg(test)]
pub(crate) mod test_support {
    use crate::salesforce::describe::{Field, FieldType, PicklistValue};

    /// A field of `field_type` with every limit unset.
    pub(crate) fn field(field_type: FieldType) -> Field {
        Field {
            name: "Test__c".into(),
            label: "Test".into(),
            field_type,
            updateable: true,
            createable: true,
            nillable: true,
            filterable: true,
            calculated: false,
            custom: true,
            external_id: false,
            unique: false,
            case_sensitive: false,
            length: 0,
            precision: 0,
            scale: 0,
            digits: 0,
            picklist_values: Vec::new(),
            restricted_picklist: false,
        }
    }

    /// A Lead-like pair: the key field `Email` and one mapped number field.
    pub(crate) fn email_key_and_number() -> (Field, Field) {
        let mut key = field(FieldType::Email);
        key.name = "Email".into();
        (key, field(FieldType::Double))
    }

    pub(crate) fn picklist(values: &[&str]) -> Vec<PicklistValue> {
        values
            .iter()
            .map(|v| PicklistValue {
                value: (*v).to_owned(),
                label: Some((*v).to_owned()),
                active: true,
            })
            .collect()
    }
}
