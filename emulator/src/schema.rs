//! Object and field metadata: loaded from a schema JSON file (describe-shaped objects with any
//! subset of the describe field properties) and rendered back as describe responses.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// The embedded default schema: Lead, Contact, Account and `WalkMe_Course_Progress__c`.
pub const DEFAULT_SCHEMA: &str = include_str!("../schema/default.json");

/// One picklist entry (describe `picklistValues[]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PicklistValue {
    pub value: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(default)]
    pub default_value: bool,
}

fn yes() -> bool {
    true
}

/// A field's metadata. Missing properties take the values a plain custom field has.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(clippy::struct_excessive_bools)] // mirrors Salesforce's describe properties one to one
pub struct FieldDef {
    pub name: String,
    #[serde(rename = "type")]
    pub field_type: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default = "yes")]
    pub updateable: bool,
    #[serde(default = "yes")]
    pub createable: bool,
    #[serde(default = "yes")]
    pub nillable: bool,
    #[serde(default = "yes")]
    pub filterable: bool,
    #[serde(default)]
    pub length: u32,
    #[serde(default)]
    pub precision: u32,
    #[serde(default)]
    pub scale: u32,
    #[serde(default)]
    pub digits: u32,
    #[serde(default)]
    pub picklist_values: Vec<PicklistValue>,
    #[serde(default)]
    pub restricted_picklist: bool,
    #[serde(default)]
    pub calculated: bool,
    #[serde(default)]
    pub external_id: bool,
    #[serde(default)]
    pub unique: bool,
    #[serde(default)]
    pub id_lookup: bool,
    #[serde(default)]
    pub custom: Option<bool>,
    #[serde(default)]
    pub reference_to: Vec<String>,
    #[serde(default)]
    pub relationship_name: Option<String>,
    #[serde(default)]
    pub default_value: Option<Value>,
}

/// Value kinds the store distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Number,
    Boolean,
    Date,
    DateTime,
}

impl FieldDef {
    /// How values of this field are stored and compared.
    #[must_use]
    pub fn kind(&self) -> Kind {
        match self.field_type.as_str() {
            "double" | "currency" | "percent" | "int" | "long" => Kind::Number,
            "boolean" => Kind::Boolean,
            "date" => Kind::Date,
            "datetime" => Kind::DateTime,
            _ => Kind::Text,
        }
    }

    fn soap_type(&self) -> &'static str {
        match self.field_type.as_str() {
            "id" | "reference" => "tns:ID",
            "double" | "currency" | "percent" => "xsd:double",
            "int" => "xsd:int",
            "long" => "xsd:long",
            "boolean" => "xsd:boolean",
            "date" => "xsd:date",
            "datetime" => "xsd:dateTime",
            "time" => "xsd:time",
            "base64" => "xsd:base64Binary",
            _ => "xsd:string",
        }
    }

    fn is_custom(&self) -> bool {
        self.custom.unwrap_or_else(|| self.name.ends_with("__c"))
    }

    /// The full describe entry, with every property of the recorded `describe_response_200.json`.
    #[must_use]
    pub fn describe(&self) -> Value {
        let label = self
            .label
            .clone()
            .unwrap_or_else(|| default_label(&self.name));
        let text_like = self.kind() == Kind::Text;
        let picklists: Vec<Value> = self
            .picklist_values
            .iter()
            .map(|p| {
                json!({
                    "active": p.active,
                    "defaultValue": p.default_value,
                    "label": p.label.clone().unwrap_or_else(|| p.value.clone()),
                    "validFor": null,
                    "value": p.value,
                })
            })
            .collect();
        let is_bool = self.field_type == "boolean";
        json!({
            "aggregatable": !matches!(self.field_type.as_str(), "textarea"),
            "autoNumber": false,
            "byteLength": if text_like { self.length * 3 } else { 0 },
            "calculated": self.calculated,
            "calculatedFormula": null,
            "cascadeDelete": false,
            "caseSensitive": false,
            "compoundFieldName": null,
            "controllerName": null,
            "createable": self.createable,
            "custom": self.is_custom(),
            "defaultValue": self.default_value.clone().unwrap_or(if is_bool { json!(false) } else { Value::Null }),
            "defaultValueFormula": null,
            "defaultedOnCreate": is_bool || self.field_type == "id",
            "dependentPicklist": false,
            "deprecatedAndHidden": false,
            "digits": self.digits,
            "displayLocationInDecimal": false,
            "encrypted": false,
            "externalId": self.external_id,
            "extraTypeInfo": null,
            "filterable": self.filterable,
            "filteredLookupInfo": null,
            "groupable": !matches!(self.kind(), Kind::Number | Kind::DateTime),
            "highScaleNumber": false,
            "htmlFormatted": false,
            "idLookup": self.id_lookup || self.field_type == "id" || (self.external_id && text_like),
            "inlineHelpText": null,
            "label": label,
            "length": self.length,
            "mask": null,
            "maskType": null,
            "name": self.name,
            "nameField": self.name == "Name",
            "namePointing": false,
            "nillable": self.nillable,
            "permissionable": self.nillable && self.is_custom(),
            "picklistValues": picklists,
            "polymorphicForeignKey": false,
            "precision": self.precision,
            "queryByDistance": false,
            "referenceTargetField": null,
            "referenceTo": self.reference_to,
            "relationshipName": self.relationship_name,
            "relationshipOrder": null,
            "restrictedDelete": false,
            "restrictedPicklist": self.restricted_picklist,
            "scale": self.scale,
            "searchPrefilterable": false,
            "soapType": self.soap_type(),
            "sortable": self.field_type != "textarea",
            "type": self.field_type,
            "unique": self.unique,
            "updateable": self.updateable,
            "writeRequiresMasterRead": false,
        })
    }
}

