//! PersistentVolumeClaim and PersistentVolume families as kube-state-metrics writes them
//! (`internal/store/persistentvolumeclaim.go`, `persistentvolume.go`,
//! `docs/metrics/storage/*.md`).

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, PersistentVolumeSpec};

use crate::quantity;
use crate::table::{Gauge, Kind, Sample, Series, deleted, one, phases, typed_conditions};

/// The storage class annotation that takes precedence over `spec.storageClassName`.
const BETA_CLASS: &str = "volume.beta.kubernetes.io/storage-class";

fn access_modes(modes: Option<&Vec<String>>) -> Vec<Sample> {
    modes
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .flat_map(|m| one(&[("access_mode", m.as_str())], 1.0))
        .collect()
}

fn claim_class(c: &PersistentVolumeClaim) -> String {
    if let Some(class) = c
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(BETA_CLASS))
    {
        return class.clone();
    }
    c.spec
        .as_ref()
        .and_then(|s| s.storage_class_name.clone())
        .unwrap_or_default()
}

/// The PersistentVolumeClaim families.
pub const CLAIM: Kind<PersistentVolumeClaim> = Kind {
    label: "persistentvolumeclaim",
    created: "kube_persistentvolumeclaim_created",
    created_stable: false,
    owner: None,
    uid: false,
    gauges: &[
        Gauge {
            name: "kube_persistentvolumeclaim_deletion_timestamp",
            help: "Unix deletion timestamp",
            value: |o| deleted(o),
        },
        Gauge {
            name: "kube_persistentvolumeclaim_resource_requests_storage_bytes",
            help: "[STABLE] The capacity of storage requested by the persistent volume claim.",
            value: |c| {
                let req = c.spec.as_ref().and_then(|s| s.resources.as_ref());
                let storage = req.and_then(|r| r.requests.as_ref()?.get("storage"));
                storage.and_then(|q| quantity::parse(&q.0))
            },
        },
    ],
    series: &[
        Series {
            name: "kube_persistentvolumeclaim_status_condition",
            help: "Information about status of different conditions of persistent volume claim.",
            series: |p| {
                let cs = p.status.as_ref().and_then(|s| s.conditions.as_deref());
                typed_conditions(
                    cs.unwrap_or_default()
                        .iter()
                        .map(|c| (c.type_.as_str(), c.status.as_str())),
                )
            },
        },
        Series {
            name: "kube_persistentvolumeclaim_info",
            help: "[STABLE] Information about persistent volume claim.",
            series: |c| {
                let spec = c.spec.clone().unwrap_or_default();
                one(
                    &[
                        ("storageclass", claim_class(c).as_str()),
                        ("volumename", spec.volume_name.as_deref().unwrap_or("")),
                        ("volumemode", spec.volume_mode.as_deref().unwrap_or("")),
                    ],
                    1.0,
                )
            },
        },
        Series {
            name: "kube_persistentvolumeclaim_status_phase",
            help: "[STABLE] The phase the persistent volume claim is currently in.",
            series: |c| {
                let phase = c.status.as_ref().and_then(|s| s.phase.as_deref());
                phases(phase, &["Lost", "Bound", "Pending"])
            },
        },
        Series {
            name: "kube_persistentvolumeclaim_access_mode",
            help: "[STABLE] The access mode(s) specified by the persistent volume claim.",
            series: |c| access_modes(c.spec.as_ref().and_then(|s| s.access_modes.as_ref())),
        },
    ],
};

