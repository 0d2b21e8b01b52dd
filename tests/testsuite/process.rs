//! Child processes of the real binary that a test must signal or stop: spawning one against an
//! emulator, signalling it by its id, bounded waits, and reaping it whatever happens.

use std::path::Path;
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

use crate::live::Live;
use dmgmt::emulator::LOCAL_MANAGEMENT_KEY;

/// A child that is killed (by its id) and waited for when dropped, so a failing test never
/// leaves a process behind.
pub(crate) struct Reap(pub(crate) Child);

impl Drop for Reap {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

impl Reap {
    /// Sends `signal` (`INT`, `KILL`, …) with `kill`.
    pub(crate) fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &self.0.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} failed");
    }

    /// The exit status if the process has ended.
    pub(crate) fn try_wait(&mut self) -> Option<ExitStatus> {
        self.0.try_wait().unwrap()
    }

    pub(crate) fn wait(&mut self, limit: Duration) -> ExitStatus {
        wait_bounded(&mut self.0, limit)
    }
}

/// `dmgmt --dir DIR ARGS...` against `live`, not waited for, its stdin empty and its output in
/// `DIR/child.out` and `DIR/child.err`.
pub(crate) fn spawn(dir: &Path, live: &Live, args: &[&str]) -> Reap {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("dmgmt"));
    cmd.arg("--dir")
        .arg(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .env("DMGMT_TEST_KEY", LOCAL_MANAGEMENT_KEY)
        .env("DMGMT_TEST_URL", live.handle.base_url())
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(dir.join("child.out")).unwrap())
        .stderr(std::fs::File::create(dir.join("child.err")).unwrap());
    Reap(cmd.spawn().unwrap())
}

/// Waits at most `limit` for `child`; kills it (by its id) and fails if it does not end.
pub(crate) fn wait_bounded(child: &mut Child, limit: Duration) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("pid {} did not end within {limit:?}", child.id());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Polls `cond` every 20 ms for at most `limit`.
pub(crate) fn eventually(limit: Duration, cond: impl Fn() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}
