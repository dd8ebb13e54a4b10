//! Harnesses for what service discovery reads from others: file_sd target files, HTTP SD
//! response bodies and Kubernetes API objects.

use discovery::kubernetes::{
    Stores, build_endpoints, build_endpointslice, build_ingress, build_node, build_pod,
    build_service,
};

/// A file_sd target file: the first byte chooses JSON or YAML (by the file's extension, as
/// file_sd does); the rest is the file.
pub fn file_sd(data: &[u8]) {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let Ok(dir) = crate::scratch_dir() else {
        return;
    };
    let path = dir
        .path()
        .join(if first % 2 == 0 { "t.json" } else { "t.yml" });
    if std::fs::write(&path, body).is_ok()
        && let Some(p) = path.to_str()
    {
        let _ = discovery::file::read_file(p);
    }
}

/// An HTTP SD response body.
pub fn http_sd(data: &[u8]) {
    let _ = discovery::http::parse_response("http://sd.example:8080/targets", data);
}

/// A Kubernetes API object as the watch delivers it: the first byte chooses the kind (pod,
/// endpoints, endpoint slice, service, node, ingress); the rest is its JSON, turned into a
/// target group as Prometheus's Kubernetes SD does. Pods and nodes are also put in the store
/// the endpoints roles look them up in.
pub fn kubernetes(data: &[u8]) {
    use k8s_openapi::api::core::v1::{Endpoints, Node, Pod, Service};
    use k8s_openapi::api::discovery::v1::EndpointSlice;
    use k8s_openapi::api::networking::v1::Ingress;
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let mut stores = Stores::default();
    match first % 6 {
        0 => {
            if let Ok(pod) = serde_json::from_slice::<Pod>(body) {
                let _ = build_pod(&pod, &stores, true);
                let name = pod.metadata.name.clone().unwrap_or_default();
                stores.pods.insert(name, pod);
            }
        }
        1 => {
            if let Ok(eps) = serde_json::from_slice::<Endpoints>(body) {
                let _ = build_endpoints(&eps, &stores, true);
            }
        }
        2 => {
            if let Ok(slice) = serde_json::from_slice::<EndpointSlice>(body) {
                let _ = build_endpointslice(&slice, &stores, true);
            }
        }
        3 => {
            if let Ok(svc) = serde_json::from_slice::<Service>(body) {
                let _ = build_service(&svc);
            }
        }
        4 => {
            if let Ok(node) = serde_json::from_slice::<Node>(body) {
                let _ = build_node(&node);
            }
        }
        _ => {
            if let Ok(ing) = serde_json::from_slice::<Ingress>(body) {
                let _ = build_ingress(&ing);
            }
        }
    }
}
