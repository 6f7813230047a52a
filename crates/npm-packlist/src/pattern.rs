//! One ignore rule, matched as minimatch matches it with the options
//! ignore-walk uses: `matchBase`, `dot`, `flipNegate`, `nocase`. Brace
//! alternatives (`{a,b}`), `*`, `?`, `[...]` classes and `**` are
//! supported; extglobs (`+(a|b)`) are read literally.

/// A parsed rule: `!` negates it (an inclusion), and it matches if any of
/// its brace alternatives matches.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub negate: bool,
    alternatives: Vec<Vec<Part>>,
    /// ignore-walk's "relative rule": a single path segment (`foo` or
    /// `foo/`), which is also tried against an entry's base name.
    pub relative: bool,
}

#[derive(Debug, Clone)]
enum Part {
    Literal(String),
    Glob(Vec<Token>),
    Globstar,
}

#[derive(Debug, Clone)]
enum Token {
    Char(char),
    AnyChar,
    Star,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Rule {
    pub(crate) fn parse(text: &str) -> Rule {
        let bangs = text.chars().take_while(|c| *c == '!').count();
        let body = &text[bangs..];
        let alternatives: Vec<Vec<String>> = expand_braces(body)
            .iter()
            .map(|pattern| collapse(split_slashes(pattern)))
            .collect();
        let relative = alternatives.iter().any(|parts| {
            let limit = if parts.last().is_some_and(|p| !p.is_empty()) {
                1
            } else {
                2
            };
            parts.len() <= limit
        });
        Rule {
            negate: bangs % 2 == 1,
            alternatives: alternatives
                .into_iter()
                .map(|parts| parts.iter().map(|p| Part::parse(p)).collect())
                .collect(),
            relative,
        }
    }

    /// Whether `path` matches the rule's pattern (ignoring the negation).
    pub(crate) fn matches(&self, path: &str, partial: bool) -> bool {
        if path == "/" && partial {
            return true;
        }
        let lowered = path.to_lowercase();
        let file = split_slashes(&lowered);
        let base = file
            .iter()
            .rev()
            .find(|p| !p.is_empty())
            .cloned()
            .unwrap_or_default();
        self.alternatives.iter().any(|pattern| {
            if pattern.len() == 1 {
                match_parts(std::slice::from_ref(&base), pattern, partial)
            } else {
                match_parts(&file, pattern, partial)
            }
        })
    }
}

/// Splits on runs of slashes, as minimatch does.
fn split_slashes(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut after_slash = false;
    for c in text.chars() {
        if c == '/' {
            if !after_slash {
                parts.push(std::mem::take(&mut current));
            }
            after_slash = true;
        } else {
            current.push(c);
            after_slash = false;
        }
    }
    parts.push(current);
    parts
}

/// minimatch's level-one optimisation: adjacent `**` become one, and
/// `x/..` cancels out.
fn collapse(parts: Vec<String>) -> Vec<String> {
    let mut kept: Vec<String> = Vec::new();
    for part in parts {
        let prev = kept.last().map(String::as_str);
        if part == "**" && prev == Some("**") {
            continue;
        }
        if part == ".." && prev.is_some_and(|p| p != ".." && p != "." && p != "**") {
            kept.pop();
            continue;
        }
        kept.push(part);
    }
    if kept.is_empty() {
        kept.push(String::new());
    }
    kept
}

/// `a{b,c}d` → `abd`, `acd`, nested braces too; a brace group without a
/// top-level comma stays as written.
fn expand_braces(pattern: &str) -> Vec<String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut start = None;
    let mut depth = 0;
    for (i, c) in chars.iter().enumerate() {
        match c {
            '{' => {
                if depth == 0 {
                    start = Some(i);
                }
                depth += 1;
            }
            '}' if depth > 0 => {
                depth -= 1;
                if depth > 0 {
                    continue;
                }
                let Some(open) = start else { continue };
                let inner: String = chars[open + 1..i].iter().collect();
                let options = split_top_level_commas(&inner);
                if options.len() < 2 {
                    continue;
                }
                let head: String = chars[..open].iter().collect();
                let tail: String = chars[i + 1..].iter().collect();
                return options
                    .iter()
                    .flat_map(|option| expand_braces(&format!("{head}{option}{tail}")))
                    .collect();
            }
            _ => {}
        }
    }
    vec![pattern.to_string()]
}

