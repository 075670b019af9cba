//! SOQL queries over REST (research §3.1): `GET …/query?q=`, then `nextRecordsUrl` pages
//! until `done`. Each page is one API call.

use reqwest::Method;
use serde_json::{Map, Value};

use crate::salesforce::client::{CallKind, Client, Request};
use crate::salesforce::error::SfError;

/// A record as Salesforce returns it (with its `attributes`).
pub type Record = Map<String, Value>;

/// One page of a query.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryPage {
    pub total_size: u64,
    pub done: bool,
    /// A path on the instance; absent or null on the last page.
    #[serde(default)]
    pub next_records_url: Option<String>,
    pub records: Vec<Record>,
}

impl QueryPage {
    /// The path of the next page, when there is one.
    #[must_use]
    pub fn next(&self) -> Option<&str> {
        if self.done {
            None
        } else {
            self.next_records_url.as_deref()
        }
    }
}

impl Client {
    /// The first page of `soql`.
    pub async fn query_page(&self, soql: &str) -> Result<QueryPage, SfError> {
        let mut req = Request::new(
            Method::GET,
            format!("{}/query", self.data_path()),
            CallKind::Query,
        );
        req.query.push(("q".to_owned(), soql.to_owned()));
        self.json(req, "a query").await
    }

    /// The page at `next_records_url` (a path from the previous page).
    pub async fn query_more(&self, next_records_url: &str) -> Result<QueryPage, SfError> {
        if !next_records_url.starts_with("/services/data/") {
            return Err(SfError::Decode {
                what: "a query".to_owned(),
                detail: format!("nextRecordsUrl `{next_records_url}` is not a /services/data path"),
            });
        }
        self.json(
            Request::new(Method::GET, next_records_url.to_owned(), CallKind::Query),
            "a query page",
        )
        .await
    }

    /// The records of `soql` as a stream, one page fetched at a time (for big result sets).
    pub fn query_stream<'a>(
        &'a self,
        soql: &'a str,
    ) -> impl futures_util::Stream<Item = Result<Record, SfError>> + 'a {
        use futures_util::TryStreamExt as _;
        // State: None = not started; Some(None) = finished; Some(Some(path)) = next page.
        futures_util::stream::try_unfold(None::<Option<String>>, move |state| async move {
            let page = match state {
                None => self.query_page(soql).await?,
                Some(Some(next)) => self.query_more(&next).await?,
                Some(None) => return Ok(None),
            };
            let next = page.next().map(str::to_owned);
            Ok(Some((page.records, Some(next))))
        })
        .map_ok(|records| futures_util::stream::iter(records.into_iter().map(Ok)))
        .try_flatten()
    }

    /// Every record of `soql`, following `nextRecordsUrl`.
    pub async fn query(&self, soql: &str) -> Result<Vec<Record>, SfError> {
        let mut page = self.query_page(soql).await?;
        let mut records = std::mem::take(&mut page.records);
        while let Some(next) = page.next().map(str::to_owned) {
            page = self.query_more(&next).await?;
            records.append(&mut page.records);
        }
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(raw: &str) -> QueryPage {
        let exchange: Value = serde_json::from_str(raw).unwrap();
        serde_json::from_value(exchange["body"].clone()).unwrap()
    }

    #[test]
    fn parses_the_recorded_pages() {
        let single = page(include_str!(
            "../../tests/fixtures/salesforce-recorded/query_response_200.json"
        ));
        assert!(single.done && single.next().is_none());
        assert_eq!(single.records.len(), 10);
        assert_eq!(single.records[0]["Name"], "GenePoint");

        let p0 = page(include_str!(
            "../../tests/fixtures/salesforce-recorded/query_more_multibatch_0_200.json"
        ));
        let p1 = page(include_str!(
            "../../tests/fixtures/salesforce-recorded/query_more_multibatch_1_200.json"
        ));
        let p2 = page(include_str!(
            "../../tests/fixtures/salesforce-recorded/query_more_multibatch_2_200.json"
        ));
        assert_eq!(
            p0.next(),
            Some("/services/data/v37.0/query/01g0Y00000WSKTzQAP-2000")
        );
        assert_eq!(
            p1.next(),
            Some("/services/data/v37.0/query/01g0Y00000WSKTzQAP-4000")
        );
        assert_eq!(p2.next(), None);
        assert_eq!(p0.records.len() + p1.records.len() + p2.records.len(), 4021);
        assert_eq!(p0.total_size, 4021);
    }
}
