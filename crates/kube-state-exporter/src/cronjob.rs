//! CronJob families as kube-state-metrics writes them (`internal/store/cronjob.go`,
//! `docs/metrics/workload/cronjob-metrics.md`); the next schedule time is not computed.

use k8s_openapi::api::batch::v1::CronJob;

use crate::cron;
use crate::table::{Gauge, Kind, Series, one, resource_version, time};

/// The next activation after the last one (else after the creation), none when suspended
/// or the schedule does not parse.
#[allow(clippy::cast_precision_loss)]
fn next_schedule(j: &CronJob) -> Option<f64> {
    let spec = j.spec.as_ref()?;
    if spec.suspend == Some(true) {
        return None;
    }
    let schedule = cron::parse(&spec.schedule, spec.time_zone.as_deref()).ok()?;
    let last = j
        .status
        .as_ref()
        .and_then(|s| s.last_schedule_time.as_ref());
    let from = last.or(j.metadata.creation_timestamp.as_ref())?;
    // k8s-openapi's timestamps are of another jiff version: go through Unix seconds.
    let from = jiff::Timestamp::from_second(from.0.as_second()).ok()?;
    Some(schedule.next(from)?.as_second() as f64)
}

/// The CronJob families.
pub const KIND: Kind<CronJob> = Kind {
    label: "cronjob",
    created: "kube_cronjob_created",
    created_stable: true,
    owner: None,
    uid: false,
    gauges: &[
        Gauge {
            name: "kube_cronjob_next_schedule_time",
            help: "[STABLE] Next time the cronjob should be scheduled. The time after lastScheduleTime, or after the cron job's creation time if it's never been scheduled. Use this to determine if the job is delayed.",
            value: next_schedule,
        },
        Gauge {
            name: "kube_cronjob_schedule_invalid",
            help: "Emitted with value 1 for cronjobs whose schedule, in its configured timezone, cannot be parsed.",
            value: |j| {
                let spec = j.spec.as_ref()?;
                cron::parse(&spec.schedule, spec.time_zone.as_deref())
                    .is_err()
                    .then_some(1.0)
            },
        },
        Gauge {
            name: "kube_cronjob_metadata_resource_version",
            help: "[STABLE] Resource version representing a specific version of the cronjob.",
            value: |o| resource_version(o),
        },
        Gauge {
            name: "kube_cronjob_status_active",
            help: "[STABLE] Active holds pointers to currently running jobs.",
            #[allow(clippy::cast_precision_loss)]
            value: |c| {
                let n = c.status.as_ref().and_then(|s| s.active.as_ref());
                Some(n.map_or(0, Vec::len) as f64)
            },
        },
        Gauge {
            name: "kube_cronjob_status_last_schedule_time",
            help: "[STABLE] LastScheduleTime keeps information of when was the last time the job was successfully scheduled.",
            value: |c| {
                time(
                    c.status
                        .as_ref()
                        .and_then(|s| s.last_schedule_time.as_ref()),
                )
            },
        },
        Gauge {
            name: "kube_cronjob_status_last_successful_time",
            help: "[STABLE] LastSuccessfulTime keeps information of when was the last time the job was completed successfully.",
            value: |c| {
                time(
                    c.status
                        .as_ref()
                        .and_then(|s| s.last_successful_time.as_ref()),
                )
            },
        },
        Gauge {
            name: "kube_cronjob_spec_suspend",
            help: "[STABLE] Suspend flag tells the controller to suspend subsequent executions.",
            value: |c| {
                let s = c.spec.as_ref().and_then(|s| s.suspend) == Some(true);
                Some(if s { 1.0 } else { 0.0 })
            },
        },
        Gauge {
            name: "kube_cronjob_spec_starting_deadline_seconds",
            help: "[STABLE] Deadline in seconds for starting the job if it misses scheduled time for any reason.",
            #[allow(clippy::cast_precision_loss)]
            value: |c| {
                c.spec
                    .as_ref()
                    .and_then(|s| s.starting_deadline_seconds)
                    .map(|v| v as f64)
            },
        },
        Gauge {
            name: "kube_cronjob_spec_successful_job_history_limit",
            help: "Successful job history limit tells the controller how many completed jobs should be preserved.",
            value: |c| {
                c.spec
                    .as_ref()
                    .and_then(|s| s.successful_jobs_history_limit)
                    .map(f64::from)
            },
        },
        Gauge {
            name: "kube_cronjob_spec_failed_job_history_limit",
            help: "Failed job history limit tells the controller how many failed jobs should be preserved.",
            value: |c| {
                c.spec
                    .as_ref()
                    .and_then(|s| s.failed_jobs_history_limit)
                    .map(f64::from)
            },
        },
    ],
    series: &[Series {
        name: "kube_cronjob_info",
        help: "[STABLE] Info about cronjob.",
        series: |c| {
            let spec = c.spec.clone().unwrap_or_default();
            one(
                &[
                    ("schedule", spec.schedule.as_str()),
                    (
                        "concurrency_policy",
                        spec.concurrency_policy.as_deref().unwrap_or(""),
                    ),
                    ("timezone", spec.time_zone.as_deref().unwrap_or("local")),
                ],
                1.0,
            )
        },
    }],
};
