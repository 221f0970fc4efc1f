//! The in-memory backend's job registry: each job's record, found by its id. Records sit in one
//! vector, sized to each registration's batch, and a hash map holds only the id and the record's
//! place; a map of whole records would keep a quarter of its slots empty at their full size (a
//! hash table's spare capacity), which at 100,000 jobs cost more than the records' own fields.
//! Jobs are never unregistered, so places never move.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, DefaultHasher};

use crate::job::JobId;

/// Records of type `R` by job id.
#[derive(Debug)]
pub(super) struct Registry<R> {
    places: HashMap<JobId, u32, BuildHasherDefault<DefaultHasher>>,
    records: Vec<R>,
}

impl<R> Default for Registry<R> {
    fn default() -> Self {
        Registry {
            places: HashMap::default(),
            records: Vec::new(),
        }
    }
}

impl<R> Registry<R> {
    /// Makes room for `more` records at once (one registration's new jobs): exactly that many
    /// into an empty registry, with the usual spare capacity after.
    pub(super) fn reserve(&mut self, more: usize) {
        self.places.reserve(more);
        self.records.reserve(more);
    }

    pub(super) fn get(&self, id: &JobId) -> Option<&R> {
        self.places.get(id).map(|&at| &self.records[at as usize])
    }

    pub(super) fn get_mut(&mut self, id: &JobId) -> Option<&mut R> {
        self.places
            .get(id)
            .map(|&at| &mut self.records[at as usize])
    }

    /// Adds the record of a job not registered yet.
    pub(super) fn insert(&mut self, id: JobId, record: R) {
        let at = u32::try_from(self.records.len()).expect("fewer than 2^32 jobs");
        let earlier = self.places.insert(id, at);
        debug_assert!(earlier.is_none(), "a job is registered once");
        self.records.push(record);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_found_by_id_after_more_are_added() {
        let mut registry = Registry::default();
        registry.reserve(2);
        let id = |n: u32| JobId::new(format!("job-{n}")).unwrap();
        for n in 0..1_000 {
            registry.insert(id(n), n);
        }
        *registry.get_mut(&id(7)).unwrap() += 1_000;
        assert_eq!(registry.get(&id(7)), Some(&1_007));
        assert_eq!(registry.get(&id(999)), Some(&999));
        assert_eq!(registry.get(&id(1_000)), None);
    }
}
