//! Watches on the Secrets and ConfigMaps that the selected objects reference (the Operator
//! re-generates its configuration when one of them changes, through its Secret and ConfigMap
//! informers): one watch per referenced object, narrowed to it with
//! `fieldSelector=metadata.name=<name>` in its namespace, so a changed, created or deleted
//! value reaches the generated configuration within seconds. The set of watches follows the
//! references after every translation: a new reference starts a watch, a dropped one stops it.

use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::time::Duration;

use futures::StreamExt;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::assets::{AssetKind, AssetRef};

/// A watched object's new state: its API representation, or `None` when it does not exist.
pub type AssetEvent = (AssetRef, Option<Value>);

/// How long a failed watch (no `list`/`watch` permission, the API server away) waits before
/// it is retried by kube's watcher.
const RETRY: Duration = Duration::from_secs(5);

/// The running watches and the channel their changes arrive on.
pub struct AssetWatches {
    client: Client,
    running: BTreeMap<AssetRef, CancellationToken>,
    cancel: CancellationToken,
    tx: mpsc::UnboundedSender<AssetEvent>,
    rx: mpsc::UnboundedReceiver<AssetEvent>,
}

impl AssetWatches {
    /// No watches yet; all of them end with `cancel`.
    #[must_use]
    pub fn new(client: Client, cancel: &CancellationToken) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            client,
            running: BTreeMap::new(),
            cancel: cancel.child_token(),
            tx,
            rx,
        }
    }

    /// Watches exactly the objects of `used`: starts the missing watches, stops the others.
    pub fn follow(&mut self, used: &BTreeSet<AssetRef>) {
        self.running.retain(|r, token| {
            let keep = used.contains(r);
            if !keep {
                token.cancel();
            }
            keep
        });
        for r in used {
            if self.running.contains_key(r) {
                continue;
            }
            let token = self.cancel.child_token();
            tokio::spawn(watch_one(
                self.client.clone(),
                r.clone(),
                self.tx.clone(),
                token.clone(),
            ));
            self.running.insert(r.clone(), token);
        }
    }

    /// The objects watched.
    #[must_use]
    pub fn watched(&self) -> BTreeSet<AssetRef> {
        self.running.keys().cloned().collect()
    }

    /// The next change of a watched object (pending forever when there is none).
    pub async fn next(&mut self) -> AssetEvent {
        match self.rx.recv().await {
            Some(ev) => ev,
            // Unreachable while `self.tx` lives; never resolve rather than spin.
            None => std::future::pending().await,
        }
    }
}

impl Drop for AssetWatches {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Follows one object until `cancel`, sending its state after every (re)list and change.
async fn watch_one(
    client: Client,
    r: AssetRef,
    tx: mpsc::UnboundedSender<AssetEvent>,
    cancel: CancellationToken,
) {
    let (kind, namespace, name) = &r;
    let kind_name = match kind {
        AssetKind::Secret => "Secret",
        AssetKind::ConfigMap => "ConfigMap",
    };
    let gvk = GroupVersionKind::gvk("", "v1", kind_name);
    let ar = ApiResource::from_gvk_with_plural(&gvk, kind.plural());
    let api: Api<DynamicObject> = Api::namespaced_with(client, namespace, &ar);
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut events = watcher::watcher(api, config).boxed();
    // The object seen during a (re)list; `Some(None)` while listing found nothing yet.
    let mut listing: Option<Option<Value>> = None;
    loop {
        let next = tokio::select! {
            () = cancel.cancelled() => return,
            next = events.next() => next,
        };
        let state = match next {
            None => return,
            Some(Err(e)) => {
                tracing::warn!(kind = kind.name(), object = %format!("{namespace}/{name}"), error = %e, "watch failed, retrying");
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = tokio::time::sleep(RETRY) => {}
                }
                continue;
            }
            Some(Ok(Event::Init)) => {
                listing = Some(None);
                continue;
            }
            Some(Ok(Event::InitApply(o))) => {
                listing = Some(Some(o.data));
                continue;
            }
            Some(Ok(Event::InitDone)) => listing.take().flatten(),
            Some(Ok(Event::Apply(o))) => Some(o.data),
            Some(Ok(Event::Delete(_))) => None,
        };
        if tx.send((r.clone(), state)).is_err() {
            return;
        }
    }
}
