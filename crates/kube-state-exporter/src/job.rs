//! Job families as kube-state-metrics writes them (`internal/store/job.go`,
//! `docs/metrics/workload/job-metrics.md`).

use k8s_openapi::api::batch::v1::{Job, JobStatus};

use crate::table::{Gauge, Kind, Sample, Series, conditions, int, one, time};

/// The failure reasons kube-state-metrics writes a series for each.
const FAILURE_REASONS: [&str; 3] = ["BackoffLimitExceeded", "DeadlineExceeded", "Evicted"];

fn status(j: &Job) -> JobStatus {
    j.status.clone().unwrap_or_default()
}

/// The condition series of the job's conditions of type `kind`.
fn condition(j: &Job, kind: &str) -> Vec<Sample> {
    let st = status(j);
    st.conditions
        .unwrap_or_default()
        .iter()
        .filter(|c| c.type_ == kind)
        .flat_map(|c| conditions(&c.status))
        .collect()
}

/// `kube_job_status_failed`: 0 without failures; one series per known reason of a `Failed`
/// condition; `reason=""` with the count when no known reason applies.
fn failed(j: &Job) -> Vec<Sample> {
    let st = status(j);
    let n = f64::from(st.failed.unwrap_or(0));
    if n == 0.0 {
        return vec![(Vec::new(), 0.0)];
    }
    let mut out = Vec::new();
    let mut known = false;
    for c in st.conditions.unwrap_or_default() {
        if c.type_ != "Failed" {
            continue;
        }
        for r in FAILURE_REASONS {
            let is = c.reason.as_deref() == Some(r);
            known |= is;
            out.extend(one(&[("reason", r)], if is { 1.0 } else { 0.0 }));
        }
    }
    if !known {
        out.extend(one(&[("reason", "")], n));
    }
    out
}

/// The Job families.
pub const KIND: Kind<Job> = Kind {
    label: "job_name",
    created: "kube_job_created",
    created_stable: true,
    owner: Some("kube_job_owner"),
    uid: false,
    gauges: &[
        Gauge {
            name: "kube_job_status_ready",
            help: "The number of ready pods that belong to this Job.",
            value: |j| int(j.status.as_ref().and_then(|s| s.ready)),
        },
        Gauge {
            name: "kube_job_info",
            help: "[STABLE] Information about job.",
            value: |_| Some(1.0),
        },
        Gauge {
            name: "kube_job_spec_parallelism",
            help: "[STABLE] The maximum desired number of pods the job should run at any given time.",
            value: |j| j.spec.as_ref().and_then(|s| s.parallelism).map(f64::from),
        },
        Gauge {
            name: "kube_job_spec_completions",
            help: "[STABLE] The desired number of successfully finished pods the job should be run with.",
            value: |j| j.spec.as_ref().and_then(|s| s.completions).map(f64::from),
        },
        Gauge {
            name: "kube_job_spec_active_deadline_seconds",
            help: "[STABLE] The duration in seconds relative to the startTime that the job may be active before the system tries to terminate it.",
            #[allow(clippy::cast_precision_loss)]
            value: |j| {
                j.spec
                    .as_ref()
                    .and_then(|s| s.active_deadline_seconds)
                    .map(|v| v as f64)
            },
        },
        Gauge {
            name: "kube_job_status_succeeded",
            help: "[STABLE] The number of pods which reached Phase Succeeded.",
            value: |j| int(status(j).succeeded),
        },
        Gauge {
            name: "kube_job_status_active",
            help: "[STABLE] The number of actively running pods.",
            value: |j| int(status(j).active),
        },
        Gauge {
            name: "kube_job_status_start_time",
            help: "[STABLE] StartTime represents time when the job was acknowledged by the Job Manager.",
            value: |j| time(status(j).start_time.as_ref()),
        },
        Gauge {
            name: "kube_job_status_completion_time",
            help: "[STABLE] CompletionTime represents time when the job was completed.",
            value: |j| time(status(j).completion_time.as_ref()),
        },
    ],
    series: &[
        Series {
            name: "kube_job_status_suspended",
            help: "The number of pods which reached Phase Suspended.",
            series: |j| {
                let cs = j.status.as_ref().and_then(|s| s.conditions.as_deref());
                cs.unwrap_or_default()
                    .iter()
                    .filter(|c| c.type_ == "Suspended")
                    .map(|c| (Vec::new(), if c.status == "True" { 1.0 } else { 0.0 }))
                    .collect()
            },
        },
        Series {
            name: "kube_job_status_failed",
            help: "[STABLE] The number of pods which reached Phase Failed and the reason for failure.",
            series: failed,
        },
        Series {
            name: "kube_job_complete",
            help: "[STABLE] The job has completed its execution.",
            series: |j| condition(j, "Complete"),
        },
        Series {
            name: "kube_job_failed",
            help: "[STABLE] The job has failed its execution.",
            series: |j| condition(j, "Failed"),
        },
    ],
};
