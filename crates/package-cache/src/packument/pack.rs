//! One pack file: `MAGIC`, the packument bodies one after another, an
//! index of them, and a footer locating the index. One install writes it
//! under a temporary name and renames it into place once sealed, so a
//! `.pack` file is never seen half-written; it is never changed after.
//!
//! An index entry is the URL, the `ETag`, the `Last-Modified` (empty when
//! the registry sent none), the body's offset and its length (decimal),
//! each field NUL-terminated. The footer is the index's offset and length
//! (little-endian `u64` each) followed by `MAGIC` again.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use tempfile::NamedTempFile;

use super::CachedValidators;

pub(crate) const MAGIC: &[u8; 8] = b"utoopk01";
pub(crate) const EXTENSION: &str = "pack";
const FOOTER_LEN: u64 = 8 + 8 + MAGIC.len() as u64;
/// Bodies are gathered into writes of about this size.
const WRITE_BUFFER: usize = 256 * 1024;

/// Where one packument's body lies in a pack, and its validators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PackEntry {
    pub url: String,
    pub validators: CachedValidators,
    pub offset: u64,
    pub len: u64,
}

/// A pack being written: bodies are appended as they arrive.
pub(crate) struct PackWriter {
    file: BufWriter<NamedTempFile>,
    written: u64,
    entries: Vec<PackEntry>,
}

impl PackWriter {
    /// Starts a pack under a temporary name in `dir`.
    pub(crate) fn create(dir: &Path) -> io::Result<PackWriter> {
        std::fs::create_dir_all(dir)?;
        let temp = tempfile::Builder::new()
            .prefix(".pack-")
            .suffix(".tmp")
            .tempfile_in(dir)?;
        let mut file = BufWriter::with_capacity(WRITE_BUFFER, temp);
        file.write_all(MAGIC)?;
        Ok(PackWriter {
            file,
            written: MAGIC.len() as u64,
            entries: Vec::new(),
        })
    }

