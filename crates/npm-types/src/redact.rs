/// `url` with the credentials of its authority (`user:secret@`) shown as
/// `***`, for messages; a bare `user@host` too.
pub fn redact_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return match url.rsplit_once('@') {
            Some((_, host)) => format!("***@{host}"),
            None => url.to_string(),
        };
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://***@{host}{}", &rest[authority_end..]),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_userinfo_only() {
        assert_eq!(
            redact_userinfo("http://user:secret@proxy:8080/p?q"),
            "http://***@proxy:8080/p?q"
        );
        assert_eq!(redact_userinfo("token@proxy:8080"), "***@proxy:8080");
        assert_eq!(
            redact_userinfo("http://proxy:8080/a@b"),
            "http://proxy:8080/a@b"
        );
        assert_eq!(
            redact_userinfo("git+https://me:tok@host/r.git#abc"),
            "git+https://***@host/r.git#abc"
        );
    }
}
