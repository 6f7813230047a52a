//! The compact text form of [`Fixtures`]; the syntax is documented in the
//! crate docs.

use std::iter::Peekable;
use std::str::Chars;

use crate::fixture::{FixtureError, FixtureValidator, Fixtures, VersionFixture};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fixture line {line}: {kind}")]
pub struct ParseError {
    /// 1-based, counting every line of the text including blank ones.
    pub line: usize,
    pub kind: ParseErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    #[error("expected `name@version` at the start of the line, found `{found}`")]
    ExpectedNameAtVersion { found: String },
    #[error("unknown attribute `{name}`; expected one of {}", attribute_names())]
    UnknownAttribute { name: String },
    #[error("unexpected `{found}` where an attribute such as `deps(...)` should start")]
    UnexpectedCharacter { found: char },
    #[error("`{attribute}` needs arguments in parentheses")]
    MissingArguments { attribute: &'static str },
    #[error("`{attribute}` takes no arguments")]
    UnexpectedArguments { attribute: &'static str },
    #[error("`{attribute}(` is not closed by `)`")]
    UnclosedParenthesis { attribute: &'static str },
    #[error("a quoted string is not closed by `\"`")]
    UnterminatedString,
    #[error("unknown escape `\\{escape}` in a quoted string (known: \\\" \\\\ \\n \\t)")]
    UnknownEscape { escape: char },
    #[error("`{attribute}` has an empty argument")]
    EmptyArgument { attribute: &'static str },
    #[error("`{attribute}` expects `key=value` arguments, found `{found}`")]
    ExpectedKeyValue {
        attribute: &'static str,
        found: String,
    },
    #[error("`{attribute}` takes one argument, found {count} (quote text that contains commas)")]
    ExpectedOneArgument {
        attribute: &'static str,
        count: usize,
    },
    #[error(transparent)]
    Invalid(#[from] FixtureError),
}

impl Fixtures {
    /// Parses the text form described in the crate docs, one version per
    /// line.
    pub fn parse(text: &str) -> Result<Fixtures, ParseError> {
        let mut fixtures = Fixtures::new();
        let mut validator = FixtureValidator::default();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let at_line = |kind| ParseError {
                line: index + 1,
                kind,
            };
            let fixture = parse_line(line).map_err(at_line)?;
            validator
                .admit(&fixture)
                .map_err(|error| at_line(error.into()))?;
            fixtures.push(fixture);
        }
        Ok(fixtures)
    }
}

#[derive(Debug, Clone, Copy)]
enum Attribute {
    Deps,
    Optional,
    Peer,
    PeerOptional,
    Dev,
    Bin,
    Os,
    Cpu,
    Engines,
    Deprecated,
    License,
    Script,
    File,
    Tag,
    Latest,
    Bundle,
}

const ATTRIBUTES: [(&str, Attribute); 16] = [
    ("deps", Attribute::Deps),
    ("optional", Attribute::Optional),
    ("peer", Attribute::Peer),
    ("peer-optional", Attribute::PeerOptional),
    ("dev", Attribute::Dev),
    ("bin", Attribute::Bin),
    ("os", Attribute::Os),
    ("cpu", Attribute::Cpu),
    ("engines", Attribute::Engines),
    ("deprecated", Attribute::Deprecated),
    ("license", Attribute::License),
    ("script", Attribute::Script),
    ("file", Attribute::File),
    ("tag", Attribute::Tag),
    ("latest", Attribute::Latest),
    ("bundle", Attribute::Bundle),
];

fn attribute_names() -> String {
    let names: Vec<&str> = ATTRIBUTES.iter().map(|(name, _)| *name).collect();
    names.join(", ")
}

enum Shape {
    /// `latest`
    Flag,
    /// `deps(a@^1, b)`
    List,
    /// `bin(a=cli.js)`
    KeyValues,
    /// `license(ISC)`
    One,
}

impl Attribute {
    fn named(name: &str) -> Option<(&'static str, Attribute)> {
        ATTRIBUTES
            .iter()
            .find(|(candidate, _)| *candidate == name)
            .copied()
    }

    fn shape(self) -> Shape {
        match self {
            Self::Latest => Shape::Flag,
            Self::Deps
            | Self::Optional
            | Self::Peer
            | Self::PeerOptional
            | Self::Dev
            | Self::Os
            | Self::Cpu
            | Self::Tag
            | Self::Bundle => Shape::List,
            Self::Bin | Self::Engines | Self::Script | Self::File => Shape::KeyValues,
            Self::Deprecated | Self::License => Shape::One,
        }
    }
}

#[derive(Debug)]
struct Argument {
    key: Option<String>,
    value: String,
}

type Cursor<'a> = Peekable<Chars<'a>>;

fn parse_line(line: &str) -> Result<VersionFixture, ParseErrorKind> {
    let (spec, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let (name, version) =
        split_at_version(spec).ok_or_else(|| ParseErrorKind::ExpectedNameAtVersion {
            found: spec.to_owned(),
        })?;
    let mut fixture = VersionFixture::new(name, version);
    let mut cursor = rest.chars().peekable();
    loop {
        skip_whitespace(&mut cursor);
        let Some(&first) = cursor.peek() else {
            return Ok(fixture);
        };
        if first == '#' {
            return Ok(fixture);
        }
        let mut word = String::new();
        while let Some(c) = cursor.next_if(|c| c.is_ascii_lowercase() || *c == '-') {
            word.push(c);
        }
        if word.is_empty() {
            return Err(ParseErrorKind::UnexpectedCharacter { found: first });
        }
        let (attribute_name, attribute) =
            Attribute::named(&word).ok_or(ParseErrorKind::UnknownAttribute { name: word })?;
        let has_arguments = cursor.next_if_eq(&'(').is_some();
        fixture = match (attribute, has_arguments) {
            (Attribute::Latest, false) => fixture.latest(),
            (Attribute::Latest, true) => {
                return Err(ParseErrorKind::UnexpectedArguments {
                    attribute: attribute_name,
                })
            }
            (_, false) => {
                return Err(ParseErrorKind::MissingArguments {
                    attribute: attribute_name,
                })
            }
            (_, true) => {
                let arguments = parse_arguments(&mut cursor, attribute_name, attribute)?;
                apply(fixture, attribute_name, attribute, arguments)?
            }
        };
    }
}

/// `name@range` → `(name, range)`, skipping the `@` of a scope; the range
/// may itself hold `@`, as in `alias@npm:real@^1`.
fn split_at_version(spec: &str) -> Option<(&str, &str)> {
    let (at, _) = spec.char_indices().skip(1).find(|(_, c)| *c == '@')?;
    Some((&spec[..at], &spec[at + 1..]))
}

fn skip_whitespace(cursor: &mut Cursor) {
    while cursor.next_if(|c| c.is_whitespace()).is_some() {}
}

/// Called after `(`; consumes through the matching `)`.
fn parse_arguments(
    cursor: &mut Cursor,
    attribute_name: &'static str,
    attribute: Attribute,
) -> Result<Vec<Argument>, ParseErrorKind> {
    let key_values = matches!(attribute.shape(), Shape::KeyValues);
    let mut arguments = Vec::new();
    loop {
        let argument = scan_argument(cursor, key_values)?.ok_or(ParseErrorKind::EmptyArgument {
            attribute: attribute_name,
        })?;
        arguments.push(argument);
        match cursor.next() {
            Some(',') => continue,
            Some(')') => return Ok(arguments),
            _ => {
                return Err(ParseErrorKind::UnclosedParenthesis {
                    attribute: attribute_name,
                })
            }
        }
    }
}

/// Reads up to a `,` or `)` outside quotes and balanced parentheses, so
/// `file(a.js=console.log(1))` works. Bare text is trimmed; quoted text is
/// kept exactly. `None` if the argument is empty.
fn scan_argument(
    cursor: &mut Cursor,
    key_values: bool,
) -> Result<Option<Argument>, ParseErrorKind> {
    let mut key = None;
    let mut value = String::new();
    let mut significant_len = 0;
    let mut is_empty = true;
    let mut depth = 0usize;
    skip_whitespace(cursor);
    while let Some(&c) = cursor.peek() {
        match c {
            ',' | ')' if depth == 0 => break,
            '"' => {
                cursor.next();
                read_quoted(cursor, &mut value)?;
                significant_len = value.len();
                is_empty = false;
                continue;
            }
            '=' if key_values && key.is_none() && depth == 0 => {
                cursor.next();
                value.truncate(significant_len);
                key = Some(std::mem::take(&mut value));
                significant_len = 0;
                is_empty = false;
                skip_whitespace(cursor);
                continue;
            }
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        cursor.next();
        value.push(c);
        if !c.is_whitespace() {
            significant_len = value.len();
            is_empty = false;
        }
    }
    value.truncate(significant_len);
    Ok((!is_empty).then_some(Argument { key, value }))
}

/// Called after the opening `"`; consumes through the closing one.
fn read_quoted(cursor: &mut Cursor, into: &mut String) -> Result<(), ParseErrorKind> {
    loop {
        match cursor.next() {
            None => return Err(ParseErrorKind::UnterminatedString),
            Some('"') => return Ok(()),
            Some('\\') => match cursor.next() {
                Some('"') => into.push('"'),
                Some('\\') => into.push('\\'),
                Some('n') => into.push('\n'),
                Some('t') => into.push('\t'),
                Some(escape) => return Err(ParseErrorKind::UnknownEscape { escape }),
                None => return Err(ParseErrorKind::UnterminatedString),
            },
            Some(c) => into.push(c),
        }
    }
}

fn apply(
    fixture: VersionFixture,
    attribute_name: &'static str,
    attribute: Attribute,
    arguments: Vec<Argument>,
) -> Result<VersionFixture, ParseErrorKind> {
    if matches!(attribute.shape(), Shape::One) && arguments.len() != 1 {
        return Err(ParseErrorKind::ExpectedOneArgument {
            attribute: attribute_name,
            count: arguments.len(),
        });
    }
    arguments
        .into_iter()
        .try_fold(fixture, |fixture, argument| match attribute {
            Attribute::Deps => Ok(with_dependency(
                fixture,
                &argument.value,
                VersionFixture::dep,
            )),
            Attribute::Optional => Ok(with_dependency(
                fixture,
                &argument.value,
                VersionFixture::optional_dep,
            )),
            Attribute::Peer => Ok(with_dependency(
                fixture,
                &argument.value,
                VersionFixture::peer_dep,
            )),
            Attribute::Dev => Ok(with_dependency(
                fixture,
                &argument.value,
                VersionFixture::dev_dep,
            )),
            Attribute::PeerOptional => Ok(fixture.optional_peer(&argument.value)),
            Attribute::Os => Ok(fixture.os(&argument.value)),
            Attribute::Cpu => Ok(fixture.cpu(&argument.value)),
            Attribute::Tag => Ok(fixture.tag(&argument.value)),
            Attribute::Bundle => Ok(fixture.bundle(&argument.value)),
            Attribute::Deprecated => Ok(fixture.deprecated(&argument.value)),
            Attribute::License => Ok(fixture.license(&argument.value)),
            Attribute::Bin => {
                with_key_value(fixture, attribute_name, argument, VersionFixture::bin)
            }
            Attribute::Engines => {
                with_key_value(fixture, attribute_name, argument, VersionFixture::engine)
            }
            Attribute::Script => {
                with_key_value(fixture, attribute_name, argument, VersionFixture::script)
            }
            Attribute::File => with_key_value(
                fixture,
                attribute_name,
                argument,
                |fixture, path, content| fixture.file(path, content.to_owned()),
            ),
            Attribute::Latest => Ok(fixture.latest()),
        })
}

/// `name@range`, or a bare `name` meaning any version (`*`).
fn with_dependency(
    fixture: VersionFixture,
    entry: &str,
    add: fn(VersionFixture, &str, &str) -> VersionFixture,
) -> VersionFixture {
    let (name, range) = split_at_version(entry).unwrap_or((entry, "*"));
    add(fixture, name, range)
}

fn with_key_value(
    fixture: VersionFixture,
    attribute_name: &'static str,
    argument: Argument,
    add: impl FnOnce(VersionFixture, &str, &str) -> VersionFixture,
) -> Result<VersionFixture, ParseErrorKind> {
    match argument.key {
        Some(key) => Ok(add(fixture, &key, &argument.value)),
        None => Err(ParseErrorKind::ExpectedKeyValue {
            attribute: attribute_name,
            found: argument.value,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_one(line: &str) -> VersionFixture {
        let mut fixtures = Fixtures::parse(line).unwrap();
        assert_eq!(fixtures.versions.len(), 1);
        fixtures.versions.remove(0)
    }

    fn error_of(text: &str) -> ParseError {
        Fixtures::parse(text).unwrap_err()
    }

    #[test]
    fn parses_the_full_syntax() {
        let fixtures = Fixtures::parse(
            r#"
            # a comment line
            aa@1.0.0 deps(bb@^1, mm@1.0.0) bin(aa=cli.js)
            mm@2.0.0 latest tag(next, beta)
            @scope/pkg@1.0.0 deps(@scope/other@~1.2, any) dev(jest@29)
            popt@1.0.0 peer(host@^1) peer-optional(host)
            winonly@1.0.0 os(win32, !darwin) cpu(x64) optional(winonly@1, missing@1)
            dp@1.1.0 deprecated("use something else, really") license(ISC)
            en@1.1.0 engines(node=>=99, npm = >=7 )
            inst@1.0.0 script(postinstall=node install.js) file(install.js=console.log(1)) # trailing
            q@1.0.0 file(a.txt="line 1\nsaid \"hi\" (a, b)", "b c.txt"=x)
            "#,
        )
        .unwrap();
        let versions = &fixtures.versions;
        assert_eq!(versions.len(), 9);
        let aa = &versions[0];
        assert_eq!((aa.name.as_str(), aa.version.as_str()), ("aa", "1.0.0"));
        assert_eq!(aa.dependencies["bb"], "^1");
        assert_eq!(aa.dependencies["mm"], "1.0.0");
        assert_eq!(aa.bin["aa"], "cli.js");
        assert_eq!(versions[1].dist_tags, ["latest", "next", "beta"]);
        let scoped = &versions[2];
        assert_eq!(scoped.name, "@scope/pkg");
        assert_eq!(scoped.dependencies["@scope/other"], "~1.2");
        assert_eq!(scoped.dependencies["any"], "*");
        assert_eq!(scoped.dev_dependencies["jest"], "29");
        assert_eq!(versions[3].peer_dependencies["host"], "^1");
        assert!(versions[3].optional_peers.contains("host"));
        assert_eq!(versions[4].os, ["win32", "!darwin"]);
        assert_eq!(versions[4].cpu, ["x64"]);
        assert_eq!(versions[4].optional_dependencies["missing"], "1");
        assert_eq!(
            versions[5].deprecated.as_deref(),
            Some("use something else, really")
        );
        assert_eq!(versions[5].license, "ISC");
        assert_eq!(versions[6].engines["node"], ">=99");
        assert_eq!(versions[6].engines["npm"], ">=7");
        assert_eq!(versions[7].scripts["postinstall"], "node install.js");
        assert_eq!(&versions[7].files["install.js"][..], b"console.log(1)");
        assert_eq!(
            &versions[8].files["a.txt"][..],
            b"line 1\nsaid \"hi\" (a, b)"
        );
        assert_eq!(&versions[8].files["b c.txt"][..], b"x");
    }

    #[test]
    fn ranges_keep_inner_spaces_and_aliases() {
        let fixture = parse_one("a@1.0.0 deps(b@>=1 <2, c@npm:d@^3)");
        assert_eq!(fixture.dependencies["b"], ">=1 <2");
        assert_eq!(fixture.dependencies["c"], "npm:d@^3");
    }

    #[test]
    fn bundle_lists_bundle_dependencies_in_order() {
        let fixture = parse_one("a@1.0.0 deps(z, b) bundle(z, b)");
        assert_eq!(fixture.bundle_dependencies, ["z", "b"]);
    }

    #[test]
    fn quoted_empty_string_is_an_argument() {
        assert_eq!(
            parse_one(r#"a@1.0.0 deprecated("")"#).deprecated.as_deref(),
            Some("")
        );
    }

    #[test]
    fn reports_line_numbers_and_causes() {
        let cases: [(&str, ParseErrorKind); 13] = [
            (
                "justaname",
                ParseErrorKind::ExpectedNameAtVersion {
                    found: "justaname".into(),
                },
            ),
            (
                "a@1.0.0 dependencies(b)",
                ParseErrorKind::UnknownAttribute {
                    name: "dependencies".into(),
                },
            ),
            (
                "a@1.0.0 deps(b) , x",
                ParseErrorKind::UnexpectedCharacter { found: ',' },
            ),
            (
                "a@1.0.0 deps",
                ParseErrorKind::MissingArguments { attribute: "deps" },
            ),
            (
                "a@1.0.0 latest()",
                ParseErrorKind::UnexpectedArguments {
                    attribute: "latest",
                },
            ),
            (
                "a@1.0.0 deps(b, c",
                ParseErrorKind::UnclosedParenthesis { attribute: "deps" },
            ),
            (
                r#"a@1.0.0 deprecated("x)"#,
                ParseErrorKind::UnterminatedString,
            ),
            (
                r#"a@1.0.0 deprecated("\q")"#,
                ParseErrorKind::UnknownEscape { escape: 'q' },
            ),
            (
                "a@1.0.0 deps(b,,c)",
                ParseErrorKind::EmptyArgument { attribute: "deps" },
            ),
            (
                "a@1.0.0 bin(cli.js)",
                ParseErrorKind::ExpectedKeyValue {
                    attribute: "bin",
                    found: "cli.js".into(),
                },
            ),
            (
                "a@1.0.0 deprecated(use b, or c)",
                ParseErrorKind::ExpectedOneArgument {
                    attribute: "deprecated",
                    count: 2,
                },
            ),
            (
                "a@1.0",
                ParseErrorKind::Invalid(FixtureError::InvalidVersion {
                    name: "a".into(),
                    version: "1.0".into(),
                }),
            ),
            (
                "Not Valid@1.0.0",
                ParseErrorKind::ExpectedNameAtVersion {
                    found: "Not".into(),
                },
            ),
        ];
        for (line, kind) in cases {
            let error = error_of(&format!("\nok@1.0.0\n{line}\n"));
            assert_eq!(error, ParseError { line: 3, kind }, "{line}");
        }
    }

    #[test]
    fn reports_duplicates_and_conflicting_tags_at_the_second_line() {
        let duplicate = error_of("a@1.0.0\nb@1.0.0\na@1.0.0");
        assert_eq!(duplicate.line, 3);
        assert!(matches!(
            duplicate.kind,
            ParseErrorKind::Invalid(FixtureError::DuplicateVersion { .. })
        ));
        let conflict = error_of("a@1.0.0 latest\na@2.0.0 latest");
        assert_eq!(conflict.line, 2);
        assert_eq!(
            conflict.to_string(),
            "fixture line 2: dist-tag `latest` of `a` points at both 1.0.0 and 2.0.0"
        );
    }

    #[test]
    fn error_messages_read_well() {
        assert_eq!(
            error_of("a@1.0.0 need(x)").to_string(),
            "fixture line 1: unknown attribute `need`; expected one of deps, optional, peer, \
             peer-optional, dev, bin, os, cpu, engines, deprecated, license, script, file, tag, latest, bundle"
        );
    }
}
