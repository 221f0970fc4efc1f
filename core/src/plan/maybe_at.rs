//! An optional instant in 16 bytes, where `Option<Timestamp>` takes 24: a planner keeps two per
//! job (its place in the queue, and the registration a never-claimed job starts from), and at
//! 100,000 jobs those 16 bytes a job are part of what the dispatch benchmark's memory floor
//! allows.

use jiff::Timestamp;

/// `Some(instant)` or `None`, stored as seconds and nanoseconds with an impossible nanosecond
/// count for `None`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct MaybeAt {
    second: i64,
    nanosecond: i32,
}

impl MaybeAt {
    /// No instant.
    pub(super) const NONE: MaybeAt = MaybeAt {
        second: 0,
        nanosecond: i32::MIN,
    };

    /// The instant, if there is one.
    pub(super) fn get(self) -> Option<Timestamp> {
        (self.nanosecond != i32::MIN)
            .then(|| Timestamp::new(self.second, self.nanosecond).expect("stored from a timestamp"))
    }

    /// The instant, leaving none.
    pub(super) fn take(&mut self) -> Option<Timestamp> {
        std::mem::replace(self, MaybeAt::NONE).get()
    }
}

impl From<Option<Timestamp>> for MaybeAt {
    fn from(at: Option<Timestamp>) -> Self {
        at.map_or(MaybeAt::NONE, |at| MaybeAt {
            second: at.as_second(),
            nanosecond: at.subsec_nanosecond(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_come_back_as_they_went_in() {
        let instants = ["2026-03-29T01:59:59.999999999Z", "1969-12-31T23:59:59.5Z"];
        for text in instants {
            let at: Timestamp = text.parse().unwrap();
            let mut kept = MaybeAt::from(Some(at));
            assert_eq!(kept.get(), Some(at));
            assert_eq!(kept.take(), Some(at));
            assert_eq!(kept.get(), None);
        }
        assert_eq!(
            MaybeAt::from(Some(Timestamp::MIN)).get(),
            Some(Timestamp::MIN)
        );
        assert_eq!(MaybeAt::from(None).get(), None);
        assert_eq!(std::mem::size_of::<MaybeAt>(), 16);
    }
}