fn default_label(name: &str) -> String {
    name.trim_end_matches("__c").replace('_', " ")
}

/// One object (sObject) of the schema.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectDef {
    pub name: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub label_plural: Option<String>,
    pub key_prefix: String,
    #[serde(default)]
    pub custom: Option<bool>,
    pub fields: Vec<FieldDef>,
}

/// The schema file's top level.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Schema {
    pub objects: Vec<ObjectDef>,
}

impl Schema {
    /// Parses a schema JSON and adds the system fields every object has (Id, `CreatedDate`,
    /// `LastModifiedDate`, `SystemModstamp`) when the file leaves them out.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let mut schema: Schema = serde_json::from_str(text)?;
        for obj in &mut schema.objects {
            anyhow::ensure!(
                obj.key_prefix.len() == 3,
                "object {}: keyPrefix must have 3 characters",
                obj.name
            );
            let has = |fields: &[FieldDef], n: &str| {
                fields.iter().any(|f| f.name.eq_ignore_ascii_case(n))
            };
            if !has(&obj.fields, "Id") {
                obj.fields
                    .insert(0, system_field("Id", "id", &format!("{} ID", obj.name), 18));
            }
            for (name, label) in [
                ("CreatedDate", "Created Date"),
                ("LastModifiedDate", "Last Modified Date"),
                ("SystemModstamp", "System Modstamp"),
            ] {
                if !has(&obj.fields, name) {
                    obj.fields.push(system_field(name, "datetime", label, 0));
                }
            }
        }
        Ok(schema)
    }

    /// The embedded default schema.
    #[must_use]
    pub fn default_schema() -> Self {
        // The embedded file is checked by a unit test; a failure here is a build defect.
        Self::parse(DEFAULT_SCHEMA).expect("embedded default schema is valid")
    }
}

fn system_field(name: &str, ty: &str, label: &str, length: u32) -> FieldDef {
    FieldDef {
        name: name.to_owned(),
        field_type: ty.to_owned(),
        label: Some(label.to_owned()),
        updateable: false,
        createable: false,
        nillable: false,
        filterable: true,
        length,
        precision: 0,
        scale: 0,
        digits: 0,
        picklist_values: Vec::new(),
        restricted_picklist: false,
        calculated: false,
        external_id: false,
        unique: false,
        id_lookup: name == "Id",
        custom: Some(false),
        reference_to: Vec::new(),
        relationship_name: None,
        default_value: None,
    }
}

impl ObjectDef {
    #[must_use]
    pub fn is_custom(&self) -> bool {
        self.custom.unwrap_or_else(|| self.name.ends_with("__c"))
    }

    fn label(&self) -> String {
        self.label
            .clone()
            .unwrap_or_else(|| default_label(&self.name))
    }

