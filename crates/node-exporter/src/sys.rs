//! The few system calls the collectors need that have no safe wrapper in `rustix`
//! (`adjtimex(2)` for timex, `perf_event_open(2)` for perf, the `SIOCETHTOOL` ioctl for
//! ethtool) and glibc's allocator settings for the exporter alone: each a small function with
//! its `// SAFETY:` reasoning, the only unsafe code of the crate (node_exporter reaches the
//! system calls through `golang.org/x/sys/unix` and `safchain/ethtool`).

#![allow(unsafe_code)]

/// The kernel's clock state from `adjtimex(2)` (a read-only query, `modes` 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timex {
    /// The clock state `adjtimex` returned (`TIME_OK` … `TIME_ERROR`).
    pub state: i32,
    /// `offset`, in microseconds or nanoseconds (`STA_NANO` in `status`).
    pub offset: i64,
    /// `freq`, in ppm with 16 fractional bits.
    pub freq: i64,
    /// `maxerror`, microseconds.
    pub maxerror: i64,
    /// `esterror`, microseconds.
    pub esterror: i64,
    /// The `STA_*` status bits.
    pub status: i32,
    /// The PLL time constant.
    pub constant: i64,
    /// The clock precision, microseconds.
    pub precision: i64,
    /// The maximum frequency tolerance.
    pub tolerance: i64,
    /// Microseconds between clock ticks.
    pub tick: i64,
    /// PPS frequency, ppm with 16 fractional bits.
    pub ppsfreq: i64,
    /// PPS jitter, microseconds or nanoseconds.
    pub jitter: i64,
    /// PPS interval duration, seconds as a power of two.
    pub shift: i32,
    /// PPS stability, ppm with 16 fractional bits.
    pub stabil: i64,
    /// PPS jitter limit exceeded events.
    pub jitcnt: i64,
    /// PPS calibration intervals.
    pub calcnt: i64,
    /// PPS calibration errors.
    pub errcnt: i64,
    /// PPS stability limit exceeded events.
    pub stbcnt: i64,
    /// TAI offset, seconds.
    pub tai: i32,
}

/// Reads the kernel clock's state without changing it.
///
/// # Errors
/// The system call fails (`EPERM` in some sandboxes).
pub fn adjtimex() -> std::io::Result<Timex> {
    // SAFETY: `timex` is a plain C struct for which all-zero bytes are a valid value; with
    // `modes` 0 the kernel only writes into it, and the pointer is valid for the whole call.
    let (state, t) = unsafe {
        let mut t: libc::timex = std::mem::zeroed();
        let r = libc::adjtimex(&raw mut t);
        (r, t)
    };
    if state < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(Timex {
        state,
        offset: t.offset,
        freq: t.freq,
        maxerror: t.maxerror,
        esterror: t.esterror,
        status: t.status,
        constant: t.constant,
        precision: t.precision,
        tolerance: t.tolerance,
        tick: t.tick,
        ppsfreq: t.ppsfreq,
        jitter: t.jitter,
        shift: t.shift,
        stabil: t.stabil,
        jitcnt: t.jitcnt,
        calcnt: t.calcnt,
        errcnt: t.errcnt,
        stbcnt: t.stbcnt,
        tai: t.tai,
    })
}

/// `SIOCETHTOOL`.
const SIOCETHTOOL: libc::Ioctl = 0x8946;

/// `struct ifreq` with `ifr_data` pointing at an ethtool command buffer.
#[repr(C)]
struct IfReqData {
    name: [libc::c_char; libc::IFNAMSIZ],
    data: *mut u8,
    _pad: [u8; 16],
}

/// Runs one ethtool command on `device` through the `SIOCETHTOOL` ioctl on `socket` (any
/// AF_INET socket). `cmd` starts with the command number and has the size the command's
/// struct needs; the kernel fills it in.
///
/// # Errors
/// The device name is too long, or the driver does not support the command
/// (`EOPNOTSUPP`), or the device does not exist.
pub fn ethtool_ioctl(
    socket: std::os::fd::BorrowedFd<'_>,
    device: &str,
    cmd: &mut [u8],
) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let name = device.as_bytes();
    if name.len() >= libc::IFNAMSIZ || name.contains(&0) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("invalid interface name {device:?}"),
        ));
    }
    let mut req = IfReqData {
        name: [0; libc::IFNAMSIZ],
        data: cmd.as_mut_ptr(),
        _pad: [0; 16],
    };
    for (d, s) in req.name.iter_mut().zip(name) {
        *d = libc::c_char::from_ne_bytes([*s]);
    }
    // SAFETY: `req` is a valid `ifreq` whose name is NUL-terminated (zeroed beyond the name)
    // and whose data pointer refers to `cmd`, a live buffer as large as the command's struct
    // (callers size it for the command); the kernel writes only within that struct.
    let r = unsafe { libc::ioctl(socket.as_raw_fd(), SIOCETHTOOL, &raw mut req) };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `PERF_EVENT_IOC_ENABLE`.
const PERF_EVENT_IOC_ENABLE: libc::Ioctl = 0x2400;
/// `PERF_ATTR_SIZE_VER5`: the fields up to `sample_regs_intr`.
const PERF_ATTR_SIZE: usize = 112;

