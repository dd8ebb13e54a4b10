//! The kernel clock's discipline state from `adjtimex(2)` (node_exporter's `timex.go`).

use super::{Collector, CollectorError, Out, unit_collector};
use crate::options::{Options, Paths};
use crate::sys::Timex;

/// `adjtimex`'s state when the clock is not synchronised.
const TIME_ERROR: i32 = 5;
/// The status bit for nanosecond resolution of `offset` and `jitter`.
const STA_NANO: i32 = 0x2000;
/// ppm with 16 fractional bits, as a ratio.
const PPM16FRAC: f64 = 1_000_000.0 * 65536.0;
const MICRO: f64 = 1e6;

unit_collector!(TimexCollector, "The clock's state from adjtimex(2).");

impl Collector for TimexCollector {
    fn update(&self, _: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let t = match crate::sys::adjtimex() {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                return Err(CollectorError::NoData(format!("adjtimex: {e}")));
            }
            Err(e) => {
                return Err(CollectorError::Other(format!(
                    "failed to retrieve adjtimex stats: {e}"
                )));
            }
        };
        emit(&t, out);
        Ok(())
    }
}

/// The samples for one `adjtimex` reading.
#[allow(clippy::cast_precision_loss)]
pub fn emit(t: &Timex, out: &mut Out) {
    let div = if t.status & STA_NANO == 0 { MICRO } else { 1e9 };
    let g = |out: &mut Out, name: &str, help: &str, v: f64| {
        out.gauge(&format!("node_timex_{name}"), help, &[], v);
    };
    let c = |out: &mut Out, name: &str, help: &str, v: i64| {
        out.counter(&format!("node_timex_{name}"), help, &[], v as f64);
    };
    g(
        out,
        "sync_status",
        "Is clock synchronized to a reliable server (1 = yes, 0 = no).",
        if t.state == TIME_ERROR { 0.0 } else { 1.0 },
    );
    g(
        out,
        "offset_seconds",
        "Time offset in between local system and reference clock.",
        t.offset as f64 / div,
    );
    g(
        out,
        "frequency_adjustment_ratio",
        "Local clock frequency adjustment.",
        1.0 + t.freq as f64 / PPM16FRAC,
    );
    g(
        out,
        "maxerror_seconds",
        "Maximum error in seconds.",
        t.maxerror as f64 / MICRO,
    );
    g(
        out,
        "estimated_error_seconds",
        "Estimated error in seconds.",
        t.esterror as f64 / MICRO,
    );
    g(
        out,
        "status",
        "Value of the status array bits.",
        f64::from(t.status),
    );
    g(
        out,
        "loop_time_constant",
        "Phase-locked loop time constant.",
        t.constant as f64,
    );
    g(
        out,
        "tick_seconds",
        "Seconds between clock ticks.",
        t.tick as f64 / MICRO,
    );
    g(
        out,
        "pps_frequency_hertz",
        "Pulse per second frequency.",
        t.ppsfreq as f64 / PPM16FRAC,
    );
    g(
        out,
        "pps_jitter_seconds",
        "Pulse per second jitter.",
        t.jitter as f64 / div,
    );
    g(
        out,
        "pps_shift_seconds",
        "Pulse per second interval duration.",
        f64::from(t.shift),
    );
    g(
        out,
        "pps_stability_hertz",
        "Pulse per second stability, average of recent frequency changes.",
        t.stabil as f64 / PPM16FRAC,
    );
    c(
        out,
        "pps_jitter_total",
        "Pulse per second count of jitter limit exceeded events.",
        t.jitcnt,
    );
    c(
        out,
        "pps_calibration_total",
        "Pulse per second count of calibration intervals.",
        t.calcnt,
    );
    c(
        out,
        "pps_error_total",
        "Pulse per second count of calibration errors.",
        t.errcnt,
    );
    c(
        out,
        "pps_stability_exceeded_total",
        "Pulse per second count of stability limit exceeded events.",
        t.stbcnt,
    );
    g(
        out,
        "tai_offset_seconds",
        "International Atomic Time (TAI) offset.",
        f64::from(t.tai),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(t: &Timex) -> Vec<(String, f64)> {
        let mut out = Out::default();
        emit(t, &mut out);
        out.into_families()
            .into_iter()
            .map(|f| (f.name.clone(), f.samples[0].value))
            .collect()
    }

    #[test]
    fn units_follow_sta_nano_and_the_clock_state() {
        let mut t = crate::sys::adjtimex().unwrap();
        t.state = TIME_ERROR;
        t.status = 0x40; // STA_UNSYNC
        t.offset = 1500;
        t.jitter = 20;
        t.freq = 65536 * 10; // 10 ppm
        t.tick = 10_000;
        let v: std::collections::HashMap<_, _> = sample(&t).into_iter().collect();
        assert_eq!(v["node_timex_sync_status"], 0.0);
        assert_eq!(v["node_timex_offset_seconds"], 0.0015);
        assert_eq!(v["node_timex_pps_jitter_seconds"], 0.00002);
        assert_eq!(v["node_timex_frequency_adjustment_ratio"], 1.00001);
        assert_eq!(v["node_timex_tick_seconds"], 0.01);
        assert_eq!(v["node_timex_status"], 64.0);
        t.state = 0;
        t.status |= STA_NANO;
        let v: std::collections::HashMap<_, _> = sample(&t).into_iter().collect();
        assert_eq!(v["node_timex_sync_status"], 1.0);
        assert_eq!(v["node_timex_offset_seconds"], 0.0000015);
        assert_eq!(v.len(), 17);
    }
}
