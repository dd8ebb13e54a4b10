//! Child processes for tests: killed when dropped, their standard error kept in a log file.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{free_port, get_ok};

/// A child process, killed (and reaped) when dropped.
pub struct Process {
    child: Option<Child>,
    name: String,
    log: PathBuf,
}

impl Process {
    /// Spawns `cmd` with standard error into `log` and no standard input or output.
    ///
    /// # Panics
    /// When the program cannot be started (a missing peer: the message says which).
    #[must_use]
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> Process {
        let stderr = std::fs::File::create(log).expect("creating the log file");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("starting {name} (is it installed? scripts/test installs the peers): {e}")
            });
        Process {
            child: Some(child),
            name: name.to_owned(),
            log: log.to_owned(),
        }
    }

    /// What the process wrote to standard error so far.
    #[must_use]
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    /// Sends SIGTERM and waits (at most 30 s) for the exit; panics unless it exits cleanly.
    ///
    /// # Panics
    /// On a failed or late exit.
    pub fn terminate(mut self) {
        let mut child = self.child.take().expect("running");
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(sent, "could not signal {}", self.name);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().expect("waiting on the child") {
                assert!(
                    status.success(),
                    "{} exited with {status}; log:\n{}",
                    self.name,
                    self.log_text()
                );
                return;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{} did not stop on SIGTERM", self.name);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A Prometheus-compatible server (Prometheus itself or `firewatch server`) on a free
/// loopback port, ready when started.
pub struct Server {
    /// The process.
    pub process: Process,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl Server {
    /// Starts `program [prefix_args] --config.file=<config> --storage.tsdb.path=<data>
    /// --web.listen-address=127.0.0.1:<port> [extra]` with `config_yaml` written beside the
    /// log in `work`, and waits (60 s at most) until `/-/ready` answers.
    ///
    /// # Panics
    /// When the server does not start or become ready.
    #[must_use]
    pub fn start(
        program: &str,
        prefix_args: &[&str],
        work: &Path,
        data: &Path,
        config_yaml: &str,
        extra: &[&str],
    ) -> Server {
        let port = free_port();
        let name = Path::new(program)
            .file_name()
            .map_or(program.to_owned(), |n| n.to_string_lossy().into_owned());
        std::fs::create_dir_all(work).expect("creating the work directory");
        let config = work.join(format!("{name}-{port}.yml"));
        std::fs::write(&config, config_yaml).expect("writing the configuration");
        let mut cmd = Command::new(program);
        cmd.args(prefix_args)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .args(extra);
        let process = Process::spawn(&name, cmd, &work.join(format!("{name}-{port}.log")));
        let mut server = Server { process, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while get_ok(port, "/-/ready").is_none() {
            assert!(
                server.process.is_running(),
                "{name} exited; log:\n{}",
                server.process.log_text()
            );
            assert!(
                Instant::now() < deadline,
                "{name} not ready; log:\n{}",
                server.process.log_text()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        server
    }

    /// `GET path`: status and body.
    ///
    /// # Errors
    /// Connection failures or timeouts.
    pub fn get(&self, path: &str) -> std::io::Result<crate::Response> {
        crate::http(self.port, "GET", path, None)
    }
}

/// CPU seconds (user + system) that `/proc/<stat_path>` reports so far, e.g.
/// `/proc/self/stat` for this process or `/proc/thread-self/stat` for the calling thread; for
/// examples and benchmarks that print what a step cost.
///
/// # Panics
/// When the file cannot be read or is not in the kernel's `stat` format.
#[must_use]
pub fn cpu_seconds(stat_path: &str) -> f64 {
    let stat = std::fs::read_to_string(stat_path).expect("read a /proc stat file");
    // Fields after the command name (which may hold spaces), counted from 3.
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let ticks: u64 = f[11].parse::<u64>().expect("utime") + f[12].parse::<u64>().expect("stime");
    ticks as f64 / 100.0
}
