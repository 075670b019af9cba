//! Generated orgs and reports. Record `i` of an org has fixed "generation 0" values; a report row
//! of generation `g` carries the values of generation `g` for its record, so a row is unchanged
//! exactly when its generation is the one Salesforce holds.

// Generators use the conventional short names: i = record, g = generation, k = i + g.
#![allow(clippy::many_single_char_names)]

use std::fmt::Write as _;

use serde_json::{Value, json};

/// The custom object of the wide scenario.
pub const WIDE_OBJECT: &str = "Bench_Wide__c";

/// The key of record `i` (about 27 characters, like a typical e-mail address).
#[must_use]
pub fn lead_email(i: usize) -> String {
    format!("lead{i:07}@example-corp.com")
}

/// A report key no record holds.
#[must_use]
pub fn unmatched_email(i: usize) -> String {
    format!("nobody{i:07}@example-none.com")
}

fn last_login(i: usize, g: usize) -> String {
    // Minutes after 2026-11-01T00:00Z.
    let minutes = i % 10_000 + g * 1_440;
    let (d, h, m) = (1 + minutes / 1_440, (minutes / 60) % 24, minutes % 60);
    format!("2026-11-{d:02}T{h:02}:{m:02}:00Z")
}

fn logins(i: usize, g: usize) -> usize {
    i % 50 + g
}

/// The Lead seed CSV: `org` Leads with generation-0 values.
#[must_use]
pub fn lead_seed(org: usize) -> String {
    let mut out = String::with_capacity(org * 110);
    out.push_str(
        "Email,LastName,Company,Status,IsConverted,WalkMe_Last_Login__c,WalkMe_Logins_Last_30_Days__c\n",
    );
    for i in 0..org {
        let _ = writeln!(
            out,
            "{},Lead {i},Bench Corp,Open - Not Contacted,false,{},{}",
            lead_email(i),
            last_login(i, 0),
            logins(i, 0)
        );
    }
    out
}

/// Which record each report row names (`None`: unmatched), and whether the row changes it.
#[derive(Debug, Clone, Copy)]
pub struct RowPlan {
    pub record: Option<usize>,
    pub changed: bool,
}

/// `rows` rows, `matched_pct` % of them naming records spread over the org, `changed_pct` % of
/// those with new values.
#[must_use]
pub fn plan_rows(rows: usize, org: usize, matched_pct: usize, changed_pct: usize) -> Vec<RowPlan> {
    let matched_total = rows * matched_pct / 100;
    let stride = (org / matched_total.max(1)).max(1);
    let mut m = 0usize;
    (0..rows)
        .map(|r| {
            // Matched rows are interleaved evenly with unmatched ones.
            let is_matched = (r + 1) * matched_pct / 100 > r * matched_pct / 100;
            if is_matched && m < matched_total {
                let record = (m * stride) % org;
                let changed = (m % 100) < changed_pct;
                m += 1;
                RowPlan {
                    record: Some(record),
                    changed,
                }
            } else {
                RowPlan {
                    record: None,
                    changed: false,
                }
            }
        })
        .collect()
}

/// The Lead report (WalkMe Insights' "Logins Review" shape); changed rows carry generation `g`.
#[must_use]
pub fn lead_report(plan: &[RowPlan], g: usize) -> String {
    let mut out = String::with_capacity(plan.len() * 60);
    out.push_str("User ID,Last Login,Logins Last 30 Days\n");
    for (r, row) in plan.iter().enumerate() {
        match row.record {
            Some(i) => {
                let gen_ = if row.changed { g } else { 0 };
                let _ = writeln!(
                    out,
                    "{},{},{}",
                    lead_email(i),
                    last_login(i, gen_),
                    logins(i, gen_)
                );
            }
            None => {
                let _ = writeln!(out, "{},{},{}", unmatched_email(r), last_login(r, g), 1);
            }
        }
    }
    out
}

/// The 20 mapped fields of the wide object: (API name, describe JSON).
fn wide_fields() -> Vec<(&'static str, Value)> {
    let text = |n: &'static str| (n, json!({"name": n, "type": "string", "length": 255}));
    let boolean = |n: &'static str| {
        (
            n,
            json!({"name": n, "type": "boolean", "nillable": false, "defaultValue": false}),
        )
    };
    let number = |n: &'static str, t: &str, p: u32, s: u32| {
        (n, json!({"name": n, "type": t, "precision": p, "scale": s}))
    };
    let plain = |n: &'static str, t: &str| (n, json!({"name": n, "type": t}));
    let picklist = |n: &'static str| {
        (
            n,
            json!({"name": n, "type": "picklist", "length": 255, "restrictedPicklist": true,
                "picklistValues": [{"value": "Gold"}, {"value": "Silver"}, {"value": "Bronze"}]}),
        )
    };
    vec![
        text("Text_A__c"),
        text("Text_B__c"),
        (
            "Area__c",
            json!({"name": "Area__c", "type": "textarea", "length": 32768}),
        ),
        (
            "Email__c",
            json!({"name": "Email__c", "type": "email", "length": 80}),
        ),
        (
            "Phone__c",
            json!({"name": "Phone__c", "type": "phone", "length": 40}),
        ),
        (
            "Url__c",
            json!({"name": "Url__c", "type": "url", "length": 255}),
        ),
        picklist("Tier__c"),
        picklist("Tier_B__c"),
        boolean("Flag_A__c"),
        boolean("Flag_B__c"),
        number("Count__c", "int", 9, 0),
        number("Score__c", "double", 16, 2),
        number("Ratio__c", "double", 14, 4),
        number("Amount__c", "currency", 16, 2),
        number("Share__c", "percent", 5, 2),
        plain("Day_A__c", "date"),
        plain("Day_B__c", "date"),
        plain("When_A__c", "datetime"),
        plain("When_B__c", "datetime"),
        number("Visits__c", "double", 18, 0),
    ]
}

