//! Folder and file names of backups: the ids (UTC time, made unique with `-2`, `-3`…) and the
//! shape of an object file's path a format-1 manifest may list (format 1 kept one file per object,
//! its key escaped into a safe, distinct name). Pure: nothing here touches the file system.

use std::path::{Component, Path};

use crate::model::ResourceKind;

/// `<kind>/<name>.json` with no `.`/`..`, absolute or empty parts: what dmgmt wrote in format 1,
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