fn split_top_level_commas(text: &str) -> Vec<String> {
    let mut options = vec![String::new()];
    let mut depth = 0;
    for c in text.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                options.push(String::new());
                continue;
            }
            _ => {}
        }
        if let Some(last) = options.last_mut() {
            last.push(c);
        }
    }
    options
}

impl Part {
    fn parse(text: &str) -> Part {
        if text == "**" {
            return Part::Globstar;
        }
        let lowered = text.to_lowercase();
        let tokens = tokenize(&lowered);
        if tokens.iter().all(|t| matches!(t, Token::Char(_))) {
            return Part::Literal(
                tokens
                    .iter()
                    .filter_map(|t| match t {
                        Token::Char(c) => Some(*c),
                        _ => None,
                    })
                    .collect(),
            );
        }
        Part::Glob(tokens)
    }

    fn matches(&self, segment: &str) -> bool {
        match self {
            Part::Literal(text) => text == segment,
            Part::Glob(tokens) => {
                // With `dot`, a wildcard still never matches `.` or `..`.
                if segment == "." || segment == ".." {
                    return false;
                }
                // A lone `*` needs at least one character.
                if matches!(tokens.as_slice(), [Token::Star]) && segment.is_empty() {
                    return false;
                }
                let chars: Vec<char> = segment.chars().collect();
                glob_match(tokens, &chars)
            }
            Part::Globstar => true,
        }
    }
}

fn tokenize(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' if i + 1 < chars.len() => {
                tokens.push(Token::Char(chars[i + 1]));
                i += 2;
                continue;
            }
            '*' => {
                if !matches!(tokens.last(), Some(Token::Star)) {
                    tokens.push(Token::Star);
                }
            }
            '?' => tokens.push(Token::AnyChar),
            '[' => {
                if let Some((class, next)) = parse_class(&chars, i) {
                    tokens.push(class);
                    i = next;
                    continue;
                }
                tokens.push(Token::Char('['));
            }
            c => tokens.push(Token::Char(c)),
        }
        i += 1;
    }
    tokens
}

