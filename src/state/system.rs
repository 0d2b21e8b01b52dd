//! What the running process can say about itself for state and lock files: the time as UTC RFC
//! 3339, random ids, the host, the user and whether a local pid still runs.
//!
//! Calendar arithmetic is `jiff`'s, random bytes come from the OS through `getrandom`, user and
//! host names through `whoami` (the passwd database, NSS included, and `gethostname`). Nothing
//! here fails: a missing name degrades to `unknown` (the random source is always there, see
//! [`random_hex`]).

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use jiff::Timestamp;

use super::canonical::to_hex;

/// The one shape dmgmt writes times in: UTC, whole seconds.
const FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";

/// `time` as `YYYY-MM-DDTHH:MM:SSZ` (UTC, whole seconds, rounded down); a time beyond years
/// -9999..=9999 is clamped to the nearest end.
pub(crate) fn rfc3339_utc(time: SystemTime) -> String {
    let at = Timestamp::try_from(time).unwrap_or(if time > UNIX_EPOCH {
        Timestamp::MAX
    } else {
        Timestamp::MIN
    });
    at.strftime(FORMAT).to_string()
}

pub(crate) fn now_rfc3339() -> String {
    rfc3339_utc(SystemTime::now())
}

/// Reads back exactly what [`rfc3339_utc`] writes (`YYYY-MM-DDTHH:MM:SSZ`); `None` for anything
/// else, so a hand-edited time is never guessed at.
pub(crate) fn parse_rfc3339_utc(text: &str) -> Option<SystemTime> {
    let at: Timestamp = text.parse().ok()?;
    // RFC 3339 allows more (offsets, fractions, a leap second): only the written shape is read.
    if at.strftime(FORMAT).to_string() != text {
        return None;
    }
    SystemTime::try_from(at).ok()
}

/// `bytes` random bytes as lowercase hex, from the OS (ids that must be unique, not secret).
///
/// The OS's random source does not fail where dmgmt can run: `getrandom` reads it as the standard
/// library does to seed each `HashMap` (the `getrandom` system call, else `/dev/urandom`), and
/// where neither answers the standard library panics too (dmgmt's HTTP stack, runtime and
/// configuration maps all seed `HashMap`s). So no second, weaker source is kept for that case;
/// `uuid`'s `new_v4` makes the same call.
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the OS gave no random bytes");
    to_hex(&buf)
}

