//! Deterministic `.tgz` writing. Paths and link targets are written literally,
//! without the `tar` crate's sanitising, so hostile archives (`../` entries,
//! absolute paths, escaping symlinks) can be built as easily as normal ones.

use std::io::{self, Read, Write};

use base64::Engine;
use bytes::Bytes;
use flate2::write::GzEncoder;
use flate2::Compression;
use sha1::Sha1;
use sha2::{Digest, Sha512};
use tar::{EntryType, Header};

/// npm packs every entry with this mtime (1985-10-26T08:15:00Z), which keeps
/// tarballs, and so their integrity, identical across runs.
const FIXED_MTIME: u64 = 499_162_500;

const FILE_MODE: u32 = 0o644;
const EXECUTABLE_MODE: u32 = 0o755;
const DIRECTORY_MODE: u32 = 0o755;

/// GNU tar's marker types for a long path or link target stored in a
/// preceding pseudo-entry.
const GNU_LONG_NAME: u8 = b'L';
const GNU_LONG_LINK: u8 = b'K';

/// A gzip'd tar archive, entries in the order they were added.
/// Build hostile archives for [`crate::VersionFixture::raw_tarball`] with it:
/// `Tarball::new().file("package/../../evil", "x").symlink("package/up", "/etc").gzip()`.
#[derive(Debug, Clone, Default)]
pub struct Tarball {
    entries: Vec<TarEntry>,
}

#[derive(Debug, Clone)]
struct TarEntry {
    path: String,
    kind: EntryKind,
}

#[derive(Debug, Clone)]
enum EntryKind {
    File { content: Bytes, mode: u32 },
    Zeros { len: u64 },
    PaxSizedZeros { len: u64 },
    Symlink { target: String },
    Hardlink { target: String },
    Directory,
    Fifo,
}

impl Tarball {
    pub fn new() -> Self {
        Self::default()
    }

    /// A regular file with mode 0o644.
    pub fn file(self, path: &str, content: impl Into<Bytes>) -> Self {
        self.file_with_mode(path, content, FILE_MODE)
    }

    /// A regular file with mode 0o755.
    pub fn executable(self, path: &str, content: impl Into<Bytes>) -> Self {
        self.file_with_mode(path, content, EXECUTABLE_MODE)
    }

    pub fn file_with_mode(self, path: &str, content: impl Into<Bytes>, mode: u32) -> Self {
        self.entry(
            path,
            EntryKind::File {
                content: content.into(),
                mode,
            },
        )
    }

    /// A file of `len` zero bytes, streamed while compressing, so a
    /// multi-gigabyte entry costs only a few megabytes of tarball.
    pub fn zeros(self, path: &str, len: u64) -> Self {
        self.entry(path, EntryKind::Zeros { len })
    }

    /// A file of `len` zero bytes whose tar header says it is empty, while a
    /// pax record before it gives its real size: a reader that checks the
    /// header's size reads `len` bytes it never checked.
    pub fn pax_sized_zeros(self, path: &str, len: u64) -> Self {
        self.entry(path, EntryKind::PaxSizedZeros { len })
    }

    pub fn symlink(self, path: &str, target: &str) -> Self {
        self.entry(
            path,
            EntryKind::Symlink {
                target: target.to_owned(),
            },
        )
    }

    pub fn hardlink(self, path: &str, target: &str) -> Self {
        self.entry(
            path,
            EntryKind::Hardlink {
                target: target.to_owned(),
            },
        )
    }

    pub fn directory(self, path: &str) -> Self {
        self.entry(path, EntryKind::Directory)
    }

    /// A named pipe: a special entry no package should contain.
    pub fn fifo(self, path: &str) -> Self {
        self.entry(path, EntryKind::Fifo)
    }

    fn entry(mut self, path: &str, kind: EntryKind) -> Self {
        self.entries.push(TarEntry {
            path: path.to_owned(),
            kind,
        });
        self
    }

    /// Writes the archive, gzip'd with a zero mtime in the gzip header.
    pub fn gzip(&self) -> io::Result<Vec<u8>> {
        let encoder = GzEncoder::new(Vec::new(), Compression::default());
        let mut archive = tar::Builder::new(encoder);
        for entry in &self.entries {
            append_entry(&mut archive, entry)?;
        }
        archive.into_inner()?.finish()
    }
}