/// A `[...]` class starting at `open`; `None` when it never closes.
fn parse_class(chars: &[char], open: usize) -> Option<(Token, usize)> {
    let mut i = open + 1;
    let negated = matches!(chars.get(i), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    while i < chars.len() {
        let c = chars[i];
        if c == ']' && !first {
            return Some((Token::Class { negated, ranges }, i + 1));
        }
        first = false;
        let c = if c == '\\' && i + 1 < chars.len() {
            i += 1;
            chars[i]
        } else {
            c
        };
        if chars.get(i + 1) == Some(&'-') && chars.get(i + 2).is_some_and(|e| *e != ']') {
            ranges.push((c, chars[i + 2]));
            i += 3;
        } else {
            ranges.push((c, c));
            i += 1;
        }
    }
    None
}

fn glob_match(tokens: &[Token], chars: &[char]) -> bool {
    match tokens.split_first() {
        None => chars.is_empty(),
        Some((Token::Star, rest)) => (0..=chars.len()).any(|skip| glob_match(rest, &chars[skip..])),
        Some((token, rest)) => {
            let Some((c, remaining)) = chars.split_first() else {
                return false;
            };
            let hit = match token {
                Token::Char(expected) => expected == c,
                Token::AnyChar => true,
                Token::Class { negated, ranges } => {
                    ranges.iter().any(|(lo, hi)| lo <= c && c <= hi) != *negated
                }
                Token::Star => false,
            };
            hit && glob_match(rest, remaining)
        }
    }
}

/// minimatch's `matchOne`: `file` against `pattern`, segment by segment;
/// `partial` accepts a file that ends while the pattern goes on (a folder
/// whose contents may still match).
fn match_parts(file: &[String], pattern: &[Part], partial: bool) -> bool {
    let mut fi = 0;
    let mut pi = 0;
    while fi < file.len() && pi < pattern.len() {
        if let Part::Globstar = pattern[pi] {
            let rest = &pattern[pi + 1..];
            if rest.is_empty() {
                return file[fi..].iter().all(|f| f != "." && f != "..");
            }
            let mut from = fi;
            while from < file.len() {
                if match_parts(&file[from..], rest, partial) {
                    return true;
                }
                if file[from] == "." || file[from] == ".." {
                    break;
                }
                from += 1;
            }
            return partial && from == file.len();
        }
        if !pattern[pi].matches(&file[fi]) {
            return false;
        }
        fi += 1;
        pi += 1;
    }
    if fi == file.len() && pi == pattern.len() {
        true
    } else if fi == file.len() {
        partial
    } else {
        fi == file.len() - 1 && file[fi].is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(rule: &str, path: &str) -> bool {
        Rule::parse(rule).matches(path, false)
    }

    #[test]
    fn base_names_match_anywhere_and_anchors_only_at_the_root() {
        assert!(m("*.orig", "/a/b/x.orig"));
        assert!(m("node_modules", "/a/node_modules"));
        assert!(m("/node_modules", "/node_modules"));
        assert!(!m("/node_modules", "/a/node_modules"));
        assert!(m("**/.git", "/a/.git"));
        assert!(m("**/.git/**", "/a/.git/config"));
    }

    #[test]
    fn braces_classes_and_case() {
        assert!(m("/readme{,.*[^~$]}", "/README.md"));
        assert!(m("/readme{,.*[^~$]}", "/Readme"));
        assert!(!m("/readme{,.*[^~$]}", "/readme.md~"));
        assert!(m("/.wafpickle-*", "/.wafpickle-7"));
        assert!(m("lib/[a-c]?.js", "lib/b1.js"));
    }

    #[test]
    fn negation_and_partial_folders() {
        let rule = Rule::parse("!/lib/**");
        assert!(rule.negate);
        assert!(rule.matches("/lib/a/b.js", false));
        assert!(!Rule::parse("!lib/x.js").matches("/lib", false));
        assert!(Rule::parse("!lib/x.js").matches("lib", true));
        assert!(Rule::parse("!!x").matches("x", false) && !Rule::parse("!!x").negate);
    }

    /// `minimatch_cases.json` holds what minimatch 10.2.5 (npm 11.19's), with
    /// ignore-walk's options, answers for each rule and path: `full` and
    /// `partial` have one digit per path.
    #[test]
    fn answers_as_minimatch_does() {
        let cases: serde_json::Value =
            serde_json::from_str(include_str!("minimatch_cases.json")).unwrap();
        let paths: Vec<&str> = cases["paths"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        let mut wrong = Vec::new();
        for case in cases["rules"].as_array().unwrap() {
            let text = case["rule"].as_str().unwrap();
            let rule = Rule::parse(text);
            assert_eq!(rule.negate, case["negate"], "{text}");
            assert_eq!(rule.relative, case["relative"], "{text}");
            for (partial, key) in [(false, "full"), (true, "partial")] {
                let expected = case[key].as_str().unwrap().chars().map(|c| c == '1');
                for (path, expected) in paths.iter().zip(expected) {
                    if rule.matches(path, partial) != expected {
                        wrong.push(format!("{text:?} on {path:?} (partial: {partial})"));
                    }
                }
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn relative_rules_are_one_segment() {
        assert!(Rule::parse("foo").relative);
        assert!(Rule::parse("foo/").relative);
        assert!(!Rule::parse("/foo").relative);
        assert!(!Rule::parse("a/b").relative);
    }
}
