//! gunzip + untar into a folder, refusing anything that would land outside it.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

use flate2::read::GzDecoder;
use tar::{Archive, EntryType};
use utoo_package_cache::{EntryIndex, INDEX_FILE};

use crate::error::UnpackError;
use crate::inflate::inflate_whole;

/// What one extraction wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UnpackStats {
    pub files: u64,
    pub bytes: u64,
}

/// Unpacks a `.tgz` into the existing folder `dest`, dropping the first
/// path component (`package/` in npm tarballs). Files get mode 0o644, or
/// 0o755 when any exec bit was set, as npm does. Hard and symbolic links
/// are skipped as npm skips them, but one pointing outside `dest` is an
/// error, as are `..` and absolute paths, and unpacking more than
/// `max_bytes` (a decompression bomb). Every folder and
/// file written is recorded in `index`; a top-level entry named like the
/// index itself is skipped. A tarball small enough to inflate whole has its
/// files written once every folder exists, by up to `writers()` threads
/// (asked then) when it has many.
pub fn unpack(
    tgz: &[u8],
    dest: &Path,
    max_bytes: u64,
    index: &mut EntryIndex,
    writers: impl Fn() -> usize,
) -> Result<UnpackStats, UnpackError> {
    match inflate_whole(tgz) {
        Some(tar) => {
            let mut files = Files::batched(&tar);
            let stats = unpack_tar(Archive::new(&tar[..]), dest, max_bytes, index, &mut files)?;
            files.write_batch(writers())?;
            Ok(stats)
        }
        None => {
            let archive = Archive::new(GzDecoder::new(tgz));
            unpack_tar(archive, dest, max_bytes, index, &mut Files::AsRead)
        }
    }
}

/// How files are written: as their entries are read from a stream, or,
/// with the whole tar in memory, once every folder exists, by several
/// threads for a package with many files.
enum Files<'a> {
    AsRead,
    Batched {
        tar: &'a [u8],
        /// The tarball's files, in the order they are first listed.
        files: Vec<BatchedFile<'a>>,
    },
}

struct BatchedFile<'a> {
    target: PathBuf,
    mode: u32,
    contents: Cow<'a, [u8]>,
}

/// Below this many files per thread, a package's files are written by one thread.
const FILES_PER_THREAD: usize = 128;

impl<'a> Files<'a> {
    fn batched(tar: &'a [u8]) -> Files<'a> {
        Files::Batched {
            tar,
            files: Vec::new(),
        }
    }

    /// Writes the file `entry` (at `relative` below `dest`), or records it
    /// to write with the batch; returns its size. `listed_as` is the
    /// position, among the tarball's files, of an earlier entry for the
    /// same path: the later entry replaces it, as with tar.
    fn take<R: Read>(
        &mut self,
        entry: &mut tar::Entry<R>,
        relative: &Path,
        dest: &Path,
        scratch: &mut Vec<u8>,
        listed_as: Option<usize>,
    ) -> Result<u64, UnpackError> {
        let mode = entry.header().mode().unwrap_or(0o644);
        let target = dest.join(relative);
        let sparse = entry.header().entry_type() == EntryType::GNUSparse;
        let (tar, files) = match self {
            Files::Batched { tar, files } => (*tar, files),
            Files::AsRead => {
                scratch.clear();
                entry.read_to_end(scratch).map_err(UnpackError::Corrupt)?;
                return write_file(scratch, &target, mode);
            }
        };
        // A sparse file's bytes are not in one piece in the tar.
        let contents = match sparse {
            false => Cow::Borrowed(data_in(tar, entry)?),
            true => {
                let mut owned = Vec::new();
                entry
                    .read_to_end(&mut owned)
                    .map_err(UnpackError::Corrupt)?;
                Cow::Owned(owned)
            }
        };
        let size = contents.len() as u64;
        let file = BatchedFile {
            target,
            mode,
            contents,
        };
        match listed_as {
            Some(at) => files[at] = file,
            None => files.push(file),
        }
        Ok(size)
    }

    fn write_batch(self, writers: usize) -> Result<(), UnpackError> {
        let Files::Batched { files, .. } = self else {
            return Ok(());
        };
        let write = |batch: &[BatchedFile]| {
            batch
                .iter()
                .try_for_each(|f| write_file(&f.contents, &f.target, f.mode).map(drop))
        };
        let threads = writers.min(files.len() / FILES_PER_THREAD).max(1);
        if threads == 1 {
            return write(&files);
        }
        let per_thread = files.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let mut chunks = files.chunks(per_thread);
            let first = chunks.next().unwrap_or_default();
            let others: Vec<_> = chunks
                .map(|chunk| scope.spawn(move || write(chunk)))
                .collect();
            let mut result = write(first);
            for other in others {
                // A panic in a writer is a bug: it is passed on, not caught.
                let written = other
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                result = result.and(written);
            }
            result
        })
    }
}

