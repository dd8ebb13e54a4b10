//! Live, on this machine: a real overlay mount shaped like a containerd task's root
//! filesystem (`/run/containerd/io.containerd.runtime.v2.task/k8s.io/<id>/rootfs`, its upper
//! directory where the snapshotter would keep it), made in a private mount namespace
//! (`unshare --mount`, with a tmpfs over `/run` there, so nothing of the host's `/run` is
//! touched and the mounts vanish with the process). The test binary runs itself in that
//! namespace; there the kernel's own mountinfo line leads to the upper directory, the
//! machine's real filesystems give its device and limit, and the usage is checked against
//! GNU `du` after writing, overwriting (copy-up) and deleting (whiteout) through the mount.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use firewatch_container_exporter::fs::machine;
use firewatch_container_exporter::layer::{Layers, UsageCache, fs_stats};
use firewatch_container_exporter::runtime::{ContainerRef, Runtime};

const ID: &str = "1a2b3c4d5e6f1a2b3c4d5e6f1a2b3c4d5e6f1a2b3c4d5e6f1a2b3c4d5e6f7788";
const CHILD: &str = "FIREWATCH_LIVE_OVERLAY_DIR";

fn run(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd).args(args).output().expect(cmd);
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn du(dir: &Path, flag: &str) -> u64 {
    let out = Command::new("du")
        .args(["-sx", flag])
        .arg(dir)
        .output()
        .expect("du");
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn containerd_overlay_rootfs_live() {
    if let Some(base) = std::env::var_os(CHILD) {
        in_namespace(&PathBuf::from(base));
        return;
    }
    let base = tempfile::tempdir().unwrap();
    for d in ["lower/etc", "upper", "work"] {
        fs::create_dir_all(base.path().join(d)).unwrap();
    }
    fs::write(base.path().join("lower/etc/os-release"), "ID=test\n").unwrap();
    fs::write(base.path().join("lower/etc/motd"), "x".repeat(30_000)).unwrap();
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "--"])
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "containerd_overlay_rootfs_live",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, base.path())
        .output()
        .expect("unshare");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "child in a mount namespace:\n{text}");
    assert!(text.contains("1 passed"), "{text}");
    // What the child wrote through the mount is in the upper directory, which outlives it.
    assert!(base.path().join("upper/app/data.bin").is_file());
}

/// In the private mount namespace: mount, write through the mount, find and measure the layer.
fn in_namespace(base: &Path) {
    run("mount", &["--make-rprivate", "/"]);
    run("mount", &["-t", "tmpfs", "tmpfs", "/run"]);
    let target = format!("/run/containerd/io.containerd.runtime.v2.task/k8s.io/{ID}/rootfs");
    fs::create_dir_all(&target).unwrap();
    let (lower, upper, work) = (base.join("lower"), base.join("upper"), base.join("work"));
    let options = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.display(),
        upper.display(),
        work.display()
    );
    run(
        "mount",
        &["-t", "overlay", "overlay", "-o", &options, &target],
    );
    let merged = Path::new(&target);
    fs::create_dir_all(merged.join("app")).unwrap();
    fs::write(merged.join("app/data.bin"), vec![7u8; 123_456]).unwrap();
    fs::write(merged.join("etc/os-release"), "ID=changed\n").unwrap(); // copy-up
    fs::remove_file(merged.join("etc/motd")).unwrap(); // a whiteout in upper
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let layers = Layers {
        rootfs: Path::new("/"),
        mountinfo: &mountinfo,
    };
    let c = ContainerRef {
        runtime: Runtime::Containerd,
        id: ID.to_owned(),
        pod_uid: None,
    };
    let layer = layers
        .find(&c)
        .expect("the task's rootfs overlay in mountinfo");
    assert_eq!(layer.root, upper, "{mountinfo}");
    assert_eq!(layer.extra, None);
    // The machine's filesystems as the exporter reads them (the host's, through /proc/1).
    let filesystems = machine(Path::new("/proc"), Path::new("/"));
    let dev = fs::metadata(&upper).unwrap().dev();
    let holding = filesystems
        .iter()
        .find(|f| {
            (f.major, f.minor)
                == (
                    u64::from(rustix::fs::major(dev)),
                    u64::from(rustix::fs::minor(dev)),
                )
        })
        .expect("the upper directory's filesystem among the machine's");
    let st = fs_stats(&layer, &filesystems, &UsageCache::default()).expect("layer stats");
    assert_eq!(st.device, holding.device);
    assert_eq!(st.limit, holding.limit);
    assert_eq!(st.usage, du(&upper, "--block-size=1"));
    assert_eq!(st.inodes, du(&upper, "--inodes"));
    assert!(st.usage >= 123_456, "{st:?}");
    // upper, app, app/data.bin, etc, etc/os-release, etc/motd (whiteout).
    assert_eq!(st.inodes, 6, "{st:?}");
    assert_eq!(st.inodes_free, 0);
}
