//! Secrets and ConfigMaps that monitors reference for their credentials and TLS material, as
//! the Operator's asset store reads them (prometheus-operator's `pkg/assets/store.go`): each
//! value is looked up by namespace, object name and key; an object not loaded yet is recorded
//! so the watcher can GET it through the API and translate again, and every object looked up
//! is recorded so the watcher can follow exactly those ([`crate::assetwatch`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use base64::Engine as _;
use serde::Deserialize;

use crate::error::OperatorError;

/// A key of a Secret or ConfigMap in the monitor's namespace (`SecretKeySelector`,
/// `ConfigMapKeySelector`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct KeySelector {
    /// The object's name.
    #[serde(default)]
    pub name: String,
    /// The key in its `data`.
    #[serde(default)]
    pub key: String,
    /// Whether a missing object or key is allowed (the value is then absent).
    #[serde(default)]
    pub optional: Option<bool>,
}

/// A value from a Secret or from a ConfigMap (`SecretOrConfigMap`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretOrConfigMap {
    /// From a Secret.
    pub secret: Option<KeySelector>,
    /// From a ConfigMap.
    pub config_map: Option<KeySelector>,
}

/// Which kind of object holds a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AssetKind {
    /// A Secret (`data` values base64-encoded).
    Secret,
    /// A ConfigMap (`data` as text, `binaryData` base64-encoded).
    ConfigMap,
}

impl AssetKind {
    /// The API's plural.
    #[must_use]
    pub fn plural(self) -> &'static str {
        match self {
            AssetKind::Secret => "secrets",
            AssetKind::ConfigMap => "configmaps",
        }
    }

    /// The kind's name as written in messages.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            AssetKind::Secret => "secret",
            AssetKind::ConfigMap => "configmap",
        }
    }
}

const NOT_LOADED: &str = "not loaded yet";

/// Turns one `data` value into text.
type Conv = dyn Fn(&serde_json::Value) -> Option<String>;

/// `(kind, namespace, name)` of a referenced object.
pub type AssetRef = (AssetKind, String, String);

/// The Secrets and ConfigMaps loaded so far, and those asked for but not loaded.
#[derive(Debug, Default)]
pub struct Assets {
    /// Each object's keys and values, or why it could not be read (`not found`...).
    objects: BTreeMap<AssetRef, Result<BTreeMap<String, String>, String>>,
    wanted: Mutex<BTreeSet<AssetRef>>,
    /// Every object looked up (loaded or not) since the last [`Assets::take_used`].
    used: Mutex<BTreeSet<AssetRef>>,
}

impl Clone for Assets {
    /// The loaded objects (nothing wanted or used).
    fn clone(&self) -> Self {
        Self {
            objects: self.objects.clone(),
            wanted: Mutex::default(),
            used: Mutex::default(),
        }
    }
}

impl PartialEq for Assets {
    /// The same objects loaded, with the same values.
    fn eq(&self, other: &Self) -> bool {
        self.objects == other.objects
    }
}

impl Assets {
    /// Records an object read from the API: its keys and decoded values, or why it could not
    /// be read.
    pub fn insert(
        &mut self,
        kind: AssetKind,
        namespace: &str,
        name: &str,
        data: Result<BTreeMap<String, String>, String>,
    ) {
        self.objects
            .insert((kind, namespace.to_owned(), name.to_owned()), data);
    }

    /// Records an object from its API representation (a Secret's `data` base64-decoded, a
    /// ConfigMap's `data` and `binaryData`).
    pub fn insert_object(
        &mut self,
        kind: AssetKind,
        namespace: &str,
        name: &str,
        object: &serde_json::Value,
    ) {
        let mut data = BTreeMap::new();
        let decode = |v: &serde_json::Value| {
            let b = base64::engine::general_purpose::STANDARD
                .decode(v.as_str().unwrap_or_default())
                .ok()?;
            String::from_utf8(b).ok()
        };
        let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
        let fields: [(&str, &Conv); 2] = match kind {
            AssetKind::Secret => [("data", &decode), ("stringData", &text)],
            AssetKind::ConfigMap => [("data", &text), ("binaryData", &decode)],
        };
        for (field, conv) in fields {
            if let Some(m) = object.get(field).and_then(|v| v.as_object()) {
                for (k, v) in m {
                    if let Some(s) = conv(v) {
                        data.insert(k.clone(), s);
                    }
                }
            }
        }
        self.insert(kind, namespace, name, Ok(data));
    }

    /// Records a watched object's new state (`None`: it does not exist); whether that
    /// changed what is known of it.
    pub fn update(&mut self, r: &AssetRef, object: Option<&serde_json::Value>) -> bool {
        let before = self.objects.get(r).cloned();
        match object {
            Some(o) => self.insert_object(r.0, &r.1, &r.2, o),
            None => self.insert(r.0, &r.1, &r.2, Err("not found".into())),
        }
        self.objects.get(r) != before.as_ref()
    }

