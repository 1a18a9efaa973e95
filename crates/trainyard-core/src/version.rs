//! Semantic Versioning 2.0.0: strict parsing, precedence, bumps and
//! pre-release channels.
//!
//! Parsing and storage are the `semver` crate's, which implements the whole
//! 2.0.0 grammar. Its `Ord` breaks ties on build metadata, which the spec's
//! section 11 forbids, so everything here compares with
//! [`cmp_precedence`] instead.

use std::cmp::Ordering;
use std::fmt;

pub use semver::{BuildMetadata, Prerelease, Version};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Parses a version strictly: `MAJOR.MINOR.PATCH[-PRE][+BUILD]`, no `v`
/// prefix, no leading zeros, no empty identifiers.
///
/// # Errors
///
/// Returns an [`Error::Input`] that quotes the text and says what is wrong,
/// e.g. ``invalid version `01.2.3`: invalid leading zero in major version number``.
pub fn parse(text: &str) -> Result<Version> {
    Version::parse(text).map_err(|e| Error::input(format!("invalid version `{text}`: {e}")))
}

/// Explains why `text` is not a valid version, or returns `None` when it is.
pub fn invalid_reason(text: &str) -> Option<String> {
    Version::parse(text).err().map(|e| e.to_string())
}

/// Compares two versions by SemVer precedence (section 11): build metadata
/// is ignored, a pre-release sorts before its release, numeric identifiers
/// compare numerically and sort before alphanumeric ones, and a shorter set
/// of pre-release identifiers sorts first when all before it are equal.
pub fn cmp_precedence(a: &Version, b: &Version) -> Ordering {
    a.cmp_precedence(b)
}

/// The part of a version a release increments.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Bump {
    /// No release is called for.
    #[default]
    None,
    /// Backwards-compatible fixes.
    Patch,
    /// Backwards-compatible features.
    Minor,
    /// Breaking changes.
    Major,
}

impl Bump {
    /// The lowercase name used in config, output and evidence.
    pub fn as_str(self) -> &'static str {
        match self {
            Bump::None => "none",
            Bump::Patch => "patch",
            Bump::Minor => "minor",
            Bump::Major => "major",
        }
    }
}

impl fmt::Display for Bump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The release that `bump` makes of the stable version `current`: pre-release
/// and build metadata are dropped, lower parts reset to zero.
pub fn bumped(current: &Version, bump: Bump) -> Version {
    let mut next = Version::new(current.major, current.minor, current.patch);
    match bump {
        Bump::None => {}
        Bump::Patch => next.patch += 1,
        Bump::Minor => {
            next.minor += 1;
            next.patch = 0;
        }
        Bump::Major => {
            next.major += 1;
            next.minor = 0;
            next.patch = 0;
        }
    }
    next
}

/// The version without pre-release or build metadata: the release a
/// pre-release leads to.
pub fn release_of(version: &Version) -> Version {
    Version::new(version.major, version.minor, version.patch)
}

/// Whether the version is a stable release (no pre-release identifiers).
pub fn is_stable(version: &Version) -> bool {
    version.pre.is_empty()
}

/// A pre-release channel, in order of increasing stability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// Unstable, for internal testing.
    Alpha,
    /// Feature complete, for early adopters.
    Beta,
    /// A release candidate, for final validation.
    Rc,
}

impl Channel {
    /// The identifier used in versions: `alpha`, `beta` or `rc`.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Alpha => "alpha",
            Channel::Beta => "beta",
            Channel::Rc => "rc",
        }
    }

    /// Parses `alpha`, `beta` or `rc`.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Input`] naming the accepted channels.
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "alpha" => Ok(Channel::Alpha),
            "beta" => Ok(Channel::Beta),
            "rc" => Ok(Channel::Rc),
            other => Err(Error::input(format!(
                "invalid pre-release channel `{other}`: expected `alpha`, `beta` or `rc`"
            ))),
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Reads the channel and counter of a pre-release such as `rc.2`.
///
/// Returns `None` for stable versions and for pre-releases of another shape
/// (`1.0.0-snapshot`), which trainyard compares but never continues.
pub fn channel_of(version: &Version) -> Option<(Channel, u64)> {
    let pre = version.pre.as_str();
    let (name, number) = pre.split_once('.')?;
    let channel = Channel::parse(name).ok()?;
    let number = number.parse().ok()?;
    Some((channel, number))
}

/// The version `release` with the pre-release `channel.number`.
pub fn with_prerelease(release: &Version, channel: Channel, number: u64) -> Version {
    let mut v = release_of(release);
    // `alpha.N` is always a valid pre-release, so this cannot fail.
    v.pre = Prerelease::new(&format!("{channel}.{number}")).unwrap_or(Prerelease::EMPTY);
    v
}

/// Sets the build metadata of a version.
///
/// # Errors
///
/// Returns an [`Error::Input`] when `build` is not valid build metadata.
pub fn with_build(mut version: Version, build: &str) -> Result<Version> {
    version.build = BuildMetadata::new(build)
        .map_err(|e| Error::input(format!("invalid build metadata `{build}`: {e}")))?;
    Ok(version)
}

