//! cAdvisor's `container_fs_*` and `container_blkio_device_usage_total` families
//! (`metrics/prometheus.go`, its `DiskUsageMetrics` and `DiskIOMetrics` groups, `fsValues` and
//! `ioValues`): per-device series from the cgroup's I/O tables, followed by the filesystem
//! series of the root cgroup.

use model::exposition::MetricType::{self, Counter, Gauge};

use crate::blkio::{DiskIo, PerDisk};
use crate::families::Families;
use crate::fs::{DeviceNames, FsStats};

/// Nanoseconds per second: cAdvisor divides both the blkio service times (nanoseconds) and the
/// diskstats times (milliseconds, so its read/write/io time from diskstats is 10^6 too small)
/// by it; Firewatch does the same so that dashboards see the same numbers.
const NANOS: f64 = 1e9;

/// A filesystem's value for one of the usage families.
type FsValue = fn(&FsStats) -> u64;

/// Which table a per-device family reads.
type IoPick = fn(&DiskIo) -> &[PerDisk];

/// One `ioValues` family: per-device values from a table, then from each filesystem.
struct IoFamily {
    name: &'static str,
    help: &'static str,
    kind: MetricType,
    table: IoPick,
    op: &'static str,
    divisor: f64,
    fs: Option<fn(&FsStats) -> f64>,
}

#[allow(clippy::cast_precision_loss)]
fn io_families() -> [IoFamily; 16] {
    [
        IoFamily {
            name: "container_fs_reads_bytes_total",
            help: "Cumulative count of bytes read",
            kind: Counter,
            table: |d| &d.service_bytes,
            op: "Read",
            divisor: 1.0,
            fs: None,
        },
        IoFamily {
            name: "container_fs_reads_total",
            help: "Cumulative count of reads completed",
            kind: Counter,
            table: |d| &d.serviced,
            op: "Read",
            divisor: 1.0,
            fs: Some(|f| f.disk.reads_completed as f64),
        },
        IoFamily {
            name: "container_fs_sector_reads_total",
            help: "Cumulative count of sector reads completed",
            kind: Counter,
            table: |d| &d.sectors,
            op: "Read",
            divisor: 1.0,
            fs: Some(|f| f.disk.sectors_read as f64),
        },
        IoFamily {
            name: "container_fs_reads_merged_total",
            help: "Cumulative count of reads merged",
            kind: Counter,
            table: |d| &d.merged,
            op: "Read",
            divisor: 1.0,
            fs: Some(|f| f.disk.reads_merged as f64),
        },
        IoFamily {
            name: "container_fs_read_seconds_total",
            help: "Cumulative count of seconds spent reading",
            kind: Counter,
            table: |d| &d.service_time,
            op: "Read",
            divisor: NANOS,
            fs: Some(|f| f.disk.read_time as f64 / NANOS),
        },
        IoFamily {
            name: "container_fs_writes_bytes_total",
            help: "Cumulative count of bytes written",
            kind: Counter,
            table: |d| &d.service_bytes,
            op: "Write",
            divisor: 1.0,
            fs: None,
        },
        IoFamily {
            name: "container_fs_writes_total",
            help: "Cumulative count of writes completed",
            kind: Counter,
            table: |d| &d.serviced,
            op: "Write",
            divisor: 1.0,
            fs: Some(|f| f.disk.writes_completed as f64),
        },
        IoFamily {
            name: "container_fs_sector_writes_total",
            help: "Cumulative count of sector writes completed",
            kind: Counter,
            table: |d| &d.sectors,
            op: "Write",
            divisor: 1.0,
            fs: Some(|f| f.disk.sectors_written as f64),
        },
        IoFamily {
            name: "container_fs_writes_merged_total",
            help: "Cumulative count of writes merged",
            kind: Counter,
            table: |d| &d.merged,
            op: "Write",
            divisor: 1.0,
            fs: Some(|f| f.disk.writes_merged as f64),
        },
        IoFamily {
            name: "container_fs_write_seconds_total",
            help: "Cumulative count of seconds spent writing",
            kind: Counter,
            table: |d| &d.service_time,
            op: "Write",
            divisor: NANOS,
            fs: Some(|f| f.disk.write_time as f64 / NANOS),
        },
        IoFamily {
            name: "container_fs_io_current",
            help: "Number of I/Os currently in progress",
            kind: Gauge,
            table: |d| &d.queued,
            op: "Total",
            divisor: 1.0,
            fs: Some(|f| f.disk.io_in_progress as f64),
        },
        IoFamily {
            name: "container_fs_io_time_seconds_total",
            help: "Cumulative count of seconds spent doing I/Os",
            kind: Counter,
            table: |d| &d.service_time,
            op: "Total",
            divisor: NANOS,
            fs: Some(|f| f.disk.io_time as f64 / NANOS),
        },
        IoFamily {
            name: "container_fs_io_cost_usage_seconds_total",
            help: "Cumulative IOCost usage in seconds",
            kind: Counter,
            table: |d| &d.cost_usage,
            op: "Count",
            divisor: 1e6,
            fs: None,
        },
        IoFamily {
            name: "container_fs_io_cost_wait_seconds_total",
            help: "Cumulative IOCost wait in seconds",
            kind: Counter,
            table: |d| &d.cost_wait,
            op: "Count",
            divisor: 1e6,
            fs: None,
        },
        IoFamily {
            name: "container_fs_io_cost_indebt_seconds_total",
            help: "Cumulative IOCost debt in seconds",
            kind: Counter,
            table: |d| &d.cost_indebt,
            op: "Count",
            divisor: 1e6,
            fs: None,
        },
        IoFamily {
            name: "container_fs_io_cost_indelay_seconds_total",
            help: "Cumulative IOCost delay in seconds",
            kind: Counter,
            table: |d| &d.cost_indelay,
            op: "Count",
            divisor: 1e6,
            fs: None,
        },
    ]
}

