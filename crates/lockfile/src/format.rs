const DEFAULT_INDENT: &str = "  ";
const DEFAULT_NEWLINE: &str = "\n";

/// Indentation and line ending of a written lockfile.
///
/// An empty `indent` writes compact JSON without a trailing newline (npm's
/// `format-package-lock=false`); `JSON.stringify` uses at most 10 characters of `indent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonFormat {
    pub indent: String,
    pub newline: String,
}

impl Default for JsonFormat {
    fn default() -> Self {
        JsonFormat {
            indent: DEFAULT_INDENT.to_owned(),
            newline: DEFAULT_NEWLINE.to_owned(),
        }
    }
}

impl JsonFormat {
    /// One line, no trailing newline: npm's `format-package-lock=false`.
    pub fn compact() -> JsonFormat {
        JsonFormat {
            indent: String::new(),
            newline: String::new(),
        }
    }

    /// The format npm uses for the lockfile of a project with this `package.json` text: the
    /// indentation of its first line and the line break after its opening brace (as
    /// `json-parse-even-better-errors` detects them), two spaces and `"\n"` when the file
    /// is minified.
    pub fn detect(package_json: &str) -> JsonFormat {
        let text = package_json
            .strip_prefix('\u{feff}')
            .unwrap_or(package_json);
        let (newline, indent) = empty_document(text)
            .or_else(|| formatted_document(text))
            .unwrap_or_default();
        JsonFormat {
            indent: non_empty(indent, DEFAULT_INDENT),
            newline: non_empty(newline, DEFAULT_NEWLINE),
        }
    }
}

fn non_empty(value: &str, default: &str) -> String {
    if value.is_empty() { default } else { value }.to_owned()
}

/// `/^(?:\{\}|\[\])((?:\r?\n)+)?$/`: an empty object or array keeps the default indent.
fn empty_document(text: &str) -> Option<(&str, &str)> {
    let rest = text
        .strip_prefix("{}")
        .or_else(|| text.strip_prefix("[]"))?;
    let newline = line_breaks(rest);
    (newline.len() == rest.len()).then_some((newline, ""))
}

/// `/^\s*[{[]((?:\r?\n)+)([\s\t]*)/`: the line breaks after the opening bracket, then the
/// whitespace that follows them.
fn formatted_document(text: &str) -> Option<(&str, &str)> {
    let rest = text.trim_start_matches(is_js_whitespace);
    let rest = rest.strip_prefix(['{', '['])?;
    let newline = line_breaks(rest);
    if newline.is_empty() {
        return None;
    }
    let after = &rest[newline.len()..];
    let indent_len = after.len() - after.trim_start_matches(is_js_whitespace).len();
    Some((newline, &after[..indent_len]))
}

/// The longest prefix matching `(?:\r?\n)*`.
fn line_breaks(text: &str) -> &str {
    let mut rest = text;
    while let Some(next) = rest
        .strip_prefix("\r\n")
        .or_else(|| rest.strip_prefix('\n'))
    {
        rest = next;
    }
    &text[..text.len() - rest.len()]
}

/// JavaScript's `\s`: Unicode white space plus the byte order mark, minus U+0085.
fn is_js_whitespace(c: char) -> bool {
    c == '\u{feff}' || (c.is_whitespace() && c != '\u{85}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect(text: &str) -> (String, String) {
        let format = JsonFormat::detect(text);
        (format.indent, format.newline)
    }

    fn pair(indent: &str, newline: &str) -> (String, String) {
        (indent.to_owned(), newline.to_owned())
    }

    #[test]
    fn copies_tabs_and_crlf() {
        assert_eq!(
            detect("{\r\n\t\"name\": \"a\"\r\n}\r\n"),
            pair("\t", "\r\n")
        );
        assert_eq!(detect("{\n    \"name\": \"a\"\n}\n"), pair("    ", "\n"));
        assert_eq!(detect("\u{feff}  [\n\t\t1\n]"), pair("\t\t", "\n"));
    }

    #[test]
    fn minified_and_unindented_files_get_two_spaces() {
        assert_eq!(detect("{\"name\":\"a\"}"), pair("  ", "\n"));
        assert_eq!(detect("{\r\n\"name\":\"a\"}"), pair("  ", "\r\n"));
        assert_eq!(detect(""), pair("  ", "\n"));
    }

    #[test]
    fn empty_documents_keep_their_line_ending() {
        assert_eq!(detect("{}"), pair("  ", "\n"));
        assert_eq!(detect("{}\r\n"), pair("  ", "\r\n"));
        assert_eq!(detect("[]\n\n"), pair("  ", "\n\n"));
        assert_eq!(detect("{} "), pair("  ", "\n"));
    }

    #[test]
    fn repeated_line_breaks_are_kept_as_npm_does() {
        assert_eq!(detect("{\n\n  \"a\": 1\n}"), pair("  ", "\n\n"));
    }
}
