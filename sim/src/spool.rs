//! A history too large to hold in memory, spooled to disk as it is recorded and read back one
//! shard of jobs at a time.
//!
//! The checkers judge each shard of jobs on the records that name no job plus that shard's own
//! records ([`crate::check::shard`]), so nothing needs the whole history at once. A spooled
//! recorder keeps the records that name no job (elections, leaderships, faults, node starts: they
//! grow with the nodes and the faults, not with the ticks) and writes every record about jobs, as
//! it comes, to its shard's file: JSON lines, as the history is written everywhere else, through
//! a zstd stream (the records of one job set repeat each other, and compress about tenfold). A
//! batch naming jobs of several shards is cut as the in-memory shards cut it (each part keeps its
//! own items and the batch's `seq`). Reading a shard back merges its file with the kept records
//! by `seq`: the very history [`crate::check::check_in_shards`] would have given that shard.
//! Memory while recording is bounded by the jobs and the nodes; while checking, by one shard.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use cronfence::JobId;
use jiff::Timestamp;

use crate::check::shard::{only, route, Route};
use crate::history::{History, Record};

/// One shard's file being written.
type ShardWriter = zstd::stream::write::Encoder<'static, BufWriter<File>>;

/// A history being spooled (see the module).
pub struct Spool {
    dir: PathBuf,
    shard_of: HashMap<JobId, usize>,
    jobs: Vec<Vec<JobId>>,
    kept: Vec<Record>,
    writers: Vec<ShardWriter>,
    line: Vec<u8>,
    records: u64,
    last: Option<Timestamp>,
    error: Option<String>,
}

impl Spool {
    /// A spool in `dir`, the spool's own folder (emptied first: no shard file of an earlier
    /// spool stays), for `jobs`, cut into shards of at most `shard_jobs` in order.
    pub fn create(dir: &Path, jobs: &[JobId], shard_jobs: usize) -> std::io::Result<Self> {
        if dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
        std::fs::create_dir_all(dir)?;
        let shard_jobs = shard_jobs.max(1);
        let shards: Vec<Vec<JobId>> = jobs.chunks(shard_jobs).map(<[_]>::to_vec).collect();
        let shard_of = jobs
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), i / shard_jobs))
            .collect();
        let writers = (0..shards.len().max(1))
            .map(|k| {
                let file = File::create(shard_file(dir, k))?;
                zstd::stream::write::Encoder::new(BufWriter::new(file), 1)
            })
            .collect::<std::io::Result<_>>()?;
        Ok(Spool {
            dir: dir.to_path_buf(),
            shard_of,
            jobs: shards,
            kept: Vec::new(),
            writers,
            line: Vec::new(),
            records: 0,
            last: None,
            error: None,
        })
    }

    /// How many records so far.
    pub fn len(&self) -> u64 {
        self.records
    }

    /// Whether nothing was recorded yet.
    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// The records that name no job, so far.
    pub fn kept(&self) -> &[Record] {
        &self.kept
    }

    /// The true time of the newest record.
    pub fn last(&self) -> Option<Timestamp> {
        self.last
    }

    /// Takes in the next record (its `seq` already assigned).
    pub fn push(&mut self, record: Record) {
        self.records += 1;
        self.last = Some(record.true_time);
        // A job the run did not schedule (none should be named) is the first shard's to judge,
        // as in the in-memory shards.
        let shard_of = &self.shard_of;
        match route(&record, |job| shard_of.get(job).copied().unwrap_or(0)) {
            Route::Every => self.kept.push(record),
            Route::One(k) => self.write(k, &record),
            Route::Items(items) => {
                for (k, items) in items {
                    self.write(k, &only(&record, &Some(items)));
                }
            }
        }
    }

    fn write(&mut self, shard: usize, record: &Record) {
        if self.error.is_some() {
            return;
        }
        self.line.clear();
        serde_json::to_writer(&mut self.line, record).expect("records serialise");
        self.line.push(b'\n');
        if let Err(e) = self.writers[shard].write_all(&self.line) {
            self.error = Some(format!("{}: {e}", shard_file(&self.dir, shard).display()));
        }
    }

    /// Ends the recording: every shard file flushed and closed.
    pub fn finish(self) -> Result<Spooled, String> {
        if let Some(error) = self.error {
            return Err(format!("the spooled history could not be written: {error}"));
        }
        for (k, writer) in self.writers.into_iter().enumerate() {
            writer
                .finish()
                .and_then(|mut w| w.flush())
                .map_err(|e| format!("{}: {e}", shard_file(&self.dir, k).display()))?;
        }
        Ok(Spooled {
            dir: self.dir,
            jobs: self.jobs,
            kept: self.kept,
            records: self.records,
            last: self.last,
        })
    }
}

