//! API usage: the `Sforce-Limit-Info` header of every REST answer (research §6.2) and the
//! `/limits` resource (§6.1).

use std::collections::BTreeMap;

/// `api-usage=N/MAX`: calls used in the org's rolling 24 hours, and the allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct LimitInfo {
    pub used: u64,
    pub max: u64,
}

impl LimitInfo {
    #[must_use]
    pub fn remaining(self) -> u64 {
        self.max.saturating_sub(self.used)
    }
}

/// Parse `Sforce-Limit-Info`, tolerantly: items separated by `;` or `,`, in any order; only
/// `api-usage`, never `per-app-api-usage` (research §6.2).
#[must_use]
pub fn parse_limit_info(header: &str) -> Option<LimitInfo> {
    header.split([';', ',']).map(str::trim).find_map(|item| {
        let (key, value) = item.split_once('=')?;
        if !key.trim().eq_ignore_ascii_case("api-usage") {
            return None;
        }
        let (used, max) = value.trim().split_once('/')?;
        let max: String = max
            .trim()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        Some(LimitInfo {
            used: used.trim().parse().ok()?,
            max: max.parse().ok()?,
        })
    })
}

/// One entry of `/limits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct Limit {
    #[serde(rename = "Max")]
    pub max: i64,
    #[serde(rename = "Remaining")]
    pub remaining: i64,
}

/// The `/limits` resource, by name (`DailyApiRequests`, `DailyBulkV2QueryJobs`, …).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Limits(pub BTreeMap<String, Limit>);

impl Limits {
    /// Keep the entries that have `Max` and `Remaining`; per-app sub-objects are ignored.
    #[must_use]
    pub fn from_json(value: &serde_json::Value) -> Self {
        let map = value
            .as_object()
            .map(|o| {
                o.iter()
                    .filter_map(|(k, v)| {
                        serde_json::from_value::<Limit>(v.clone())
                            .ok()
                            .map(|l| (k.clone(), l))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self(map)
    }

    #[must_use]
    pub fn daily_api_requests(&self) -> Option<Limit> {
        self.0.get("DailyApiRequests").copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_info_forms() {
        let info = LimitInfo {
            used: 10018,
            max: 100_000,
        };
        let want = Some(info);
        assert_eq!(parse_limit_info("api-usage=10018/100000"), want);
        assert_eq!(
            parse_limit_info("api-usage=10018/100000; api-bursts=1/750"),
            want
        );
        assert_eq!(
            parse_limit_info(
                "per-app-api-usage=17/250(appName=sample-connected-app); api-usage=10018/100000"
            ),
            want
        );
        assert_eq!(
            parse_limit_info(
                "api-usage=25/5000; per-app-api-usage=17/250(appName=sample-connected-app)"
            ),
            Some(LimitInfo {
                used: 25,
                max: 5000
            })
        );
        assert_eq!(
            parse_limit_info(" API-USAGE = 1 / 2 "),
            Some(LimitInfo { used: 1, max: 2 })
        );
        assert_eq!(parse_limit_info("per-app-api-usage=17/250"), None);
        assert_eq!(parse_limit_info("api-usage=x/y"), None);
        assert_eq!(parse_limit_info(""), None);
        assert_eq!(info.remaining(), 89_982);
    }

    #[test]
    fn limits_resource() {
        let v = serde_json::json!({
            "DailyApiRequests": {"Max": 15000, "Remaining": 14998, "Ant Migration Tool": {"Max": 0, "Remaining": 0}},
            "DataStorageMB": {"Max": 5, "Remaining": 5},
            "Odd": 3
        });
        let l = Limits::from_json(&v);
        assert_eq!(
            l.daily_api_requests(),
            Some(Limit {
                max: 15000,
                remaining: 14998
            })
        );
        assert_eq!(l.0.len(), 2);
    }
}
