//! utoo's global package cache (default `~/.cache/utoo`): where each
//! package's entry lives ([`CacheLayout`]) and the file index written last
//! into every entry ([`EntryIndex`]), and the packuments kept between
//! installs with their validators ([`PackumentCache`]). The index marks the entry complete,
//! lists what to link without listing folders, and lets whoever links a file
//! check that it is still as extracted ([`SealedIndex::check`]): a file that
//! is missing, changed size or was written after the index is [`Damage`].
//! [`verify`] checks every entry and removes broken ones; [`clean`] empties
//! the cache once it is sure the folder is one.
//!
//! ```
//! use std::fs;
//! use utoo_package_cache::{CacheLayout, EntryIndex, SealedIndex};
//!
//! let cache = tempfile::tempdir().unwrap();
//! let layout = CacheLayout::new(cache.path());
//! let dir = layout.entry_dir("demo", "1.0.0", "sha512-demo");
//! fs::create_dir_all(dir.join("lib")).unwrap();
//! fs::write(dir.join("lib/index.js"), "module.exports = 1;\n").unwrap();
//!
//! let mut index = EntryIndex::new("sha512-demo");
//! index.add_dir("lib");
//! index.add_file("lib/index.js", 20);
//! index.write_into(&dir).unwrap();
//! assert!(CacheLayout::is_complete(&dir));
//!
//! let sealed = SealedIndex::read(&dir).unwrap();
//! assert!(sealed.check(&dir, &sealed.index.files[0]).is_ok());
//! fs::remove_file(dir.join("lib/index.js")).unwrap();
//! assert!(sealed.check(&dir, &sealed.index.files[0]).is_err());
//! ```

mod index;
mod layout;
mod maintenance;
mod packument;

pub use index::{Damage, EntryIndex, FileFacts, IndexError, IndexedFile, SealedIndex, INDEX_FILE};
pub use layout::CacheLayout;
pub use maintenance::{clean, verify, BrokenEntry, CleanReport, MaintenanceError, VerifyReport};
pub use packument::{
    CachedPackument, CachedValidators, PackumentCache, PackumentCacheError, PackumentPolicy,
};
