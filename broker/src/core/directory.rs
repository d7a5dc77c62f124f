//! What the core decides by and administrators change: agencies with their languages and
//! opening hours, kiosks and whether they are in service, and bookings. The admission rules
//! read only this, never storage.

use super::Refusal;
use crate::routing::Millis;
use crate::storage::{AgencyRow, BookingRow};
use jiff::tz::TimeZone;
use nara_protocol::hours::{open_at, parse_hours};
use nara_protocol::kiosk::AgencyChoice;
use nara_protocol::*;
use std::collections::HashMap;

/// A booked visit may check in this long before its time ...
pub const CHECK_IN_EARLIEST_MS: Millis = 2 * 3600 * 1000;
/// ... and this long after.
pub const CHECK_IN_LATEST_MS: Millis = 3600 * 1000;
/// A booking is remembered this long after its check-in closed, so that a citizen who comes
/// late is told so rather than that the code is unknown.
const REMEMBERED_AFTER_MS: Millis = 12 * 3600 * 1000;

/// Where a kiosk stands, as the core knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KioskInfo {
    pub site: SiteId,
    pub site_name: ShortText,
}

#[derive(Debug)]
pub struct Directory {
    agencies: Vec<AgencyRow>,
    kiosks: HashMap<KioskId, KioskInfo>,
    /// Kiosks an administrator holds out of service, with the message their screens show;
    /// known from the start for every kiosk, connected or not.
    out_of_service: HashMap<KioskId, LongText>,
    /// Bookings whose check-in window has not closed, or closed today, by code.
    bookings: HashMap<String, BookingRow>,
    zone: TimeZone,
}

impl Directory {
    pub fn new(
        agencies: Vec<AgencyRow>,
        bookings: Vec<BookingRow>,
        out_of_service: Vec<(KioskId, LongText)>,
        zone: TimeZone,
    ) -> Self {
        Directory {
            agencies,
            kiosks: HashMap::new(),
            out_of_service: out_of_service.into_iter().collect(),
            bookings: bookings.into_iter().map(|b| (b.code.clone(), b)).collect(),
            zone,
        }
    }

    /// A new agency, or a changed one in its place.
    pub fn set_agency(&mut self, row: AgencyRow) {
        match self.agencies.iter_mut().find(|a| a.id == row.id) {
            Some(existing) => *existing = row,
            None => self.agencies.push(row),
        }
    }

    pub fn set_kiosk(&mut self, kiosk: KioskId, info: KioskInfo) {
        self.kiosks.insert(kiosk, info);
    }

    pub fn kiosk(&self, kiosk: &KioskId) -> Option<&KioskInfo> {
        self.kiosks.get(kiosk)
    }

    pub fn set_out_of_service(&mut self, kiosk: &KioskId, message: Option<LongText>) {
        match message {
            Some(message) => self.out_of_service.insert(kiosk.clone(), message),
            None => self.out_of_service.remove(kiosk),
        };
    }

    pub fn out_of_service(&self, kiosk: &KioskId) -> Option<&LongText> {
        self.out_of_service.get(kiosk)
    }

    pub fn add_booking(&mut self, row: BookingRow) {
        self.bookings.insert(row.code.clone(), row);
    }

    /// When the next booking is forgotten.
    pub fn next_booking_expiry(&self) -> Option<Millis> {
        self.bookings.values().map(|b| forgotten_at(b) + 1).min()
    }

    pub fn forget_past_bookings(&mut self, now: Millis) {
        self.bookings.retain(|_, b| forgotten_at(b) >= now);
    }

    /// Whether an agency with `hours` is open at `now`. Hours that cannot be read are
    /// refused when saved; any stored before that count as open, so that an old typo does
    /// not close an agency to the public.
    pub fn open_now(&self, hours: &str, now: Millis) -> bool {
        match parse_hours(hours) {
            Ok(spans) => {
                let (weekday, minute) = local_week_minute(&self.zone, now);
                open_at(&spans, weekday, minute)
            }
            Err(_) => true,
        }
    }

    /// The agencies as kiosks offer them, at `now`.
    pub fn choices(&self, now: Millis) -> Vec<AgencyChoice> {
        self.agencies
            .iter()
            .filter_map(|a| {
                Some(AgencyChoice {
                    open_now: self.open_now(&a.hours, now),
                    hours: OpeningHours::new(a.hours.clone())
                        .or_else(|_| OpeningHours::new("daily 00:00-24:00"))
                        .ok()?,
                    agency: AgencyId::new(a.id.clone()).ok()?,
                    name: ShortText::new(a.name.clone()).ok()?,
                    languages: a
                        .languages
                        .iter()
                        .filter_map(|l| LanguageCode::new(l.clone()).ok())
                        .collect(),
                })
            })
            .collect()
    }

