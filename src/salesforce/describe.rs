//! An sObject's describe (`GET /sobjects/{Object}/describe`): the field metadata every check
//! and conversion needs. Field properties follow the REST guide's "sObject Describe" and the
//! Partner WSDL `Field` type (research `salesforce-api.md` §2.4).

use serde::Deserialize;

/// The parts of an object describe walkme-sf uses.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectDescribe {
    pub name: String,
    pub label: String,
    #[serde(default)]
    pub custom: bool,
    #[serde(default)]
    pub updateable: bool,
    #[serde(default)]
    pub queryable: bool,
    #[serde(default)]
    pub key_prefix: Option<String>,
    pub fields: Vec<Field>,
}

impl ObjectDescribe {
    /// A field by API name; Salesforce API names are case-insensitive.
    #[must_use]
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }
}

/// One field of a describe.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Field {
    pub name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    #[serde(default)]
    pub updateable: bool,
    #[serde(default)]
    pub createable: bool,
    #[serde(default)]
    pub nillable: bool,
    #[serde(default)]
    pub filterable: bool,
    #[serde(default)]
    pub calculated: bool,
    #[serde(default)]
    pub custom: bool,
    #[serde(default)]
    pub external_id: bool,
    #[serde(default)]
    pub unique: bool,
    #[serde(default)]
    pub case_sensitive: bool,
    /// Maximum characters for text-like fields.
    #[serde(default)]
    pub length: u32,
    /// Total digits for double/currency/percent.
    #[serde(default)]
    pub precision: u32,
    /// Decimal places for double/currency/percent.
    #[serde(default)]
    pub scale: u32,
    /// Maximum digits for int.
    #[serde(default)]
    pub digits: u32,
    #[serde(default)]
    pub picklist_values: Vec<PicklistValue>,
    #[serde(default)]
    pub restricted_picklist: bool,
}

/// One entry of `picklistValues`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PicklistValue {
    pub value: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// The `fieldType` enum of the Partner WSDL; unknown future values parse as `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    String,
    Picklist,
    Multipicklist,
    Combobox,
    Reference,
    Base64,
    Boolean,
    Currency,
    Textarea,
    Int,
    Double,
    Percent,
    Phone,
    Id,
    Date,
    Datetime,
    Time,
    Url,
    Email,
    Encryptedstring,
    Datacategorygroupreference,
    Location,
    Address,
    #[serde(rename = "anyType")]
    AnyType,
    Complexvalue,
    Long,
    #[serde(other)]
    Other,
}

impl FieldType {
    /// The name Salesforce uses for this type.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Picklist => "picklist",
            Self::Multipicklist => "multipicklist",
            Self::Combobox => "combobox",
            Self::Reference => "reference",
            Self::Base64 => "base64",
            Self::Boolean => "boolean",
            Self::Currency => "currency",
            Self::Textarea => "textarea",
            Self::Int => "int",
            Self::Double => "double",
            Self::Percent => "percent",
            Self::Phone => "phone",
            Self::Id => "id",
            Self::Date => "date",
            Self::Datetime => "datetime",
            Self::Time => "time",
            Self::Url => "url",
            Self::Email => "email",
            Self::Encryptedstring => "encryptedstring",
            Self::Datacategorygroupreference => "datacategorygroupreference",
            Self::Location => "location",
            Self::Address => "address",
            Self::AnyType => "anyType",
            Self::Complexvalue => "complexvalue",
            Self::Long => "long",
            Self::Other => "other",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_recorded_describe() {
        let raw =
            include_str!("../../tests/fixtures/salesforce-recorded/describe_response_200.json");
        let exchange: serde_json::Value = serde_json::from_str(raw).unwrap();
        let body = &exchange["body"];
        let describe: ObjectDescribe = serde_json::from_value(body.clone()).unwrap();
        assert_eq!(describe.name, "Idea");
        let id = describe.field("id").unwrap();
        assert_eq!(id.field_type, FieldType::Id);
        assert!(id.filterable && !id.updateable);
        let vote = describe.field("VoteScore").unwrap();
        assert_eq!(
            (vote.field_type, vote.precision, vote.scale),
            (FieldType::Double, 18, 4)
        );
    }
}
