//! Table-like /proc files (node_exporter's `buddyinfo.go`, `slabinfo_linux.go`, `xfrm.go`,
//! `softnet_linux.go`, `sysctl_linux.go`).

use std::sync::LazyLock;

use regex::Regex;

use super::{Collector, CollectorError, Out, read};
use crate::options::{Options, Paths};

/// The buddyinfo collector: free blocks per zone and order from /proc/buddyinfo.
pub struct Buddyinfo;
impl Buddyinfo {
    /// Builds the collector.
    ///
    /// # Errors
    /// Never.
    pub fn factory(_: &Options) -> Result<Box<dyn Collector>, crate::Error> {
        Ok(Box::new(Buddyinfo))
    }
}
impl Collector for Buddyinfo {
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let path = paths.proc("buddyinfo");
        let text = read(&path)?;
        let mut width = None;
        for line in text.lines() {
            let parts: Vec<&str> = line.split_whitespace().collect();
            if parts.len() < 4 {
                return Err(CollectorError::parse(
                    &path,
                    format!("invalid number of fields in {line:?}"),
                ));
            }
            let node = parts[1].trim_end_matches(',');
            let zone = parts[3].trim_end_matches(',');
            let counts = &parts[4..];
            if *width.get_or_insert(counts.len()) != counts.len() {
                return Err(CollectorError::parse(
                    &path,
                    "mismatch in number of buddyinfo buckets",
                ));
            }
            for (size, c) in counts.iter().enumerate() {
                out.gauge(
                    "node_buddyinfo_blocks",
                    "Count of free blocks according to size.",
                    &[("node", node), ("zone", zone), ("size", &size.to_string())],
                    super::util::num(&path, c)?,
                );
            }
        }
        Ok(())
    }
}

/// The slabinfo collector: kernel slab caches from /proc/slabinfo.
pub struct Slabinfo {
    include: Regex,
    exclude: Option<Regex>,
}
impl Slabinfo {
    /// Builds the collector from `--collector.slabinfo.slabs-{include,exclude}`.
    ///
    /// # Errors
    /// A bad pattern.
    pub fn factory(opts: &Options) -> Result<Box<dyn Collector>, crate::Error> {
        let include = opts.pattern("collector.slabinfo.slabs-include", ".*")?;
        Ok(Box::new(Slabinfo {
            include,
            exclude: opts.regex("collector.slabinfo.slabs-exclude")?,
        }))
    }
}
impl Collector for Slabinfo {
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let path = paths.proc("slabinfo");
        let text = read(&path)?;
        for line in text.lines() {
            if line.starts_with("slabinfo -") || line.starts_with('#') {
                continue;
            }
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 6 {
                continue;
            }
            let name = f[0];
            if !self.include.is_match(name)
                || self.exclude.as_ref().is_some_and(|r| r.is_match(name))
            {
                continue;
            }
            let n = |i: usize| super::util::num(&path, f[i]);
            let l = [("slab", name)];
            out.gauge(
                "node_slabinfo_active_objects",
                "The number of objects that are currently active (i.e., in use).",
                &l,
                n(1)?,
            );
            out.gauge("node_slabinfo_objects", "The total number of allocated objects (i.e., objects that are both in use and not in use).", &l, n(2)?);
            out.gauge(
                "node_slabinfo_object_size_bytes",
                "The size of objects in this slab, in bytes.",
                &l,
                n(3)?,
            );
            out.gauge(
                "node_slabinfo_objects_per_slab",
                "The number of objects stored in each slab.",
                &l,
                n(4)?,
            );
            out.gauge(
                "node_slabinfo_pages_per_slab",
                "The number of pages allocated for each slab.",
                &l,
                n(5)?,
            );
        }
        Ok(())
    }
}