    /// May a visit go to `agency` at `now`? The same rule holds for a citizen choosing, an
    /// officer transferring and an officer inviting a colleague. Every agency is reached in
    /// every language: where none of its officers speaks it, through an interpreter (the
    /// agency's `languages` are those its officers speak).
    pub fn admit(&self, agency: &AgencyId, now: Millis) -> Result<(), Refusal> {
        let Some(a) = self.agencies.iter().find(|a| a.id == agency.as_str()) else {
            return Err(Refusal::new(
                ErrorCode::AgencyUnknown,
                format!("no agency {agency}"),
            ));
        };
        if !self.open_now(&a.hours, now) {
            return Err(Refusal::new(
                ErrorCode::AgencyClosed,
                format!("{} is closed now; opening hours: {}", a.name, a.hours),
            ));
        }
        Ok(())
    }

    /// A kiosk an administrator took out of service starts no visits, whatever its screen shows.
    pub fn in_service(&self, kiosk: &KioskId) -> Result<(), Refusal> {
        match self.out_of_service.get(kiosk) {
            Some(message) => Err(Refusal::new(
                ErrorCode::OutOfService,
                format!("this kiosk is out of service: {message}"),
            )),
            None => Ok(()),
        }
    }

    /// The booking with `code`, if it may check in at `now`; it is then marked as used.
    pub fn check_in(&mut self, code: &BookingCode, now: Millis) -> Result<BookingRow, Refusal> {
        let Some(booking) = self.bookings.get_mut(code.as_str()) else {
            return Err(Refusal::new(
                ErrorCode::BookingUnknown,
                "no booking with that code",
            ));
        };
        if now + CHECK_IN_EARLIEST_MS < booking.appointment_at {
            return Err(Refusal::new(
                ErrorCode::BookingTooEarly,
                "check-in for this booking opens two hours before its time",
            ));
        }
        if now > booking.appointment_at + CHECK_IN_LATEST_MS {
            return Err(Refusal::new(
                ErrorCode::BookingTooLate,
                "the time of this booking has passed",
            ));
        }
        if booking.checked_in_at.is_some() {
            return Err(Refusal::new(
                ErrorCode::BookingUsed,
                "this booking has already been used to check in",
            ));
        }
        booking.checked_in_at = Some(now);
        Ok(booking.clone())
    }
}

fn forgotten_at(booking: &BookingRow) -> Millis {
    booking.appointment_at + CHECK_IN_LATEST_MS + REMEMBERED_AFTER_MS
}

/// Weekday (0 = Monday) and minute after midnight of `now` in `zone`.
fn local_week_minute(zone: &TimeZone, now: Millis) -> (usize, u16) {
    let Ok(instant) = jiff::Timestamp::from_millisecond(now as i64) else {
        return (0, 0);
    };
    let local = instant.to_zoned(zone.clone());
    let weekday = local.weekday().to_monday_zero_offset() as usize;
    let minute = local.hour() as u16 * 60 + local.minute() as u16;
    (weekday, minute)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stockholm() -> Directory {
        Directory::new(
            Vec::new(),
            Vec::new(),
            Vec::new(),
            TimeZone::get("Europe/Stockholm").unwrap(),
        )
    }

    fn at(local: &str) -> Millis {
        let zoned: jiff::Zoned = format!("{local}[Europe/Stockholm]").parse().unwrap();
        zoned.timestamp().as_millisecond() as Millis
    }

    #[test]
    fn open_and_closed_follow_swedish_local_time_across_daylight_saving() {
        let d = stockholm();
        let hours = "mon-fri 09:00-16:00";
        // Summer (UTC+2) and winter (UTC+1): 09:00 local either way.
        assert!(d.open_now(hours, at("2026-06-15T09:00")));
        assert!(!d.open_now(hours, at("2026-06-15T08:59")));
        assert!(d.open_now(hours, at("2026-11-23T09:00")));
        assert!(!d.open_now(hours, at("2026-11-23T16:00")));
        // Sunday 22 November 2026.
        assert!(!d.open_now(hours, at("2026-11-22T12:00")));
    }
}
