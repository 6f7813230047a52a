//! ignore-walk's walk, as npm-packlist drives it: each folder reads its
//! ignore files, and an entry is kept when its folder's rules (after its
//! parent folder's verdict) keep it.

use std::path::{Path, PathBuf};

use crate::package::package_rules;
use crate::pattern::Rule;
use crate::PacklistError;

/// Where a set of rules comes from, in the order they apply (later wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Defaults,
    PackageJson,
    Npmignore,
    Gitignore,
    Strict,
}

impl Source {
    fn file_name(self) -> Option<&'static str> {
        match self {
            Source::PackageJson => Some("package.json"),
            Source::Npmignore => Some(".npmignore"),
            Source::Gitignore => Some(".gitignore"),
            Source::Defaults | Source::Strict => None,
        }
    }
}

const ROOT_SOURCES: [Source; 5] = [
    Source::Defaults,
    Source::PackageJson,
    Source::Npmignore,
    Source::Gitignore,
    Source::Strict,
];
/// Subfolders don't read `package.json`.
const FOLDER_SOURCES: [Source; 4] = [
    Source::Defaults,
    Source::Npmignore,
    Source::Gitignore,
    Source::Strict,
];

/// Applied in every folder, relative to it.
const DEFAULTS: [&str; 22] = [
    ".npmignore",
    ".gitignore",
    "**/.git",
    "**/.svn",
    "**/.hg",
    "**/CVS",
    "**/.git/**",
    "**/.svn/**",
    "**/.hg/**",
    "**/CVS/**",
    "/.lock-wscript",
    "/.wafpickle-*",
    "/build/config.gypi",
    "npm-debug.log",
    "**/.npmrc",
    ".*.swp",
    ".DS_Store",
    "**/.DS_Store/**",
    "._*",
    "**/._*/**",
    "*.orig",
    "/archived-packages/**",
];

pub(crate) struct Walker<'p> {
    parent: Option<&'p Walker<'p>>,
    dir: PathBuf,
    basename: String,
    /// The folder's path from the package root, with a trailing `/` (empty at the root).
    prefix: String,
    sources: &'static [Source],
    rules: Vec<(Source, Vec<Rule>)>,
    /// Set when the folder itself was named (its contents are considered
    /// even where the parent's rules exclude them).
    exact: bool,
    /// Files the package's `files` names directly inside this folder.
    required: Vec<String>,
}

fn parse_rules(text: &str) -> Vec<Rule> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(Rule::parse)
        .collect()
}