/// A file entry's bytes, where they lie in `tar` (the tar it is read from).
fn data_in<'a, R: Read>(tar: &'a [u8], entry: &tar::Entry<R>) -> Result<&'a [u8], UnpackError> {
    let start = usize::try_from(entry.raw_file_position()).ok();
    let size = usize::try_from(entry.size()).ok();
    let range = start
        .zip(size)
        .map(|(start, size)| start..start.saturating_add(size));
    range.and_then(|range| tar.get(range)).ok_or_else(|| {
        UnpackError::Corrupt(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "a file's bytes run past the end of the archive",
        ))
    })
}

fn unpack_tar(
    mut archive: Archive<impl Read>,
    dest: &Path,
    max_bytes: u64,
    index: &mut EntryIndex,
    files: &mut Files,
) -> Result<UnpackStats, UnpackError> {
    let mut stats = UnpackStats::default();
    let mut made_dirs: HashSet<PathBuf> = HashSet::new();
    // Each path's position among the tarball's files, and so in
    // `index.files` after `first_file`: a path listed twice keeps its last entry.
    let mut listed: HashMap<PathBuf, usize> = HashMap::new();
    let first_file = index.files.len();
    made_dirs.insert(PathBuf::new());
    // One file's bytes at a time, so that each file is written with one `write`.
    let mut contents = Vec::new();
    let entries = archive.entries().map_err(UnpackError::Corrupt)?;
    for entry in entries {
        let mut entry = entry.map_err(UnpackError::Corrupt)?;
        let raw_path = entry.path().map_err(UnpackError::Corrupt)?.into_owned();
        let Some(relative) = inside_path(&raw_path)? else {
            continue;
        };
        if relative == Path::new(INDEX_FILE) {
            continue;
        }
        let kind = entry.header().entry_type();
        match kind {
            EntryType::Directory => {
                make_dirs(dest, &relative, &mut made_dirs, index)?;
            }
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                if let Some(parent) = relative.parent() {
                    make_dirs(dest, parent, &mut made_dirs, index)?;
                }
                // The size read, which a pax header may set apart from the tar header's.
                if stats.bytes.saturating_add(entry.size()) > max_bytes {
                    return Err(UnpackError::TooLarge(max_bytes));
                }
                let listed_as = listed.get(&relative).copied();
                let written = files.take(&mut entry, &relative, dest, &mut contents, listed_as)?;
                stats.bytes += written;
                match listed_as {
                    Some(at) => index.files[first_file + at].size = written,
                    None => {
                        listed.insert(relative.clone(), index.files.len() - first_file);
                        index.add_file(relative, written);
                        stats.files += 1;
                    }
                }
            }
            EntryType::Symlink | EntryType::Link => {
                let link = entry.link_name().map_err(UnpackError::Corrupt)?;
                let escapes = match link {
                    None => true,
                    Some(link) if kind == EntryType::Link => {
                        !matches!(inside_path(&link), Ok(Some(_)))
                    }
                    Some(link) => {
                        let base = relative.parent().unwrap_or(Path::new(""));
                        normalise(&base.join(link)).is_none()
                    }
                };
                if escapes {
                    return Err(UnpackError::LinkEscapes(raw_path));
                }
            }
            EntryType::XGlobalHeader
            | EntryType::XHeader
            | EntryType::GNULongName
            | EntryType::GNULongLink => {}
            other => return Err(UnpackError::SpecialEntry(raw_path, format!("{other:?}"))),
        }
    }
    Ok(stats)
}

/// The entry's path below the package folder, or `None` for the folder itself;
/// an error when it is absolute or climbs out with `..`.
fn inside_path(raw: &Path) -> Result<Option<PathBuf>, UnpackError> {
    let mut parts = Vec::new();
    for component in raw.components() {
        match component {
            Component::Normal(part) => parts.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(UnpackError::UnsafePath(raw.to_path_buf()));
            }
        }
    }
    let inner: PathBuf = parts.iter().skip(1).collect();
    Ok((!inner.as_os_str().is_empty()).then_some(inner))
}

/// Resolves `.` and `..` lexically; `None` when the path climbs above its start.
fn normalise(path: &Path) -> Option<PathBuf> {
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.iter().collect())
}

/// Creates `relative` and whichever of its parents are missing, parents
/// first, recording each in the index.
fn make_dirs(
    dest: &Path,
    relative: &Path,
    made: &mut HashSet<PathBuf>,
    index: &mut EntryIndex,
) -> Result<(), UnpackError> {
    let missing: Vec<&Path> = relative
        .ancestors()
        .take_while(|dir| !made.contains(*dir))
        .collect();
    for dir in missing.into_iter().rev() {
        let full = dest.join(dir);
        fs::create_dir(&full).map_err(|e| UnpackError::Io(full.clone(), e))?;
        made.insert(dir.to_path_buf());
        index.add_dir(dir);
    }
    Ok(())
}

