//! The state peers replicate (silences, notification log) as keyed items: each peer publishes
//! every item it knows under its own gossip keys and merges the items other peers publish,
//! newest wins (the `State` interface of Alertmanager's `cluster/cluster.go`, with items in
//! place of whole-state marshalling).

use std::collections::HashMap;

use crate::nflog::{Entry, Nflog};
use crate::silence::{Silence, Silences};

/// State replicated between peers, as items with an id and an encoding; merges are
/// idempotent and commutative (per item the newest update wins), so an item received twice,
/// late, or from several peers changes nothing.
pub trait Replicated: Send + Sync {
    /// The state's name, the prefix of its gossip keys (`sil`, `nfl`).
    fn key(&self) -> &'static str;
    /// A number that changes whenever the state changes.
    fn version(&self) -> u64;
    /// Every item: its id and its encoding.
    fn items(&self) -> Vec<(String, String)>;
    /// Merges items received from peers (their encodings).
    fn merge(&self, items: &[String]) -> Merged;
}

/// What a merge did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Merged {
    /// How many items changed here.
    pub changed: usize,
    /// The items that did not decode, with the reason.
    pub invalid: Vec<String>,
}

/// Decodes `items`, keeping the errors.
fn decode<T: serde::de::DeserializeOwned>(items: &[String]) -> (Vec<T>, Vec<String>) {
    let mut ok = Vec::with_capacity(items.len());
    let mut invalid = Vec::new();
    for it in items {
        match serde_json::from_str(it) {
            Ok(v) => ok.push(v),
            Err(e) => invalid.push(e.to_string()),
        }
    }
    (ok, invalid)
}

fn encode<T: serde::Serialize>(id: String, v: &T) -> Option<(String, String)> {
    serde_json::to_string(v).ok().map(|s| (id, s))
}

impl Replicated for Silences {
    fn key(&self) -> &'static str {
        "sil"
    }
    fn version(&self) -> u64 {
        Silences::version(self)
    }
    fn items(&self) -> Vec<(String, String)> {
        self.list()
            .into_iter()
            .filter_map(|s| encode(s.id.clone(), &s))
            .collect()
    }
    fn merge(&self, items: &[String]) -> Merged {
        let (list, invalid): (Vec<Silence>, _) = decode(items);
        Merged {
            changed: Silences::merge(self, list),
            invalid,
        }
    }
}

impl Replicated for Nflog {
    fn key(&self) -> &'static str {
        "nfl"
    }
    fn version(&self) -> u64 {
        Nflog::version(self)
    }
    fn items(&self) -> Vec<(String, String)> {
        self.entries()
            .into_iter()
            .filter_map(|e| encode(format!("{}:{}", e.receiver, e.group_key), &e))
            .collect()
    }
    fn merge(&self, items: &[String]) -> Merged {
        let (list, invalid): (Vec<Entry>, _) = decode(items);
        Merged {
            changed: Nflog::merge(self, list),
            invalid,
        }
    }
}

/// The largest item published: chitchat sends each key and value within one UDP datagram,
/// so a larger one could never be sent (and would be retried forever).
pub const MAX_ITEM_BYTES: usize = 32 * 1024;

/// What this peer published of one state: the items as last put under its gossip keys.
#[derive(Debug, Default)]
pub struct Published {
    /// The state's version when it was last published (`None`: never).
    pub version: Option<u64>,
    items: HashMap<String, String>,
}

/// The changes that make the published items equal the state's.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Diff {
    /// Items to set: id and encoding.
    pub set: Vec<(String, String)>,
    /// Ids to delete.
    pub delete: Vec<String>,
    /// Ids of items too large to publish.
    pub oversized: Vec<String>,
}

impl Diff {
    /// Whether nothing changes.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.delete.is_empty()
    }
}

