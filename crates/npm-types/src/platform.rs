/// The platform packages are checked against (`os`, `cpu`, `libc` fields),
/// named as Node.js names them (`process.platform`, `process.arch`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub cpu: String,
    /// `glibc` or `musl` on Linux, as npm detects it; `None` elsewhere.
    pub libc: Option<String>,
}

impl Platform {
    /// The machine utoo runs on.
    pub fn current() -> Platform {
        let os = match std::env::consts::OS {
            "macos" => "darwin",
            "windows" => "win32",
            other => other,
        };
        let cpu = match std::env::consts::ARCH {
            "x86_64" => "x64",
            "aarch64" => "arm64",
            "x86" => "ia32",
            "powerpc64" => "ppc64",
            other => other,
        };
        let libc = if os != "linux" {
            None
        } else if cfg!(target_env = "musl") {
            Some("musl".to_string())
        } else {
            Some("glibc".to_string())
        };
        Platform {
            os: os.to_string(),
            cpu: cpu.to_string(),
            libc,
        }
    }

    /// npm-install-checks' `checkPlatform`: every non-empty list must allow this platform.
    pub fn allows(&self, os: &[String], cpu: &[String], libc: &[String]) -> bool {
        let libc_ok = match &self.libc {
            Some(current) => list_allows(libc, current),
            None => true,
        };
        list_allows(os, &self.os) && list_allows(cpu, &self.cpu) && libc_ok
    }
}

/// A list allows `value` when it is empty or `any`, names it, or only negates
/// other values (`!win32`); a negation of `value` always refuses.
fn list_allows(list: &[String], value: &str) -> bool {
    if list.is_empty() || list.iter().any(|item| item == "any") {
        return true;
    }
    let mut has_positive = false;
    for item in list {
        match item.strip_prefix('!') {
            Some(negated) if negated == value => return false,
            Some(_) => {}
            None if item == value => return true,
            None => has_positive = true,
        }
    }
    !has_positive
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linux_x64() -> Platform {
        Platform {
            os: "linux".into(),
            cpu: "x64".into(),
            libc: Some("glibc".into()),
        }
    }

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn os_and_cpu_lists() {
        let p = linux_x64();
        assert!(p.allows(&[], &[], &[]));
        assert!(p.allows(&list(&["linux"]), &list(&["x64", "arm64"]), &[]));
        assert!(!p.allows(&list(&["win32"]), &[], &[]));
        assert!(!p.allows(&[], &list(&["arm64"]), &[]));
        assert!(p.allows(&list(&["!win32"]), &[], &[]));
        assert!(!p.allows(&list(&["!linux"]), &[], &[]));
        assert!(!p.allows(&[], &[], &list(&["musl"])));
        assert!(p.allows(&[], &[], &list(&["glibc"])));
    }
}