fn write_file(contents: &[u8], target: &Path, tar_mode: u32) -> Result<u64, UnpackError> {
    let mode = if tar_mode & 0o111 != 0 { 0o755 } else { 0o644 };
    let io_err = |e: io::Error| UnpackError::Io(target.to_path_buf(), e);
    // A tarball listing the same path twice: the later entry wins, as with tar.
    let open = || {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(target)
    };
    let mut file = match open() {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            fs::remove_file(target).map_err(io_err)?;
            open().map_err(io_err)?
        }
        Err(e) => return Err(io_err(e)),
    };
    file.write_all(contents).map_err(io_err)?;
    Ok(contents.len() as u64)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use utoo_test_registry::Tarball;

    use super::*;
    use crate::inflate::{whole_size, WHOLE_INFLATE_MAX};

    #[test]
    fn a_pax_size_past_the_limit_is_a_decompression_bomb() {
        let tgz = Tarball::new()
            .pax_sized_zeros("package/big.txt", 5000)
            .gzip()
            .unwrap();
        let dest = tempfile::tempdir().unwrap();
        let mut index = EntryIndex::new("sha512-test");
        let err = unpack(&tgz, dest.path(), 1000, &mut index, || 1).unwrap_err();
        assert!(matches!(err, UnpackError::TooLarge(1000)), "{err:?}");
        assert!(!dest.path().join("big.txt").exists());

        let stats = unpack(&tgz, dest.path(), 5000, &mut index, || 1).unwrap();
        assert_eq!(stats.bytes, 5000, "the pax size is what is read");
    }

    #[test]
    fn many_files_are_written_alike_by_several_threads_and_a_repeated_path_keeps_its_last_entry() {
        let mut tarball = Tarball::new().file("package/dup.txt", "first");
        for n in 0..3 * FILES_PER_THREAD {
            tarball = tarball.file(&format!("package/d{}/f{n}.js", n % 7), format!("file {n}"));
        }
        let tgz = tarball
            .executable("package/bin/run", "#!/bin/sh\n")
            .file("package/dup.txt", "last")
            .gzip()
            .unwrap();
        let dest = tempfile::tempdir().unwrap();
        let mut index = EntryIndex::new("sha512-test");
        let stats = unpack(&tgz, dest.path(), u64::MAX, &mut index, || 2).unwrap();

        assert_eq!(stats.files, 3 * FILES_PER_THREAD as u64 + 2);
        for n in 0..3 * FILES_PER_THREAD {
            let path = dest.path().join(format!("d{}/f{n}.js", n % 7));
            assert_eq!(fs::read_to_string(path).unwrap(), format!("file {n}"));
        }
        assert_eq!(
            fs::read_to_string(dest.path().join("dup.txt")).unwrap(),
            "last"
        );
        let dup = index
            .files
            .iter()
            .find(|f| f.path == Path::new("dup.txt"))
            .unwrap();
        assert_eq!(dup.size, 4);
        let mode = fs::metadata(dest.path().join("bin/run"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
    }

    #[test]
    fn a_file_entry_longer_than_the_archive_is_corrupt() {
        let mut header = tar::Header::new_gnu();
        header.set_path("package/short.txt").unwrap();
        header.set_size(100_000);
        header.set_mode(0o644);
        header.set_cksum();
        let mut builder = tar::Builder::new(Vec::new());
        builder.append(&header, &b"only this"[..]).unwrap();
        let tar = builder.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        let tgz = gz.finish().unwrap();
        let dest = tempfile::tempdir().unwrap();
        let mut index = EntryIndex::new("sha512-test");

        let err = unpack(&tgz, dest.path(), u64::MAX, &mut index, || 2).unwrap_err();
        assert!(matches!(err, UnpackError::Corrupt(_)), "{err:?}");
        assert!(!dest.path().join("short.txt").exists());
    }

    #[test]
    fn a_tarball_unpacks_alike_whether_inflated_whole_or_streamed() {
        for size in [10_000, WHOLE_INFLATE_MAX + 1] {
            let body: Vec<u8> = (0..size).map(|n| (n % 253) as u8).collect();
            let tgz = Tarball::new()
                .file("package/lib/data.bin", body.clone())
                .gzip()
                .unwrap();
            assert_eq!(whole_size(&tgz).is_some(), size < WHOLE_INFLATE_MAX);
            let dest = tempfile::tempdir().unwrap();
            let mut index = EntryIndex::new("sha512-test");
            let stats = unpack(&tgz, dest.path(), u64::MAX, &mut index, || 2).unwrap();
            assert_eq!(
                stats,
                UnpackStats {
                    files: 1,
                    bytes: size as u64
                }
            );
            assert_eq!(fs::read(dest.path().join("lib/data.bin")).unwrap(), body);
        }
    }
}
