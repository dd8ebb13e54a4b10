//! The few system calls the collectors need that have no safe wrapper in `rustix`
//! (`adjtimex(2)` for timex, `perf_event_open(2)` for perf, the `SIOCETHTOOL` ioctl for
//! ethtool): each a small function with its `// SAFETY:` reasoning, the only unsafe code of the
//! crate (node_exporter reaches them through `golang.org/x/sys/unix` and `safchain/ethtool`).

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
    use std::os::fd::FromRawFd;
    let mut attr = [0u64; PERF_ATTR_SIZE / 8];
    #[allow(clippy::cast_possible_truncation)]
    let size = PERF_ATTR_SIZE as u64;
    attr[0] = u64::from(kind) | (size << 32); // type, size (little-endian u32 pair)
    attr[1] = config;
    attr[3] = 1 << 16; // sample_type: PERF_SAMPLE_IDENTIFIER
    attr[4] = 0b11; // read_format: TOTAL_TIME_ENABLED | TOTAL_TIME_RUNNING
    attr[5] = 1 | (1 << 1) | (1 << 6); // disabled, inherit, exclude_hv
    if cfg!(target_endian = "big") {
        attr[0] = (u64::from(kind) << 32) | size;
    }
    // SAFETY: `attr` is a zero-initialised `perf_event_attr` of the size it declares, alive
    // for the call; the other arguments are plain integers. On success the kernel returns a
    // new file descriptor that nothing else owns.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            attr.as_ptr(),
            -1 as libc::pid_t,
            cpu,
            -1 as libc::c_int,
            libc::c_ulong::from(1u8 << 3), // PERF_FLAG_FD_CLOEXEC
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    #[allow(clippy::cast_possible_truncation)]
    // SAFETY: `fd` was just returned by the kernel and is owned by nothing else.
    let file = unsafe { std::fs::File::from_raw_fd(fd as libc::c_int) };
    // SAFETY: an ioctl without a pointer argument on a perf event descriptor we own.
    let r = unsafe {
        libc::ioctl(
            std::os::fd::AsRawFd::as_raw_fd(&file),
            PERF_EVENT_IOC_ENABLE,
            0,
        )
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(file)
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
