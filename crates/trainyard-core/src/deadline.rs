//! Deadlines that cannot overflow: a wait too long for the clock to
//! represent ends never, instead of panicking in `Instant + Duration`.

use std::time::{Duration, Instant};

/// When a wait that started at some instant ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline(Option<Instant>);

impl Deadline {
    /// `wait` from now.
    pub fn after(wait: Duration) -> Self {
        Self::starting(Instant::now(), wait)
    }

    /// `wait` from `start`; never, when the clock cannot represent it.
    pub fn starting(start: Instant, wait: Duration) -> Self {
        Deadline(start.checked_add(wait))
    }

    /// Whether it has passed at `now`.
    pub fn passed(self, now: Instant) -> bool {
        self.0.is_some_and(|deadline| now >= deadline)
    }

    /// The time left at `now`: zero once it has passed, [`Duration::MAX`]
    /// for a deadline that never comes.
    pub fn left(self, now: Instant) -> Duration {
        self.0.map_or(Duration::MAX, |deadline| {
            deadline.saturating_duration_since(now)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_too_long_for_the_clock_never_ends() {
        let now = Instant::now();
        let never = Deadline::starting(now, Duration::MAX);
        assert!(!never.passed(now));
        assert_eq!(never.left(now), Duration::MAX);
        let forever = Deadline::after(Duration::from_secs(u64::MAX));
        assert!(!forever.passed(Instant::now()));
    }

    #[test]
    fn a_deadline_passes_and_leaves_no_time() {
        let now = Instant::now();
        let soon = Deadline::starting(now, Duration::from_millis(10));
        assert!(!soon.passed(now));
        assert_eq!(soon.left(now), Duration::from_millis(10));
        let later = now + Duration::from_millis(20);
        assert!(soon.passed(later));
        assert_eq!(soon.left(later), Duration::ZERO);
        assert!(Deadline::starting(now, Duration::ZERO).passed(now));
    }
}