/// The volume source labels of `kube_persistentvolume_info`, empty but for the source in use.
fn source_labels(s: &PersistentVolumeSpec) -> Vec<(&'static str, String)> {
    let mut l: Vec<(&'static str, String)> = [
        "gce_persistent_disk_name",
        "ebs_volume_id",
        "azure_disk_name",
        "fc_wwids",
        "fc_lun",
        "fc_target_wwns",
        "iscsi_target_portal",
        "iscsi_iqn",
        "iscsi_lun",
        "iscsi_initiator_name",
        "nfs_server",
        "nfs_path",
        "csi_driver",
        "csi_volume_handle",
        "local_path",
        "local_fs",
        "host_path",
        "host_path_type",
    ]
    .into_iter()
    .map(|k| (k, String::new()))
    .collect();
    let mut set = |k: &str, v: String| {
        if let Some(e) = l.iter_mut().find(|e| e.0 == k) {
            e.1 = v;
        }
    };
    if let Some(g) = &s.gce_persistent_disk {
        set("gce_persistent_disk_name", g.pd_name.clone());
    } else if let Some(e) = &s.aws_elastic_block_store {
        set("ebs_volume_id", e.volume_id.clone());
    } else if let Some(a) = &s.azure_disk {
        set("azure_disk_name", a.disk_name.clone());
    } else if let Some(fc) = &s.fc {
        set("fc_lun", fc.lun.map(|v| v.to_string()).unwrap_or_default());
        set(
            "fc_target_wwns",
            fc.target_wwns.clone().unwrap_or_default().join(","),
        );
        set("fc_wwids", fc.wwids.clone().unwrap_or_default().join(","));
    } else if let Some(i) = &s.iscsi {
        set("iscsi_target_portal", i.target_portal.clone());
        set("iscsi_iqn", i.iqn.clone());
        set("iscsi_lun", i.lun.to_string());
        set(
            "iscsi_initiator_name",
            i.initiator_name.clone().unwrap_or_default(),
        );
    } else if let Some(n) = &s.nfs {
        set("nfs_server", n.server.clone());
        set("nfs_path", n.path.clone());
    } else if let Some(c) = &s.csi {
        set("csi_driver", c.driver.clone());
        set("csi_volume_handle", c.volume_handle.clone());
    } else if let Some(lo) = &s.local {
        set("local_path", lo.path.clone());
        set("local_fs", lo.fs_type.clone().unwrap_or_default());
    } else if let Some(h) = &s.host_path {
        set("host_path", h.path.clone());
        set("host_path_type", h.type_.clone().unwrap_or_default());
    }
    l
}

/// The PersistentVolume families.
pub const VOLUME: Kind<PersistentVolume> = Kind {
    label: "persistentvolume",
    created: "kube_persistentvolume_created",
    created_stable: false,
    owner: None,
    uid: false,
    gauges: &[
        Gauge {
            name: "kube_persistentvolume_deletion_timestamp",
            help: "Unix deletion timestamp",
            value: |o| deleted(o),
        },
        Gauge {
            name: "kube_persistentvolume_capacity_bytes",
            help: "[STABLE] Persistentvolume capacity in bytes.",
            value: |v| {
                let cap = v.spec.as_ref().and_then(|s| s.capacity.as_ref());
                Some(
                    cap.and_then(|c| c.get("storage"))
                        .and_then(|q| quantity::parse(&q.0))
                        .unwrap_or(0.0),
                )
            },
        },
    ],
    series: &[
        Series {
            name: "kube_persistentvolume_claim_ref",
            help: "[STABLE] Information about the Persistent Volume Claim Reference.",
            series: |v| {
                let Some(r) = v.spec.as_ref().and_then(|s| s.claim_ref.as_ref()) else {
                    return Vec::new();
                };
                let name = r.name.clone().unwrap_or_default();
                let namespace = r.namespace.clone().unwrap_or_default();
                vec![(vec![("name", name), ("claim_namespace", namespace)], 1.0)]
            },
        },
        Series {
            name: "kube_persistentvolume_status_phase",
            help: "[STABLE] The phase indicates if a volume is available, bound to a claim, or released by a claim.",
            series: |v| {
                let phase = v.status.as_ref().and_then(|s| s.phase.as_deref());
                phases(
                    phase,
                    &["Pending", "Available", "Bound", "Released", "Failed"],
                )
            },
        },
        Series {
            name: "kube_persistentvolume_info",
            help: "[STABLE] Information about persistentvolume.",
            series: |v| {
                let spec = v.spec.clone().unwrap_or_default();
                let mut l = vec![(
                    "storageclass",
                    spec.storage_class_name.clone().unwrap_or_default(),
                )];
                l.extend(source_labels(&spec));
                l.push((
                    "reclaim_policy",
                    spec.persistent_volume_reclaim_policy.unwrap_or_default(),
                ));
                vec![(l, 1.0)]
            },
        },
        Series {
            name: "kube_persistentvolume_volume_mode",
            help: "Volume Mode information for the PersistentVolume.",
            series: |v| {
                // Filesystem is the mode when none is set.
                let mode = v.spec.as_ref().and_then(|s| s.volume_mode.as_deref());
                one(&[("volumemode", mode.unwrap_or("Filesystem"))], 1.0)
            },
        },
        Series {
            name: "kube_persistentvolume_access_mode",
            help: "The access mode(s) specified by the persistent volume.",
            series: |v| access_modes(v.spec.as_ref().and_then(|s| s.access_modes.as_ref())),
        },
    ],
};
