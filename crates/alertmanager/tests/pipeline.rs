//! The dispatcher and pipeline with a recording notifier: group_wait batching, group_interval
//! for new alerts, repeat_interval, resolved notices and `send_resolved: false`, silences
//! and a failing integration retried.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use firewatch_alertmanager::alert::{Alert, zero_time};
use firewatch_alertmanager::config::Config;
use firewatch_alertmanager::dispatch::Dispatcher;
use firewatch_alertmanager::inhibit::Inhibitor;
use firewatch_alertmanager::marker::Marker;
use firewatch_alertmanager::metrics::Metrics;
use firewatch_alertmanager::nflog::Nflog;
use firewatch_alertmanager::notify::mute::Silencer;
use firewatch_alertmanager::notify::pipeline::{Deps, build};
use firewatch_alertmanager::notify::{Integration, Notifier};
use firewatch_alertmanager::route::Route;
use firewatch_alertmanager::silence::{Silence, SilenceMatcher, Silences};
use firewatch_alertmanager::store::Alerts;
use jiff::{SignedDuration, Timestamp};
use notifiers::{Data, NotifyContext, NotifyError, NotifyFuture};

/// Records (receiver, alert summaries) and fails the first `fail` calls.
#[derive(Default)]
struct Recording {
    sent: Mutex<Vec<Vec<String>>>,
    fail: Mutex<u32>,
}

impl Notifier for Recording {
    fn notify<'a>(&'a self, _ctx: &'a NotifyContext, data: &'a Data) -> NotifyFuture<'a> {
        Box::pin(async move {
            {
                let mut f = self.fail.lock().unwrap();
                if *f > 0 {
                    *f -= 1;
                    return Err(NotifyError::retryable("unexpected status code 503"));
                }
            }
            let list = data
                .alerts
                .iter()
                .map(|a| format!("{}:{}", a.labels["alertname"], a.status.as_str()))
                .collect();
            self.sent.lock().unwrap().push(list);
            Ok(())
        })
    }
}

struct Setup {
    alerts: Arc<Alerts>,
    silences: Arc<Silences>,
    loud: Arc<Recording>,
    quiet: Arc<Recording>,
    _dispatcher: Arc<Dispatcher>,
}

fn setup() -> Setup {
    let cfg = Config::parse(
        r"
route:
  receiver: loud
  group_by: [group]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 3s
  routes:
    - matchers: [group=quiet]
      receiver: quiet
      # Long, so that a repeat of the still-firing alert cannot be mistaken for news about
      # the resolved one (the retries move the first notice by a variable amount).
      repeat_interval: 1h
receivers: [{name: loud}, {name: quiet}]
",
        Path::new("t.yml"),
    )
    .unwrap();
    let marker = Arc::new(Marker::default());
    let alerts = Arc::new(Alerts::new(marker.clone(), None));
    let silences = Arc::new(Silences::new(None, Duration::from_secs(3600)));
    let registry = metrics::Registry::new();
    let metrics = Metrics::new(&registry);
    let inhibitor = Arc::new(Inhibitor::new(&cfg.inhibit_rules, marker.clone()).unwrap());
    let deps = Deps {
        inhibitor,
        silencer: Arc::new(Silencer {
            silences: silences.clone(),
            marker,
        }),
        nflog: Arc::new(Nflog::new(None, Duration::from_secs(3600))),
        metrics: metrics.clone(),
        wait: Arc::new(|| Duration::ZERO),
        external_url: "http://x".to_owned(),
        settled: None,
    };
    let (loud, quiet) = (
        Arc::new(Recording::default()),
        Arc::new(Recording::default()),
    );
    let integration = |n: &Arc<Recording>, send_resolved| Integration {
        name: "webhook",
        index: 0,
        send_resolved,
        notifier: n.clone(),
    };
    let receivers = HashMap::from([
        ("loud".to_owned(), vec![integration(&loud, true)]),
        ("quiet".to_owned(), vec![integration(&quiet, false)]),
    ]);
    let stage = build(&cfg, receivers, &deps);
    let route = Route::new(cfg.route.as_ref().unwrap()).unwrap();
    let dispatcher = Dispatcher::new(route, stage, metrics, deps.wait.clone());
    tokio::spawn(dispatcher.clone().run(alerts.clone()));
    Setup {
        alerts,
        silences,
        loud,
        quiet,
        _dispatcher: dispatcher,
    }
}