fn append_entry<W: Write>(archive: &mut tar::Builder<W>, entry: &TarEntry) -> io::Result<()> {
    let mut header = Header::new_gnu();
    header.set_mtime(FIXED_MTIME);
    header.set_uid(0);
    header.set_gid(0);
    header.set_size(0);
    write_name(archive, &mut header, GNU_LONG_NAME, entry.path.as_bytes())?;
    match &entry.kind {
        EntryKind::File { content, mode } => {
            header.set_entry_type(EntryType::Regular);
            header.set_mode(*mode);
            header.set_size(content.len() as u64);
            header.set_cksum();
            archive.append(&header, content.as_ref())
        }
        EntryKind::Zeros { len } => append_zeros(archive, header, *len, *len),
        EntryKind::PaxSizedZeros { len } => {
            append_pax_size(archive, *len)?;
            append_zeros(archive, header, 0, *len)
        }
        EntryKind::Symlink { target } => append_link(archive, header, EntryType::Symlink, target),
        EntryKind::Hardlink { target } => append_link(archive, header, EntryType::Link, target),
        EntryKind::Directory => {
            header.set_entry_type(EntryType::Directory);
            header.set_mode(DIRECTORY_MODE);
            header.set_cksum();
            archive.append(&header, io::empty())
        }
        EntryKind::Fifo => {
            header.set_entry_type(EntryType::Fifo);
            header.set_mode(FILE_MODE);
            header.set_cksum();
            archive.append(&header, io::empty())
        }
    }
}

/// `len` zero bytes, streamed, under a header that says `header_size`.
fn append_zeros<W: Write>(
    archive: &mut tar::Builder<W>,
    mut header: Header,
    header_size: u64,
    len: u64,
) -> io::Result<()> {
    header.set_entry_type(EntryType::Regular);
    header.set_mode(FILE_MODE);
    header.set_size(header_size);
    header.set_cksum();
    archive.append(&header, io::repeat(0).take(len))
}

/// A pax extended header whose one record, `size`, applies to the next entry.
fn append_pax_size<W: Write>(archive: &mut tar::Builder<W>, len: u64) -> io::Result<()> {
    let field = format!(" size={len}\n");
    // A record starts with its own length in decimal, that length included.
    let mut length = field.len();
    let record = loop {
        let record = format!("{length}{field}");
        if record.len() == length {
            break record;
        }
        length = record.len();
    };
    let mut header = Header::new_ustar();
    write_name(archive, &mut header, GNU_LONG_NAME, b"PaxHeader")?;
    header.set_mtime(FIXED_MTIME);
    header.set_mode(FILE_MODE);
    header.set_entry_type(EntryType::XHeader);
    header.set_size(record.len() as u64);
    header.set_cksum();
    archive.append(&header, record.as_bytes())
}

fn append_link<W: Write>(
    archive: &mut tar::Builder<W>,
    mut header: Header,
    entry_type: EntryType,
    target: &str,
) -> io::Result<()> {
    header.set_entry_type(entry_type);
    header.set_mode(FILE_MODE);
    write_name(archive, &mut header, GNU_LONG_LINK, target.as_bytes())?;
    header.set_cksum();
    archive.append(&header, io::empty())
}

/// Stores `name` literally in the header's path field (or link field for
/// `GNU_LONG_LINK`), preceded by a GNU long-name entry when it does not fit.
fn write_name<W: Write>(
    archive: &mut tar::Builder<W>,
    header: &mut Header,
    long_marker: u8,
    name: &[u8],
) -> io::Result<()> {
    let field = if long_marker == GNU_LONG_LINK {
        &mut header.as_old_mut().linkname
    } else {
        &mut header.as_old_mut().name
    };
    let stored = name.len().min(field.len());
    field[..stored].copy_from_slice(&name[..stored]);
    if name.len() <= field.len() {
        return Ok(());
    }
    let mut long_header = Header::new_gnu();
    let long_link_marker = b"././@LongLink";
    long_header.as_old_mut().name[..long_link_marker.len()].copy_from_slice(long_link_marker);
    long_header.set_mode(FILE_MODE);
    long_header.set_mtime(FIXED_MTIME);
    long_header.set_entry_type(EntryType::new(long_marker));
    let terminated_len = name.len() + 1;
    long_header.set_size(terminated_len as u64);
    long_header.set_cksum();
    archive.append(&long_header, name.chain(&[0u8][..]))
}

/// What a packument's `dist` says about a tarball.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dist {
    /// `sha512-<base64>`
    pub integrity: String,
    /// Hex SHA-1, npm's legacy checksum.
    pub shasum: String,
}

