//! A tarball read from disk (a `file:` dependency) under the same size
//! limit as a download: regular files only, and never more than the limit.

use std::fs::{File, FileType, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use thiserror::Error;

use crate::format_size;

/// Why a file on disk was not read as a tarball.
#[derive(Debug, Error)]
pub enum LocalReadError {
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error("it is a {0}, not a regular file")]
    NotAFile(&'static str),
    #[error("it is larger than {}", format_size(*limit))]
    TooLarge { limit: u64 },
}

/// The bytes of the regular file at `path`, if it holds at most `max_bytes`.
/// Its type is checked on the opened handle, so a path swapped between the
/// check and the read can't slip a device in; opening doesn't block on a fifo.
pub fn read_regular_file(path: &Path, max_bytes: u64) -> Result<Vec<u8>, LocalReadError> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(LocalReadError::NotAFile(kind(metadata.file_type())));
    }
    if metadata.len() > max_bytes {
        return Err(LocalReadError::TooLarge { limit: max_bytes });
    }
    read_at_most(file, max_bytes)
}

/// Reads one byte past `max_bytes` at most: a file that grew since its
/// size was checked is refused too.
fn read_at_most(file: File, max_bytes: u64) -> Result<Vec<u8>, LocalReadError> {
    let mut bytes = Vec::new();
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max_bytes {
        return Err(LocalReadError::TooLarge { limit: max_bytes });
    }
    Ok(bytes)
}

fn kind(file_type: FileType) -> &'static str {
    if file_type.is_dir() {
        "directory"
    } else if file_type.is_char_device() {
        "character device"
    } else if file_type.is_block_device() {
        "block device"
    } else if file_type.is_fifo() {
        "fifo"
    } else if file_type.is_socket() {
        "socket"
    } else {
        "special file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_up_to_the_limit_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.tgz");
        std::fs::write(&path, b"12345").unwrap();
        assert_eq!(read_regular_file(&path, 5).unwrap(), b"12345");
        let err = read_regular_file(&path, 4).unwrap_err();
        assert!(
            matches!(err, LocalReadError::TooLarge { limit: 4 }),
            "{err}"
        );
    }

    #[test]
    fn devices_fifos_and_folders_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        for (path, expected) in [
            (Path::new("/dev/zero"), "character device"),
            (fifo.as_path(), "fifo"),
            (dir.path(), "directory"),
        ] {
            let err = read_regular_file(path, 1 << 20).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("it is a {expected}, not a regular file")
            );
        }
    }
}
