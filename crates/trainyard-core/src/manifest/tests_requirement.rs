//! Tests of the rewriting of requirements on a package that moves to a
//! new version.
#![allow(clippy::unwrap_used)]

fn ver(s: &str) -> semver::Version {
    semver::Version::parse(s).unwrap()
}

#[test]
fn requirement_shapes() {
    use super::requirement::{Rewrite, npm as r_npm, python};
    let new = ver("0.3.0");
    let to = |s: &str| Rewrite::To(s.to_owned());
    for (req, want) in [
        ("^0.2.0", to("^0.3.0")),
        ("~1.2", to("~0.3.0")),
        ("0.2.0", to("0.3.0")),
        ("=0.2.0", to("=0.3.0")),
        (">= 0.2", to(">= 0.3.0")),
        ("workspace:^0.2.0", to("workspace:^0.3.0")),
        ("workspace:*", Rewrite::Keep),
        ("workspace:^", Rewrite::Keep),
        ("workspace:~", Rewrite::Keep),
        ("*", Rewrite::Keep),
        ("latest", Rewrite::Keep),
        ("file:../a", Rewrite::Keep),
        ("npm:@x/a@^0.2.0", to("npm:@x/a@^0.3.0")),
        ("0.2.x", Rewrite::Refused),
        ("0.x", Rewrite::Keep),
        ("0.2.x || 0.3.x", Rewrite::Keep),
        ("<0.3.0", Rewrite::Refused),
        ("0.1.0 - 0.4", Rewrite::Keep),
    ] {
        assert_eq!(r_npm(req, &new), want, "{req}");
    }
    for (spec, want) in [
        (">=0.2.0", to(">=0.3.0")),
        ("==0.2.0", to("==0.3.0")),
        ("~=0.2", to("~=0.3.0")),
        ("==0.*", Rewrite::Keep),
        ("==0.2.*", Rewrite::Refused),
        (">=0.1,<0.3", Rewrite::Refused),
        ("!=0.2.0", Rewrite::Keep),
        ("", Rewrite::Keep),
    ] {
        assert_eq!(python(spec, &new), want, "{spec:?}");
    }
}

mod rewrite_properties {
    use proptest::prelude::*;

    use super::super::pep440;
    use super::super::requirement::{self, Rewrite, npm_admits};

    fn version() -> impl Strategy<Value = semver::Version> {
        (0u64..4, 0u64..4, 0u64..4).prop_map(|(a, b, c)| semver::Version::new(a, b, c))
    }

    fn partial() -> impl Strategy<Value = String> {
        (0u64..4, 0u64..4, 0u64..4, 1usize..4).prop_map(|(a, b, c, n)| {
            [a, b, c][..n]
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(".")
        })
    }

    proptest! {
        #[test]
        fn cargo_requirement(op in "(|=|\\^|~|>=|>|<|<=)", v in partial(), upper in partial(), two in any::<bool>(), new in version()) {
            let req = if two { format!("{op}{v}, <{upper}") } else { format!("{op}{v}") };
            let Ok(parsed) = semver::VersionReq::parse(&req) else { return Ok(()); };
            match requirement::cargo(&req, &new) {
                Rewrite::To(text) => prop_assert!(semver::VersionReq::parse(&text).unwrap().matches(&new), "{req} -> {text}"),
                Rewrite::Keep => prop_assert!(parsed.matches(&new), "{req}"),
                Rewrite::Refused => prop_assert!(!parsed.matches(&new), "{req}"),
            }
        }

        #[test]
        fn npm_range(prefix in "(|workspace:)", op in "(|=|\\^|~|>=|>|<|<=)", v in partial(), upper in partial(), two in any::<bool>(), new in version()) {
            let range = if two { format!("{op}{v} <{upper}") } else { format!("{op}{v}") };
            let req = format!("{prefix}{range}");
            let admits = npm_admits(&range, &new).unwrap();
            match requirement::npm(&req, &new) {
                Rewrite::To(text) => {
                    let rewritten = text.strip_prefix(prefix.as_str()).unwrap();
                    prop_assert!(npm_admits(rewritten, &new).unwrap(), "{req} -> {text}");
                }
                Rewrite::Keep => prop_assert!(admits, "{req}"),
                Rewrite::Refused => prop_assert!(!admits, "{req}"),
            }
        }

        #[test]
        fn python_specifier(op in "(==|>=|~=|<|<=|>|!=)", v in partial(), upper in partial(), two in any::<bool>(), new in version()) {
            let spec = if two { format!("{op}{v},<{upper}") } else { format!("{op}{v}") };
            let target = pep440::Version::parse(&new.to_string()).unwrap();
            let Some(admits) = pep440::admits(&spec, &target) else { return Ok(()); };
            match requirement::python(&spec, &new) {
                Rewrite::To(text) => prop_assert!(pep440::admits(&text, &target).unwrap(), "{spec} -> {text}"),
                Rewrite::Keep => prop_assert!(admits, "{spec}"),
                Rewrite::Refused => prop_assert!(!admits, "{spec}"),
            }
        }
    }
}
