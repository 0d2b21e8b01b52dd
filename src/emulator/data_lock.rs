//! One process at a time per `--data` file: an exclusive advisory lock (`flock` on Unix,
//! `LockFileEx` on Windows, through `File::try_lock`) on `FILE.lock` beside it, held for as long
//! as the emulator runs.
//!
//! Two emulators on one data file (a `dmgmt emulator --data state/emulator/local.json` beside an
//! `apply -e local`, which starts its own) would each fold their own view over the other's
//! changes. The operating system drops the lock when its process ends, however it ends, so a
//! killed emulator leaves nothing to clean up; the empty `FILE.lock` stays. This module never
//! reads or writes the data itself.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::store::StoreError;

/// How long a busy data file is waited for: an emulator of this same process that was just
/// dropped releases its lock once its server task has ended, within milliseconds.
const GRACE: Duration = Duration::from_secs(1);

/// The held lock of a data file; released when dropped.
#[derive(Debug)]
pub(crate) struct DataLock {
    _file: File,
}

/// `FILE.lock`, the lock file of data file `data`.
pub(crate) fn lock_path(data: &Path) -> PathBuf {
    let mut name = data.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

impl DataLock {
    /// Takes the lock of data file `data` (creating its folder and lock file if needed), or fails
    /// with [`StoreError::Busy`] when another process (or another emulator of this one) holds it.
    pub(crate) fn take(data: &Path) -> Result<DataLock, StoreError> {
        let path = lock_path(data);
        let err = |source| StoreError::Write {
            path: path.clone(),
            source,
        };
        if let Some(dir) = data.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(&path).map_err(err)?;
        let start = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(DataLock { _file: file }),
                Err(TryLockError::WouldBlock) if start.elapsed() < GRACE => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(StoreError::Busy {
                        path: data.to_owned(),
                        lock: path,
                    });
                }
                Err(TryLockError::Error(source)) => return Err(err(source)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_data_file_has_one_user_until_its_lock_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("emulator/local.json");
        let first = DataLock::take(&data).unwrap();
        let err = DataLock::take(&data).unwrap_err();
        assert!(matches!(err, StoreError::Busy { .. }), "{err:?}");
        assert!(
            err.to_string()
                .contains(&format!("`{}` is in use", data.display())),
            "{err}"
        );
        drop(first);
        DataLock::take(&data).unwrap();
    }
}
