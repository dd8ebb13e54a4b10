//! The Secrets and ConfigMaps a translation fixture carries (shared by the fixture tests).

use firewatch_operator::{AssetKind, Assets};
use serde_json::Value;

/// The Secrets and ConfigMaps of a fixture's third document, as the API serves them.
pub fn assets(doc: Option<&Value>) -> Assets {
    let mut a = Assets::default();
    for o in doc.and_then(Value::as_array).into_iter().flatten() {
        let kind = match o["kind"].as_str().unwrap() {
            "Secret" => AssetKind::Secret,
            "ConfigMap" => AssetKind::ConfigMap,
            other => panic!("kind {other}"),
        };
        let m = &o["metadata"];
        a.insert_object(
            kind,
            m["namespace"].as_str().unwrap(),
            m["name"].as_str().unwrap(),
            o,
        );
    }
    a
}
