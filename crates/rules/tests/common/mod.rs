//! Helpers shared by the rules integration tests: storage, rule files, a recording sender.

#![allow(dead_code, missing_docs)]

use std::path::PathBuf;
use std::sync::Arc;

use firewatch_rules::alert::{Alert, AlertSender};
use firewatch_rules::{Manager, ManagerOptions, UpdateOptions};
use model::{Labels, Matcher, Sample};
use parking_lot::Mutex;
use storage::memory::MemoryStorage;
use storage::{Queryable, ValueType};

pub const MIN: i64 = 60_000;

/// Records every alert handed to it.
#[derive(Default)]
pub struct Recorder(pub Mutex<Vec<Vec<Alert>>>);

impl AlertSender for Recorder {
    fn send(&self, alerts: Vec<Alert>) {
        self.0.lock().push(alerts);
    }
}

impl Recorder {
    pub fn take(&self) -> Vec<Alert> {
        self.0.lock().drain(..).flatten().collect()
    }
}

pub fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

pub struct Setup {
    pub dir: tempfile::TempDir,
    pub storage: MemoryStorage,
    pub sender: Arc<Recorder>,
    pub manager: Arc<Manager>,
}

pub fn manager_over(
    queryable: Arc<dyn Queryable>,
    appendable: Arc<dyn storage::Appendable>,
    sender: Arc<Recorder>,
) -> Arc<Manager> {
    let mut opts = ManagerOptions::new(promql::Engine::default(), queryable, appendable);
    opts.sender = Some(sender);
    opts.external_url = "http://fw.example:9090".into();
    Manager::new(opts)
}

impl Setup {
    pub fn new() -> Self {
        let storage = MemoryStorage::new();
        let sender = Arc::new(Recorder::default());
        let manager = manager_over(
            Arc::new(storage.clone()),
            Arc::new(storage.clone()),
            sender.clone(),
        );
        Self {
            dir: tempfile::tempdir().unwrap(),
            storage,
            sender,
            manager,
        }
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    pub fn load(&self, text: &str) {
        let p = self.write("rules.yml", text);
        self.manager
            .update(&[p], &UpdateOptions::default())
            .unwrap();
    }

    /// Adds `value` to series `l` every minute from `from` to `to` (inclusive, ms).
    pub fn series(&self, l: &[(&str, &str)], from: i64, to: i64, value: f64) {
        let l = labels(l);
        let mut t = from;
        while t <= to {
            self.storage.add(&l, t, Sample::Float(value));
            t += MIN;
        }
    }
}

/// Every float sample of every series matching `matchers`, sorted by labels.
pub fn samples(q: &dyn Queryable, matchers: &[Matcher]) -> Vec<(Labels, Vec<(i64, f64)>)> {
    let querier = q.querier(i64::MIN / 2, i64::MAX / 2).unwrap();
    let mut out = Vec::new();
    for s in querier.select(true, None, matchers).unwrap() {
        let s = s.unwrap();
        let mut it = s.iter();
        let mut v = Vec::new();
        while it.next() == ValueType::Float {
            v.push(it.at());
        }
        out.push((s.labels().clone(), v));
    }
    out
}

pub fn named(q: &dyn Queryable, name: &str) -> Vec<(Labels, Vec<(i64, f64)>)> {
    samples(q, &[Matcher::equal("__name__", name)])
}
