//! WiFi interfaces and stations (node_exporter's `collector/wifi_linux.go`). node_exporter asks
//! nl80211 over generic netlink; Firewatch reads `--collector.wifi.fixtures` (the end-to-end
//! test hook: `interfaces.json`, `<iface>/bss.json`, `<iface>/stationinfo.json`, in the JSON
//! the Go `wifi` package's types encode to) and reports the live source as unavailable.

use std::path::Path;

use base64::Engine;
use serde_json::Value;

use super::{Collector, CollectorError, Out, read};
use crate::options::{Options, Paths};

/// The wifi collector.
pub struct Wifi {
    fixtures: Option<String>,
}

/// Builds the collector from `--collector.wifi.fixtures`.
///
/// # Errors
/// Never.
pub fn new(opts: &Options) -> Result<Box<dyn Collector>, crate::Error> {
    Ok(Box::new(Wifi {
        fixtures: opts
            .get("collector.wifi.fixtures")
            .filter(|f| !f.is_empty())
            .map(str::to_owned),
    }))
}

/// A field of a Go-encoded struct (encoding/json matches names case-insensitively).
fn field<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn num(v: &Value, name: &str) -> f64 {
    field(v, name).and_then(Value::as_f64).unwrap_or(0.0)
}

/// A `[]byte` (base64 in JSON) as a MAC address `aa:bb:...`.
fn mac(v: &Value, name: &str) -> String {
    let raw = field(v, name).and_then(Value::as_str).unwrap_or("");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(raw)
        .unwrap_or_default();
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn json(path: &Path) -> Result<Option<Value>, CollectorError> {
    match super::util::read_string(path) {
        Ok(t) => serde_json::from_str(&t)
            .map(Some)
            .map_err(|e| CollectorError::parse(path, e.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CollectorError::io(path, e)),
    }
}

const STATION: &[(&str, &str, &str, bool, f64)] = &[
    (
        "connected",
        "station_connected_seconds_total",
        "The total number of seconds a station has been connected to an access point.",
        true,
        1e-9,
    ),
    (
        "inactive",
        "station_inactive_seconds",
        "The number of seconds since any wireless activity has occurred on a station.",
        false,
        1e-9,
    ),
    (
        "receivebitrate",
        "station_receive_bits_per_second",
        "The current WiFi receive bitrate of a station, in bits per second.",
        false,
        1.0,
    ),
    (
        "transmitbitrate",
        "station_transmit_bits_per_second",
        "The current WiFi transmit bitrate of a station, in bits per second.",
        false,
        1.0,
    ),
    (
        "receivedbytes",
        "station_receive_bytes_total",
        "The total number of bytes received by a WiFi station.",
        true,
        1.0,
    ),
    (
        "transmittedbytes",
        "station_transmit_bytes_total",
        "The total number of bytes transmitted by a WiFi station.",
        true,
        1.0,
    ),
    (
        "signal",
        "station_signal_dbm",
        "The current WiFi signal strength, in decibel-milliwatts (dBm).",
        false,
        1.0,
    ),
    (
        "transmitretries",
        "station_transmit_retries_total",
        "The total number of times a station has had to retry while sending a packet.",
        true,
        1.0,
    ),
    (
        "transmitfailed",
        "station_transmit_failed_total",
        "The total number of times a station has failed to send a packet.",
        true,
        1.0,
    ),
    (
        "beaconloss",
        "station_beacon_loss_total",
        "The total number of times a station has detected a beacon loss.",
        true,
        1.0,
    ),
];

impl Collector for Wifi {
    fn update(&self, _paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let Some(dir) = &self.fixtures else {
            return Err(CollectorError::NoData(
                "wifi statistics need nl80211, which Firewatch does not read yet".into(),
            ));
        };
        let dir = Path::new(dir);
        let path = dir.join("interfaces.json");
        let ifaces: Value = serde_json::from_str(&read(&path)?)
            .map_err(|e| CollectorError::parse(&path, e.to_string()))?;
        for ifi in ifaces.as_array().map_or(&[][..], Vec::as_slice) {
            let name = field(ifi, "name").and_then(Value::as_str).unwrap_or("");
            if name.is_empty() {
                continue;
            }
            out.gauge(
                "node_wifi_interface_frequency_hertz",
                "The current frequency a WiFi interface is operating at, in hertz.",
                &[("device", name)],
                num(ifi, "frequency") * 1e6,
            );
            if let Some(bss) = json(&dir.join(name).join("bss.json"))? {
                let mode = match num(&bss, "status") as i64 {
                    0 | 1 => "client",
                    2 => "ad-hoc",
                    _ => "unknown",
                };
                let ssid = field(&bss, "ssid").and_then(Value::as_str).unwrap_or("");
                out.gauge(
                    "node_wifi_station_info",
                    "Labeled WiFi interface station information as provided by the operating system.",
                    &[("device", name), ("bssid", &mac(&bss, "bssid")), ("ssid", ssid), ("mode", mode)],
                    1.0,
                );
            }
            if let Some(stations) = json(&dir.join(name).join("stationinfo.json"))? {
                for st in stations.as_array().map_or(&[][..], Vec::as_slice) {
                    let m = mac(st, "hardwareaddr");
                    let l = [("device", name), ("mac_address", m.as_str())];
                    for (key, metric, help, counter, scale) in STATION {
                        #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
                        let v = if *scale == 1e-9 {
                            // Go's Duration.Seconds: whole seconds plus the rest in nanoseconds.
                            let ns = num(st, key) as i64;
                            (ns / 1_000_000_000) as f64 + (ns % 1_000_000_000) as f64 / 1e9
                        } else {
                            num(st, key) * scale
                        };
                        let metric = format!("node_wifi_{metric}");
                        if *counter {
                            out.counter(&metric, help, &l, v);
                        } else {
                            out.gauge(&metric, help, &l, v);
                        }
                    }
                }
            }
        }
        Ok(())
    }
}
