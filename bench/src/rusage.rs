//! The measured process's own resource usage: wait4(2) reaps one child and returns its rusage
//! (user and system CPU time, peak resident set size), unaffected by other children of the
//! harness or by the emulator threads running inside it.

use std::time::Duration;

/// What the kernel accounted to one finished child.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    /// Exit code, or `None` when a signal ended the child.
    pub exit_code: Option<i32>,
    pub user: Duration,
    pub system: Duration,
    /// Peak resident set size in bytes (`ru_maxrss`, kilobytes on Linux).
    pub max_rss: u64,
}

fn duration(tv: libc::timeval) -> Duration {
    let secs = u64::try_from(tv.tv_sec).unwrap_or(0);
    let micros = u32::try_from(tv.tv_usec).unwrap_or(0);
    Duration::from_secs(secs) + Duration::from_micros(u64::from(micros))
}

/// Wait for the child `pid` (spawned by this process and not yet waited for) and return its usage.
#[allow(unsafe_code)] // wait4 has no safe wrapper in the dependency tree; see the SAFETY note.
pub fn wait(pid: u32) -> std::io::Result<Usage> {
    let pid = libc::pid_t::try_from(pid).map_err(std::io::Error::other)?;
    let mut status: libc::c_int = 0;
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `status` and `usage` are valid, writable and live for the whole call; wait4 writes
    // a plain-data rusage (all-zero is a valid value, so reading it is sound even if the kernel
    // wrote nothing); `pid` is our own unreaped child, so no other process is affected.
    let (rc, usage) = unsafe {
        let rc = libc::wait4(pid, &raw mut status, 0, usage.as_mut_ptr());
        (rc, usage.assume_init())
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let exit_code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    Ok(Usage {
        exit_code,
        user: duration(usage.ru_utime),
        system: duration(usage.ru_stime),
        max_rss: u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024,
    })
}
