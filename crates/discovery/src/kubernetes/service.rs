//! The `service` role: one target per service port.

use k8s_openapi::api::core::v1::Service;

use super::meta::{P, join_host_port, key, name, namespace, s, service_labels, set};
use crate::targetgroup::{ADDRESS_LABEL, LabelSet, TargetGroup};

/// The service role's group: one target per service port at `<name>.<namespace>.svc:<port>`.
#[must_use]
pub fn build_service(svc: &Service) -> TargetGroup {
    let mut tg = TargetGroup::empty(format!("svc/{}", key(&svc.metadata)));
    tg.labels = service_labels(svc);
    let Some(spec) = svc.spec.as_ref() else {
        return tg;
    };
    let svc_type = s(spec.type_.as_ref());
    for port in spec.ports.iter().flatten() {
        let host = format!("{}.{}.svc", name(&svc.metadata), namespace(&svc.metadata));
        let mut t = LabelSet::new();
        set(&mut t, ADDRESS_LABEL, join_host_port(&host, port.port));
        set(
            &mut t,
            format!("{P}service_port_name"),
            s(port.name.as_ref()),
        );
        set(
            &mut t,
            format!("{P}service_port_number"),
            port.port.to_string(),
        );
        set(
            &mut t,
            format!("{P}service_port_protocol"),
            s(port.protocol.as_ref()),
        );
        set(&mut t, format!("{P}service_type"), svc_type.clone());
        if svc_type == "ExternalName" {
            set(
                &mut t,
                format!("{P}service_external_name"),
                s(spec.external_name.as_ref()),
            );
        } else {
            set(
                &mut t,
                format!("{P}service_cluster_ip"),
                s(spec.cluster_ip.as_ref()),
            );
        }
        if svc_type == "LoadBalancer" {
            let ips: Vec<String> = svc
                .status
                .as_ref()
                .and_then(|st| st.load_balancer.as_ref())
                .and_then(|lb| lb.ingress.as_ref())
                .into_iter()
                .flatten()
                .filter_map(|i| i.ip.clone().filter(|ip| !ip.is_empty()))
                .collect();
            let v = if ips.is_empty() {
                s(spec.load_balancer_ip.as_ref())
            } else {
                ips.join(",")
            };
            set(&mut t, format!("{P}service_loadbalancer_ip"), v);
        }
        tg.targets.push(t);
    }
    tg
}
