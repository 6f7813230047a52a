use std::collections::BTreeMap;

use serde::Deserialize;
use thiserror::Error;

use crate::lenient;
use crate::Manifest;

#[derive(Debug, Error)]
#[error("malformed packument: {0}")]
pub struct PackumentError(#[from] serde_json::Error);

/// A registry document listing every version of one package.
/// Only the fields an installer uses are kept; the rest (readmes, times,
/// maintainers) are skipped while parsing.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Packument {
    #[serde(default)]
    pub name: String,
    #[serde(
        rename = "dist-tags",
        default,
        deserialize_with = "lenient::string_map"
    )]
    pub dist_tags: BTreeMap<String, String>,
    #[serde(default)]
    pub versions: BTreeMap<String, Manifest>,
}

impl Packument {
    pub fn from_slice(bytes: &[u8]) -> Result<Packument, PackumentError> {
        Ok(serde_json::from_slice(bytes)?)
    }
}
