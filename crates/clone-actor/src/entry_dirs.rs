//! A package's files placed relative to open folders: the cache entry's
//! and the package's own. Each `fstatat`, `mkdirat` and `linkat` then
//! resolves only the path inside the package, not the whole path from `/`.

use std::fs;
use std::io;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;
use utoo_package_cache::FileFacts;

/// An open folder, used only as the base of relative paths.
pub(crate) struct OpenDir(rustix::fd::OwnedFd);

impl OpenDir {
    pub(crate) fn open(path: &Path) -> io::Result<OpenDir> {
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        Ok(OpenDir(rustix::fs::open(path, flags, Mode::empty())?))
    }

    /// Creates the package's folder `path` and opens it: one `mkdir` when
    /// its parent exists; whatever was at `path` is replaced.
    pub(crate) fn create(path: &Path) -> io::Result<OpenDir> {
        match rustix::fs::mkdir(path, Mode::from_raw_mode(0o777)) {
            Ok(()) => {}
            Err(Errno::EXIST) => {
                match fs::symlink_metadata(path)?.is_dir() {
                    true => fs::remove_dir_all(path)?,
                    false => fs::remove_file(path)?,
                }
                fs::create_dir(path)?;
            }
            Err(Errno::NOENT) => fs::create_dir_all(path)?,
            Err(errno) => return Err(errno.into()),
        }
        OpenDir::open(path)
    }

    /// Creates the folder `relative` below this one; its parent must exist.
    pub(crate) fn make_dir(&self, relative: &Path) -> io::Result<()> {
        Ok(rustix::fs::mkdirat(
            &self.0,
            relative,
            Mode::from_raw_mode(0o777),
        )?)
    }

    /// What the index check needs of the file `relative`, not following symlinks.
    pub(crate) fn facts(&self, relative: &Path) -> io::Result<FileFacts> {
        let stat = rustix::fs::statat(&self.0, relative, AtFlags::SYMLINK_NOFOLLOW)?;
        Ok(FileFacts {
            is_file: FileType::from_raw_mode(stat.st_mode as _) == FileType::RegularFile,
            size: stat.st_size as u64,
            modified: time(stat.st_mtime as i64, stat.st_mtime_nsec as u32),
        })
    }

    /// Hard-links `relative` of this folder to the same path below `target`.
    pub(crate) fn link_to(&self, relative: &Path, target: &OpenDir) -> io::Result<()> {
        Ok(rustix::fs::linkat(
            &self.0,
            relative,
            &target.0,
            relative,
            AtFlags::empty(),
        )?)
    }
}

fn time(seconds: i64, nanoseconds: u32) -> SystemTime {
    let whole = Duration::from_secs(seconds.unsigned_abs());
    let base = match seconds >= 0 {
        true => UNIX_EPOCH.checked_add(whole),
        false => UNIX_EPOCH.checked_sub(whole),
    };
    // Out of SystemTime's range only for absurd stamps, all long before the index.
    base.unwrap_or(UNIX_EPOCH) + Duration::from_nanos(nanoseconds.into())
}