/// /proc/net/xfrm_stat keys, metric names and help texts.
const XFRM: &[(&str, &str, &str)] = &[
    (
        "XfrmAcquireError",
        "acquire_error",
        "State hasn’t been fully acquired before use",
    ),
    (
        "XfrmFwdHdrError",
        "fwd_hdr_error",
        "Forward routing of a packet is not allowed",
    ),
    ("XfrmInBufferError", "in_buffer_error", "No buffer is left"),
    ("XfrmInError", "in_error", "All errors not matched by other"),
    ("XfrmInHdrError", "in_hdr_error", "Header error"),
    (
        "XfrmInNoPols",
        "in_no_pols",
        "No policy is found for states e.g. Inbound SAs are correct but no SP is found",
    ),
    (
        "XfrmInNoStates",
        "in_no_states",
        "No state is found i.e. Either inbound SPI, address, or IPsec protocol at SA is wrong",
    ),
    ("XfrmInPolBlock", "in_pol_block", "Policy discards"),
    ("XfrmInPolError", "in_pol_error", "Policy error"),
    ("XfrmInStateExpired", "in_state_expired", "State is expired"),
    ("XfrmInStateInvalid", "in_state_invalid", "State is invalid"),
    (
        "XfrmInStateMismatch",
        "in_state_mismatch",
        "State has mismatch option e.g. UDP encapsulation type is mismatch",
    ),
    (
        "XfrmInStateModeError",
        "in_state_mode_error",
        "Transformation mode specific error",
    ),
    (
        "XfrmInStateProtoError",
        "in_state_proto_error",
        "Transformation protocol specific error e.g. SA key is wrong",
    ),
    (
        "XfrmInStateSeqError",
        "in_state_seq_error",
        "Sequence error i.e. Sequence number is out of window",
    ),
    (
        "XfrmInTmplMismatch",
        "in_tmpl_mismatch",
        "No matching template for states e.g. Inbound SAs are correct but SP rule is wrong",
    ),
    (
        "XfrmOutBundleCheckError",
        "out_bundle_check_error",
        "Bundle check error",
    ),
    (
        "XfrmOutBundleGenError",
        "out_bundle_gen_error",
        "Bundle generation error",
    ),
    (
        "XfrmOutError",
        "out_error",
        "All errors which is not matched others",
    ),
    ("XfrmOutNoStates", "out_no_states", "No state is found"),
    ("XfrmOutPolBlock", "out_pol_block", "Policy discards"),
    ("XfrmOutPolDead", "out_pol_dead", "Policy is dead"),
    ("XfrmOutPolError", "out_pol_error", "Policy error"),
    (
        "XfrmOutStateExpired",
        "out_state_expired",
        "State is expired",
    ),
    (
        "XfrmOutStateInvalid",
        "out_state_invalid",
        "State is invalid, perhaps expired",
    ),
    (
        "XfrmOutStateModeError",
        "out_state_mode_error",
        "Transformation mode specific error",
    ),
    (
        "XfrmOutStateProtoError",
        "out_state_proto_error",
        "Transformation protocol specific error",
    ),
    (
        "XfrmOutStateSeqError",
        "out_state_seq_error",
        "Sequence error i.e. Sequence number overflow",
    ),
];

/// The xfrm collector: IPsec statistics from /proc/net/xfrm_stat.
pub struct Xfrm;
impl Xfrm {
    /// Builds the collector.
    ///
    /// # Errors
    /// Never.
    pub fn factory(_: &Options) -> Result<Box<dyn Collector>, crate::Error> {
        Ok(Box::new(Xfrm))
    }
}
impl Collector for Xfrm {
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let path = paths.proc("net/xfrm_stat");
        let text = read(&path)?;
        for line in text.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() != 2 {
                return Err(CollectorError::parse(
                    &path,
                    format!("invalid line {line:?}"),
                ));
            }
            let Some((_, name, help)) = XFRM.iter().find(|x| x.0 == f[0]) else {
                continue;
            };
            out.counter(
                &format!("node_xfrm_{name}_packets_total"),
                help,
                &[],
                super::util::num(&path, f[1])?,
            );
        }
        Ok(())
    }
}

/// The softnet collector: per-CPU packet processing from /proc/net/softnet_stat.
pub struct Softnet;
impl Softnet {
    /// Builds the collector.
    ///
    /// # Errors
    /// Never.
    pub fn factory(_: &Options) -> Result<Box<dyn Collector>, crate::Error> {
        Ok(Box::new(Softnet))
    }
}
impl Collector for Softnet {
    #[allow(clippy::cast_precision_loss)]
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let path = paths.proc("net/softnet_stat");
        let text = read(&path)?;
        for (i, line) in text.lines().enumerate() {
            let c: Vec<&str> = line.split_whitespace().collect();
            if c.len() < 9 {
                return Err(CollectorError::parse(
                    &path,
                    format!("detected {} columns, but expected at least 9", c.len()),
                ));
            }
            let h = |j: usize| -> Result<u64, CollectorError> {
                c.get(j).map_or(Ok(0), |s| {
                    u32::from_str_radix(s, 16)
                        .map(u64::from)
                        .map_err(|_| CollectorError::parse(&path, format!("invalid hex {s:?}")))
                })
            };
            let (backlog, index) = if c.len() >= 13 {
                (h(11)?, h(12)?)
            } else {
                (0, i as u64)
            };
            let cpu = index.to_string();
            let l = [("cpu", cpu.as_str())];
            out.counter(
                "node_softnet_processed_total",
                "Number of processed packets",
                &l,
                h(0)? as f64,
            );
            out.counter(
                "node_softnet_dropped_total",
                "Number of dropped packets",
                &l,
                h(1)? as f64,
            );
            out.counter(
                "node_softnet_times_squeezed_total",
                "Number of times processing packets ran out of quota",
                &l,
                h(2)? as f64,
            );
            out.counter(
                "node_softnet_cpu_collision_total",
                "Number of collision occur while obtaining device lock while transmitting",
                &l,
                h(8)? as f64,
            );
            out.counter(
                "node_softnet_received_rps_total",
                "Number of times cpu woken up received_rps",
                &l,
                h(9)? as f64,
            );
            out.counter(
                "node_softnet_flow_limit_count_total",
                "Number of times flow limit has been reached",
                &l,
                h(10)? as f64,
            );
            out.gauge(
                "node_softnet_backlog_len",
                "Softnet backlog status",
                &l,
                backlog as f64,
            );
        }
        Ok(())
    }
}