impl Dist {
    pub fn of(tarball: &[u8]) -> Self {
        let sha512 = Sha512::digest(tarball);
        Self {
            integrity: format!(
                "sha512-{}",
                base64::engine::general_purpose::STANDARD.encode(sha512)
            ),
            shasum: hex::encode(Sha1::digest(tarball)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use flate2::read::GzDecoder;

    use super::*;

    struct ListedEntry {
        path: String,
        kind: EntryType,
        mode: u32,
        link: Option<String>,
        size: u64,
        content: Vec<u8>,
    }

    fn list(tgz: &[u8]) -> Vec<ListedEntry> {
        let mut archive = tar::Archive::new(GzDecoder::new(tgz));
        archive
            .entries()
            .unwrap()
            .map(|entry| {
                let mut entry = entry.unwrap();
                let path = String::from_utf8(entry.path_bytes().into_owned()).unwrap();
                let link = entry
                    .link_name_bytes()
                    .map(|link| String::from_utf8(link.into_owned()).unwrap());
                let header = entry.header().clone();
                let mut content = Vec::new();
                if header.size().unwrap() < 1 << 20 {
                    entry.read_to_end(&mut content).unwrap();
                }
                ListedEntry {
                    path,
                    kind: header.entry_type(),
                    mode: header.mode().unwrap(),
                    link,
                    size: header.size().unwrap(),
                    content,
                }
            })
            .collect()
    }

    #[test]
    fn writes_files_with_modes_and_fixed_mtime() {
        let tgz = Tarball::new()
            .file("package/a.txt", "hello")
            .executable("package/cli.js", "#!/usr/bin/env node\n")
            .gzip()
            .unwrap();
        let entries = list(&tgz);
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].path, "package/a.txt");
        assert_eq!(entries[0].content, b"hello");
        assert_eq!(entries[0].mode, 0o644);
        assert_eq!(entries[1].mode, 0o755);
        let mut archive = tar::Archive::new(GzDecoder::new(&tgz[..]));
        let first = archive.entries().unwrap().next().unwrap().unwrap();
        assert_eq!(first.header().mtime().unwrap(), FIXED_MTIME);
    }

    #[test]
    fn output_is_deterministic() {
        let build = || Tarball::new().file("package/x", "1").gzip().unwrap();
        assert_eq!(build(), build());
    }

    #[test]
    fn hostile_paths_and_links_are_written_literally() {
        let tgz = Tarball::new()
            .file("package/../../evil.txt", "x")
            .file("/etc/absolute", "y")
            .symlink("package/escape", "../../../../etc")
            .hardlink("package/hard", "/etc/passwd")
            .directory("package/dir/")
            .gzip()
            .unwrap();
        let entries = list(&tgz);
        assert_eq!(entries[0].path, "package/../../evil.txt");
        assert_eq!(entries[1].path, "/etc/absolute");
        assert_eq!(entries[2].kind, EntryType::Symlink);
        assert_eq!(entries[2].link.as_deref(), Some("../../../../etc"));
        assert_eq!(entries[3].kind, EntryType::Link);
        assert_eq!(entries[3].link.as_deref(), Some("/etc/passwd"));
        assert_eq!(entries[4].kind, EntryType::Directory);
    }

    #[test]
    fn long_paths_and_targets_use_gnu_extensions() {
        let long_path = format!("package/{}/file.js", "d".repeat(150));
        let long_target = format!("../{}", "t".repeat(120));
        let tgz = Tarball::new()
            .file(&long_path, "z")
            .symlink("package/link", &long_target)
            .gzip()
            .unwrap();
        let entries = list(&tgz);
        assert_eq!(entries[0].path, long_path);
        assert_eq!(entries[0].content, b"z");
        assert_eq!(entries[1].link.as_deref(), Some(long_target.as_str()));
    }

    #[test]
    fn huge_zero_files_compress_small() {
        let len = 256 * 1024 * 1024;
        let tgz = Tarball::new()
            .zeros("package/huge.bin", len)
            .gzip()
            .unwrap();
        assert!(tgz.len() < 1024 * 1024, "{} bytes", tgz.len());
        assert_eq!(list(&tgz)[0].size, len);
    }

    #[test]
    fn dist_matches_known_digests() {
        let dist = Dist::of(b"abc");
        assert_eq!(dist.shasum, "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(
            dist.integrity,
            "sha512-3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1EI2Q86A4qmslPpUyknw=="
        );
    }
}
