//! AMD GPUs' busy percentage and memory from /sys/class/drm/card[0-9]/device (node_exporter's
//! `drm_linux.go` with procfs's `class_drm_amdgpu.go`).

use super::util::{attr, attr_u64, dir_entries_opt};
use super::{Collector, CollectorError, Out, unit_collector};
use crate::options::{Options, Paths};

unit_collector!(Drm, "amdgpu cards' statistics from /sys/class/drm.");

/// The `card`-labelled gauges: file under `device/`, metric suffix, help.
const GAUGES: &[(&str, &str, &str)] = &[
    (
        "gpu_busy_percent",
        "gpu_busy_percent",
        "How busy the GPU is as a percentage.",
    ),
    (
        "mem_info_gtt_total",
        "memory_gtt_size_bytes",
        "The size of the graphics translation table (GTT) block in bytes.",
    ),
    (
        "mem_info_gtt_used",
        "memory_gtt_used_bytes",
        "The used amount of the graphics translation table (GTT) block in bytes.",
    ),
    (
        "mem_info_vram_total",
        "memory_vram_size_bytes",
        "The size of VRAM in bytes.",
    ),
    (
        "mem_info_vram_used",
        "memory_vram_used_bytes",
        "The used amount of VRAM in bytes.",
    ),
    (
        "mem_info_vis_vram_total",
        "memory_vis_vram_size_bytes",
        "The size of visible VRAM in bytes.",
    ),
    (
        "mem_info_vis_vram_used",
        "memory_vis_vram_used_bytes",
        "The used amount of visible VRAM in bytes.",
    ),
];

impl Collector for Drm {
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        for (card, dir) in dir_entries_opt(&paths.sys("class/drm")) {
            let digits = card.strip_prefix("card").unwrap_or_default();
            if digits.len() != 1 || !digits.as_bytes()[0].is_ascii_digit() {
                continue;
            }
            let dev = dir.join("device");
            let uevent_path = dev.join("uevent");
            let uevent = match super::util::read_string(&uevent_path) {
                Ok(u) => u,
                // ENODATA: the card has no device data (procfs skips it).
                Err(e) if e.raw_os_error() == Some(61) => continue,
                Err(e) => return Err(CollectorError::io(&uevent_path, e)),
            };
            // node_exporter 1.9.1 (procfs 0.15) lists a card of another driver too, with
            // empty fields and zeros (procfs later dropped such cards): kept for conformance.
            let amd = uevent.contains("DRIVER=amdgpu");
            let text = |f: &str| {
                if amd {
                    attr(&dev.join(f)).unwrap_or_default()
                } else {
                    String::new()
                }
            };
            out.gauge(
                "node_drm_card_info",
                "Card information",
                &[
                    ("card", &card),
                    ("memory_vendor", &text("mem_info_vram_vendor")),
                    (
                        "power_performance_level",
                        &text("power_dpm_force_performance_level"),
                    ),
                    ("unique_id", &text("unique_id")),
                    ("vendor", "amd"),
                ],
                1.0,
            );
            for (file, suffix, help) in GAUGES {
                #[allow(clippy::cast_precision_loss)]
                let v = if amd {
                    attr_u64(&dev.join(file)).unwrap_or(0) as f64
                } else {
                    0.0
                };
                out.gauge(&format!("node_drm_{suffix}"), help, &[("card", &card)], v);
            }
        }
        Ok(())
    }
}
