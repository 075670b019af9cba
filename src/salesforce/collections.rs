//! Updates through sObject Collections: `PATCH …/composite/sobjects`, up to 200 records per
//! call, `allOrNone=false`, one result per record in request order (research §4.1).

use reqwest::Method;
use serde_json::{Map, Value};

use crate::salesforce::client::{Body, CallKind, Client, Request, check_api_name, decode};
use crate::salesforce::error::SfError;

/// The most records one collections call takes.
pub const MAX_RECORDS: usize = 200;

/// One record's outcome (the REST guide's `SaveResult`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct SaveResult {
    /// Absent for some failures: pair results with requests by position.
    #[serde(default)]
    pub id: Option<String>,
    pub success: bool,
    #[serde(default)]
    pub errors: Vec<RecordError>,
}

/// Why a record failed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordError {
    #[serde(default)]
    pub status_code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub fields: Vec<String>,
}

impl Client {
    /// Update up to 200 records of `object`. Each record holds `Id` (or `id`) and the fields
    /// to set; `attributes.type` is added. Returns one result per record, in order.
    ///
    /// Sends `Sforce-Auto-Assign: FALSE` always: without it REST re-runs Lead and Case
    /// assignment rules on update (REST guide "Assignment Rule Header", research §2.2), and
    /// it is harmless on other objects.
    pub async fn update(
        &self,
        object: &str,
        records: Vec<Map<String, Value>>,
    ) -> Result<Vec<SaveResult>, SfError> {
        check_api_name(object)?;
        if records.len() > MAX_RECORDS {
            return Err(SfError::Invalid(format!(
                "{} records in one collections update; the most is {MAX_RECORDS}",
                records.len()
            )));
        }
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let count = records.len();
        let records: Vec<Value> = records
            .into_iter()
            .map(|mut r| {
                r.insert(
                    "attributes".to_owned(),
                    serde_json::json!({ "type": object }),
                );
                Value::Object(r)
            })
            .collect();
        let mut req = Request::new(
            Method::PATCH,
            format!("{}/composite/sobjects", self.data_path()),
            CallKind::Update,
        );
        req.body = Body::Json(serde_json::json!({ "allOrNone": false, "records": records }));
        req.headers.push(("Sforce-Auto-Assign", "FALSE".to_owned()));
        let resp = self.execute(req).await?;
        let results: Vec<SaveResult> = decode("a collections update", &resp.body)?;
        if results.len() != count {
            return Err(SfError::Decode {
                what: "a collections update".to_owned(),
                detail: format!("{} results for {count} records", results.len()),
            });
        }
        Ok(results)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(raw: &str) -> Value {
        let exchange: Value = serde_json::from_str(raw).unwrap();
        exchange["body"].clone()
    }

    #[test]
    fn parses_save_results() {
        for raw in [
            include_str!("../../tests/fixtures/salesforce-recorded/insert_response_201.json"),
            include_str!(
                "../../tests/fixtures/salesforce-recorded/upsert_non_existing_record_response_201.json"
            ),
        ] {
            let r: SaveResult = serde_json::from_value(body(raw)).unwrap();
            assert!(r.success && r.errors.is_empty() && r.id.is_some());
        }
        // 204 answers carry no body at all.
        for raw in [
            include_str!("../../tests/fixtures/salesforce-recorded/update_response_204.json"),
            include_str!(
                "../../tests/fixtures/salesforce-recorded/upsert_existing_record_response_204.json"
            ),
        ] {
            assert!(body(raw).is_null());
        }
        let failure: Vec<SaveResult> = serde_json::from_str(
            r#"[{"id":"001xx000003DGb2AAG","success":true,"errors":[]},
                {"success":false,"errors":[{"statusCode":"MALFORMED_ID","message":"malformed id 001RM000003oLrB000","fields":[]}]}]"#,
        )
        .unwrap();
        assert_eq!(failure[1].id, None);
        assert_eq!(failure[1].errors[0].status_code, "MALFORMED_ID");
    }
}
