//! What the running process can say about itself for state and lock files: the time as UTC RFC
//! 3339, random ids, the host, the user and whether a local pid still runs.
//!
//! Only the standard library: `/dev/urandom` and `/proc` where they exist, environment variables
//! otherwise. Nothing here fails; a missing source degrades to a weaker fallback or `unknown`.

use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::canonical::{sha256_hex, to_hex};

/// `time` as `YYYY-MM-DDTHH:MM:SSZ` (UTC, whole seconds).
pub(crate) fn rfc3339_utc(time: SystemTime) -> String {
    let secs: i64 = match time.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 2),
        Err(e) => {
            let d = e.duration();
            let whole = i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 2);
            -whole - i64::from(d.subsec_nanos() > 0)
        }
    };
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

pub(crate) fn now_rfc3339() -> String {
    rfc3339_utc(SystemTime::now())
}

/// Reads back exactly what [`rfc3339_utc`] writes (`YYYY-MM-DDTHH:MM:SSZ`); `None` for anything
/// else, so a hand-edited time is never guessed at.
pub(crate) fn parse_rfc3339_utc(text: &str) -> Option<SystemTime> {
    let b = text.as_bytes();
    let shape_ok = b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z';
    if !shape_ok {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    // Rejects days a month does not have (2026-02-30) by requiring the round trip.
    if civil_from_days(days) != (year, month as u32, day as u32) {
        return None;
    }
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second;
    let secs = u64::try_from(secs).ok()?;
    Some(UNIX_EPOCH + std::time::Duration::from_secs(secs))
}

/// Howard Hinnant's `days_from_civil`, the inverse of [`civil_from_days`].
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400); // [0, 399]
    let mp = (month + 9) % 12; // March-based
    let doy = (153 * mp + 2) / 5 + day - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to (year, month, day), proleptic
/// Gregorian.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March-based
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // `day` is in [1, 31] and `month` in [1, 12] by construction.
    (year, month as u32, day as u32)
}

/// `bytes` random bytes as lowercase hex, from `/dev/urandom`, or, where that cannot be read, a
/// sha256 of the time, the pid and a per-process counter (unique, not secret).
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    let from_urandom = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .is_ok();
    if from_urandom {
        return to_hex(&buf);
    }
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut out = String::new();
    while out.len() < bytes * 2 {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let seed = format!(
            "{nanos}:{}:{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        out.push_str(&sha256_hex(seed));
    }
    out.truncate(bytes * 2);
    out
}

/// This machine's name: `/proc/sys/kernel/hostname`, else `$HOSTNAME`, else `unknown`.
pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| non_empty_var("HOSTNAME"))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The user running dmgmt: `$USER`, else `$LOGNAME`, else the name of the process's uid in
/// `/etc/passwd` (containers and CI often set neither variable), else `uid<N>`, else `unknown`.
pub(crate) fn username() -> String {
    non_empty_var("USER")
        .or_else(|| non_empty_var("LOGNAME"))
        .or_else(user_from_uid)
        .unwrap_or_else(|| "unknown".to_owned())
}

fn user_from_uid() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    user_for(&status, &passwd)
}

/// The user named in `passwd` for the real uid in `status` (`/proc/self/status`), else
/// `uid<N>`; `None` when `status` holds no uid.
fn user_for(status: &str, passwd: &str) -> Option<String> {
    let uid = status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .to_owned();
    let name = passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        (fields.nth(1)? == uid && !name.is_empty()).then(|| name.to_owned())
    });
    Some(name.unwrap_or_else(|| format!("uid{uid}")))
}

/// Whether `pid` runs on this machine: `None` when this cannot be told (no `/proc`).
pub(crate) fn pid_is_running(pid: u32) -> Option<bool> {
    if !Path::new("/proc/self").exists() {
        return None;
    }
    Some(Path::new(&format!("/proc/{pid}")).exists())
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

    #[test]
    fn the_user_comes_from_passwd_by_uid_else_the_uid_itself() {
        let status = "Name:\tdmgmt\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\n";
        let passwd = "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n";
        assert_eq!(user_for(status, passwd).as_deref(), Some("alice"));
        assert_eq!(
            user_for(status, "root:x:0:0::/root:/bin/sh\n").as_deref(),
            Some("uid1000")
        );
        // A name field that is empty, or a uid that only matches another field, is no match.
        assert_eq!(
            user_for(status, ":x:1000:1000::/:/bin/sh\nbob:x:1:1000::/:/bin/sh\n").as_deref(),
            Some("uid1000")
        );
        assert_eq!(user_for("Name:\tdmgmt\n", passwd), None);
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
    fn this_process_is_running() {
        if let Some(running) = pid_is_running(std::process::id()) {
            assert!(running);
            assert_eq!(pid_is_running(u32::MAX), Some(false));
        }
    }
}
