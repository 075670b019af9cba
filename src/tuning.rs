//! Time limits an admin can tune through the environment, for slow orgs or networks:
//! `WALKME_SF_HTTP_TIMEOUT` (seconds one Salesforce request may take, default 120) and
//! `WALKME_SF_BULK_TIMEOUT` (seconds a Bulk API 2.0 job may take, default 1800). Invalid or
//! zero values fall back to the defaults.

use std::time::Duration;

/// Seconds one HTTP request may take before it counts as a transient failure (and is retried).
#[must_use]
pub fn http_timeout() -> Duration {
    seconds("WALKME_SF_HTTP_TIMEOUT").unwrap_or(Duration::from_secs(120))
}

/// How long a Bulk API 2.0 job may run before the run gives up on it.
#[must_use]
pub fn bulk_timeout() -> Duration {
    seconds("WALKME_SF_BULK_TIMEOUT").unwrap_or(Duration::from_secs(30 * 60))
}

fn seconds(name: &str) -> Option<Duration> {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0 && *s < 1e7)
        .map(Duration::from_secs_f64)
}
