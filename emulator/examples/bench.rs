//! Measures the emulator: small authenticated GETs per second, a 200-record collections PATCH,
//! a 100,000-row Bulk ingest, and 300-key `IN` queries against 1,000,000 Leads.
//! Run: `cargo run --release -p sf-emulator --example bench`

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sf_emulator::{Config, Emulator};

const V: &str = "v60.0";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let emu = Emulator::start(Config {
        default_seed: false,
        bulk_delay_ms: 0,
        ..Config::default()
    })?;
    let token = emu.issue_access_token("admin@example.com");
    let http = reqwest::Client::new();
    let base = format!("{}/services/data/{V}", emu.url());

    // 1. Small GETs: 4 concurrent clients, 5,000 requests each.
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (http, url, token) = (http.clone(), format!("{base}/limits"), token.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..5_000 {
                let r = http.get(&url).bearer_auth(&token).send().await?;
                anyhow::ensure!(r.status().is_success(), "status {}", r.status());
                r.bytes().await?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "small GET /limits: 20000 requests in {secs:.2} s = {:.0} req/s (4 concurrent clients)",
        20_000.0 / secs
    );

    // 2. 200-record PATCH /composite/sobjects (median of 20).
    let mut csv = String::from("Email,LastName,Company\n");
    for i in 0..1_000_000 {
        let _ = writeln!(csv, "user{i}@example.com,Last{i},Co");
    }
    let seeded = Instant::now();
    emu.shared().seed_csv_text("Lead", &csv)?;
    println!(
        "seeded 1,000,000 Leads in {:.2} s",
        seeded.elapsed().as_secs_f64()
    );
    let ids: Vec<String> = {
        let g = emu.shared().lock();
        let t = g.table("Lead").ok_or_else(|| anyhow::anyhow!("no Lead"))?;
        t.rows.iter().take(100_000).map(|r| r.id.clone()).collect()
    };
    let mut times = Vec::new();
    for round in 0..20 {
        let records: Vec<Value> = ids[round * 200..(round + 1) * 200]
            .iter()
            .map(|id| json!({"attributes": {"type": "Lead"}, "id": id, "WalkMe_Last_Login__c": "2024-03-23T08:00:00Z", "WalkMe_Logins_Last_30_Days__c": round}))
            .collect();
        let t = Instant::now();
        let r = http
            .patch(format!("{base}/composite/sobjects"))
            .bearer_auth(&token)
            .header("Sforce-Auto-Assign", "FALSE")
            .json(&json!({"allOrNone": false, "records": records}))
            .send()
            .await?;
        anyhow::ensure!(r.status().is_success());
        r.bytes().await?;
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "200-record PATCH /composite/sobjects: median {:?}, max {:?} (20 runs)",
        times[10], times[19]
    );

    // 3. 300-key IN queries against 1,000,000 Leads.
    let started = Instant::now();
    let n_queries = 200;
    for q in 0..n_queries {
        let keys: Vec<String> = (0..300)
            .map(|k| format!("'USER{}@example.com'", (q * 300 + k) * 3))
            .collect();
        let soql = format!(
            "SELECT Id, Email FROM Lead WHERE IsConverted = false AND Email IN ({})",
            keys.join(",")
        );
        let r = http
            .get(format!("{base}/query"))
            .query(&[("q", soql)])
            .bearer_auth(&token)
            .send()
            .await?;
        anyhow::ensure!(r.status().is_success(), "status {}", r.status());
        let v: Value = r.json().await?;
        anyhow::ensure!(v["totalSize"] == json!(300));
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "300-key IN query on 1,000,000 Leads: {n_queries} queries in {secs:.2} s = {:.1} ms/query (first builds the index)",
        secs * 1000.0 / f64::from(n_queries)
    );

    // 4. 100,000-row Bulk ingest update.
    let mut upload = String::from("Id,WalkMe_Logins_Last_30_Days__c,WalkMe_Last_Login__c\n");
    for (i, id) in ids.iter().enumerate() {
        let _ = writeln!(upload, "{id},{i},2024-03-23T08:00:00Z");
    }
    let job: Value = http
        .post(format!("{base}/jobs/ingest"))
        .bearer_auth(&token)
        .json(&json!({"object": "Lead", "operation": "update"}))
        .send()
        .await?
        .json()
        .await?;
    let id = job["id"].as_str().unwrap_or_default().to_owned();
    let t = Instant::now();
    let r = http
        .put(format!("{base}/jobs/ingest/{id}/batches"))
        .bearer_auth(&token)
        .header("content-type", "text/csv")
        .body(upload)
        .send()
        .await?;
    anyhow::ensure!(r.status().as_u16() == 201);
    let upload_time = t.elapsed();
    http.patch(format!("{base}/jobs/ingest/{id}"))
        .bearer_auth(&token)
        .json(&json!({"state": "UploadComplete"}))
        .send()
        .await?;
    let info = loop {
        let info: Value = http
            .get(format!("{base}/jobs/ingest/{id}"))
            .bearer_auth(&token)
            .send()
            .await?
            .json()
            .await?;
        if info["state"] == json!("JobComplete") || info["state"] == json!("Failed") {
            break info;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    println!(
        "100,000-row Bulk ingest: upload (PUT) {upload_time:?}, upload+processing {:?}, state {}, processed {}, failed {}",
        t.elapsed(),
        info["state"],
        info["numberRecordsProcessed"],
        info["numberRecordsFailed"]
    );
    Ok(())
}
