//! SANE, the scanner library Linux distributions ship (USB scanners, driverless network
//! scanners through `escl`/`airscan`, and the `test` backend CI scans from). It is loaded when
//! the kiosk first looks for a scanner (`libsane.so.1`), so a kiosk without it runs and says
//! "no scanner" rather than failing to start.
//!
//! The C interface is SANE 1.0's, unchanged since 1998; the only Rust binding on crates.io
//! (`sane-scan`) is unmaintained and needs libclang at build time, so the dozen functions are
//! declared here, in a crate of their own so that the rest of the project forbids `unsafe`.
//!
//! Use it from one thread (the kiosk's scanner thread): SANE is neither thread-safe nor
//! asynchronous. [`Sane`] is a session, [`Device`] an open scanner, [`Scan`] what it read.

use libloading::Library;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::sync::atomic::{AtomicBool, Ordering};

/// What SANE reported, as the kiosk tells the citizen, the officer and the health report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaneError {
    #[error("SANE is not installed (libsane.so.1: {0})")]
    NotInstalled(String),
    #[error("no scanner is connected")]
    NoScanner,
    #[error("the scanner's cover is open")]
    CoverOpen,
    #[error("paper jam")]
    Jammed,
    #[error("there is no paper in the feeder")]
    NoPaper,
    #[error("the scanner is busy")]
    Busy,
    #[error("the scan was cancelled")]
    Cancelled,
    #[error("the scanner has no option {0:?} that can be set")]
    NoSuchOption(String),
    #[error("the scanner refused {option} = {value:?}: {reason}")]
    BadOption {
        option: String,
        value: String,
        reason: String,
    },
    #[error("the scanner failed: {0}")]
    Failed(String),
}

// Status codes, value types and frame formats of sane/sane.h.
const STATUS_GOOD: c_int = 0;
const STATUS_CANCELLED: c_int = 2;
const STATUS_DEVICE_BUSY: c_int = 3;
const STATUS_INVAL: c_int = 4;
const STATUS_EOF: c_int = 5;
const STATUS_JAMMED: c_int = 6;
const STATUS_NO_DOCS: c_int = 7;
const STATUS_COVER_OPEN: c_int = 8;
const STATUS_IO_ERROR: c_int = 9;
const TYPE_BOOL: c_int = 0;
const TYPE_INT: c_int = 1;
const TYPE_FIXED: c_int = 2;
const TYPE_STRING: c_int = 3;
const CAP_SOFT_SELECT: c_int = 1;
const CAP_INACTIVE: c_int = 32;
const ACTION_GET_VALUE: c_int = 0;
const ACTION_SET_VALUE: c_int = 1;
const FRAME_GRAY: c_int = 0;
const FRAME_RGB: c_int = 1;

#[repr(C)]
struct RawDevice {
    name: *const c_char,
    vendor: *const c_char,
    model: *const c_char,
    kind: *const c_char,
}

#[repr(C)]
struct RawOptionDescriptor {
    name: *const c_char,
    title: *const c_char,
    desc: *const c_char,
    value_type: c_int,
    unit: c_int,
    size: c_int,
    cap: c_int,
    constraint_type: c_int,
    constraint: *const c_void,
}

#[repr(C)]
#[derive(Default)]
struct RawParameters {
    format: c_int,
    last_frame: c_int,
    bytes_per_line: c_int,
    pixels_per_line: c_int,
    lines: c_int,
    depth: c_int,
}

type Handle = *mut c_void;

/// The functions of `libsane.so.1`, valid while `_library` is loaded.
#[derive(Debug)]
struct Api {
    init: unsafe extern "C" fn(*mut c_int, *const c_void) -> c_int,
    exit: unsafe extern "C" fn(),
    get_devices: unsafe extern "C" fn(*mut *const *const RawDevice, c_int) -> c_int,
    open: unsafe extern "C" fn(*const c_char, *mut Handle) -> c_int,
    close: unsafe extern "C" fn(Handle),
    get_option_descriptor: unsafe extern "C" fn(Handle, c_int) -> *const RawOptionDescriptor,
    control_option: unsafe extern "C" fn(Handle, c_int, c_int, *mut c_void, *mut c_int) -> c_int,
    get_parameters: unsafe extern "C" fn(Handle, *mut RawParameters) -> c_int,
    start: unsafe extern "C" fn(Handle) -> c_int,
    read: unsafe extern "C" fn(Handle, *mut u8, c_int, *mut c_int) -> c_int,
    cancel: unsafe extern "C" fn(Handle),
    strstatus: unsafe extern "C" fn(c_int) -> *const c_char,
    _library: Library,
}