    /// Forgets every loaded object (they are read again when next asked for).
    pub fn clear(&mut self) {
        self.objects.clear();
    }

    /// Forgets the loaded objects not in `keep`.
    pub fn retain(&mut self, keep: &BTreeSet<AssetRef>) {
        self.objects.retain(|r, _| keep.contains(r));
    }

    /// The objects looked up since the last call (those the translated objects reference).
    pub fn take_used(&self) -> BTreeSet<AssetRef> {
        std::mem::take(
            &mut *self
                .used
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Whether `e` only says that an object is not loaded yet (it is wanted).
    #[must_use]
    pub fn is_wanted(&self, e: &OperatorError) -> bool {
        matches!(e, OperatorError::Asset { message, .. } if message == NOT_LOADED)
    }

    /// The objects asked for but not loaded since the last call.
    pub fn take_wanted(&self) -> BTreeSet<AssetRef> {
        std::mem::take(
            &mut *self
                .wanted
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// The value of `sel` in the `kind` object of `namespace`: `None` when it is optional and
    /// missing.
    ///
    /// # Errors
    /// The object is not loaded yet (it is then recorded as wanted), does not exist or lacks
    /// the key.
    pub fn value(
        &self,
        kind: AssetKind,
        namespace: &str,
        sel: &KeySelector,
    ) -> Result<Option<String>, OperatorError> {
        let key = (kind, namespace.to_owned(), sel.name.clone());
        let err = |message: String| OperatorError::Asset {
            kind: kind.name(),
            object: format!("{namespace}/{}", sel.name),
            key: sel.key.clone(),
            message,
        };
        let optional = sel.optional.unwrap_or(false);
        if sel.name.is_empty() {
            return Err(err("no object name given".into()));
        }
        self.used
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key.clone());
        match self.objects.get(&key) {
            None => {
                self.wanted
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(key);
                Err(err(NOT_LOADED.into()))
            }
            Some(Err(e)) if optional && e == "not found" => Ok(None),
            Some(Err(e)) => Err(err(e.clone())),
            Some(Ok(data)) => match data.get(&sel.key) {
                Some(v) => Ok(Some(v.clone())),
                None if optional => Ok(None),
                None => Err(err("key not found".into())),
            },
        }
    }

    /// A Secret's value (see [`Assets::value`]).
    ///
    /// # Errors
    /// As [`Assets::value`].
    pub fn secret(
        &self,
        namespace: &str,
        sel: &KeySelector,
    ) -> Result<Option<String>, OperatorError> {
        self.value(AssetKind::Secret, namespace, sel)
    }

    /// The value of a Secret or ConfigMap reference (none when neither is set).
    ///
    /// # Errors
    /// As [`Assets::value`].
    pub fn either(
        &self,
        namespace: &str,
        r: &SecretOrConfigMap,
    ) -> Result<Option<String>, OperatorError> {
        match (&r.secret, &r.config_map) {
            (Some(s), _) => self.value(AssetKind::Secret, namespace, s),
            (None, Some(c)) => self.value(AssetKind::ConfigMap, namespace, c),
            (None, None) => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_come_decoded_and_missing_ones_are_wanted_or_errors() {
        let mut a = Assets::default();
        let sel = |name: &str, key: &str| KeySelector {
            name: name.into(),
            key: key.into(),
            optional: None,
        };
        assert!(a.secret("shop", &sel("creds", "user")).is_err());
        assert_eq!(
            a.take_wanted().into_iter().collect::<Vec<_>>(),
            [(AssetKind::Secret, "shop".into(), "creds".into())]
        );
        a.insert_object(
            AssetKind::Secret,
            "shop",
            "creds",
            &json!({"data": {"user": "YWRtaW4="}}),
        );
        a.insert_object(
            AssetKind::ConfigMap,
            "shop",
            "ca",
            &json!({"data": {"ca.crt": "PEM"}}),
        );
        a.insert(AssetKind::Secret, "shop", "gone", Err("not found".into()));
        assert_eq!(
            a.secret("shop", &sel("creds", "user")).unwrap().as_deref(),
            Some("admin")
        );
        let cm = SecretOrConfigMap {
            secret: None,
            config_map: Some(sel("ca", "ca.crt")),
        };
        assert_eq!(a.either("shop", &cm).unwrap().as_deref(), Some("PEM"));
        let e = a.secret("shop", &sel("creds", "pass")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "secret \"shop/creds\": key \"pass\": key not found"
        );
        let e = a.secret("shop", &sel("gone", "x")).unwrap_err();
        assert!(e.to_string().contains("not found"), "{e}");
        let optional = KeySelector {
            optional: Some(true),
            ..sel("gone", "x")
        };
        assert_eq!(a.secret("shop", &optional).unwrap(), None);
        assert!(a.take_wanted().is_empty());
    }
}
