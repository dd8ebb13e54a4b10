//! Which container a cgroup is, from its path (kubelet pod slices, containerd, CRI-O, Docker,
//! systemd), and its name, image, pod, namespace and container from the runtime's own files
//! (the OCI bundle's `config.json` annotations of containerd and CRI-O, Docker's
//! `config.v2.json`), as cAdvisor's container handlers and kubelet's labeller give them.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The runtime that made a container cgroup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    /// containerd (`cri-containerd-<id>.scope`).
    Containerd,
    /// CRI-O (`crio-<id>.scope`).
    Crio,
    /// Docker (`docker-<id>.scope`, `/docker/<id>`).
    Docker,
    /// A bare container id under a kubepods pod directory (cgroupfs driver).
    Unknown,
}

/// What the path of a container cgroup says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRef {
    /// The runtime.
    pub runtime: Runtime,
    /// The container id (64 hex digits).
    pub id: String,
    /// The pod's UID when under a kubepods slice (dashes restored).
    pub pod_uid: Option<String>,
}

fn is_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The container a cgroup path names, if its last part is one.
#[must_use]
pub fn parse_path(path: &str) -> Option<ContainerRef> {
    let mut parts = path.split('/').filter(|p| !p.is_empty());
    let last = parts.next_back()?;
    let parent = parts.next_back();
    let pod_uid = path.split('/').find_map(pod_uid);
    let scoped = |prefix: &str| {
        last.strip_prefix(prefix)
            .and_then(|r| r.strip_suffix(".scope"))
            .filter(|id| is_id(id))
            .map(str::to_owned)
    };
    let (runtime, id) = if let Some(id) = scoped("cri-containerd-") {
        (Runtime::Containerd, id)
    } else if let Some(id) = scoped("crio-") {
        (Runtime::Crio, id)
    } else if let Some(id) = scoped("docker-") {
        (Runtime::Docker, id)
    } else if is_id(last) && parent == Some("docker") {
        (Runtime::Docker, last.to_owned())
    } else if is_id(last) && pod_uid.is_some() {
        (Runtime::Unknown, last.to_owned())
    } else {
        return None;
    };
    Some(ContainerRef {
        runtime,
        id,
        pod_uid,
    })
}

/// `kubepods-burstable-pod<uid>.slice` (systemd, `_` for `-`) or `pod<uid>` (cgroupfs).
fn pod_uid(part: &str) -> Option<String> {
    let rest = part.strip_suffix(".slice").unwrap_or(part);
    let at = rest.rfind("pod")?;
    if at > 0 && !rest[..at].ends_with('-') {
        return None;
    }
    let uid = rest[at + 3..].replace('_', "-");
    (uid.len() == 36 && uid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')).then_some(uid)
}

/// The labels cAdvisor (through kubelet) puts on a container's series besides `id`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    /// `name`: Docker's container name, else the container id.
    pub name: String,
    /// `image`.
    pub image: String,
    /// `namespace` (Kubernetes).
    pub namespace: String,
    /// `pod`.
    pub pod: String,
    /// `container`.
    pub container: String,
}

/// Where the runtimes keep their per-container files, under a root (`/` live).
#[derive(Debug, Clone)]
pub struct RuntimeFiles {
    root: PathBuf,
}

impl RuntimeFiles {
    /// The runtimes' files under `root`.
    #[must_use]
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The labels of a container: from its runtime's files where readable, else the id alone.
    #[must_use]
    pub fn meta(&self, c: &ContainerRef) -> Meta {
        let found = match c.runtime {
            Runtime::Containerd => self.containerd(&c.id),
            Runtime::Crio => self.crio(&c.id),
            Runtime::Docker => self.docker(&c.id),
            Runtime::Unknown => self
                .containerd(&c.id)
                .or_else(|| self.crio(&c.id))
                .or_else(|| self.docker(&c.id)),
        };
        found.unwrap_or_else(|| Meta {
            name: c.id.clone(),
            ..Meta::default()
        })
    }

