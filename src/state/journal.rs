//! `state/<env>.json.journal`: what a run recorded since the state file was last written, so that
//! a change costs one appended line instead of a rewrite of the whole state (after the emulator's
//! own journal, `src/emulator/journal.rs`).
//!
//! Each line is `<sha256 of the JSON> <JSON>`: the state's lineage, the serial of the state file
//! the run started from (`base`, 0 when there was none yet), the project, a sequence number, and
//! the entries one change put or removed, by address. A line is self-checking, so a line torn by
//! a kill (or damaged) is recognised: it and everything after it are ignored with a note — an
//! unsynced tail is a change whose run never went on with its dependents.
//!
//! [`JournalWriter`] appends from its own thread, fed through a channel: the task that drives the
//! calls never waits for the disk while appending. Lines arriving together share one fsync (group
//! commit); [`JournalWriter::durable`] waits until a line is synced. Before each group the writer
//! checks that the run still holds its lock, so a run whose lock was broken writes nothing more.
//!
//! Folding ([`fold_into`]) applies the lines in order onto the state they extend. A journal of another
//! lineage is refused; one whose base is older than the state file was already written into it
//! (a kill between the state's rename and the journal's removal) and is ignored. Where a fold is
//! persisted is [`super::store`]'s business.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::canonical::sha256_hex;
use super::file::{Lineage, ResourceState, StateFile};
use crate::model::ResourceAddr;

/// `<state file>.journal`.
pub(crate) fn journal_path(state_path: &Path) -> PathBuf {
    let mut name = state_path.as_os_str().to_owned();
    name.push(".journal");
    PathBuf::from(name)
}

/// One entry put at an address, or removed from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum Op {
    Put { addr: String, entry: ResourceState },
    Remove { addr: String },
}

impl Op {
    /// What `state` now holds at `addr`: its entry, or its removal.
    pub(crate) fn at(state: &StateFile, addr: &ResourceAddr) -> Op {
        match state.resources.get(addr) {
            Some(entry) => Op::Put {
                addr: addr.to_string(),
                entry: entry.clone(),
            },
            None => Op::Remove {
                addr: addr.to_string(),
            },
        }
    }

    /// Every address where `after` differs from `before`.
    pub(crate) fn between(before: &StateFile, after: &StateFile) -> Vec<Op> {
        let addrs: std::collections::BTreeSet<&ResourceAddr> = before
            .resources
            .keys()
            .chain(after.resources.keys())
            .collect();
        addrs
            .into_iter()
            .filter(|a| before.resources.get(*a) != after.resources.get(*a))
            .map(|a| Op::at(after, a))
            .collect()
    }
}

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Line {
    pub(crate) lineage: Lineage,
    pub(crate) base: u64,
    pub(crate) project_id: String,
    pub(crate) seq: u64,
    pub(crate) ops: Vec<Op>,
}

impl Line {
    fn encode(&self) -> Result<String, serde_json::Error> {
        let json = serde_json::to_string(self)?;
        Ok(format!("{} {json}\n", sha256_hex(json.as_bytes())))
    }

    fn decode(text: &str) -> Result<Line, String> {
        let (sum, json) = text
            .split_once(' ')
            .ok_or_else(|| "no checksum".to_owned())?;
        if sha256_hex(json.as_bytes()) != sum {
            return Err("its checksum does not match".into());
        }
        serde_json::from_str(json).map_err(|e| e.to_string())
    }
}

/// What a journal holds: its valid lines, and a note for what was ignored.
#[derive(Debug, Default)]
pub(crate) struct Contents {
    pub(crate) lines: Vec<Line>,
    pub(crate) note: Option<String>,
}

/// Reads the journal at `path` (`None` if there is none). A line that is torn or fails its check
/// ends the journal: it and what follows are ignored, with a note saying so.
pub(crate) fn read(path: &Path) -> io::Result<Option<Contents>> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut contents = Contents::default();
    let mut rest = &bytes[..];
    let mut number = 0;
    while !rest.is_empty() {
        number += 1;
        let (line, torn) = match rest.iter().position(|b| *b == b'\n') {
            Some(end) => (&rest[..end], false),
            None => (rest, true),
        };
        let decoded = match std::str::from_utf8(line) {
            Ok(text) if !torn => Line::decode(text),
            Ok(_) => Err("it is torn (no line end)".into()),
            Err(_) => Err("it is not UTF-8".into()),
        };
        match decoded {
            Ok(parsed) => contents.lines.push(parsed),
            Err(why) => {
                contents.note = Some(format!(
                    "ignored line {number} of `{}` and what follows: {why} (a run was stopped while writing it)",
                    path.display()
                ));
                break;
            }
        }
        rest = rest.get(line.len() + 1..).unwrap_or_default();
    }
    Ok(Some(contents))
}

