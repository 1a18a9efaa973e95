//! A sealed plan: a body and the id derived from it.

use serde::{Deserialize, Serialize};

/// How many hex digits of a plan id name it to people and in evidence.
pub const SHORT_ID_LEN: usize = 16;

/// The short form of a plan id (all of it when it is shorter).
pub fn short(plan_id: &str) -> &str {
    &plan_id[..SHORT_ID_LEN.min(plan_id.len())]
}

/// A plan body sealed by its id: the BLAKE3 of the body's canonical JSON,
/// in hex. The body cannot change without the id showing it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sealed<B> {
    /// BLAKE3 of the body's canonical JSON, hex.
    pub plan_id: String,
    /// The body.
    pub plan: B,
}

impl<B: Serialize> Sealed<B> {
    /// Seals a body: computes its id.
    pub fn seal(plan: B) -> Self {
        Sealed {
            plan_id: id_of(&plan),
            plan,
        }
    }

    /// Whether the id still matches the body (a plan edited on disk does
    /// not).
    pub fn intact(&self) -> bool {
        id_of(&self.plan) == self.plan_id
    }

    /// The short id shown to people and used in names.
    pub fn short_id(&self) -> &str {
        short(&self.plan_id)
    }
}

fn id_of<B: Serialize>(body: &B) -> String {
    // A body that cannot serialize seals as the hash of nothing, which no
    // recorded plan matches.
    let canonical = serde_json::to_vec(body).unwrap_or_default();
    blake3::hash(&canonical).to_hex().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Body {
        target: String,
        deletes: u32,
    }

    fn body() -> Body {
        Body {
            target: "prod".into(),
            deletes: 3,
        }
    }

    #[test]
    fn the_id_is_the_hash_of_the_body_and_shows_an_edit() {
        let sealed = Sealed::seal(body());
        assert_eq!(sealed.plan_id.len(), 64);
        assert_eq!(sealed.plan_id, Sealed::seal(body()).plan_id);
        assert!(sealed.intact());
        assert_eq!(sealed.short_id(), &sealed.plan_id[..SHORT_ID_LEN]);

        let mut edited = sealed.clone();
        edited.plan.deletes = 0;
        assert!(!edited.intact());

        let round_trip: Sealed<Body> =
            serde_json::from_str(&serde_json::to_string(&sealed).unwrap()).unwrap();
        assert!(round_trip.intact());
    }

    #[test]
    fn short_ids_never_cut_past_the_end() {
        assert_eq!(short("abc"), "abc");
        assert_eq!(short(&"a".repeat(64)).len(), SHORT_ID_LEN);
    }
}
