//! A package tarball as npm writes one: every file under `package/`, with
//! a fixed date and no owner, so the same files always give the same bytes.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use flate2::write::GzEncoder;
use flate2::Compression;

/// 1985-10-26T08:15:00Z, the date npm gives every packed file.
const NPM_MTIME: u64 = 499_162_500;

/// Packs `files` (relative to `dir`) into a gzipped tarball.
pub(crate) fn write(dir: &Path, files: &[String]) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::best()));
    for relative in files {
        let file = File::open(dir.join(relative))?;
        let meta = file.metadata()?;
        let executable = meta.permissions().mode() & 0o111 != 0;
        let mut header = tar::Header::new_gnu();
        header.set_size(meta.len());
        header.set_mode(if executable { 0o755 } else { 0o644 });
        header.set_mtime(NPM_MTIME);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, format!("package/{relative}"), file)?;
    }
    let mut gzip = builder.into_inner()?;
    gzip.flush()?;
    gzip.finish()
}