/// The first version at or after `candidate` that nobody has claimed:
/// when `candidate` is taken, the same `bump` is made again from the
/// highest claimed version of its line (the same minor line for a patch,
/// the same major line for a minor, any for a major), until one is free.
pub fn next_free(candidate: Version, bump: Bump, claimed: &[Version]) -> Version {
    let release = release_of(&candidate);
    if !claimed.contains(&release) {
        return candidate;
    }
    let bump = if bump == Bump::None {
        Bump::Patch
    } else {
        bump
    };
    let same_line = |v: &&Version| match bump {
        Bump::Major => true,
        Bump::Minor => v.major == release.major,
        Bump::Patch | Bump::None => v.major == release.major && v.minor == release.minor,
    };
    let highest = claimed
        .iter()
        .filter(same_line)
        .filter(|v| v.cmp_precedence(&release) != Ordering::Less)
        .max_by(|a, b| a.cmp_precedence(b))
        .cloned()
        .unwrap_or(release);
    let mut next = bumped(&highest, bump);
    while claimed.contains(&next) {
        next = bumped(&next, bump);
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        parse(s).expect("valid version")
    }

    #[test]
    fn spec_precedence_examples_ascend() {
        // SemVer 2.0.0 section 11, in the order the spec lists them.
        let ordered = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "2.0.0",
            "2.1.0",
            "2.1.1",
        ];
        for pair in ordered.windows(2) {
            assert_eq!(
                cmp_precedence(&v(pair[0]), &v(pair[1])),
                Ordering::Less,
                "{} < {}",
                pair[0],
                pair[1]
            );
        }
    }

    #[test]
    fn build_metadata_is_ignored_by_precedence() {
        assert_eq!(
            cmp_precedence(&v("1.0.0+a"), &v("1.0.0+b")),
            Ordering::Equal
        );
    }

    #[test]
    fn strict_parse_errors_say_what_is_wrong() {
        let cases = [
            "01.2.3",
            "1.2",
            "1.2.3-",
            "1.2.3-a..b",
            "v1.2.3",
            "1.2.x",
            "1.2.3-01",
            "",
        ];
        let messages: Vec<String> = cases
            .iter()
            .map(|c| parse(c).expect_err("invalid").to_string())
            .collect();
        insta::assert_snapshot!(messages.join("\n"), @r"
        invalid version `01.2.3`: invalid leading zero in major version number
        invalid version `1.2`: unexpected end of input while parsing minor version number
        invalid version `1.2.3-`: empty identifier segment in pre-release identifier
        invalid version `1.2.3-a..b`: empty identifier segment in pre-release identifier
        invalid version `v1.2.3`: unexpected character 'v' while parsing major version number
        invalid version `1.2.x`: unexpected character 'x' while parsing patch version number
        invalid version `1.2.3-01`: invalid leading zero in pre-release identifier
        invalid version ``: empty string, expected a semver version
        ");
    }

    #[test]
    fn bumps_reset_lower_parts() {
        assert_eq!(bumped(&v("1.2.3"), Bump::Patch), v("1.2.4"));
        assert_eq!(bumped(&v("1.2.3"), Bump::Minor), v("1.3.0"));
        assert_eq!(bumped(&v("1.2.3"), Bump::Major), v("2.0.0"));
        assert_eq!(bumped(&v("1.2.3-rc.1"), Bump::None), v("1.2.3"));
    }

    #[test]
    fn channels_read_back() {
        assert_eq!(channel_of(&v("1.2.0-rc.3")), Some((Channel::Rc, 3)));
        assert_eq!(channel_of(&v("1.2.0-snapshot")), None);
        assert_eq!(
            with_prerelease(&v("1.2.0"), Channel::Beta, 2),
            v("1.2.0-beta.2")
        );
        assert!(Channel::Alpha < Channel::Beta && Channel::Beta < Channel::Rc);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn identifier() -> impl Strategy<Value = String> {
            prop_oneof![
                (0u64..30).prop_map(|n| n.to_string()),
                "[a-z][a-z0-9-]{0,4}".prop_map(String::from),
            ]
        }

        fn version() -> impl Strategy<Value = Version> {
            (
                0u64..4,
                0u64..4,
                0u64..4,
                proptest::collection::vec(identifier(), 0..3),
                proptest::option::of("[a-z0-9]{1,4}"),
            )
                .prop_map(|(major, minor, patch, pre, build)| {
                    let mut text = format!("{major}.{minor}.{patch}");
                    if !pre.is_empty() {
                        text.push('-');
                        text.push_str(&pre.join("."));
                    }
                    if let Some(b) = build {
                        text.push('+');
                        text.push_str(&b);
                    }
                    parse(&text).expect("generated versions are valid")
                })
        }

        proptest! {
            #[test]
            fn precedence_is_a_total_order(a in version(), b in version(), c in version()) {
                // Antisymmetry.
                prop_assert_eq!(cmp_precedence(&a, &b), cmp_precedence(&b, &a).reverse());
                // Transitivity.
                if cmp_precedence(&a, &b) != Ordering::Greater
                    && cmp_precedence(&b, &c) != Ordering::Greater
                {
                    prop_assert_ne!(cmp_precedence(&a, &c), Ordering::Greater);
                }
                // Equality ignores exactly the build metadata.
                let mut a_no_build = a.clone();
                a_no_build.build = BuildMetadata::EMPTY;
                prop_assert_eq!(cmp_precedence(&a, &a_no_build), Ordering::Equal);
            }

            #[test]
            fn display_round_trips(a in version()) {
                prop_assert_eq!(parse(&a.to_string()).expect("round trip"), a);
            }

            #[test]
            fn a_prerelease_sorts_before_its_release(a in version()) {
                if !a.pre.is_empty() {
                    prop_assert_eq!(cmp_precedence(&a, &release_of(&a)), Ordering::Less);
                }
            }

            #[test]
            fn bumps_only_go_up(a in version()) {
                for bump in [Bump::Patch, Bump::Minor, Bump::Major] {
                    prop_assert_eq!(cmp_precedence(&bumped(&a, bump), &a), Ordering::Greater);
                }
            }
        }
    }
}
