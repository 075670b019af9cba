//! What every command needs: the config path, the printer and the state directory.

use std::path::PathBuf;

use etcetera::BaseStrategy as _;

use crate::output::Printer;

/// Shared command context.
#[derive(Debug)]
pub struct Context {
    /// `--config` / `$WALKME_SF_CONFIG`.
    pub config_path: PathBuf,
    pub printer: Printer,
}

impl Context {
    /// `$WALKME_SF_STATE_DIR`, else `$XDG_STATE_HOME/walkme-sf` (`~/.local/state/walkme-sf`).
    pub fn state_dir(&self) -> anyhow::Result<PathBuf> {
        if let Some(dir) = std::env::var_os("WALKME_SF_STATE_DIR").filter(|d| !d.is_empty()) {
            return Ok(PathBuf::from(dir));
        }
        let base = etcetera::base_strategy::Xdg::new()
            .map_err(|e| anyhow::anyhow!("cannot find the home directory: {e}"))?;
        Ok(base
            .state_dir()
            .unwrap_or_else(|| base.home_dir().join(".local/state"))
            .join("walkme-sf"))
    }
}