impl Api {
    fn load() -> Result<Api, SaneError> {
        let not_installed = |e: libloading::Error| SaneError::NotInstalled(e.to_string());
        // SAFETY: libsane's initialisers only set up its backend table; the symbols are looked
        // up by their SANE 1.0 names and given SANE 1.0's signatures.
        unsafe {
            let library = Library::new("libsane.so.1").map_err(not_installed)?;
            macro_rules! symbol {
                ($name:literal) => {
                    *library.get($name).map_err(not_installed)?
                };
            }
            Ok(Api {
                init: symbol!(b"sane_init\0"),
                exit: symbol!(b"sane_exit\0"),
                get_devices: symbol!(b"sane_get_devices\0"),
                open: symbol!(b"sane_open\0"),
                close: symbol!(b"sane_close\0"),
                get_option_descriptor: symbol!(b"sane_get_option_descriptor\0"),
                control_option: symbol!(b"sane_control_option\0"),
                get_parameters: symbol!(b"sane_get_parameters\0"),
                start: symbol!(b"sane_start\0"),
                read: symbol!(b"sane_read\0"),
                cancel: symbol!(b"sane_cancel\0"),
                strstatus: symbol!(b"sane_strstatus\0"),
                _library: library,
            })
        }
    }

    fn error(&self, status: c_int) -> SaneError {
        match status {
            STATUS_CANCELLED => SaneError::Cancelled,
            STATUS_DEVICE_BUSY => SaneError::Busy,
            STATUS_JAMMED => SaneError::Jammed,
            STATUS_NO_DOCS => SaneError::NoPaper,
            STATUS_COVER_OPEN => SaneError::CoverOpen,
            other => {
                // SAFETY: sane_strstatus returns a static string for any status.
                let text = unsafe { CStr::from_ptr((self.strstatus)(other)) };
                SaneError::Failed(text.to_string_lossy().into_owned())
            }
        }
    }

    fn check(&self, status: c_int) -> Result<(), SaneError> {
        match status {
            STATUS_GOOD => Ok(()),
            other => Err(self.error(other)),
        }
    }
}

/// How SANE laid the samples of a scan out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleLayout {
    /// 1 (grey) or 3 (RGB).
    pub channels: usize,
    /// Bits per sample: 1 (line art, 1 = black), 8 or 16 (in the machine's byte order).
    pub depth: u8,
    pub pixels_per_line: usize,
    /// May exceed what the pixels need (padding at the end of each line).
    pub bytes_per_line: usize,
}

/// One page as the scanner sent it.
#[derive(Clone, PartialEq, Eq)]
pub struct Scan {
    pub layout: SampleLayout,
    pub data: Vec<u8>,
}

impl std::fmt::Debug for Scan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Scan({:?}, {} bytes)", self.layout, self.data.len())
    }
}

/// A SANE session: initialised when made, ended when dropped.
#[derive(Debug)]
pub struct Sane {
    api: Api,
}

/// A scanner SANE found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// What `open` takes, e.g. `test:0` or `airscan:e0:Brother MFC`.
    pub name: String,
    pub vendor: String,
    pub model: String,
}

fn text(pointer: *const c_char) -> String {
    if pointer.is_null() {
        return String::new();
    }
    // SAFETY: SANE's strings are NUL-terminated and live as long as their device list or
    // option descriptor, which outlives this copy.
    unsafe { CStr::from_ptr(pointer) }
        .to_string_lossy()
        .into_owned()
}

impl Sane {
    pub fn init() -> Result<Sane, SaneError> {
        let api = Api::load()?;
        let mut version = 0;
        // SAFETY: no authorisation callback (null), as scanners at a kiosk need no password.
        api.check(unsafe { (api.init)(&mut version, std::ptr::null()) })?;
        Ok(Sane { api })
    }