fn alert(name: &str, group: &str, ends_in: Option<i64>) -> Alert {
    let now = Timestamp::now();
    Alert {
        labels: [("alertname", name), ("group", group)]
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect(),
        annotations: Default::default(),
        starts_at: now,
        ends_at: ends_in.map_or(now + SignedDuration::from_mins(5), |s| {
            now + SignedDuration::from_secs(s)
        }),
        generator_url: String::new(),
        updated_at: now,
        timeout: ends_in.is_none(),
    }
}

fn sent(r: &Recording) -> Vec<Vec<String>> {
    r.sent.lock().unwrap().clone()
}

async fn sleep_ms(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_wait_interval_repeat_and_resolution() {
    let s = setup();
    s.alerts.put(vec![alert("A", "g", None)]);
    sleep_ms(300).await;
    s.alerts.put(vec![alert("B", "g", None)]);
    sleep_ms(500).await;
    assert!(sent(&s.loud).is_empty(), "nothing before group_wait");
    sleep_ms(500).await; // t = 1.3s: one notification with both (batched in group_wait).
    assert_eq!(sent(&s.loud), [vec!["A:firing", "B:firing"]]);
    s.alerts.put(vec![alert("C", "g", None)]);
    sleep_ms(1400).await; // t = 2.7s: no tick yet.
    assert_eq!(sent(&s.loud).len(), 1);
    sleep_ms(700).await; // t = 3.4s: the tick at 3s sent the new alert.
    assert_eq!(
        sent(&s.loud).last().unwrap(),
        &["A:firing", "B:firing", "C:firing"]
    );
    // Nothing changes: the tick at 5s sends nothing, 7s repeats (repeat_interval 3s).
    sleep_ms(2000).await;
    assert_eq!(sent(&s.loud).len(), 2);
    sleep_ms(2000).await;
    assert_eq!(sent(&s.loud).len(), 3, "repeat after repeat_interval");
    // Resolve A: the next tick sends it as resolved, then it is gone.
    s.alerts.put(vec![alert("A", "g", Some(0))]);
    sleep_ms(2100).await;
    assert_eq!(
        sent(&s.loud).last().unwrap(),
        &["A:resolved", "B:firing", "C:firing"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_resolved_false_silences_and_retries() {
    let s = setup();
    *s.quiet.fail.lock().unwrap() = 2;
    s.alerts
        .put(vec![alert("Q", "quiet", None), alert("R", "quiet", None)]);
    sleep_ms(3000).await; // group_wait 1s, two failures retried with backoff.
    assert_eq!(
        sent(&s.quiet),
        [vec!["Q:firing", "R:firing"]],
        "retried until it went through"
    );
    s.alerts.put(vec![alert("Q", "quiet", Some(0))]);
    sleep_ms(2100).await;
    assert_eq!(
        sent(&s.quiet).len(),
        1,
        "a resolved alert alone is no news without send_resolved"
    );
    s.alerts.put(vec![alert("R", "quiet", Some(0))]);
    sleep_ms(2100).await;
    assert_eq!(
        sent(&s.quiet).len(),
        1,
        "all resolved: nothing sent without send_resolved"
    );

    // A silence keeps a new group back; expiring it lets the next flush through.
    let now = Timestamp::now();
    let id = s
        .silences
        .set(Silence {
            id: String::new(),
            matchers: vec![SilenceMatcher {
                name: "alertname".into(),
                value: "S".into(),
                is_regex: false,
                is_equal: true,
            }],
            starts_at: now,
            ends_at: now + SignedDuration::from_hours(1),
            updated_at: zero_time(),
            created_by: "t".into(),
            comment: "c".into(),
        })
        .unwrap();
    s.alerts.put(vec![alert("S", "s", None)]);
    sleep_ms(1500).await;
    assert!(sent(&s.loud).is_empty(), "silenced");
    s.silences.expire(&id).unwrap();
    sleep_ms(2100).await;
    assert_eq!(sent(&s.loud), [vec!["S:firing"]]);
}