/// Notes from every fold in this process, for the CLI to show as warnings once the command is
/// done (this layer never prints).
static NOTES: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Keeps `note` for [`take_notes`] (once, however often the same journal is read).
pub(crate) fn push_note(note: &str) {
    let mut notes = NOTES.lock().unwrap_or_else(|p| p.into_inner());
    if !notes.iter().any(|n| n == note) {
        notes.push(note.to_owned());
    }
}

/// The notes of every fold since the last call.
pub(crate) fn take_notes() -> Vec<String> {
    std::mem::take(&mut *NOTES.lock().unwrap_or_else(|p| p.into_inner()))
}

/// Why a journal cannot be folded onto a state.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FoldError {
    /// The journal belongs to another state (lineage or project).
    Foreign(String),
    /// A line does not hold a valid address.
    Invalid(String),
}

/// Applies `contents` onto `state` (`None`: no state file yet; `environment` names it). Returns
/// the folded state — with the serial of the file, the content it would hold after the journaled
/// run — or `None` when the journal holds nothing to apply.
#[cfg(test)]
pub(crate) fn fold(
    state: Option<&StateFile>,
    environment: &str,
    contents: &Contents,
) -> Result<Option<StateFile>, FoldError> {
    let (folded, changed) = fold_into(state.cloned(), environment, contents)?;
    Ok(folded.filter(|_| changed))
}

/// Applies `contents` onto `state`, which it takes rather than copies (at scale a copy of a state
/// costs more than the fold): the state it gives back holds the journaled run's content (`None`:
/// no state and nothing to apply), and `true` when the journal added anything.
pub(crate) fn fold_into(
    state: Option<StateFile>,
    environment: &str,
    contents: &Contents,
) -> Result<(Option<StateFile>, bool), FoldError> {
    let Some(first) = contents.lines.first() else {
        return Ok((state, false));
    };
    let serial = state.as_ref().map_or(0, |s| s.serial);
    if let Some(state) = &state
        && state.lineage != first.lineage
    {
        return Err(FoldError::Foreign(format!(
            "it extends lineage `{}`, the state has lineage `{}`",
            first.lineage, state.lineage
        )));
    }
    if first.base < serial {
        // Already written into the state: the run's last write happened, its cleanup did not.
        return Ok((state, false));
    }
    if first.base > serial {
        return Err(FoldError::Foreign(format!(
            "it extends serial {}, the state is at serial {serial}",
            first.base
        )));
    }
    let mut folded = match state {
        Some(state) => state,
        None => {
            let mut fresh = StateFile::new(environment, &first.project_id);
            fresh.lineage = first.lineage.clone();
            fresh
        }
    };
    if folded.project_id != first.project_id {
        return Err(FoldError::Foreign(format!(
            "it belongs to project `{}`, the state to `{}`",
            first.project_id, folded.project_id
        )));
    }
    for line in &contents.lines {
        if line.lineage != first.lineage || line.base != first.base {
            return Err(FoldError::Foreign(
                "its lines do not all extend the same state".into(),
            ));
        }
        for op in &line.ops {
            apply_op(&mut folded, op)?;
        }
    }
    Ok((Some(folded), true))
}

fn apply_op(state: &mut StateFile, op: &Op) -> Result<(), FoldError> {
    let parse = |addr: &str| {
        addr.parse::<ResourceAddr>()
            .map_err(|e| FoldError::Invalid(format!("address `{addr}`: {e}")))
    };
    match op {
        Op::Put { addr, entry } => {
            let addr = parse(addr)?;
            state.resources.insert(addr, entry.clone());
        }
        Op::Remove { addr } => {
            state.resources.remove(&parse(addr)?);
        }
    }
    Ok(())
}

/// What makes a group of lines durable (`File::sync_data` outside tests).
pub(crate) type Syncer = Box<dyn FnMut(&File) -> io::Result<()> + Send>;

/// Checked before each group is written: `Err` stops the writer (the run lost its lock).
pub(crate) type Guard = Box<dyn FnMut() -> Result<(), String> + Send>;

/// Progress published by the writer thread.
#[derive(Debug, Clone, Default)]
struct Progress {
    /// Lines synced so far (sequence numbers below this are durable).
    durable: u64,
    /// The first failure; nothing is written after it.
    failed: Option<String>,
    /// fsyncs done.
    syncs: u64,
}

