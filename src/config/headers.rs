//! The offline half of report checking (SPEC §2 `validate`): each report file that exists has
//! the key and mapped columns in its header. A report not exported yet is not a problem, only a
//! note: the check happens again at run time.

use super::diagnostic::Problem;
use super::load::problem_at;
use super::model::{Config, Loc, ReportLocation};
use crate::report::{self, ColumnError, LocateError, ReportError};

/// Problems with the reports of the named integrations (all when `only` is empty), and notes
/// about reports that could not be checked.
#[must_use]
pub fn check(config: &Config, only: &[String]) -> (Vec<Problem>, Vec<String>) {
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    for integration in config.integrations.values() {
        if !only.is_empty() && !only.contains(&integration.name) {
            continue;
        }
        let at = |loc: Loc, message: String| {
            problem_at(&config.path, loc, message).integration(&integration.name)
        };
        let ReportLocation::Path(pattern) = &integration.report.location else {
            notes.push(format!(
                "{}: the report is downloaded at run time; its header was not checked",
                integration.name
            ));
            continue;
        };
        let path = match report::locate(pattern) {
            Ok(path) => path,
            Err(LocateError::NoMatch { .. } | LocateError::NotFound { .. }) => {
                notes.push(format!(
                    "{}: no report file matches {} yet; its header was not checked",
                    integration.name,
                    pattern.display()
                ));
                continue;
            }
            Err(e) => {
                problems.push(at(integration.report.loc, e.to_string()));
                continue;
            }
        };
        let header = match report::read_header(&path) {
            Ok(header) => header,
            Err(e) => {
                let hint = match e {
                    ReportError::Utf16 | ReportError::HeaderNotUtf8 { .. } => {
                        Some("export the report as UTF-8 CSV")
                    }
                    ReportError::Empty => Some("the file is empty: export the report again"),
                    _ => None,
                };
                let mut p = at(
                    integration.report.loc,
                    format!("the report {}: {e}", path.display()),
                );
                p.hint = hint.map(str::to_owned);
                problems.push(p);
                continue;
            }
        };
        let columns = std::iter::once((&integration.key.report, integration.key.report_loc, "key"))
            .chain(
                integration
                    .fields
                    .iter()
                    .map(|m| (&m.report, m.report_loc, "mapped")),
            );
        for (name, loc, what) in columns {
            if let Err(e) = header.resolve(name) {
                let hint = match &e {
                    ColumnError::Missing { .. } => {
                        Some(format!("the report file is {}", path.display()))
                    }
                    ColumnError::Ambiguous { .. } => {
                        Some("write the column exactly as in the header".to_owned())
                    }
                    ColumnError::Duplicate { .. } => {
                        Some("rename one of the columns in the export".to_owned())
                    }
                };
                let mut p = at(loc, format!("{what} column: {e}"));
                p.hint = hint;
                problems.push(p);
            }
        }
    }
    (problems, notes)
}