impl Published {
    /// Records `items` (the state at `version`) as published; returns what changed since the
    /// last call.
    pub fn update(&mut self, version: u64, items: Vec<(String, String)>) -> Diff {
        let mut diff = Diff::default();
        let mut now = HashMap::with_capacity(items.len());
        for (id, value) in items {
            if value.len() > MAX_ITEM_BYTES {
                diff.oversized.push(id);
                continue;
            }
            if self.items.get(&id) != Some(&value) {
                diff.set.push((id.clone(), value.clone()));
            }
            now.insert(id, value);
        }
        diff.delete = self
            .items
            .keys()
            .filter(|id| !now.contains_key(*id))
            .cloned()
            .collect();
        diff.set.sort();
        diff.delete.sort();
        self.items = now;
        self.version = Some(version);
        diff
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use jiff::Timestamp;

    use super::*;
    use crate::nflog::ReceiverKey;
    use crate::silence::SilenceMatcher;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    fn silence(id: &str, updated: i64, comment: &str) -> Silence {
        Silence {
            id: id.to_owned(),
            matchers: vec![SilenceMatcher {
                name: "a".to_owned(),
                value: "b".to_owned(),
                is_regex: false,
                is_equal: true,
            }],
            starts_at: t(0),
            ends_at: t(3600),
            updated_at: t(updated),
            created_by: "me".to_owned(),
            comment: comment.to_owned(),
        }
    }

    fn entry(group: &str, ts: i64, firing: &[u64]) -> Entry {
        Entry {
            group_key: group.to_owned(),
            receiver: ReceiverKey {
                group_name: "hook".to_owned(),
                integration: "webhook".to_owned(),
                idx: 0,
            },
            firing: firing.to_vec(),
            resolved: Vec::new(),
            timestamp: t(ts),
            expires_at: t(ts + 3600),
        }
    }

    fn wire<T: serde::Serialize>(items: &[T]) -> Vec<String> {
        items
            .iter()
            .map(|i| serde_json::to_string(i).unwrap())
            .collect()
    }

    /// Local state, the peers' items, how many change, what is left.
    type SilenceCase = (Vec<Silence>, Vec<Silence>, usize, Vec<&'static str>);

    #[test]
    fn silences_merge_by_id_keeping_the_newest_update() {
        let cases: Vec<SilenceCase> = vec![
            (vec![], vec![silence("x", 1, "new")], 1, vec!["new"]),
            (
                vec![silence("x", 5, "mine")],
                vec![silence("x", 1, "old")],
                0,
                vec!["mine"],
            ),
            (
                vec![silence("x", 5, "mine")],
                vec![silence("x", 5, "same")],
                0,
                vec!["mine"],
            ),
            (
                vec![silence("x", 1, "old")],
                vec![silence("x", 5, "newer")],
                1,
                vec!["newer"],
            ),
            (
                vec![silence("x", 1, "x")],
                vec![silence("y", 1, "y"), silence("x", 0, "stale")],
                1,
                vec!["x", "y"],
            ),
        ];
        for (local, remote, changed, want) in cases {
            let s = Silences::new(None, Duration::from_secs(3600));
            Silences::merge(&s, local);
            let v0 = Replicated::version(&s);
            let got = Replicated::merge(&s, &wire(&remote));
            assert_eq!(got.changed, changed, "{remote:?}");
            assert!(got.invalid.is_empty());
            assert_eq!(Replicated::version(&s) != v0, changed > 0);
            let mut list = s.list();
            list.sort_by(|a, b| a.id.cmp(&b.id));
            let comments: Vec<&str> = list.iter().map(|s| s.comment.as_str()).collect();
            assert_eq!(comments, want, "{remote:?}");
            // Idempotent: the same items again change nothing.
            let again: Vec<String> = s.items().into_iter().map(|(_, v)| v).collect();
            assert_eq!(Replicated::merge(&s, &again).changed, 0);
        }
        // A bad item is reported, the good ones beside it are still merged.
        let s = Silences::new(None, Duration::from_secs(3600));
        let mut items = wire(&[silence("ok", 1, "fine")]);
        items.push("{\"not\": \"a silence\"}".to_owned());
        let got = Replicated::merge(&s, &items);
        assert_eq!(got.changed, 1);
        assert_eq!(got.invalid.len(), 1, "{got:?}");
        assert!(got.invalid[0].contains("missing field"), "{got:?}");
    }

    /// Local entries, the peers' entries, how many change, (group, firing) left.
    type NflogCase = (Vec<Entry>, Vec<Entry>, usize, Vec<(String, Vec<u64>)>);

    #[test]
    fn nflog_merges_by_receiver_and_group_keeping_the_newest() {
        let cases: Vec<NflogCase> = vec![
            (
                vec![],
                vec![entry("g", 1, &[1])],
                1,
                vec![("g".into(), vec![1])],
            ),
            (
                vec![entry("g", 5, &[1, 2])],
                vec![entry("g", 1, &[1])],
                0,
                vec![("g".into(), vec![1, 2])],
            ),
            (
                vec![entry("g", 1, &[1])],
                vec![entry("g", 5, &[3]), entry("h", 2, &[4])],
                2,
                vec![("g".into(), vec![3]), ("h".into(), vec![4])],
            ),
        ];
        for (local, remote, changed, want) in cases {
            let n = Nflog::new(None, Duration::from_secs(3600));
            Nflog::merge(&n, local);
            let v0 = Replicated::version(&n);
            assert_eq!(Replicated::merge(&n, &wire(&remote)).changed, changed);
            assert_eq!(Replicated::version(&n) != v0, changed > 0);
            let mut got: Vec<(String, Vec<u64>)> = n
                .entries()
                .into_iter()
                .map(|e| (e.group_key, e.firing))
                .collect();
            got.sort();
            assert_eq!(got, want);
            let ids: Vec<String> = n.items().into_iter().map(|(id, _)| id).collect();
            assert!(
                ids.iter().all(|id| id.starts_with("hook/webhook/0:")),
                "{ids:?}"
            );
        }
    }

    /// The state, what to set, delete, and what is oversized.
    type DiffStep = (
        Vec<(String, String)>,
        Vec<&'static str>,
        Vec<&'static str>,
        Vec<&'static str>,
    );

    #[test]
    fn published_items_diff_against_the_last_publication() {
        let item = |id: &str, v: &str| (id.to_owned(), v.to_owned());
        let big = "x".repeat(MAX_ITEM_BYTES + 1);
        // (state, to set, to delete, oversized)
        let steps: Vec<DiffStep> = vec![
            (
                vec![item("a", "1"), item("b", "1")],
                vec!["a", "b"],
                vec![],
                vec![],
            ),
            (vec![item("a", "1"), item("b", "1")], vec![], vec![], vec![]),
            (
                vec![item("a", "2"), item("c", "1")],
                vec!["a", "c"],
                vec!["b"],
                vec![],
            ),
            (
                vec![item("c", "1"), item("d", &big)],
                vec![],
                vec!["a"],
                vec!["d"],
            ),
            (vec![], vec![], vec!["c"], vec![]),
        ];
        let mut p = Published::default();
        for (i, (state, set, delete, oversized)) in steps.into_iter().enumerate() {
            let d = p.update(i as u64, state);
            let got: Vec<&str> = d.set.iter().map(|(id, _)| id.as_str()).collect();
            assert_eq!(got, set, "step {i}");
            assert_eq!(d.delete, delete, "step {i}");
            assert_eq!(d.oversized, oversized, "step {i}");
            assert_eq!(p.version, Some(i as u64));
        }
    }
}