static SANITIZE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"_*[^0-9A-Za-z_]+_*").expect("regex"));

/// One `--collector.sysctl.include[-info]` entry: `name[:key,key...]`.
struct SysctlSpec {
    numeric: bool,
    name: String,
    keys: Vec<String>,
}

/// The sysctl collector: chosen /proc/sys values.
pub struct Sysctl {
    specs: Vec<SysctlSpec>,
}
impl Sysctl {
    /// Builds the collector from `--collector.sysctl.include` and `--collector.sysctl.include-info`.
    ///
    /// # Errors
    /// Never.
    pub fn factory(opts: &Options) -> Result<Box<dyn Collector>, crate::Error> {
        let mut specs = Vec::new();
        for (flag, numeric) in [
            ("collector.sysctl.include", true),
            ("collector.sysctl.include-info", false),
        ] {
            for s in opts.all(flag) {
                let (name, keys) = match s.split_once(':') {
                    Some((n, k)) => (n.to_owned(), k.split(',').map(str::to_owned).collect()),
                    None => (s.clone(), Vec::new()),
                };
                specs.push(SysctlSpec {
                    numeric,
                    name,
                    keys,
                });
            }
        }
        Ok(Box::new(Sysctl { specs }))
    }
}
impl Collector for Sysctl {
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        for s in &self.specs {
            let path = paths.proc(&format!("sys/{}", s.name.replace('.', "/")));
            let text = read(&path)?;
            let vals: Vec<&str> = text.split_whitespace().collect();
            let metric = format!("node_sysctl_{}", SANITIZE.replace_all(&s.name, "_"));
            let help = format!("sysctl {}", s.name);
            let nums = if s.numeric {
                vals.iter()
                    .map(|v| {
                        v.parse::<i64>().map_err(|_| {
                            CollectorError::parse(&path, format!("invalid integer {v:?}"))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?
            } else {
                Vec::new()
            };
            #[allow(clippy::cast_precision_loss)]
            let num = |i: usize| nums[i] as f64;
            match vals.len() {
                0 => {
                    return Err(CollectorError::parse(
                        &path,
                        format!("sysctl {} has no values", s.name),
                    ));
                }
                1 if !s.keys.is_empty() => {
                    return Err(CollectorError::parse(
                        &path,
                        format!(
                            "sysctl {} has only one value, but expected {:?}",
                            s.name, s.keys
                        ),
                    ));
                }
                1 if s.numeric => out.untyped(&metric, &help, &[], num(0)),
                1 => out.gauge(
                    "node_sysctl_info",
                    "sysctl info",
                    &[("name", &s.name), ("value", vals[0]), ("index", "0")],
                    1.0,
                ),
                n if s.keys.is_empty() =>
                {
                    #[allow(clippy::needless_range_loop)]
                    for i in 0..n {
                        let idx = i.to_string();
                        if s.numeric {
                            out.untyped(&metric, &help, &[("index", &idx)], num(i));
                        } else {
                            out.gauge(
                                "node_sysctl_info",
                                "sysctl info",
                                &[("name", &s.name), ("value", vals[i]), ("index", &idx)],
                                1.0,
                            );
                        }
                    }
                }
                n if n != s.keys.len() => {
                    return Err(CollectorError::parse(
                        &path,
                        format!(
                            "sysctl {} has {n} keys but only {} defined in flag",
                            s.name,
                            s.keys.len()
                        ),
                    ));
                }
                n =>
                {
                    #[allow(clippy::needless_range_loop)]
                    for i in 0..n {
                        if s.numeric {
                            out.untyped(
                                &format!("{metric}_{}", s.keys[i]),
                                &format!("sysctl {}, field {i}", s.name),
                                &[],
                                num(i),
                            );
                        } else {
                            out.gauge(
                                "node_sysctl_info",
                                "sysctl info",
                                &[("name", &s.name), ("value", vals[i]), ("index", &s.keys[i])],
                                1.0,
                            );
                        }
                    }
                }
            }
        }
        Ok(())
    }
}