    pub(crate) fn add(
        &mut self,
        url: &str,
        validators: &CachedValidators,
        body: &[u8],
    ) -> io::Result<()> {
        self.file.write_all(body)?;
        self.entries.push(PackEntry {
            url: url.to_string(),
            validators: validators.clone(),
            offset: self.written,
            len: body.len() as u64,
        });
        self.written += body.len() as u64;
        Ok(())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Writes the index and footer and renames the pack to `path`, which
    /// must not exist yet. No flush: a pack lost to a power cut reads back
    /// as damaged and its packuments are fetched again.
    pub(crate) fn seal(mut self, path: &Path) -> io::Result<()> {
        let index = encode_index(&self.entries);
        self.file.write_all(&index)?;
        self.file.write_all(&self.written.to_le_bytes())?;
        self.file.write_all(&(index.len() as u64).to_le_bytes())?;
        self.file.write_all(MAGIC)?;
        let temp = self.file.into_inner().map_err(|e| e.into_error())?;
        temp.persist_noclobber(path).map_err(|e| e.error)?;
        Ok(())
    }
}

fn encode_index(entries: &[PackEntry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * 160);
    for entry in entries {
        let validators = &entry.validators;
        for field in [
            entry.url.as_str(),
            validators.etag.as_deref().unwrap_or_default(),
            validators.last_modified.as_deref().unwrap_or_default(),
            &entry.offset.to_string(),
            &entry.len.to_string(),
        ] {
            out.extend_from_slice(field.as_bytes());
            out.push(0);
        }
    }
    out
}

/// Why a pack can't be read.
#[derive(Debug)]
pub(crate) enum PackProblem {
    Io(io::Error),
    Damaged(&'static str),
}

impl From<io::Error> for PackProblem {
    fn from(error: io::Error) -> PackProblem {
        PackProblem::Io(error)
    }
}

/// The entries of the pack open as `file`, checked to lie within it.
pub(crate) fn read_index(file: &File) -> Result<Vec<PackEntry>, PackProblem> {
    let size = file.metadata()?.len();
    let damaged = |problem| Err(PackProblem::Damaged(problem));
    if size < MAGIC.len() as u64 + FOOTER_LEN {
        return damaged("shorter than a pack");
    }
    let mut head = [0; MAGIC.len()];
    file.read_exact_at(&mut head, 0)?;
    let mut footer = [0; FOOTER_LEN as usize];
    file.read_exact_at(&mut footer, size - FOOTER_LEN)?;
    if &head != MAGIC || footer[16..] != MAGIC[..] {
        return damaged("not a whole pack");
    }
    let number = |bytes: &[u8]| bytes.try_into().map(u64::from_le_bytes);
    let (Ok(index_offset), Ok(index_len)) = (number(&footer[..8]), number(&footer[8..16])) else {
        return damaged("not a whole pack");
    };
    let bodies = MAGIC.len() as u64..=size - FOOTER_LEN;
    if !bodies.contains(&index_offset)
        || index_offset.checked_add(index_len) != Some(size - FOOTER_LEN)
    {
        return damaged("its index is out of place");
    }
    let mut index = vec![0; index_len as usize];
    file.read_exact_at(&mut index, index_offset)?;
    decode_index(&index, index_offset).map_err(PackProblem::Damaged)
}

/// Bodies must lie between the leading `MAGIC` and `bodies_end`.
fn decode_index(index: &[u8], bodies_end: u64) -> Result<Vec<PackEntry>, &'static str> {
    let Some(fields) = index.strip_suffix(&[0]) else {
        return match index.is_empty() {
            true => Ok(Vec::new()),
            false => Err("its index is cut short"),
        };
    };
    let fields: Vec<&[u8]> = fields.split(|&b| b == 0).collect();
    if !fields.len().is_multiple_of(5) {
        return Err("its index is cut short");
    }
    fn text(bytes: &[u8]) -> Result<&str, &'static str> {
        std::str::from_utf8(bytes).map_err(|_| "its index is not UTF-8")
    }
    let optional = |bytes: &[u8]| text(bytes).map(|t| (!t.is_empty()).then(|| t.to_string()));
    let number = |bytes: &[u8]| -> Result<u64, &'static str> {
        text(bytes)?
            .parse()
            .map_err(|_| "its index has a bad number")
    };
    fields
        .chunks_exact(5)
        .map(|entry| {
            let (offset, len) = (number(entry[3])?, number(entry[4])?);
            let end = offset
                .checked_add(len)
                .ok_or("a body lies outside the pack")?;
            if offset < MAGIC.len() as u64 || end > bodies_end {
                return Err("a body lies outside the pack");
            }
            Ok(PackEntry {
                url: text(entry[0])?.to_string(),
                validators: CachedValidators {
                    etag: optional(entry[1])?,
                    last_modified: optional(entry[2])?,
                },
                offset,
                len,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validators(etag: &str) -> CachedValidators {
        CachedValidators {
            etag: Some(etag.to_string()),
            last_modified: None,
        }
    }

    fn sealed(entries: &[(&str, &str, &[u8])]) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = PackWriter::create(dir.path()).unwrap();
        for (url, etag, body) in entries {
            writer.add(url, &validators(etag), body).unwrap();
        }
        let path = dir.path().join("a.pack");
        writer.seal(&path).unwrap();
        (dir, path)
    }

    #[test]
    fn entries_read_back_where_their_bodies_are() {
        let (_dir, path) = sealed(&[
            ("http://r/a", "\"1\"", b"{\"a\":\"\0\"}"),
            ("http://r/b", "", b""),
        ]);
        let file = File::open(&path).unwrap();
        let entries = read_index(&file).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].url, "http://r/a");
        assert_eq!(entries[0].validators, validators("\"1\""));
        assert_eq!(entries[1].validators, CachedValidators::default());
        let mut body = vec![0; entries[0].len as usize];
        file.read_exact_at(&mut body, entries[0].offset).unwrap();
        assert_eq!(body, b"{\"a\":\"\0\"}");
        assert_eq!(entries[1].len, 0);
    }

    #[test]
    fn a_cut_or_altered_pack_is_damaged_not_misread() {
        let (_dir, path) = sealed(&[("http://r/a", "\"1\"", b"{}")]);
        let whole = std::fs::read(&path).unwrap();
        let mut cases: Vec<Vec<u8>> = (0..whole.len()).map(|cut| whole[..cut].to_vec()).collect();
        // The index points past the bodies.
        let text =
            String::from_utf8_lossy(&whole).replace("\u{0}8\u{0}2\u{0}", "\u{0}8\u{0}9\u{0}");
        cases.push(text.into_bytes());
        // The footer points the index elsewhere.
        let mut moved = whole.clone();
        let at = whole.len() - FOOTER_LEN as usize;
        moved[at] = 0;
        cases.push(moved);
        for case in cases {
            std::fs::write(&path, &case).unwrap();
            let file = File::open(&path).unwrap();
            assert!(
                matches!(read_index(&file), Err(PackProblem::Damaged(_))),
                "{:?}",
                String::from_utf8_lossy(&case)
            );
        }
    }
}
