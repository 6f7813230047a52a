//! npm sorts package names, install paths and lockfile keys with
//! `String.prototype.localeCompare(other, 'en')`, i.e. ICU collation for English.
//! This crate reproduces that order for the characters that occur in package
//! names and paths, without pulling a full ICU implementation.
//!
//! ICU compares in levels: first the base characters (case ignored), with
//! punctuation before digits before letters; only when those are equal does
//! case decide, lowercase first.
//!
//! ```
//! use std::cmp::Ordering;
//! use utoo_npm_collate::compare;
//!
//! assert_eq!(compare("string_decoder", "string-width"), Ordering::Less);
//! assert_eq!(compare("@babel/core", "abbrev"), Ordering::Less);
//! let mut names = vec!["b", "A", "a", "_x", "1"];
//! names.sort_by(|a, b| compare(a, b));
//! assert_eq!(names, ["_x", "1", "a", "A", "b"]);
//! ```

use std::cmp::Ordering;

/// Punctuation in the order of the CLDR root collation (non-ignorable).
const PUNCTUATION: &str = "_-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$";

/// Primary weight: punctuation, then digits, then letters (case folded), then anything else by code point.
fn primary(c: char) -> (u8, u32) {
    if c.is_ascii() {
        return ASCII_PRIMARY[c as usize];
    }
    non_ascii_primary(c)
}

/// Package names and paths are ASCII: their weights are looked up, not computed.
const ASCII_PRIMARY: [(u8, u32); 128] = {
    let mut table = [(0u8, 0u32); 128];
    let mut i = 0;
    while i < 128 {
        table[i] = ascii_primary(i as u8);
        i += 1;
    }
    table
};

const fn ascii_primary(b: u8) -> (u8, u32) {
    let punctuation = PUNCTUATION.as_bytes();
    let mut index = 0;
    while index < punctuation.len() {
        if punctuation[index] == b {
            return (1, index as u32);
        }
        index += 1;
    }
    match b {
        b'0'..=b'9' => (2, b as u32),
        b'a'..=b'z' => (3, b as u32),
        b'A'..=b'Z' => (3, b.to_ascii_lowercase() as u32),
        b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => (0, b as u32),
        _ => (4, b as u32),
    }
}

fn non_ascii_primary(c: char) -> (u8, u32) {
    if c.is_alphabetic() {
        let folded = c.to_lowercase().next().unwrap_or(c);
        return (3, folded as u32);
    }
    if c.is_whitespace() {
        return (0, c as u32);
    }
    (4, c as u32)
}

/// Tertiary weight: lowercase before uppercase.
fn tertiary(c: char) -> u8 {
    u8::from(c.is_uppercase())
}

/// Compares two strings the way `a.localeCompare(b, 'en')` does in Node.js.
pub fn compare(a: &str, b: &str) -> Ordering {
    let primary_order = a.chars().map(primary).cmp(b.chars().map(primary));
    primary_order
        .then_with(|| a.chars().map(tertiary).cmp(b.chars().map(tertiary)))
        .then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(mut items: Vec<&str>) -> Vec<&str> {
        items.sort_by(|a, b| compare(a, b));
        items
    }

    #[test]
    fn punctuation_sorts_before_digits_and_letters() {
        assert_eq!(
            sorted(vec!["a", "~a", "1", "/a", ".a", "-a", "_a"]),
            ["_a", "-a", ".a", "/a", "~a", "1", "a"]
        );
    }

    #[test]
    fn scoped_packages_sort_before_letters() {
        assert_eq!(
            sorted(vec![
                "node_modules/zod",
                "node_modules/@types/node",
                "node_modules/acorn"
            ]),
            [
                "node_modules/@types/node",
                "node_modules/acorn",
                "node_modules/zod"
            ]
        );
    }

    #[test]
    fn case_only_breaks_ties() {
        assert_eq!(sorted(vec!["B", "a", "A", "b"]), ["a", "A", "b", "B"]);
        assert_eq!(compare("aB", "Ab"), Ordering::Less);
    }

    #[test]
    fn ascii_table_matches_the_rules() {
        assert_eq!(primary('_'), (1, 0));
        assert_eq!(primary('~'), (1, PUNCTUATION.find('~').unwrap() as u32));
        assert_eq!(primary('Q'), primary('q'));
        assert!(primary('9') < primary('a'));
        assert!(
            primary('é') > primary('e'),
            "non-ASCII letters sort by code point after folding"
        );
    }

    #[test]
    fn prefix_sorts_first() {
        assert_eq!(
            compare("node_modules/a", "node_modules/a/node_modules/b"),
            Ordering::Less
        );
        assert_eq!(compare("", "node_modules/a"), Ordering::Less);
    }
}