/// The disk families of one cgroup: `io` its I/O tables (none: no per-device series),
/// `filesystems` those reported for it (the machine's for `/`).
#[allow(clippy::cast_precision_loss)]
pub(crate) fn disk(
    out: &mut Families,
    base: &[(&str, &str)],
    io: Option<&DiskIo>,
    filesystems: &[FsStats],
    names: &DeviceNames,
) {
    let usage: [(&'static str, &str, FsValue); 4] = [
        (
            "container_fs_inodes_free",
            "Number of available Inodes",
            |f| f.inodes_free,
        ),
        ("container_fs_inodes_total", "Number of Inodes", |f| {
            f.inodes
        }),
        (
            "container_fs_limit_bytes",
            "Number of bytes that can be consumed by the container on this filesystem.",
            |f| f.limit,
        ),
        (
            "container_fs_usage_bytes",
            "Number of bytes that are consumed by the container on this filesystem.",
            |f| f.usage,
        ),
    ];
    for (name, help, value) in usage {
        for f in filesystems {
            out.add(
                name,
                help,
                Gauge,
                base,
                &[("device", &f.device)],
                value(f) as f64,
            );
        }
    }
    // Computed from the filesystems alone, so present even without I/O tables.
    for f in filesystems {
        out.add(
            "container_fs_io_time_weighted_seconds_total",
            "Cumulative weighted I/O time in seconds",
            Counter,
            base,
            &[("device", &f.device)],
            f.disk.weighted_io_time as f64 / NANOS,
        );
    }
    // cAdvisor always has I/O tables (maybe empty), so the filesystem part of the I/O
    // families is written for the root cgroup even without any.
    let empty = DiskIo::default();
    let io = io.unwrap_or(&empty);
    for fam in io_families() {
        for d in (fam.table)(io) {
            let device = names.name(d.major, d.minor);
            out.add(
                fam.name,
                fam.help,
                fam.kind,
                base,
                &[("device", device)],
                d.get(fam.op) as f64 / fam.divisor,
            );
        }
        // The io.cost families pass an empty filesystem list to `ioValues`.
        if let Some(value) = fam.fs {
            for f in filesystems {
                out.add(
                    fam.name,
                    fam.help,
                    fam.kind,
                    base,
                    &[("device", &f.device)],
                    value(f),
                );
            }
        }
    }
    for d in &io.service_bytes {
        let (major, minor) = (d.major.to_string(), d.minor.to_string());
        for (op, v) in &d.stats {
            out.add(
                "container_blkio_device_usage_total",
                "Blkio Device bytes usage",
                Counter,
                base,
                &[
                    ("device", names.name(d.major, d.minor)),
                    ("major", &major),
                    ("minor", &minor),
                    ("operation", op),
                ],
                *v as f64,
            );
        }
    }
}