/// Appends journal lines from a thread of its own (see the module comment).
pub(crate) struct JournalWriter {
    tx: Option<mpsc::Sender<(u64, String)>>,
    progress: watch::Receiver<Progress>,
    thread: Option<JoinHandle<()>>,
    next: u64,
    lineage: Lineage,
    base: u64,
    project_id: String,
}

impl JournalWriter {
    /// Creates the journal at `path` (owner-only; it must not exist yet) for a run starting from
    /// `state`, whose file is at serial `state.serial`.
    pub(crate) fn create(
        path: &Path,
        state: &StateFile,
        syncer: Syncer,
        guard: Guard,
    ) -> io::Result<JournalWriter> {
        let mut options = OpenOptions::new();
        options.append(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(path)?;
        if let Some(dir) = path.parent() {
            super::atomic::sync_dir(dir)?;
        }
        let (tx, rx) = mpsc::channel();
        let (publish, progress) = watch::channel(Progress::default());
        let thread = std::thread::Builder::new()
            .name("state-journal".into())
            .spawn(move || write_loop(file, &rx, &publish, syncer, guard))?;
        Ok(JournalWriter {
            tx: Some(tx),
            progress,
            thread: Some(thread),
            next: 0,
            lineage: state.lineage.clone(),
            base: state.serial,
            project_id: state.project_id.clone(),
        })
    }

    /// Queues a line of `ops` and returns its sequence number; does not wait for the disk. Fails
    /// when the writer already failed (the failure is the message).
    pub(crate) fn append(&mut self, ops: Vec<Op>) -> Result<u64, String> {
        if let Some(failed) = self.progress.borrow().failed.clone() {
            return Err(failed);
        }
        let seq = self.next;
        let line = Line {
            lineage: self.lineage.clone(),
            base: self.base,
            project_id: self.project_id.clone(),
            seq,
            ops,
        };
        let text = line
            .encode()
            .map_err(|e| format!("cannot encode a journal line: {e}"))?;
        let sent = self.tx.as_ref().map(|tx| tx.send((seq, text)));
        match sent {
            Some(Ok(())) => {
                self.next += 1;
                Ok(seq)
            }
            _ => Err("the journal writer stopped".into()),
        }
    }

    /// A future that resolves once every line queued so far is synced (`Err`: the writer failed).
    pub(crate) fn durable(&self) -> impl Future<Output = Result<(), String>> + Send + 'static {
        let upto = self.next;
        let mut progress = self.progress.clone();
        async move {
            let reached = progress
                .wait_for(|p| p.durable >= upto || p.failed.is_some())
                .await
                .map(|p| p.failed.clone());
            match reached {
                Ok(None) => Ok(()),
                Ok(Some(failed)) => Err(failed),
                Err(_) => Err("the journal writer stopped".into()),
            }
        }
    }

    /// Writes what is queued, stops the thread, and returns the first failure, if any.
    pub(crate) fn finish(mut self) -> Result<(), String> {
        self.tx = None;
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            return Err("the journal writer panicked".into());
        }
        match self.progress.borrow().failed.clone() {
            Some(failed) => Err(failed),
            None => Ok(()),
        }
    }

    /// fsyncs done so far.
    #[cfg(test)]
    pub(crate) fn syncs(&self) -> u64 {
        self.progress.borrow().syncs
    }
}

impl Drop for JournalWriter {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The writer thread: takes every line waiting, checks the guard, writes them in one go and
/// syncs once.
fn write_loop(
    mut file: File,
    rx: &mpsc::Receiver<(u64, String)>,
    publish: &watch::Sender<Progress>,
    mut syncer: Syncer,
    mut guard: Guard,
) {
    while let Ok((seq, text)) = rx.recv() {
        let mut last = seq;
        let mut buffer = text.into_bytes();
        while let Ok((seq, text)) = rx.try_recv() {
            last = seq;
            buffer.extend_from_slice(text.as_bytes());
        }
        let written = guard().and_then(|()| {
            file.write_all(&buffer)
                .and_then(|()| syncer(&file))
                .map_err(|e| format!("cannot append to the state journal: {e}"))
        });
        let failed = written.is_err();
        publish.send_modify(|p| match written {
            Ok(()) => {
                p.durable = last + 1;
                p.syncs += 1;
            }
            Err(e) => {
                p.failed.get_or_insert(e);
            }
        });
        if failed {
            return;
        }
    }
}

#[cfg(test)]
#[path = "journal_tests.rs"]
mod tests;