/// Names of the wide object's mapped fields; the report column is the name without `__c`.
#[must_use]
pub fn wide_field_names() -> Vec<&'static str> {
    wide_fields().into_iter().map(|(n, _)| n).collect()
}

/// The emulator schema: the default objects plus the wide custom object.
pub fn wide_schema() -> anyhow::Result<String> {
    let mut schema: Value = serde_json::from_str(sf_emulator::schema::DEFAULT_SCHEMA)?;
    let mut fields = vec![
        json!({"name": "Id", "type": "id", "length": 18, "updateable": false, "createable": false,
            "nillable": false, "idLookup": true}),
        json!({"name": "Name", "type": "string", "length": 80}),
        json!({"name": "Key__c", "type": "string", "length": 80, "idLookup": true}),
    ];
    fields.extend(wide_fields().into_iter().map(|(_, f)| f));
    let object = json!({"name": WIDE_OBJECT, "label": "Bench Wide", "labelPlural": "Bench Wides",
        "keyPrefix": "a0W", "fields": fields});
    schema["objects"]
        .as_array_mut()
        .ok_or_else(|| anyhow::anyhow!("the default schema has no objects"))?
        .push(object);
    Ok(serde_json::to_string(&schema)?)
}

/// The wide record `i`'s values at generation `g`, in field order, as CSV cells.
fn wide_values(i: usize, g: usize) -> Vec<String> {
    let k = i + g;
    let day = |n: usize| {
        let d = n % 365;
        // A non-leap year: month lengths.
        let months = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        let (mut m, mut left) = (0, d);
        while left >= months[m] {
            left -= months[m];
            m += 1;
        }
        format!("2026-{:02}-{:02}", m + 1, left + 1)
    };
    let tiers = ["Gold", "Silver", "Bronze"];
    vec![
        format!("alpha {i} gen {g}"),
        format!("beta-{k}"),
        format!("notes for {i}, gen {g}"),
        format!("contact{i}.{g}@example.org"),
        format!("+1 555 {:04} {g}", i % 10_000),
        format!("https://example.org/u/{i}/{g}"),
        tiers[k % 3].to_owned(),
        tiers[(k / 3) % 3].to_owned(),
        k.is_multiple_of(2).to_string(),
        k.is_multiple_of(3).to_string(),
        (i % 100_000 + g).to_string(),
        format!("{}.{:02}", i % 1000, k % 100),
        format!("{}.{:04}", i % 100, k % 10_000),
        format!("{}.{:02}", i % 100_000, k % 100),
        format!("{}.5", k % 100),
        day(k),
        day(k * 7),
        format!("{}T{:02}:{:02}:00Z", day(k), k % 24, i % 60),
        format!("{}T{:02}:{:02}:00Z", day(k * 3), (k / 7) % 24, k % 60),
        (k % 1_000).to_string(),
    ]
}

fn csv_cell(cell: &str) -> String {
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_owned()
    }
}

/// The wide object's seed CSV.
#[must_use]
pub fn wide_seed(org: usize) -> String {
    let mut out = String::with_capacity(org * 400);
    out.push_str("Name,Key__c,");
    out.push_str(&wide_field_names().join(","));
    out.push('\n');
    for i in 0..org {
        let cells: Vec<String> = wide_values(i, 0).iter().map(|c| csv_cell(c)).collect();
        let _ = writeln!(out, "Wide {i},{},{}", lead_email(i), cells.join(","));
    }
    out
}

/// The wide report: a key column and one column per field.
#[must_use]
pub fn wide_report(plan: &[RowPlan], g: usize) -> String {
    let mut out = String::with_capacity(plan.len() * 400);
    out.push_str("Key");
    for name in wide_field_names() {
        out.push(',');
        out.push_str(name.trim_end_matches("__c"));
    }
    out.push('\n');
    for (r, row) in plan.iter().enumerate() {
        let (key, values) = match row.record {
            Some(i) => (
                lead_email(i),
                wide_values(i, if row.changed { g } else { 0 }),
            ),
            None => (unmatched_email(r), wide_values(r, g)),
        };
        let cells: Vec<String> = values.iter().map(|c| csv_cell(c)).collect();
        let _ = writeln!(out, "{key},{}", cells.join(","));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_match_and_change_in_the_asked_shares() {
        let plan = plan_rows(2_000, 50_000, 100, 30);
        assert_eq!(plan.iter().filter(|r| r.record.is_some()).count(), 2_000);
        assert_eq!(plan.iter().filter(|r| r.changed).count(), 600);
        let plan = plan_rows(200_000, 1_000_000, 5, 100);
        assert_eq!(plan.iter().filter(|r| r.record.is_some()).count(), 10_000);
        let mut records: Vec<usize> = plan.iter().filter_map(|r| r.record).collect();
        records.dedup();
        assert_eq!(
            records.len(),
            10_000,
            "every matched row names its own record"
        );
    }

    #[test]
    fn generations_differ() {
        assert_ne!(last_login(5, 0), last_login(5, 1));
        assert_ne!(wide_values(7, 0), wide_values(7, 1));
        assert_eq!(wide_values(7, 0).len(), wide_field_names().len());
    }
}