    /// Every scanner SANE can reach, network scanners included.
    pub fn devices(&self) -> Result<Vec<DeviceInfo>, SaneError> {
        let mut list: *const *const RawDevice = std::ptr::null();
        // SAFETY: SANE fills `list` with a NULL-terminated array valid until the next call.
        let status = unsafe { (self.api.get_devices)(&mut list, 0) };
        self.api.check(status)?;
        let mut devices = Vec::new();
        let mut index = 0;
        while !list.is_null() {
            // SAFETY: walking the array up to its NULL terminator.
            let device = unsafe { *list.add(index) };
            if device.is_null() {
                break;
            }
            // SAFETY: a non-null entry points at a SANE_Device.
            let device = unsafe { &*device };
            devices.push(DeviceInfo {
                name: text(device.name),
                vendor: text(device.vendor),
                model: text(device.model),
            });
            index += 1;
        }
        Ok(devices)
    }

    pub fn open(&self, name: &str) -> Result<Device<'_>, SaneError> {
        let c_name = CString::new(name).map_err(|_| SaneError::NoScanner)?;
        let mut handle: Handle = std::ptr::null_mut();
        // SAFETY: `c_name` is NUL-terminated; SANE writes the handle on success.
        let status = unsafe { (self.api.open)(c_name.as_ptr(), &mut handle) };
        match status {
            STATUS_GOOD => Ok(Device {
                sane: self,
                handle,
                scanning: false,
            }),
            // An unknown name and a scanner unplugged since the list look the same to SANE.
            STATUS_INVAL | STATUS_IO_ERROR => Err(SaneError::NoScanner),
            other => Err(self.api.error(other)),
        }
    }
}

impl Drop for Sane {
    fn drop(&mut self) {
        // SAFETY: every Device borrows this session, so all are closed by now.
        unsafe { (self.api.exit)() }
    }
}

/// An open scanner.
#[derive(Debug)]
pub struct Device<'a> {
    sane: &'a Sane,
    handle: Handle,
    /// A scan was started and not yet ended with `sane_cancel`.
    scanning: bool,
}

