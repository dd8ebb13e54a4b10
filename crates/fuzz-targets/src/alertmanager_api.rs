//! Harness for the Alertmanager's API v2 request bodies (alerts and silences posted by
//! anyone who reaches the port): the first byte chooses the endpoint, the rest is the JSON
//! body, sent through the real router of one in-process Alertmanager. A body gets 200 or a
//! 4xx answer; a panic or a 5xx is a finding.

use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request};
use tower::ServiceExt as _;

/// One Alertmanager (its state on a temporary directory, in RAM when `/dev/shm` exists, since
/// silences are fsynced) and a runtime to drive its router.
struct Instance {
    rt: tokio::runtime::Runtime,
    router: Router,
    _dir: tempfile::TempDir,
}

fn instance() -> &'static Instance {
    static INSTANCE: OnceLock<Instance> = OnceLock::new();
    INSTANCE.get_or_init(|| {
        let dir = crate::scratch_dir().expect("temporary directory");
        let config = dir.path().join("alertmanager.yml");
        std::fs::write(
            &config,
            "route: {receiver: null, group_wait: 1h}\nreceivers: [{name: null}]\n",
        )
        .expect("writing the configuration");
        let opts = alertmanager::Options {
            config_file: config,
            storage_path: dir.path().join("data"),
            listen_address: "127.0.0.1:9093".to_owned(),
            external_url: "http://am.example:9093".to_owned(),
            alerts_fsync: false,
            ..alertmanager::Options::default()
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let registry = metrics::Registry::new();
        let am = rt
            .block_on(async { alertmanager::server::Alertmanager::open(opts, &registry) })
            .expect("the Alertmanager opens");
        let router = alertmanager::api::router(am, registry);
        Instance {
            rt,
            router,
            _dir: dir,
        }
    })
}

/// Posts the rest of `data` to the endpoint its first byte chooses.
///
/// # Panics
/// When the Alertmanager answers a server error or panics: that is a finding.
pub fn alertmanager_api(data: &[u8]) {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let path = if first % 2 == 0 {
        "/api/v2/alerts"
    } else {
        "/api/v2/silences"
    };
    let inst = instance();
    let req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_vec()))
        .expect("request");
    let resp = inst
        .rt
        .block_on(inst.router.clone().oneshot(req))
        .expect("the router is infallible");
    let status = resp.status();
    assert!(
        !status.is_server_error(),
        "POST {path} answered {status} for {:?}",
        String::from_utf8_lossy(body)
    );
}
