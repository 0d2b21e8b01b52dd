//! File and folder names of backups: the escaping that makes any key a safe, distinct file name,
//! the ids (UTC time, made unique with `-2`, `-3`…) and the shape of a path a manifest may list.
//! Pure: nothing here touches the file system.

use std::collections::HashSet;
use std::path::{Component, Path};

use crate::model::{ResourceAddr, ResourceKind};
use crate::state::canonical::sha256_hex;
use crate::state::file::resource_key;

/// Escaped file names longer than this are cut and end with a hash of the whole key (file systems
/// allow 255 bytes; `.json` and a uniqueness suffix must still fit).
pub(super) const MAX_NAME_BYTES: usize = 200;

/// `<kind>/<name>.json` with no `.`/`..`, absolute or empty parts: what [`super::write_backup`] writes,
/// so a hand-edited manifest cannot point outside its folder.
pub(super) fn is_object_path(rel: &str) -> bool {
    let parts: Vec<&str> = rel.split('/').collect();
    parts.len() == 2
        && ResourceKind::ALL.iter().any(|k| k.as_str() == parts[0])
        && parts[1].len() > ".json".len()
        && parts[1].ends_with(".json")
        && Path::new(rel)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

/// The key part of an address (`acme/Viewer` for `role.acme/Viewer`); the theme's is `theme`.
pub(super) fn key_of(addr: &ResourceAddr) -> String {
    match addr {
        ResourceAddr::Theme => "theme".to_owned(),
        other => resource_key(other),
    }
}

/// A key as a safe file name: the bytes `A`–`Z`, `a`–`z`, `0`–`9`, `-`, `_` and `.` stay, except a
/// leading `.` (so no name is hidden, `.` or `..`); every other UTF-8 byte becomes `%XX`
/// (uppercase hex): `acme/Viewer` -> `acme%2FViewer`, `a b` -> `a%20b`, `é` -> `%C3%A9`. A result
/// longer than [`MAX_NAME_BYTES`] is cut and ends with `~` and 16 hex digits of the key's sha256.
/// Names are never decoded: the manifest maps each file to its address.
pub(crate) fn escape_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for (i, b) in key.bytes().enumerate() {
        let keep = b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || (b == b'.' && i > 0);
        if keep {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.is_empty() {
        out.push('_');
    }
    if out.len() > MAX_NAME_BYTES {
        let mut cut = MAX_NAME_BYTES - 17;
        // Never split a `%XX`.
        while out[..cut].ends_with('%') || out[..cut - 1].ends_with('%') {
            cut -= 1;
        }
        out.truncate(cut);
        out.push('~');
        out.push_str(&sha256_hex(key)[..16]);
    }
    out
}

/// Hands out file names within one backup, unique even on a file system that ignores case
/// (`Viewer` and `viewer` are two roles): a taken name gets `~2`, `~3`… (`~` never occurs in an
/// escaped key, so a suffixed name cannot meet another key's name).
#[derive(Default)]
pub(super) struct FileNames {
    taken: HashSet<String>,
}

impl FileNames {
    pub(super) fn claim(&mut self, kind: &str, key: &str) -> String {
        let base = escape_key(key);
        let mut name = base.clone();
        let mut n = 1u32;
        while !self
            .taken
            .insert(format!("{kind}/{name}").to_ascii_lowercase())
        {
            n += 1;
            name = format!("{base}~{n}");
        }
        name
    }
}

/// `2026-11-29T15:20:00Z` -> `20261129T152000Z`.
pub(super) fn compact_id(created_at: &str) -> String {
    created_at
        .chars()
        .filter(|c| *c != '-' && *c != ':')
        .collect()
}

/// `(base, number)` of a backup id: `20261129T152000Z` is number 1, `20261129T152000Z-7` number 7.
pub(super) fn parse_id(id: &str) -> Option<(&str, u32)> {
    let (base, number) = match id.split_once('-') {
        Some((base, n)) => {
            let digits_only = !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit());
            if !digits_only || n.starts_with('0') {
                return None;
            }
            (base, n.parse::<u32>().ok().filter(|n| *n >= 2)?)
        }
        None => (id, 1),
    };
    let b = base.as_bytes();
    let digits = |range: std::ops::Range<usize>| b[range].iter().all(u8::is_ascii_digit);
    let shape = b.len() == 16 && b[8] == b'T' && b[15] == b'Z' && digits(0..8) && digits(9..15);
    shape.then_some((base, number))
}