    fn read_json(&self, rel: &Path) -> Option<Value> {
        let text = std::fs::read_to_string(self.root.join(rel)).ok()?;
        serde_json::from_str(&text).ok()
    }

    fn containerd(&self, id: &str) -> Option<Meta> {
        let base = Path::new("run/containerd/io.containerd.runtime.v2.task");
        let v = ["k8s.io", "moby", "default"]
            .iter()
            .find_map(|ns| self.read_json(&base.join(ns).join(id).join("config.json")))?;
        Some(annotated(
            id,
            &v["annotations"],
            [
                "io.kubernetes.cri.image-name",
                "io.kubernetes.cri.sandbox-namespace",
                "io.kubernetes.cri.sandbox-name",
                "io.kubernetes.cri.container-name",
            ],
        ))
    }

    fn crio(&self, id: &str) -> Option<Meta> {
        let rel = Path::new("run/containers/storage/overlay-containers")
            .join(id)
            .join("userdata/config.json");
        let v = self.read_json(&rel)?;
        Some(annotated(
            id,
            &v["annotations"],
            [
                "io.kubernetes.cri-o.ImageName",
                "io.kubernetes.pod.namespace",
                "io.kubernetes.pod.name",
                "io.kubernetes.container.name",
            ],
        ))
    }

    fn docker(&self, id: &str) -> Option<Meta> {
        let rel = Path::new("var/lib/docker/containers")
            .join(id)
            .join("config.v2.json");
        let v = self.read_json(&rel)?;
        let labels = &v["Config"]["Labels"];
        let s = |k: &str| labels[k].as_str().unwrap_or("").to_owned();
        Some(Meta {
            name: v["Name"]
                .as_str()
                .unwrap_or(id)
                .trim_start_matches('/')
                .to_owned(),
            image: v["Config"]["Image"].as_str().unwrap_or("").to_owned(),
            namespace: s("io.kubernetes.pod.namespace"),
            pod: s("io.kubernetes.pod.name"),
            container: s("io.kubernetes.container.name"),
        })
    }
}

/// A container's labels from its OCI annotations: the keys of image, namespace, pod and
/// container, in that order.
fn annotated(id: &str, annotations: &Value, keys: [&str; 4]) -> Meta {
    let [image, namespace, pod, container] =
        keys.map(|k| annotations[k].as_str().unwrap_or("").to_owned());
    Meta {
        name: id.to_owned(),
        image,
        namespace,
        pod,
        container,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const UID: &str = "6910effd-ea14-4f76-a7de-53c333338acb";

    #[test]
    fn paths() {
        let uid_ = UID.replace('-', "_");
        type Case = (String, Option<(Runtime, Option<&'static str>)>);
        let cases: Vec<Case> = vec![
            (
                format!(
                    "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{uid_}.slice/cri-containerd-{ID}.scope"
                ),
                Some((Runtime::Containerd, Some(UID))),
            ),
            (
                format!("/kubepods.slice/kubepods-pod{uid_}.slice/crio-{ID}.scope"),
                Some((Runtime::Crio, Some(UID))),
            ),
            (
                format!("/kubepods/besteffort/pod{UID}/{ID}"),
                Some((Runtime::Unknown, Some(UID))),
            ),
            (
                format!("/system.slice/docker-{ID}.scope"),
                Some((Runtime::Docker, None)),
            ),
            (format!("/docker/{ID}"), Some((Runtime::Docker, None))),
            ("/system.slice/ssh.service".into(), None),
            (format!("/kubepods.slice/kubepods-pod{uid_}.slice"), None),
            ("/".into(), None),
            ("/system.slice/docker-abc.scope".into(), None),
        ];
        for (path, want) in cases {
            let got = parse_path(&path).map(|c| {
                assert_eq!(c.id, ID, "{path}");
                (c.runtime, c.pod_uid)
            });
            assert_eq!(got, want.map(|(r, u)| (r, u.map(str::to_owned))), "{path}");
        }
    }
}
