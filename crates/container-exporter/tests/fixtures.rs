//! Fixture cgroup trees (v2 with kubelet/containerd, Docker and systemd cgroups; v1 with a
//! Docker container) built in a temporary directory, and the exact exposition expected from
//! them; then the live cgroups of this machine.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use firewatch_container_exporter::Options;
use firewatch_container_exporter::families::collect;
use model::exposition::{Format, encode};

const CID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const DID: &str = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
const POD: &str = "kubepods-burstable-pod6910effd_ea14_4f76_a7de_53c333338acb.slice";

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

const NET_DEV: &str = "Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0
  eth0:    2000      20    1    2    0     0          0         0     3000      30    3    4    0     0       0          0
";

fn procfs(root: &Path, pid: u32, ns: &str) {
    write(root, &format!("proc/{pid}/net/dev"), NET_DEV);
    fs::create_dir_all(root.join(format!("proc/{pid}/ns"))).unwrap();
    symlink(ns, root.join(format!("proc/{pid}/ns/net"))).unwrap();
}

/// Collects from `root/cgroup`, `root/proc`, `root/` and drops the creation times (checked to
/// be recent instead: they are the fixture directories' ctimes).
fn exposition(root: &Path) -> String {
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
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let mut kept = String::new();
    for line in text.lines() {
        if let Some(masked) = check_statfs(root, line) {
            kept.push_str(&masked);
            kept.push('\n');
        } else if line.starts_with("container_start_time_seconds{")
            || line.starts_with("container_creation_time_seconds{")
        {
            let v: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
            assert!(
                (now - v).abs() < 600.0,
                "creation time {v} vs now {now}: {line}"
            );
        } else {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    kept
}

/// The root cgroup's filesystem size and inode lines: their values come from `statfs` of the
/// fixture directory (a real filesystem others write to), so they are compared with
/// `stat --file-system` here (sizes exactly, usage and free inodes within 10%) and written as
/// `STATFS` for the line-by-line comparison.
fn check_statfs(root: &Path, line: &str) -> Option<String> {
    let (series, value) = line.rsplit_once(' ')?;
    let family = [
        "container_fs_inodes_free",
        "container_fs_inodes_total",
        "container_fs_limit_bytes",
        "container_fs_usage_bytes",
    ]
    .into_iter()
    .find(|f| series.starts_with(&format!("{f}{{")))?;
    let out = std::process::Command::new("stat")
        .args(["--file-system", "--format=%S %b %f %c %d"])
        .arg(root)
        .output()
        .expect("stat");
    let n: Vec<f64> = String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    let (frsize, blocks, bfree, files, ffree) = (n[0], n[1], n[2], n[3], n[4]);
    let got: f64 = value.parse().unwrap();
    let (want, exact, scale) = match family {
        "container_fs_limit_bytes" => (frsize * blocks, true, 1.0),
        "container_fs_inodes_total" => (files, true, 1.0),
        "container_fs_usage_bytes" => (frsize * (blocks - bfree), false, frsize * blocks),
        _ => (ffree, false, files),
    };
    if exact {
        assert!((got - want).abs() < 0.5, "{line}: statfs says {want}");
    } else {
        assert!(
            (got - want).abs() <= 0.1 * scale,
            "{line}: statfs says {want}"
        );
    }
    Some(format!("{series} STATFS"))
}

fn assert_lines(got: &str, want: &str) {
    if std::env::var_os("DUMP").is_some() {
        eprintln!("=====\n{got}=====");
    }
    let want = want
        .replace("{CID}", CID)
        .replace("{DID}", DID)
        .replace("{POD}", POD);
    for (i, (g, w)) in got.lines().zip(want.lines()).enumerate() {
        assert_eq!(g, w, "line {}", i + 1);
    }
    assert_eq!(got.lines().count(), want.lines().count(), "{got}");
}

#[test]
fn cgroup_v2_kubelet_docker_systemd() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let cg = "cgroup";
    write(
        root,
        &format!("{cg}/cgroup.controllers"),
        "cpu memory pids\n",
    );
    write(root, &format!("{cg}/cgroup.procs"), "1\n");
    write(
        root,
        &format!("{cg}/cpu.stat"),
        "usage_usec 5000000\nuser_usec 3000000\nsystem_usec 2000000\n",
    );
    procfs(root, 1, "net:[4026531840]");
    // The machine's filesystems (cAdvisor reports them on the root cgroup): the root on vda
    // (with its diskstats line), a tmpfs, a mount point that is gone, and a proc mount (not a
    // filesystem cAdvisor handles). Devices: vda is a disk, loop0 is not named from sysfs.
    write(
        root,
        "proc/1/mountinfo",
        "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n\
         28 27 254:0 /x /srv rw,relatime - ext4 /dev/vda rw\n\
         25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw\n\
         26 27 8:33 / /gone rw,relatime - xfs /dev/sdc1 rw\n\
         22 27 0:21 / /proc rw,relatime - proc proc rw\n",
    );
    fs::create_dir_all(root.join("dev/shm")).unwrap();
    write(
        root,
        "proc/diskstats",
        " 254       0 vda 100 5 2000 300 400 6 8000 900 1 1000 1500 0 0 0 0\n\
           7       0 loop0 1 2 3 4 5 6 7 8 9 10 11\n",
    );
    write(root, "sys/block/vda/dev", "254:0\n");
    write(root, "sys/block/loop0/dev", "7:0\n");
    // A containerd container of a burstable pod, with its OCI bundle's annotations.
    let c =
        format!("{cg}/kubepods.slice/kubepods-burstable.slice/{POD}/cri-containerd-{CID}.scope");
    write(
        root,
        &format!("{c}/cpu.stat"),
        "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\nnr_periods 10\nnr_throttled 2\nthrottled_usec 1500000\nnr_bursts 3\nburst_usec 250000\n",
    );
    write(root, &format!("{c}/cpu.max"), "50000 100000\n");
    write(root, &format!("{c}/cpu.weight"), "39\n");
    write(root, &format!("{c}/memory.current"), "104857600\n");
    write(root, &format!("{c}/memory.max"), "268435456\n");
    write(root, &format!("{c}/memory.swap.max"), "max\n");
    write(root, &format!("{c}/memory.min"), "67108864\n");
    write(root, &format!("{c}/memory.peak"), "209715200\n");
    write(
        root,
        &format!("{c}/memory.stat"),
        "anon 52428800\nfile 20971520\ninactive_file 10485760\npgfault 1000\npgmajfault 7\n",
    );
    write(
        root,
        &format!("{c}/memory.events"),
        "low 0\nhigh 0\nmax 3\noom 2\noom_kill 2\n",
    );
    write(
        root,
        &format!("{c}/io.stat"),
        "254:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0 cost.usage=1500000 cost.wait=20 cost.indebt=0 cost.indelay=0\n\
         7:0 rbytes=512 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n\
         bad line\n",
    );
    write(root, &format!("{c}/memory.swap.current"), "4096\n");
    write(root, &format!("{c}/pids.current"), "5\n");
    write(root, &format!("{c}/cgroup.procs"), "4242\n4243\n");
    procfs(root, 4242, "net:[4026532000]");
    write(
        root,
        &format!("run/containerd/io.containerd.runtime.v2.task/k8s.io/{CID}/config.json"),
        r#"{"annotations":{"io.kubernetes.cri.container-name":"webserver","io.kubernetes.cri.sandbox-name":"web-0","io.kubernetes.cri.sandbox-namespace":"shop","io.kubernetes.cri.image-name":"docker.io/library/nginx:1.27"}}"#,
    );
    // A Docker container without limits (`max`), missing memory.stat and cpu.weight, sharing
    // the host's network namespace (no network series).
    let d = format!("{cg}/system.slice/docker-{DID}.scope");
    write(root, &format!("{d}/cpu.max"), "max 100000\n");
    write(root, &format!("{d}/memory.current"), "1048576\n");
    write(root, &format!("{d}/memory.max"), "max\n");
    write(root, &format!("{d}/cgroup.procs"), "77\n");
    write(root, &format!("{d}/cgroup.threads"), "77\n78\n79\n");
    procfs(root, 77, "net:[4026531840]");
    write(
        root,
        &format!("var/lib/docker/containers/{DID}/config.v2.json"),
        r#"{"Name":"/web","Config":{"Image":"nginx:1.27","Labels":{}}}"#,
    );
    // A systemd service with a malformed cpu.stat: the bad line is left out.
    write(
        root,
        &format!("{cg}/system.slice/ssh.service/cpu.stat"),
        "usage_usec abc\nuser_usec 1000\n",
    );
    let got = exposition(root);
    assert_lines(&got, include_str!("v2.txt"));
}

#[test]
fn cgroup_v1_docker() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let c = format!("docker/{CID}");
    write(root, "cgroup/cpuacct/cpuacct.usage", "9000000000\n");
    write(root, "cgroup/cpuacct/cgroup.procs", "1\n");
    write(
        root,
        &format!("cgroup/cpuacct/{c}/cpuacct.usage"),
        "2000000000\n",
    );
    write(
        root,
        &format!("cgroup/cpuacct/{c}/cpuacct.stat"),
        "user 150\nsystem 50\n",
    );
    write(
        root,
        &format!("cgroup/cpu/{c}/cpu.stat"),
        "nr_periods 40\nnr_throttled 4\nthrottled_time 250000000\nnr_bursts 1\nburst_time 5000000\n",
    );
    write(
        root,
        &format!("cgroup/cpu/{c}/cpu.cfs_period_us"),
        "100000\n",
    );
    write(root, &format!("cgroup/cpu/{c}/cpu.cfs_quota_us"), "20000\n");
    write(root, &format!("cgroup/cpu/{c}/cpu.shares"), "512\n");
    write(root, &format!("cgroup/cpu/{c}/cgroup.procs"), "300\n");
    write(root, &format!("cgroup/cpu/{c}/tasks"), "300\n301\n");
    write(
        root,
        &format!("cgroup/memory/{c}/memory.usage_in_bytes"),
        "8388608\n",
    );
    write(
        root,
        &format!("cgroup/memory/{c}/memory.limit_in_bytes"),
        "9223372036854771712\n",
    );
    write(
        root,
        &format!("cgroup/memory/{c}/memory.memsw.usage_in_bytes"),
        "9437184\n",
    );
    write(root, &format!("cgroup/memory/{c}/memory.failcnt"), "2\n");
    write(
        root,
        &format!("cgroup/memory/{c}/memory.memsw.limit_in_bytes"),
        "1073741824\n",
    );
    write(
        root,
        &format!("cgroup/memory/{c}/memory.soft_limit_in_bytes"),
        "9223372036854771712\n",
    );
    write(
        root,
        &format!("cgroup/memory/{c}/memory.max_usage_in_bytes"),
        "10485760\n",
    );
    write(
        root,
        &format!("cgroup/memory/{c}/memory.stat"),
        "rss 1\ncache 2\npgfault 10\npgmajfault 1\ntotal_rss 4194304\ntotal_cache 2097152\ntotal_inactive_file 1048576\ntotal_pgfault 20\ntotal_pgmajfault 3\n",
    );
    write(
        root,
        &format!("cgroup/memory/{c}/memory.oom_control"),
        "oom_kill_disable 0\nunder_oom 0\noom_kill 4\n",
    );
    // The container's I/O from the throttle files (no BFQ or CFQ files for it); the root's
    // from the CFQ files (sectors and the service time have no operation, so cAdvisor reads
    // 0 for their Read/Write; time and wait time are not exported).
    let b = format!("cgroup/blkio/{c}");
    write(
        root,
        &format!("{b}/blkio.throttle.io_service_bytes_recursive"),
        "8:0 Read 1024\n8:0 Write 2048\n8:0 Sync 3072\n8:0 Async 0\n8:0 Discard 0\n8:0 Total 3072\nTotal 3072\n",
    );
    write(
        root,
        &format!("{b}/blkio.throttle.io_serviced_recursive"),
        "8:0 Read 3\n8:0 Write 4\n8:0 Total 7\nTotal 7\n",
    );
    write(
        root,
        &format!("{b}/blkio.throttle.io_serviced"),
        "Total 0\n",
    );
    write(root, "cgroup/blkio/blkio.sectors_recursive", "8:0 500\n");
    write(
        root,
        "cgroup/blkio/blkio.io_service_time_recursive",
        "8:0 Read 2000000000\n8:0 Write 1000000000\n8:0 Total 3000000000\nTotal 3000000000\n",
    );
    write(
        root,
        "cgroup/blkio/blkio.io_wait_time_recursive",
        "8:0 Read 1\n",
    );
    write(
        root,
        "cgroup/blkio/blkio.io_merged_recursive",
        "8:0 Read 6\n8:0 Write 7\n8:0 Total 13\n",
    );
    write(
        root,
        "cgroup/blkio/blkio.io_queued_recursive",
        "8:0 Total 2\n",
    );
    write(root, "cgroup/blkio/blkio.time_recursive", "8:0 99\n");
    write(
        root,
        "cgroup/blkio/blkio.io_serviced_recursive",
        "8:0 Read 30\n8:0 Write 40\n",
    );
    write(
        root,
        "cgroup/blkio/blkio.io_service_bytes_recursive",
        "8:0 Read 30000\n8:0 Write 40000\n",
    );
    write(root, "sys/block/sda/dev", "8:0\n");
    procfs(root, 1, "net:[1]");
    let got = exposition(root);
    assert_lines(&got, include_str!("v1.txt"));
}