impl<'p> Walker<'p> {
    pub(crate) fn root(dir: &Path) -> Walker<'static> {
        Walker {
            parent: None,
            dir: dir.to_path_buf(),
            basename: String::new(),
            prefix: String::new(),
            sources: &ROOT_SOURCES,
            rules: vec![(Source::Defaults, parse_rules(&DEFAULTS.join("\n")))],
            exact: false,
            required: Vec::new(),
        }
    }

    fn child<'c>(&'c self, entry: &str, exact: bool) -> Walker<'c> {
        let required: Vec<String> = self
            .required
            .iter()
            .filter_map(|file| {
                let (folder, name) = file.rsplit_once('/')?;
                (folder == entry).then(|| name.to_string())
            })
            .collect();
        let strict: Vec<String> = std::iter::once("/.git".to_string())
            .chain(required.iter().map(|file| format!("!{file}")))
            .collect();
        Walker {
            parent: Some(self),
            dir: self.dir.join(entry),
            basename: entry.to_string(),
            prefix: format!("{}{entry}/", self.prefix),
            sources: &FOLDER_SOURCES,
            rules: vec![
                (Source::Defaults, parse_rules(&DEFAULTS.join("\n"))),
                (Source::Strict, parse_rules(&strict.join("\n"))),
            ],
            exact,
            required,
        }
    }

    /// Adds the files kept in this folder and below to `found`.
    pub(crate) fn walk(mut self, found: &mut Vec<String>) -> Result<(), PacklistError> {
        let mut entries = read_dir(&self.dir)?;
        entries.sort();
        for source in self.sources {
            let Some(name) = source.file_name() else {
                continue;
            };
            if entries.iter().any(|entry| entry == name) {
                self.read_ignore_file(*source, name)?;
            }
        }
        self.drop_overridden_rules();
        for entry in &entries {
            let pass_file = self.keeps(entry, false, None);
            let pass_dir = self.keeps(entry, true, None);
            // npm refuses names that can't be unpacked on Windows.
            if !(pass_file || pass_dir) || entry.contains('*') {
                continue;
            }
            let path = self.dir.join(entry);
            let meta = std::fs::symlink_metadata(&path)
                .map_err(|source| PacklistError::Read { path, source })?;
            if meta.is_file() && pass_file {
                found.push(format!("{}{entry}", self.prefix));
            } else if meta.is_dir() && pass_dir {
                let exact = pass_file || self.keeps(&format!("{entry}/"), false, None);
                self.child(entry, exact).walk(found)?;
            }
        }
        Ok(())
    }

    fn read_ignore_file(&mut self, source: Source, name: &str) -> Result<(), PacklistError> {
        let path = self.dir.join(name);
        let failed = |source| PacklistError::Read {
            path: path.clone(),
            source,
        };
        // Unlike ignore-walk, a link is not followed: `.npmignore` pointing
        // at `/dev/zero` in a git dependency would never finish reading.
        if !std::fs::symlink_metadata(&path).map_err(failed)?.is_file() {
            return Ok(());
        }
        let text = std::fs::read_to_string(&path).map_err(failed)?;
        if source != Source::PackageJson {
            self.rules.push((source, parse_rules(&text)));
            return Ok(());
        }
        let manifest = serde_json::from_str(&text)
            .map_err(|source| PacklistError::Manifest { path, source })?;
        let package = package_rules(&self.dir, &manifest);
        if let Some(files) = package.files {
            self.rules
                .push((Source::PackageJson, parse_rules(&files.join("\n"))));
        }
        self.rules
            .push((Source::Strict, parse_rules(&package.strict.join("\n"))));
        self.required = package.required;
        Ok(())
    }

    /// `files` overrides `.npmignore`, which overrides `.gitignore`.
    fn drop_overridden_rules(&mut self) {
        let has = |rules: &[(Source, Vec<Rule>)], wanted: Source| {
            rules.iter().any(|(source, _)| *source == wanted)
        };
        let dropped: &[Source] = if has(&self.rules, Source::PackageJson) {
            &[Source::Npmignore, Source::Gitignore]
        } else if has(&self.rules, Source::Npmignore) {
            &[Source::Gitignore]
        } else {
            &[]
        };
        self.rules.retain(|(source, _)| !dropped.contains(source));
    }

    /// ignore-walk's `filterEntry`: whether `entry` (a path relative to
    /// this folder) is kept, as a file or, with `partial`, as a folder
    /// that may hold kept files.
    fn keeps(&self, entry: &str, partial: bool, base: Option<&str>) -> bool {
        let mut included = true;
        if let Some(parent) = self.parent {
            let parent_entry = format!("{}/{entry}", self.basename);
            included = parent.keeps(&parent_entry, partial, Some(base.unwrap_or(entry)));
            if !included && !self.exact {
                return false;
            }
        }
        for source in self.sources {
            for (_, rules) in self.rules.iter().filter(|(s, _)| s == source) {
                for rule in rules {
                    if rule.negate == included {
                        continue;
                    }
                    if rule_matches(rule, entry, partial, base) {
                        included = rule.negate;
                    }
                }
            }
        }
        included
    }
}

fn rule_matches(rule: &Rule, entry: &str, partial: bool, base: Option<&str>) -> bool {
    let m = |path: &str, partial: bool| rule.matches(path, partial);
    if m(&format!("/{entry}"), false) || m(entry, false) {
        return true;
    }
    if !partial {
        return false;
    }
    if m(&format!("/{entry}/"), false)
        || m(&format!("{entry}/"), false)
        || (rule.negate && (m(&format!("/{entry}"), true) || m(entry, true)))
    {
        return true;
    }
    match base.filter(|_| rule.relative) {
        Some(base) => {
            m(&format!("/{base}/"), false)
                || m(&format!("{base}/"), false)
                || (rule.negate && (m(&format!("/{base}"), true) || m(base, true)))
        }
        None => false,
    }
}

/// The folder's entry names; names that aren't UTF-8 can't be packed portably and are left out.
fn read_dir(dir: &Path) -> Result<Vec<String>, PacklistError> {
    let failed = |source| PacklistError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(failed)? {
        let entry = entry.map_err(failed)?;
        if let Ok(name) = entry.file_name().into_string() {
            names.push(name);
        }
    }
    Ok(names)
}
