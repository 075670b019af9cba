//! `walkme-sf describe`: an object's fields as the org describes them — what a mapping can
//! write and what a key can match on (SPEC §2).

use anyhow::Result;
use serde::Serialize;

use crate::auth::session::EnvVars;
use crate::cli::DescribeArgs;
use crate::context::Context;
use crate::error::ExitStatus;
use crate::output::sanitize;
use crate::salesforce::describe::{Field, FieldType};

use super::connect;

/// One field in `--json`.
#[derive(Debug, Serialize)]
struct FieldOut<'a> {
    name: &'a str,
    label: &'a str,
    #[serde(rename = "type")]
    field_type: &'static str,
    length: Option<u32>,
    precision: Option<u32>,
    scale: Option<u32>,
    /// A mapping can write it.
    updateable: bool,
    /// It can be used in a SOQL `WHERE`, so it can be a key.
    filterable: bool,
    custom: bool,
    nillable: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    picklist_values: Vec<&'a str>,
    restricted_picklist: bool,
}

pub fn run(args: &DescribeArgs, ctx: &Context) -> Result<ExitStatus> {
    let config = super::load_config(ctx)?;
    let env = connect::environment(&config, &args.env)?;
    let stores = connect::stores()?;
    let vars = EnvVars::from_process();
    let describe = connect::runtime()?.block_on(async {
        let client = connect::client(env, &vars, &stores, &ctx.printer).await?;
        client
            .describe(&args.object)
            .await
            .map_err(|e| connect::describe_error(e, &args.object, &env.name))
    })?;
    if args.json {
        let fields: Vec<FieldOut<'_>> = describe.fields.iter().map(field_out).collect();
        ctx.printer.json(&serde_json::json!({
            "object": describe.name,
            "label": describe.label,
            "fields": fields,
        }))?;
        return Ok(ExitStatus::Success);
    }
    let mut rows = vec![
        ["FIELD", "LABEL", "TYPE", "SIZE", "WRITABLE", "KEY"]
            .map(str::to_owned)
            .to_vec(),
    ];
    for f in &describe.fields {
        let writable = f.updateable && !f.calculated;
        rows.push(vec![
            f.name.clone(),
            f.label.clone(),
            f.field_type.as_str().to_owned(),
            size(f),
            yes_no(writable),
            yes_no(f.filterable && crate::sync::key::supported(f)),
        ]);
    }
    ctx.printer.data(&format!(
        "{} ({}) in `{}`: {} fields\n\n{}",
        sanitize(&describe.name),
        sanitize(&describe.label),
        env.name,
        describe.fields.len(),
        align(&rows)
    ));
    Ok(ExitStatus::Success)
}

fn field_out(f: &Field) -> FieldOut<'_> {
    let (length, precision, scale) = match f.field_type {
        FieldType::Double | FieldType::Currency | FieldType::Percent => {
            (None, Some(f.precision), Some(f.scale))
        }
        FieldType::Int | FieldType::Long => (None, Some(f.digits), Some(0)),
        _ if f.length > 0 => (Some(f.length), None, None),
        _ => (None, None, None),
    };
    FieldOut {
        name: &f.name,
        label: &f.label,
        field_type: f.field_type.as_str(),
        length,
        precision,
        scale,
        updateable: f.updateable && !f.calculated,
        filterable: f.filterable,
        custom: f.custom,
        nillable: f.nillable,
        picklist_values: f
            .picklist_values
            .iter()
            .filter(|p| p.active)
            .map(|p| p.value.as_str())
            .collect(),
        restricted_picklist: f.restricted_picklist,
    }
}

/// The size a value may take: characters for text, `precision,scale` for numbers.
fn size(f: &Field) -> String {
    match f.field_type {
        FieldType::Double | FieldType::Currency | FieldType::Percent => {
            format!("{},{}", f.precision, f.scale)
        }
        FieldType::Int | FieldType::Long if f.digits > 0 => f.digits.to_string(),
        _ if f.length > 0 => f.length.to_string(),
        _ => String::new(),
    }
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}

/// Rows as columns padded to the widest cell (in characters); control characters made
/// visible; no trailing spaces.
pub(crate) fn align(rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| sanitize(c).replace('\n', " ")).collect())
        .collect();
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < row.len() {
                let pad = widths[i] - cell.chars().count() + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