/// Opens one counting perf event of `kind` (`PERF_TYPE_*`) and `config` for every process
/// on `cpu`, disabled, inherited, hypervisor excluded, reading value, time enabled and time
/// running (perf-utils' `NewProfiler`), then enables it.
///
/// # Errors
/// The kernel refuses (no PMU in a VM, `perf_event_paranoid`, seccomp in a container).
pub fn perf_event_open(kind: u32, config: u64, cpu: i32) -> std::io::Result<std::fs::File> {
    // disabled, inherit, exclude_hv; TOTAL_TIME_ENABLED | TOTAL_TIME_RUNNING.
    let file = perf_open(kind, config, cpu, None, 1 | (1 << 1) | (1 << 6), 0b11)?;
    perf_enable(&file, 0)?;
    Ok(file)
}

/// Opens one group of counting events on `cpu` for every process (perf-utils'
/// `NewGroupProfiler`): the first, `(kind, config)` of `events[0]`, leads (disabled, hypervisor
/// excluded), the others join it (hypervisor excluded); all read as a group with the times
/// enabled and running. Returns the files in `events`' order, the group enabled.
///
/// # Errors
/// The kernel refuses an event (no access to tracepoints, an unknown id).
pub fn perf_event_open_group(
    events: &[(u32, u64)],
    cpu: i32,
) -> std::io::Result<Vec<std::fs::File>> {
    // PERF_FORMAT_TOTAL_TIME_ENABLED | TOTAL_TIME_RUNNING | GROUP.
    const GROUP_READ: u64 = 0b1011;
    let mut files: Vec<std::fs::File> = Vec::with_capacity(events.len());
    for &(kind, config) in events {
        let file = match files.first() {
            None => perf_open(kind, config, cpu, None, 1 | (1 << 6), GROUP_READ)?,
            Some(leader) => perf_open(kind, config, cpu, Some(leader), 1 << 6, GROUP_READ)?,
        };
        files.push(file);
    }
    if let Some(leader) = files.first() {
        perf_enable(leader, 1)?; // PERF_IOC_FLAG_GROUP
    }
    Ok(files)
}

/// `perf_event_open(2)` with a `perf_event_attr` of `kind`, `config`, the flag `bits` (the
/// bit field after `read_format`) and `read_format`, sampling `PERF_SAMPLE_IDENTIFIER`.
fn perf_open(
    kind: u32,
    config: u64,
    cpu: i32,
    group: Option<&std::fs::File>,
    bits: u64,
    read_format: u64,
) -> std::io::Result<std::fs::File> {
    use std::os::fd::FromRawFd;
    let mut attr = [0u64; PERF_ATTR_SIZE / 8];
    #[allow(clippy::cast_possible_truncation)]
    let size = PERF_ATTR_SIZE as u64;
    attr[0] = u64::from(kind) | (size << 32); // type, size (little-endian u32 pair)
    attr[1] = config;
    attr[3] = 1 << 16; // sample_type: PERF_SAMPLE_IDENTIFIER
    attr[4] = read_format;
    attr[5] = bits;
    if cfg!(target_endian = "big") {
        attr[0] = (u64::from(kind) << 32) | size;
    }
    let group_fd = group.map_or(-1, std::os::fd::AsRawFd::as_raw_fd);
    // SAFETY: `attr` is a zero-initialised `perf_event_attr` of the size it declares, alive
    // for the call; the other arguments are plain integers (`group_fd` an open perf event
    // descriptor we own, or -1). On success the kernel returns a new file descriptor that
    // nothing else owns.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            attr.as_ptr(),
            -1 as libc::pid_t,
            cpu,
            group_fd,
            libc::c_ulong::from(1u8 << 3), // PERF_FLAG_FD_CLOEXEC
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    #[allow(clippy::cast_possible_truncation)]
    // SAFETY: `fd` was just returned by the kernel and is owned by nothing else.
    let file = unsafe { std::fs::File::from_raw_fd(fd as libc::c_int) };
    Ok(file)
}

/// `PERF_EVENT_IOC_ENABLE` with `flag` (`PERF_IOC_FLAG_GROUP` for a whole group).
fn perf_enable(file: &std::fs::File, flag: libc::c_ulong) -> std::io::Result<()> {
    // SAFETY: an ioctl with an integer argument on a perf event descriptor we own.
    let r = unsafe {
        libc::ioctl(
            std::os::fd::AsRawFd::as_raw_fd(file),
            PERF_EVENT_IOC_ENABLE,
            flag,
        )
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// glibc's thresholds for the exporter running alone: allocations from 64 KiB (a scrape's
/// body and its larger vectors) get pages of their own that go back to the system when freed,
/// and a free top of the heap above 128 KiB is returned, so the resident size between scrapes
/// stays near what is live (Go's runtime returns freed memory on its own). Elsewhere a no-op.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters and takes any positive size; it is
    // called before the runtime starts, with no other thread allocating.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 64 << 10);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 << 10);
    }
}

/// Returns the allocator's free pages to the system (glibc's `malloc_trim`): after start-up
/// (the patterns' compile-time scratch) and after each scrape of the exporter alone. Elsewhere
/// a no-op.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases memory the allocator holds free; it is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn adjtimex_reads_the_clock() {
        let t = super::adjtimex().expect("adjtimex");
        // The kernel's tick is 1e6/HZ microseconds (HZ between 24 and 1200).
        assert!((833..=41_667).contains(&t.tick), "{t:?}");
        assert!((0..=5).contains(&t.state), "{t:?}");
    }
}