/// This machine's name (`gethostname`), else `$HOSTNAME`, else `unknown`.
pub(crate) fn hostname() -> String {
    whoami::hostname()
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| non_empty_var("HOSTNAME"))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The user running dmgmt: `$USER`, else `$LOGNAME`, else the passwd name of the process's
/// effective uid (containers and CI often set neither variable), else `uid<N>`, else `unknown`.
pub(crate) fn username() -> String {
    non_empty_var("USER")
        .or_else(|| non_empty_var("LOGNAME"))
        .or_else(account_name)
        .or_else(uid_name)
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The passwd name of the process's effective uid.
fn account_name() -> Option<String> {
    whoami::username()
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// `uid<N>` for a uid that has no passwd entry (an arbitrary uid in a container).
#[cfg(unix)]
fn uid_name() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    // `/proc/self` belongs to the process's effective uid.
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    Some(format!("uid{uid}"))
}

#[cfg(not(unix))]
fn uid_name() -> Option<String> {
    None
}

/// The CPU time (user + system) this process used so far, all its threads: `None` where it
/// cannot be told (not Linux).
#[cfg(target_os = "linux")]
pub(crate) fn process_cpu_time() -> Option<std::time::Duration> {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `getrusage` fills the struct it is given; RUSAGE_SELF is always valid.
    let usage = unsafe {
        if libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) != 0 {
            return None;
        }
        usage.assume_init()
    };
    let micros = |t: libc::timeval| {
        Some(u64::try_from(t.tv_sec).ok()? * 1_000_000 + u64::try_from(t.tv_usec).ok()?)
    };
    let total = micros(usage.ru_utime)?.checked_add(micros(usage.ru_stime)?)?;
    Some(std::time::Duration::from_micros(total))
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn process_cpu_time() -> Option<std::time::Duration> {
    None
}

/// Whether a process `pid` exists on this machine, zombies included: `None` when this cannot be
/// told (no `/proc`).
pub(crate) fn pid_exists(pid: u32) -> Option<bool> {
    if !Path::new("/proc/self").exists() {
        return None;
    }
    Some(Path::new(&format!("/proc/{pid}")).exists())
}

/// Whether `pid` runs on this machine: `None` when this cannot be told (no `/proc`). A zombie
/// (killed, not yet reaped by its parent, which in a container may never happen) does not run.
pub(crate) fn pid_is_running(pid: u32) -> Option<bool> {
    if !Path::new("/proc/self").exists() {
        return None;
    }
    let dir = format!("/proc/{pid}");
    match std::fs::read_to_string(format!("{dir}/stat")) {
        Ok(stat) => Some(!matches!(stat_state(&stat), Some('Z' | 'X'))),
        Err(_) => Some(Path::new(&dir).exists()),
    }
}

/// The state letter of a `/proc/<pid>/stat` line: the field after the command name, which is
/// in parentheses and may itself hold spaces and parentheses.
fn stat_state(stat: &str) -> Option<char> {
    let after = &stat[stat.rfind(')')? + 1..];
    after.trim_start().chars().next()
}

fn non_empty_var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> String {
        rfc3339_utc(UNIX_EPOCH + Duration::from_secs(secs))
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(at(1_795_611_600), "2026-11-25T13:00:00Z");
        assert_eq!(at(4_102_444_800), "2100-01-01T00:00:00Z");
        assert_eq!(
            rfc3339_utc(UNIX_EPOCH - Duration::from_millis(1)),
            "1969-12-31T23:59:59Z"
        );
    }

    #[test]
    fn parses_what_it_formats_and_nothing_else() {
        for secs in [0, 951_782_400, 1_709_251_199, 1_795_611_600, 4_102_444_800] {
            let time = UNIX_EPOCH + Duration::from_secs(secs);
            assert_eq!(parse_rfc3339_utc(&rfc3339_utc(time)), Some(time), "{secs}");
        }
        for bad in [
            "",
            "2026-02-30T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-11-25T24:00:00Z",
            "2026-11-25 13:00:00Z",
            "2026-11-25T13:00:00+00:00",
            "2026-11-25T13:00:0aZ",
            "+026-11-25T13:00:00Z",
            "2026-11-25T13:00:60Z",
            "2026-11-25T13:00:00.5Z",
            "2026-11-25t13:00:00z",
        ] {
            assert_eq!(parse_rfc3339_utc(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn random_ids_are_hex_of_the_asked_length_and_differ() {
        let a = random_hex(16);
        let b = random_hex(16);
        assert_eq!(a.len(), 32);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_ne!(a, b);
    }

    #[cfg(unix)]
    #[test]
    fn the_account_is_the_passwd_name_of_the_effective_uid() {
        // The effective uid as the kernel reports it (`Uid:` real, effective, saved, fs).
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let uid = status
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            .unwrap()
            .to_owned();
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        let listed = passwd.lines().find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.len() > 2 && fields[2] == uid).then(|| fields[0].to_owned())
        });
        // Where the uid has a local passwd line, the account is its name; either way the last
        // resort names the uid itself.
        if let Some(name) = listed {
            assert_eq!(account_name().as_deref(), Some(name.as_str()));
        }
        assert_eq!(uid_name(), Some(format!("uid{uid}")));
    }

    #[test]
    fn the_host_is_the_kernels_name_when_it_has_one() {
        if let Ok(name) = std::fs::read_to_string("/proc/sys/kernel/hostname")
            && !name.trim().is_empty()
        {
            assert_eq!(hostname(), name.trim());
        }
    }

    #[test]
    fn a_zombie_is_not_running() {
        assert_eq!(stat_state("123 (dmgmt) S 1 2 3"), Some('S'));
        assert_eq!(stat_state("123 (a) b) (c) Z 1 2 3"), Some('Z'));
        assert_eq!(stat_state("no parenthesis"), None);
        // A child killed and not yet waited for is a zombie.
        if pid_is_running(std::process::id()).is_some() {
            let mut child = std::process::Command::new("sleep")
                .arg("30")
                .spawn()
                .unwrap();
            let pid = child.id();
            assert_eq!(pid_is_running(pid), Some(true));
            child.kill().unwrap();
            let dead = (0..100).any(|_| {
                std::thread::sleep(std::time::Duration::from_millis(20));
                pid_is_running(pid) == Some(false)
            });
            assert!(dead, "a killed, unreaped child counts as gone");
            child.wait().unwrap();
        }
    }

    #[test]
    fn this_process_is_running() {
        if let Some(running) = pid_is_running(std::process::id()) {
            assert!(running);
            assert_eq!(pid_is_running(u32::MAX), Some(false));
        }
    }
}
