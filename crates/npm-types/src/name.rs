use thiserror::Error;

/// A package name that npm would refuse to publish or install.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("invalid package name {name:?}: {reason}")]
pub struct InvalidPackageName {
    pub name: String,
    pub reason: &'static str,
}

/// Checks `name` against npm's rules for names of new packages
/// (validate-npm-package-name), minus the length and core-module warnings.
pub fn validate_package_name(name: &str) -> Result<(), InvalidPackageName> {
    let fail = |reason| {
        Err(InvalidPackageName {
            name: name.to_string(),
            reason,
        })
    };
    if name.is_empty() {
        return fail("name is empty");
    }
    if name.trim() != name {
        return fail("name has leading or trailing spaces");
    }
    let bare = match name.strip_prefix('@') {
        Some(scoped) => match scoped.split_once('/') {
            Some((scope, bare)) if !scope.is_empty() && !bare.is_empty() => {
                if !is_url_safe(scope) {
                    return fail("scope has characters that are not URL-safe");
                }
                bare
            }
            _ => return fail("scoped name must look like @scope/name"),
        },
        None => name,
    };
    if bare.starts_with('.') || bare.starts_with('_') {
        return fail("name cannot start with a period or an underscore");
    }
    if bare.contains('/') {
        return fail("name cannot contain a slash outside its scope");
    }
    if !is_url_safe(bare) {
        return fail("name has characters that are not URL-safe");
    }
    Ok(())
}

fn is_url_safe(part: &str) -> bool {
    part.chars().all(|c| {
        c.is_ascii_alphanumeric()
            || matches!(c, '-' | '.' | '_' | '~' | '!' | '*' | '\'' | '(' | ')')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_and_scoped_names() {
        for name in [
            "lodash",
            "@babel/core",
            "string_decoder",
            "a.b-c",
            "JSONStream",
        ] {
            assert_eq!(validate_package_name(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn rejects_bad_names() {
        for name in [
            "",
            " a",
            ".hidden",
            "_x",
            "a/b",
            "@scope",
            "@/x",
            "a b",
            "ünïcode",
            "../evil",
        ] {
            assert!(validate_package_name(name).is_err(), "{name}");
        }
    }
}
