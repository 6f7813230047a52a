//! Replaces a file so that readers see either the old contents or the new
//! ones, never a part: the bytes go to a temporary file in the same folder,
//! are flushed to disk, and the temporary file is renamed over the target.
//! The replacement keeps the replaced file's permissions and owner, and a
//! symlink has its target replaced, not the link.
//!
//! ```
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("package-lock.json");
//! utoo_atomic_write::write_atomic(&path, "{}\n")?;
//! assert_eq!(std::fs::read_to_string(&path)?, "{}\n");
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// Replaces `path` with `contents` atomically. Like [`std::fs::write`], an
/// error does not name the file: the caller knows which one it wrote.
pub fn write_atomic(path: &Path, contents: impl AsRef<[u8]>) -> io::Result<()> {
    replace(path, contents.as_ref(), Durability::Flushed)
}

/// [`write_atomic`] without waiting for the disk: readers still see the old
/// contents or the new ones, but after a power loss the file may be empty.
/// For caches, whose readers check what they read and fetch it again.
pub fn write_atomic_unflushed(path: &Path, contents: impl AsRef<[u8]>) -> io::Result<()> {
    replace(path, contents.as_ref(), Durability::Unflushed)
}

#[derive(PartialEq)]
enum Durability {
    Flushed,
    Unflushed,
}

fn replace(path: &Path, contents: &[u8], durability: Durability) -> io::Result<()> {
    let target = replaced_file(path);
    let directory = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let file_name = target.file_name().unwrap_or(target.as_os_str());
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(file_name);
    prefix.push(".");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    set_new_file_permissions(&mut builder);
    let mut temp = builder.tempfile_in(directory)?;
    if let Ok(existing) = fs::metadata(&target) {
        temp.as_file().set_permissions(existing.permissions())?;
        keep_owner(temp.as_file(), &existing)?;
    }
    temp.write_all(contents)?;
    if durability == Durability::Unflushed {
        return temp
            .persist(&target)
            .map(|_| ())
            .map_err(|error| error.error);
    }
    temp.as_file().sync_all()?;
    temp.persist(&target).map_err(|error| error.error)?;
    sync_directory(directory)
}

/// The file a write to `path` replaces: the final target when `path` is a
/// symlink, else `path` itself. Asking whether it is a link first spares a
/// new file the `readlink` of every component that canonicalising costs.
fn replaced_file(path: &Path) -> std::path::PathBuf {
    match fs::read_link(path) {
        Ok(_) => fs::canonicalize(path).unwrap_or_else(|_| path.to_owned()),
        Err(_) => path.to_owned(),
    }
}

/// Run as root (in a container, with sudo), the replacement would belong to
/// root: give it the replaced file's owner, as npm does.
#[cfg(unix)]
fn keep_owner(temp: &fs::File, existing: &fs::Metadata) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let ours = temp.metadata()?;
    if ours.uid() == 0 && (ours.uid(), ours.gid()) != (existing.uid(), existing.gid()) {
        std::os::unix::fs::fchown(temp, Some(existing.uid()), Some(existing.gid()))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn keep_owner(_temp: &fs::File, _existing: &fs::Metadata) -> io::Result<()> {
    Ok(())
}

/// Temporary files are private (0600); a new file gets the usual 0666 minus the umask.
#[cfg(unix)]
fn set_new_file_permissions(builder: &mut tempfile::Builder) {
    use std::os::unix::fs::PermissionsExt;
    builder.permissions(fs::Permissions::from_mode(0o666));
}

#[cfg(not(unix))]
fn set_new_file_permissions(_builder: &mut tempfile::Builder) {}

/// Makes the rename itself durable.
#[cfg(unix)]
fn sync_directory(directory: &Path) -> io::Result<()> {
    fs::File::open(directory)?.sync_all()
}

#[cfg(not(unix))]
fn sync_directory(_directory: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_and_leaves_no_temp_file() {
        let directory = tempfile::tempdir().expect("temp dir");
        let path = directory.path().join("package-lock.json");
        write_atomic(&path, "first\n").expect("first write");
        write_atomic(&path, b"second\n\xff").expect("second write");
        assert_eq!(fs::read(&path).expect("read back"), b"second\n\xff");
        let names: Vec<_> = fs::read_dir(directory.path())
            .expect("list dir")
            .map(|entry| entry.expect("dir entry").file_name())
            .collect();
        assert_eq!(names, ["package-lock.json"]);

        let missing_directory = directory.path().join("missing").join("package-lock.json");
        let error = write_atomic(&missing_directory, "x").expect_err("no such directory");
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
    }

    #[cfg(unix)]
    #[test]
    fn the_unflushed_write_replaces_the_file_too() {
        use std::os::unix::fs::PermissionsExt;

        let directory = tempfile::tempdir().expect("temp dir");
        let path = directory.path().join("cached.json");
        fs::write(&path, "old").expect("write");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod");
        write_atomic_unflushed(&path, "new").expect("write");
        assert_eq!(fs::read_to_string(&path).expect("read back"), "new");
        let mode = fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(fs::read_dir(directory.path()).expect("list").count(), 1);
    }

    #[test]
    fn keeps_permissions_and_follows_symlinks() {
        use std::os::unix::fs::{symlink, PermissionsExt};

        let directory = tempfile::tempdir().expect("temp dir");
        let target = directory.path().join("real.json");
        fs::write(&target, "old").expect("write");
        fs::set_permissions(&target, fs::Permissions::from_mode(0o640)).expect("chmod");
        let link = directory.path().join("package-lock.json");
        symlink(&target, &link).expect("symlink");

        write_atomic(&link, "new").expect("write through link");
        assert!(fs::symlink_metadata(&link)
            .expect("stat link")
            .file_type()
            .is_symlink());
        assert_eq!(fs::read_to_string(&target).expect("read"), "new");
        let mode = fs::metadata(&target).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o640);
    }
}
