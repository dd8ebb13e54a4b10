//! Containers' writable layers (`container_fs_*` per container) from fixture trees of the
//! three runtimes' on-disk layouts: Docker's overlay2 (`layerdb/mounts/<id>/mount-id`, the
//! layer's `diff`, the container directory), containerd's overlayfs snapshotter (the task's
//! `rootfs` overlay mount and its `upperdir` in mountinfo) and CRI-O (the bundle's
//! `root.path`, its log file). The expected usage and inode counts come from GNU `du` on the
//! same directories, the limit from `stat --file-system`; the fixture's mountinfo puts its
//! root on the temporary directory's real device, so the device lookup is the real one.

use std::fs;
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::Path;
use std::process::Command;

use firewatch_container_exporter::Options;
use firewatch_container_exporter::families::collect;
use firewatch_container_exporter::layer::{UsageCache, dir_usage};
use model::exposition::{Format, encode};

const DID: &str = "d0c4e40000000000000000000000000000000000000000000000000000000001";
const CID: &str = "c0a7a1d000000000000000000000000000000000000000000000000000000002";
const XID: &str = "c410000000000000000000000000000000000000000000000000000000000003";
const UID: &str = "6910effd_ea14_4f76_a7de_53c333338acb";

fn write(root: &Path, rel: &str, text: &str) {
    assert!(
        !rel.starts_with('/'),
        "{rel}: fixture paths are relative to the root"
    );
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

/// `len` bytes of text.
fn filler(len: usize) -> String {
    "0123456789abcdef\n".repeat(len / 17 + 1)[..len].to_owned()
}

/// A layer's files: a few sizes, a directory tree, a hard link pair (counted once), a
/// symbolic link (counted as itself) and an empty file.
fn layer_files(root: &Path, dir: &str, seed: usize) {
    assert!(
        !dir.starts_with('/'),
        "{dir}: fixture paths are relative to the root"
    );
    write(root, &format!("{dir}/etc/hosts"), &filler(200 + seed));
    write(
        root,
        &format!("{dir}/var/log/app.log"),
        &filler(9000 * seed),
    );
    write(root, &format!("{dir}/tmp/empty"), "");
    write(root, &format!("{dir}/data/big"), &filler(70_000 + seed));
    fs::hard_link(
        root.join(format!("{dir}/data/big")),
        root.join(format!("{dir}/data/big.link")),
    )
    .unwrap();
    symlink("/etc/hosts", root.join(format!("{dir}/hosts.link"))).unwrap();
}

/// `du -sx` of `dir`: bytes (`--block-size=1`) and inodes (`--inodes`).
fn du(dir: &Path) -> (u64, u64) {
    let run = |flag: &str| -> u64 {
        let out = Command::new("du")
            .args(["-sx", flag])
            .arg(dir)
            .output()
            .expect("du");
        assert!(out.status.success(), "du {}", dir.display());
        String::from_utf8(out.stdout)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    (run("--block-size=1"), run("--inodes"))
}

/// `stat --file-system`'s size of the filesystem holding `dir`.
fn capacity(dir: &Path) -> u64 {
    let out = Command::new("stat")
        .args(["--file-system", "--format=%S %b"])
        .arg(dir)
        .output()
        .expect("stat");
    let n: Vec<u64> = String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    n[0] * n[1]
}

fn cgroup(root: &Path, rel: &str, pid: u32) {
    write(
        root,
        &format!("cgroup/{rel}/cgroup.procs"),
        &format!("{pid}\n"),
    );
    write(root, &format!("cgroup/{rel}/memory.current"), "4096\n");
}

#[test]
#[allow(clippy::too_many_lines)]
fn docker_containerd_crio_writable_layers() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let dev = fs::metadata(root).unwrap().dev();
    let (major, minor) = (rustix::fs::major(dev), rustix::fs::minor(dev));
    write(root, "cgroup/cgroup.controllers", "cpu memory\n");
    write(root, "cgroup/cgroup.procs", "1\n");
    // The fixture root is the machine's `/`, on the temporary directory's real device.
    let snapshot = "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots";
    write(
        root,
        "proc/1/mountinfo",
        &format!(
            "30 1 {major}:{minor} / / rw,relatime - ext4 /dev/vdz rw\n\
             600 30 0:977 / /run/containerd/io.containerd.runtime.v2.task/k8s.io/{CID}/rootfs rw,relatime - overlay overlay rw,lowerdir={snapshot}/3/fs,upperdir={snapshot}/12/fs,workdir={snapshot}/12/work\n"
        ),
    );
    write(
        root,
        "proc/diskstats",
        &format!(" {major} {minor} vdz 100 5 2000 300 400 6 8000 900 1 1000 1500 0 0 0 0\n"),
    );
    // Docker (overlay2), outside Kubernetes.
    cgroup(root, &format!("system.slice/docker-{DID}.scope"), 11);
    write(
        root,
        &format!("var/lib/docker/image/overlay2/layerdb/mounts/{DID}/mount-id"),
        "9f8e7d6c5b4a\n",
    );
    layer_files(root, "var/lib/docker/overlay2/9f8e7d6c5b4a/diff", 1);
    write(
        root,
        &format!("var/lib/docker/containers/{DID}/config.v2.json"),
        r#"{"Name":"/web","Config":{"Image":"nginx:1.27","Labels":{}}}"#,
    );
    write(
        root,
        &format!("var/lib/docker/containers/{DID}/{DID}-json.log"),
        &filler(12_345),
    );
    // containerd (overlayfs snapshotter) in a pod.
    let pod = format!("kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID}.slice");
    cgroup(root, &format!("{pod}/cri-containerd-{CID}.scope"), 12);
    write(
        root,
        &format!("run/containerd/io.containerd.runtime.v2.task/k8s.io/{CID}/config.json"),
        r#"{"annotations":{"io.kubernetes.cri.container-name":"app","io.kubernetes.cri.sandbox-name":"web-0","io.kubernetes.cri.sandbox-namespace":"shop","io.kubernetes.cri.image-name":"docker.io/library/nginx:1.27"}}"#,
    );
    layer_files(
        root,
        &format!("{}/12/fs", snapshot.trim_start_matches('/')),
        2,
    );
    // CRI-O in the same pod.
    cgroup(root, &format!("{pod}/crio-{XID}.scope"), 13);
    let log = format!("/var/log/pods/shop_web-0_{UID}/sidecar/0.log");
    write(
        root,
        &format!("run/containers/storage/overlay-containers/{XID}/userdata/config.json"),
        &format!(
            r#"{{"root":{{"path":"/var/lib/containers/storage/overlay/4c3b2a/merged"}},"annotations":{{"io.kubernetes.container.name":"sidecar","io.kubernetes.pod.name":"web-0","io.kubernetes.pod.namespace":"shop","io.kubernetes.cri-o.ImageName":"quay.io/x/sidecar:2","io.kubernetes.cri-o.LogPath":"{log}"}}}}"#
        ),
    );
    layer_files(root, "var/lib/containers/storage/overlay/4c3b2a/diff", 3);
    write(root, log.trim_start_matches('/'), &filler(4321));

    let opts = Options {
        cgroup: root.join("cgroup"),
        procfs: root.join("proc"),
        rootfs: root.to_path_buf(),
        ..Options::default()
    };
    let text = encode(
        &collect(&opts.sources().unwrap(), 1_700_000_000.0),
        Format::Text,
    );
    if std::env::var_os("DUMP").is_some() {
        eprintln!("{text}");
    }
    let limit = capacity(root);
    let containers = [
        (
            format!("/system.slice/docker-{DID}.scope"),
            r#"container="",image="nginx:1.27",name="web",namespace="",pod="""#.to_owned(),
            "var/lib/docker/overlay2/9f8e7d6c5b4a/diff".to_owned(),
            Some(format!("var/lib/docker/containers/{DID}")),
        ),
        (
            format!("/{pod}/cri-containerd-{CID}.scope"),
            format!(
                r#"container="app",image="docker.io/library/nginx:1.27",name="{CID}",namespace="shop",pod="web-0""#
            ),
            format!("{}/12/fs", snapshot.trim_start_matches('/')),
            None,
        ),
        (
            format!("/{pod}/crio-{XID}.scope"),
            format!(
                r#"container="sidecar",image="quay.io/x/sidecar:2",name="{XID}",namespace="shop",pod="web-0""#
            ),
            "var/lib/containers/storage/overlay/4c3b2a/diff".to_owned(),
            Some(log.trim_start_matches('/').to_owned()),
        ),
    ];
    for (id, labels, layer, extra) in &containers {
        let (bytes, inodes) = du(&root.join(layer));
        let extra_bytes = extra.as_ref().map_or(0, |e| du(&root.join(e)).0);
        assert!(
            bytes > 70_000 && inodes >= 9,
            "{layer}: du {bytes} {inodes}"
        );
        // Our own walk agrees with du on the layer alone too.
        let ours = dir_usage(&root.join(layer)).unwrap();
        assert_eq!((ours.bytes, ours.inodes), (bytes, inodes), "{layer}");
        let (l, i) = (labels.as_str(), id.as_str());
        // The labels' order: the base labels sorted with `device`.
        let series = |family: &str| {
            let (before, after) = l.split_at(l.find("image=").unwrap());
            format!(r#"{family}{{{before}device="/dev/vdz",id="{i}",{after}}}"#)
        };
        for (family, want) in [
            ("container_fs_usage_bytes", bytes + extra_bytes),
            ("container_fs_limit_bytes", limit),
            ("container_fs_inodes_total", inodes),
            ("container_fs_inodes_free", 0),
            // The device's diskstats, as cAdvisor's `addDiskStats`.
            ("container_fs_reads_total", 100),
            ("container_fs_writes_total", 400),
        ] {
            let prefix = format!("{} ", series(family));
            #[allow(clippy::cast_precision_loss)]
            let found = text.lines().any(|x| {
                x.strip_prefix(&prefix)
                    .and_then(|v| v.parse::<f64>().ok())
                    .is_some_and(|v| v == want as f64)
            });
            let line = format!("{prefix}{want}");
            assert!(
                found,
                "missing {line} in\n{}",
                text.lines()
                    .filter(|x| x.contains(id.as_str()) && x.starts_with("container_fs_"))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
    // A cgroup that is no container (the root has the machine's filesystems; a service none).
    assert!(
        text.lines()
            .filter(|x| x.starts_with("container_fs_usage_bytes{"))
            .all(|x| x.contains("device=\"/dev/vdz\"")),
        "{text}"
    );
    assert_eq!(
        text.lines()
            .filter(|x| x.starts_with("container_fs_usage_bytes{"))
            .count(),
        4,
        "{text}"
    );
}

/// A layer that vanished, or is on a filesystem the machine does not report: no series.
#[test]
fn missing_layer_or_unknown_filesystem() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "cgroup/cgroup.controllers", "cpu memory\n");
    write(root, "cgroup/cgroup.procs", "1\n");
    write(
        root,
        "proc/1/mountinfo",
        "30 1 0:1 / / rw - ext4 /dev/elsewhere rw\n",
    );
    cgroup(root, &format!("system.slice/docker-{DID}.scope"), 11);
    write(
        root,
        &format!("var/lib/docker/image/overlay2/layerdb/mounts/{DID}/mount-id"),
        "abc\n",
    );
    layer_files(root, "var/lib/docker/overlay2/abc/diff", 1);
    // A CRI-O bundle whose layer is gone.
    cgroup(root, &format!("system.slice/crio-{XID}.scope"), 13);
    write(
        root,
        &format!("run/containers/storage/overlay-containers/{XID}/userdata/config.json"),
        r#"{"root":{"path":"/var/lib/containers/storage/overlay/gone/merged"}}"#,
    );
    let opts = Options {
        cgroup: root.join("cgroup"),
        procfs: root.join("proc"),
        rootfs: root.to_path_buf(),
        ..Options::default()
    };
    let text = encode(
        &collect(&opts.sources().unwrap(), 1_700_000_000.0),
        Format::Text,
    );
    assert!(
        text.contains(&format!(
            "container_memory_usage_bytes{{container=\"\",id=\"/system.slice/docker-{DID}.scope\""
        )),
        "{text}"
    );
    let fs_lines: Vec<&str> = text
        .lines()
        .filter(|x| x.starts_with("container_fs_usage_bytes{"))
        .collect();
    // The root cgroup's machine filesystem only.
    assert_eq!(fs_lines.len(), 1, "{text}");
    assert!(fs_lines[0].contains("id=\"/\""), "{text}");
}

/// The usage cache walks a directory once a period: a file added after the first walk is
/// not seen until then.
#[test]
fn usage_is_walked_once_a_period() {
    let dir = tempfile::tempdir().unwrap();
    layer_files(dir.path(), "l", 1);
    let cache = UsageCache::default();
    let first = cache.usage(&dir.path().join("l")).unwrap();
    write(dir.path(), "l/new", &filler(50_000));
    assert_eq!(cache.usage(&dir.path().join("l")).unwrap(), first);
    let fresh = dir_usage(&dir.path().join("l")).unwrap();
    assert_eq!(fresh.inodes, first.inodes + 1);
    assert!(fresh.bytes > first.bytes);
}