/// A spooled history, recorded to its end.
pub struct Spooled {
    dir: PathBuf,
    jobs: Vec<Vec<JobId>>,
    kept: Vec<Record>,
    /// How many records the history holds.
    pub records: u64,
    /// The true time of its last record.
    pub last: Option<Timestamp>,
}

impl Spooled {
    /// The records that name no job.
    pub fn kept(&self) -> &[Record] {
        &self.kept
    }

    /// The jobs of each shard, in order.
    pub fn shards(&self) -> &[Vec<JobId>] {
        &self.jobs
    }

    /// Shard `k`'s history: the kept records and its own, in `seq` order.
    pub fn shard(&self, k: usize) -> Result<History, String> {
        let path = shard_file(&self.dir, k);
        let fail = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
        let file = File::open(&path).map_err(|e| fail(&e))?;
        let reader = BufReader::new(zstd::stream::read::Decoder::new(file).map_err(|e| fail(&e))?);
        let mut records = Vec::new();
        let mut kept = self.kept.iter().peekable();
        for line in reader.lines() {
            let line = line.map_err(|e| fail(&e))?;
            let record: Record = serde_json::from_str(&line).map_err(|e| fail(&e))?;
            while let Some(r) = kept.next_if(|r| r.seq < record.seq) {
                records.push(r.clone());
            }
            records.push(record);
        }
        records.extend(kept.cloned());
        Ok(History { records })
    }

    /// Removes the spool's folder.
    pub fn remove(self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn shard_file(dir: &Path, k: usize) -> PathBuf {
    dir.join(format!("shard-{k:05}.jsonl.zst"))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use cronfence::{Delivery, JobSpec};

    use super::*;
    use crate::check::testkit::*;
    use crate::check::{check_in_shards, check_spooled, CheckInput};
    use crate::fault::FaultKind;

    /// `history` spooled one job per shard into a fresh folder named after `name`.
    fn spooled(history: &History, jobs: &[JobId], name: &str) -> (Spooled, PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "cronfence-spool-test-{}-{name}",
            std::process::id()
        ));
        let mut spool = Spool::create(&dir, jobs, 1).expect("a spool");
        for record in &history.records {
            spool.push(record.clone());
        }
        (spool.finish().expect("spooled"), dir)
    }

    #[test]
    fn a_leadership_that_outlived_a_pause_by_another_shards_claim_is_no_failover_at_the_pause() {
        // x leads jobs a (daily) and b (every second); it is paused at 10 s for 500 ms, claims
        // and starts b's tick at 11 s (alive after the pause), crashes at 100 s, and y wins at
        // 105 s: the leadership was lost to the crash, 5 s before the win. Shard `a` alone never
        // sees x alive after the pause; the spooled measure must still say so.
        let daily = JobSpec::new(
            cronfence::Schedule::every(start(), jiff::SignedDuration::from_hours(24))
                .expect("a day"),
        );
        let jobs: BTreeMap<JobId, JobSpec> = BTreeMap::from([
            (job("a"), daily),
            (job("b"), every_10s(Delivery::AtMostOnce)),
        ]);
        let history = Builder::new()
            .node(0, "x", won(1))
            .fault(10_000, "x", FaultKind::Pause)
            .fault_ended(10_500, "x", FaultKind::Pause, 10_000)
            .node(11_000, "x", claimed("b", 10, 1))
            .node(11_000, "x", started("b", 10, 1, 1))
            .fault(100_000, "x", FaultKind::Crash)
            .node(105_000, "y", won(2))
            .node(106_000, "y", claimed("a", 0, 2))
            .node(106_000, "y", started("a", 0, 2, 1))
            .build();
        let input = CheckInput {
            liveness: None,
            ..input(&history, &jobs, 0, 100)
        };
        let held = check_in_shards(input, 1);
        let (spool, dir) = spooled(&history, &jobs.keys().cloned().collect::<Vec<_>>(), "pause");
        let kept = History {
            records: spool.kept().to_vec(),
        };
        let spooled = check_spooled(
            CheckInput {
                history: &kept,
                ..input
            },
            &spool,
            |_, _| {},
        );
        let _ = std::fs::remove_dir_all(dir);
        let spooled = spooled.expect("checked");
        assert_eq!(held.timeliness.failovers.len(), 1);
        assert_eq!(
            held.timeliness.failovers[0].lost_by, "crash",
            "{:#?}",
            held.timeliness
        );
        assert_eq!(spooled.timeliness, held.timeliness);
    }
}