impl Device<'_> {
    fn descriptor(&self, index: c_int) -> Option<&RawOptionDescriptor> {
        // SAFETY: SANE returns null past the last option; a descriptor lives while the device
        // is open, which the returned borrow of `self` ensures.
        unsafe { (self.sane.api.get_option_descriptor)(self.handle, index).as_ref() }
    }

    /// The number of the option named `name`, and its descriptor.
    fn option(&self, name: &str) -> Option<(c_int, &RawOptionDescriptor)> {
        (1..4096)
            .map_while(|index| self.descriptor(index).map(|d| (index, d)))
            .find(|(_, d)| !d.name.is_null() && text(d.name) == name)
    }

    /// Sets an option from its text (`"300"`, `"Color"`, `"yes"`), as `scanimage` would.
    /// Returns false when the scanner has no such option or cannot set it now.
    pub fn set(&mut self, name: &str, value: &str) -> Result<bool, SaneError> {
        let Some((index, descriptor)) = self.option(name) else {
            return Ok(false);
        };
        if descriptor.cap & CAP_SOFT_SELECT == 0 || descriptor.cap & CAP_INACTIVE != 0 {
            return Ok(false);
        }
        let bad = |reason: &str| SaneError::BadOption {
            option: name.to_string(),
            value: value.to_string(),
            reason: reason.to_string(),
        };
        let mut word: c_int;
        let mut string: Vec<u8>;
        let pointer: *mut c_void = match descriptor.value_type {
            TYPE_BOOL => {
                word = match value {
                    "yes" | "true" | "1" => 1,
                    "no" | "false" | "0" => 0,
                    _ => return Err(bad("not yes or no")),
                };
                (&mut word as *mut c_int).cast()
            }
            TYPE_INT | TYPE_FIXED => {
                let number: f64 = value.parse().map_err(|_| bad("not a number"))?;
                word = if descriptor.value_type == TYPE_INT {
                    number.round() as c_int
                } else {
                    (number * 65536.0).round() as c_int
                };
                (&mut word as *mut c_int).cast()
            }
            TYPE_STRING => {
                let size = usize::try_from(descriptor.size).unwrap_or(0);
                if value.len() >= size {
                    return Err(bad("too long"));
                }
                string = vec![0u8; size];
                string[..value.len()].copy_from_slice(value.as_bytes());
                string.as_mut_ptr().cast()
            }
            _ => return Err(bad("not a value option")),
        };
        let mut info = 0;
        // SAFETY: `pointer` holds a value of the option's type and size.
        let status = unsafe {
            (self.sane.api.control_option)(self.handle, index, ACTION_SET_VALUE, pointer, &mut info)
        };
        match status {
            STATUS_GOOD => Ok(true),
            other => Err(bad(&self.sane.api.error(other).to_string())),
        }
    }

    /// A number option's current value (INT or FIXED), for tests and the health report.
    pub fn number(&self, name: &str) -> Option<f64> {
        let (index, descriptor) = self.option(name)?;
        let mut word: c_int = 0;
        // SAFETY: a scalar INT or FIXED option's value is one word.
        let status = unsafe {
            (self.sane.api.control_option)(
                self.handle,
                index,
                ACTION_GET_VALUE,
                (&mut word as *mut c_int).cast(),
                std::ptr::null_mut(),
            )
        };
        match (status, descriptor.value_type) {
            (STATUS_GOOD, TYPE_INT) if descriptor.size == 4 => Some(f64::from(word)),
            (STATUS_GOOD, TYPE_FIXED) if descriptor.size == 4 => Some(f64::from(word) / 65536.0),
            _ => None,
        }
    }

    /// Scans one page. `cancel` is checked between reads; when it turns true the scan stops
    /// and `Cancelled` comes back.
    ///
    /// The scan is ended (`sane_cancel`, as SANE's standard asks of every scan, finished or
    /// not) by [`Device::finish`] or when the device is dropped, not here: some backends can
    /// hang there after an error, and the caller may want to report the result first.
    pub fn scan(&mut self, cancel: &AtomicBool) -> Result<Scan, SaneError> {
        self.scanning = true;
        self.read_frame(cancel)
    }

    /// Ends the scan under way, if any.
    pub fn finish(&mut self) {
        if std::mem::take(&mut self.scanning) {
            // SAFETY: the handle is open.
            unsafe { (self.sane.api.cancel)(self.handle) };
        }
    }

    fn read_frame(&mut self, cancel: &AtomicBool) -> Result<Scan, SaneError> {
        let api = &self.sane.api;
        // SAFETY: the handle is open.
        api.check(unsafe { (api.start)(self.handle) })?;
        let mut parameters = RawParameters::default();
        // SAFETY: SANE fills the parameters of the scan just started.
        api.check(unsafe { (api.get_parameters)(self.handle, &mut parameters) })?;
        let channels =
            match parameters.format {
                FRAME_GRAY => 1,
                FRAME_RGB => 3,
                _ => return Err(SaneError::Failed(
                    "the scanner sends colours in separate passes, which the kiosk does not read"
                        .into(),
                )),
            };
        let layout = SampleLayout {
            channels,
            depth: u8::try_from(parameters.depth).unwrap_or(0),
            pixels_per_line: usize::try_from(parameters.pixels_per_line).unwrap_or(0),
            bytes_per_line: usize::try_from(parameters.bytes_per_line).unwrap_or(0),
        };
        let mut data = Vec::new();
        if let Ok(lines) = usize::try_from(parameters.lines) {
            data.reserve(lines.saturating_mul(layout.bytes_per_line));
        }
        let mut buffer = vec![0u8; 256 * 1024];
        loop {
            if cancel.load(Ordering::Relaxed) {
                return Err(SaneError::Cancelled);
            }
            let mut length: c_int = 0;
            // SAFETY: `buffer` has room for the length passed.
            let status = unsafe {
                (api.read)(
                    self.handle,
                    buffer.as_mut_ptr(),
                    buffer.len() as c_int,
                    &mut length,
                )
            };
            match status {
                STATUS_GOOD => {
                    let length = usize::try_from(length).unwrap_or(0).min(buffer.len());
                    data.extend_from_slice(&buffer[..length]);
                }
                STATUS_EOF => break,
                other => return Err(api.error(other)),
            }
        }
        Ok(Scan { layout, data })
    }
}

impl Drop for Device<'_> {
    fn drop(&mut self) {
        self.finish();
        // SAFETY: the handle is open and closed only here.
        unsafe { (self.sane.api.close)(self.handle) }
    }
}