/// This machine's own cgroups: the root's CPU, and the memory of the cgroup this test runs in.
#[test]
fn live_cgroups() {
    let opts = Options::default();
    let Ok(src) = opts.sources() else {
        panic!("no cgroup hierarchy under /sys/fs/cgroup on this machine");
    };
    let fams = collect(&src, 0.0);
    let find = |name: &str| {
        fams.iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    let value = |name: &str, id: &str| {
        find(name)
            .samples
            .iter()
            .find(|s| s.labels.get("id") == Some(id))
            .map(|s| s.value)
    };
    let root_cpu = value("container_cpu_usage_seconds_total", "/").expect("root cpu usage");
    assert!(root_cpu > 0.0, "root cpu {root_cpu}");
    // Our own cgroup in the memory hierarchy (v1 `N:memory:/path`, v2 `0::/path`).
    let own = fs::read_to_string("/proc/self/cgroup").unwrap();
    let path = own
        .lines()
        .find_map(|l| {
            let mut f = l.splitn(3, ':');
            let (_, ctl, p) = (f.next()?, f.next()?, f.next()?);
            (ctl == "memory" || (ctl.is_empty() && src_is_v2())).then(|| p.to_owned())
        })
        .expect("own memory cgroup");
    let usage = value("container_memory_usage_bytes", &path)
        .unwrap_or_else(|| panic!("memory usage of own cgroup {path}"));
    // At least this test process's own resident memory, at most the machine's.
    assert!(usage > 1_000_000.0 && usage < 1e13, "{path}: {usage}");
    let ws = value("container_memory_working_set_bytes", &path).expect("working set");
    assert!(ws <= usage, "working set {ws} > usage {usage}");
    let procs = value("container_processes", &path).expect("processes");
    assert!(procs >= 1.0, "{path}: {procs} processes");
    // The root cgroup carries the machine's filesystems: one of them is `/`, its size as
    // `stat --file-system /` gives it.
    let out = std::process::Command::new("stat")
        .args(["--file-system", "--format=%S %b", "/"])
        .output()
        .expect("stat");
    let n: Vec<f64> = String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    let root_size = n[0] * n[1];
    let limits: Vec<f64> = find("container_fs_limit_bytes")
        .samples
        .iter()
        .filter(|s| s.labels.get("id") == Some("/"))
        .map(|s| s.value)
        .collect();
    assert!(
        limits.contains(&root_size),
        "no root filesystem of {root_size} bytes in {limits:?}"
    );
    assert!(
        fams.iter().any(|f| f.name == "container_oom_events_total"),
        "container_oom_events_total missing"
    );
    let text = encode(&fams, Format::Text);
    assert!(text.contains("# TYPE container_cpu_usage_seconds_total counter\n"));
}

fn src_is_v2() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}