    fn label_plural(&self) -> String {
        self.label_plural
            .clone()
            .unwrap_or_else(|| format!("{}s", self.label()))
    }

    fn urls(&self, version: &str) -> Map<String, Value> {
        let base = format!("/services/data/v{version}/sobjects/{}", self.name);
        let mut m = Map::new();
        m.insert("sobject".into(), json!(base));
        m.insert("describe".into(), json!(format!("{base}/describe")));
        m.insert("rowTemplate".into(), json!(format!("{base}/{{ID}}")));
        m.insert(
            "defaultValues".into(),
            json!(format!("{base}/defaultValues?recordTypeId&fields")),
        );
        m
    }

    fn flags(&self) -> Map<String, Value> {
        let mut m = Map::new();
        for (k, v) in [
            ("activateable", false),
            ("createable", true),
            ("customSetting", false),
            ("deletable", true),
            ("deprecatedAndHidden", false),
            ("feedEnabled", false),
            ("layoutable", true),
            ("mergeable", !self.is_custom()),
            ("mruEnabled", true),
            ("queryable", true),
            ("replicateable", true),
            ("retrieveable", true),
            ("searchable", true),
            ("triggerable", true),
            ("undeletable", true),
            ("updateable", true),
        ] {
            m.insert(k.into(), json!(v));
        }
        m.insert("custom".into(), json!(self.is_custom()));
        m.insert("keyPrefix".into(), json!(self.key_prefix));
        m.insert("label".into(), json!(self.label()));
        m.insert("labelPlural".into(), json!(self.label_plural()));
        m.insert("name".into(), json!(self.name));
        m
    }

    /// The entry in the global describe (`GET /sobjects`).
    #[must_use]
    pub fn global_entry(&self, version: &str) -> Value {
        let mut m = self.flags();
        m.insert("urls".into(), Value::Object(self.urls(version)));
        Value::Object(m)
    }

    /// The object describe (`GET /sobjects/{Obj}/describe`).
    #[must_use]
    pub fn describe(&self, version: &str) -> Value {
        let mut m = self.flags();
        let mut urls = self.urls(version);
        let base = format!("/services/data/v{version}/sobjects/{}", self.name);
        urls.insert("layouts".into(), json!(format!("{base}/describe/layouts")));
        urls.insert(
            "compactLayouts".into(),
            json!(format!("{base}/describe/compactLayouts")),
        );
        m.insert("urls".into(), Value::Object(urls));
        m.insert("actionOverrides".into(), json!([]));
        m.insert("childRelationships".into(), json!([]));
        m.insert("compactLayoutable".into(), json!(true));
        m.insert("hasSubtypes".into(), json!(false));
        m.insert("isSubtype".into(), json!(false));
        m.insert("listviewable".into(), Value::Null);
        m.insert("lookupLayoutable".into(), Value::Null);
        m.insert("namedLayoutInfos".into(), json!([]));
        m.insert("networkScopeFieldName".into(), Value::Null);
        m.insert(
            "recordTypeInfos".into(),
            json!([{
                "active": true, "available": true, "defaultRecordTypeMapping": true, "master": true,
                "name": "Master", "recordTypeId": "012000000000000AAA",
                "urls": {"layout": format!("{base}/describe/layouts/012000000000000AAA")}
            }]),
        );
        m.insert("searchLayoutable".into(), json!(true));
        m.insert(
            "supportedScopes".into(),
            json!([{"label": "All records", "name": "everything"}]),
        );
        m.insert(
            "fields".into(),
            Value::Array(self.fields.iter().map(FieldDef::describe).collect()),
        );
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_schema_parses_with_system_fields() {
        let s = Schema::default_schema();
        let lead = s.objects.iter().find(|o| o.name == "Lead").expect("Lead");
        assert_eq!(lead.key_prefix, "00Q");
        assert!(lead.fields.iter().any(|f| f.name == "Id" && !f.updateable));
        assert!(
            lead.fields
                .iter()
                .any(|f| f.name == "IsConverted" && !f.updateable)
        );
        assert!(
            s.objects
                .iter()
                .any(|o| o.name == "WalkMe_Course_Progress__c" && o.is_custom())
        );
    }
}
