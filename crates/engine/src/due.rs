//! What a device is **due** to send (应传): the one definition the rates (传输率, 有效率,
//! 传输有效率, the restaurants' 在线率) and the offline checks share. See docs/engine-quality.md
//! "What is due".
//!
//! A period (an hour of hour data, an interval of minute data) is due when
//! 1. it has **ended** by the time of the evaluation (`now`): the hour 11:00–12:00 is not due
//!    at 11:22;
//! 2. its midpoint lies in the device's **due span**: from its commissioning — the earlier of
//!    its registration ([`model::Device::registered`]) and its first data
//!    ([`store::DeviceState::first_time`]; a packet without values, by its arrival) — to its
//!    retirement (none yet: the base data of
//!    issue 12 plugs in through [`DueSpan::to`]), and outside its outages ([`DueSpan::outages`],
//!    empty until outage records exist — issue 12);
//! 3. its midpoint lies in the site's **reporting hours** ([`DailyWindow`], Beijing wall clock):
//!    the opening hours of a restaurant (default 10:00–22:00), all day for every other kind.
//!
//! A device whose commissioning is unknown (registered before qingshan recorded it, and no
//! data) is due over the whole period asked for, as before.
//!
//! Offline: the **due seconds** since the last packet ([`Due::seconds`]) — the silence counted
//! only inside the span and the reporting hours — against the threshold (n intervals). A
//! restaurant closed at night owes nothing and is not offline.

use std::collections::HashMap;

use model::{Device, DeviceKind};
use store::DeviceState;

use crate::time::BEIJING_OFFSET_S;

const DAY_S: i64 = 86_400;
const DAY_MIN: u16 = 1440;

/// A daily reporting window in Beijing wall-clock minutes, `[from, to)`. `from == to` (or
/// 0–1440) is all day; `from > to` runs across midnight (a night stall 17:00–02:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyWindow {
    pub from_min: u16,
    pub to_min: u16,
}

impl Default for DailyWindow {
    fn default() -> Self {
        DailyWindow::ALL_DAY
    }
}

impl DailyWindow {
    pub const ALL_DAY: DailyWindow = DailyWindow {
        from_min: 0,
        to_min: DAY_MIN,
    };

    /// Whole hours `[from, to)`, e.g. `hours(10, 22)`; `to` may be 24.
    pub fn hours(from: u8, to: u8) -> DailyWindow {
        DailyWindow {
            from_min: u16::from(from.min(24)) * 60 % DAY_MIN,
            to_min: u16::from(to.min(24)) * 60,
        }
    }

    /// Parses `HH:MM-HH:MM` (also `–`/`~` as separator; `24:00` allowed as the end).
    pub fn parse(s: &str) -> Result<DailyWindow, String> {
        let bad = || format!("营业时间 {s:?} 格式错误：应为 HH:MM-HH:MM（如 10:00-22:00）");
        let t = s.trim();
        let (a, b) = t.split_once(['-', '–', '~']).ok_or_else(bad)?;
        let min = |x: &str| -> Option<u16> {
            let (h, m) = x.trim().split_once(':')?;
            let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
            (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
        };
        let (from, to) = (min(a).ok_or_else(bad)?, min(b).ok_or_else(bad)?);
        Ok(DailyWindow {
            from_min: from % DAY_MIN,
            to_min: to,
        })
    }

    pub fn is_all_day(&self) -> bool {
        self.from_min == self.to_min || (self.from_min == 0 && self.to_min >= DAY_MIN)
    }

    /// Whether the Beijing wall-clock instant `t` (UTC s) lies in the window.
    pub fn contains(&self, t: i64) -> bool {
        if self.is_all_day() {
            return true;
        }
        let m = ((t + BEIJING_OFFSET_S).rem_euclid(DAY_S) / 60) as u16;
        if self.from_min < self.to_min {
            m >= self.from_min && m < self.to_min
        } else {
            m >= self.from_min || m < self.to_min
        }
    }

    /// Seconds of `[t0, t1)` (UTC s) inside the window.
    pub fn overlap_s(&self, t0: i64, t1: i64) -> i64 {
        if t1 <= t0 {
            return 0;
        }
        if self.is_all_day() {
            return t1 - t0;
        }
        let (f, e) = (i64::from(self.from_min) * 60, i64::from(self.to_min) * 60);
        let first = (t0 + BEIJING_OFFSET_S).div_euclid(DAY_S);
        let last = (t1 - 1 + BEIJING_OFFSET_S).div_euclid(DAY_S);
        let mut sum = 0;
        // The day before the first too: a window across midnight spills into `first`.
        for d in first - 1..=last {
            let ds = d * DAY_S - BEIJING_OFFSET_S;
            let spans: [(i64, i64); 1] = if f < e {
                [(ds + f, ds + e)]
            } else {
                [(ds + f, ds + DAY_S + e)]
            };
            for (a, b) in spans {
                sum += (b.min(t1) - a.max(t0)).max(0);
            }
        }
        sum
    }

    /// Seconds of a day inside the window.
    pub fn day_s(&self) -> i64 {
        if self.is_all_day() {
            DAY_S
        } else if self.from_min < self.to_min {
            i64::from(self.to_min - self.from_min) * 60
        } else {
            i64::from(DAY_MIN - self.from_min + self.to_min) * 60
        }
    }
}

impl std::fmt::Display for DailyWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_all_day() {
            return write!(f, "00:00-24:00");
        }
        let hm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        write!(f, "{}-{}", hm(self.from_min), hm(self.to_min))
    }
}

/// When a device is due at all: commissioning to retirement, minus outages (UTC s).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DueSpan {
    /// Commissioning: the earlier of registration and first data; `None` = unknown (due over
    /// the whole period asked for).
    pub from: Option<i64>,
    /// Retirement (exclusive); `None` = in service. No retirement records exist yet (issue
    /// 12's base data sets this).
    pub to: Option<i64>,
    /// Periods the device owes nothing (planned outages, approved stops), `[from, to)`, sorted
    /// and disjoint. Empty until outage records exist (issue 12).
    pub outages: Vec<(i64, i64)>,
}

impl DueSpan {
    /// The span of a registered device from the registry and its state.
    pub fn of(device: Option<&Device>, state: Option<&DeviceState>) -> DueSpan {
        // A packet seen (even one without values) proves it was in service by then.
        let seen = state
            .and_then(|s| s.last_seen_ms)
            .map(|ms| ms.div_euclid(1000));
        let from = [
            device.and_then(|d| d.registered),
            state.and_then(|s| s.first_time),
            seen,
        ]
        .into_iter()
        .flatten()
        .min();
        DueSpan {
            from,
            to: None,
            outages: Vec::new(),
        }
    }

    /// Whether instant `t` lies in the span and outside every outage.
    pub fn contains(&self, t: i64) -> bool {
        self.from.is_none_or(|f| t >= f)
            && self.to.is_none_or(|e| t < e)
            && !self.outages.iter().any(|(a, b)| t >= *a && t < *b)
    }

    /// The parts of `[t0, t1)` in the span, outages cut out.
    fn clip(&self, t0: i64, t1: i64) -> Vec<(i64, i64)> {
        let a = self.from.map_or(t0, |f| t0.max(f));
        let b = self.to.map_or(t1, |e| t1.min(e));
        if b <= a {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut cur = a;
        for &(oa, ob) in &self.outages {
            if ob <= cur || oa >= b {
                continue;
            }
            if oa > cur {
                out.push((cur, oa));
            }
            cur = cur.max(ob);
        }
        if cur < b {
            out.push((cur, b));
        }
        out
    }
}

/// What one device owes at `now`: its span and its site's reporting hours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub span: DueSpan,
    pub window: DailyWindow,
    /// The time of the evaluation (UTC s): nothing after it is due.
    pub now: i64,
}

impl Due {
    /// Whether the period `[start, start + len)` is due: ended by `now`, its midpoint in the
    /// span and the reporting hours.
    pub fn slot(&self, start: i64, len: i64) -> bool {
        let mid = start + len / 2;
        start + len <= self.now && self.span.contains(mid) && self.window.contains(mid)
    }

    /// Bit h set when hour h of the Beijing day starting at `day_start` (UTC s) is due.
    pub fn hour_mask(&self, day_start: i64) -> i64 {
        (0..24)
            .filter(|h| self.slot(day_start + h * 3600, 3600))
            .fold(0, |m, h| m | (1 << h))
    }

    /// Due periods of `interval` seconds in the Beijing day starting at `day_start`.
    pub fn slots(&self, day_start: i64, interval: i64) -> i64 {
        let step = interval.max(1);
        (0..DAY_S / step)
            .filter(|i| self.slot(day_start + i * step, step))
            .count() as i64
    }

    /// Seconds of `[t0, t1)` that are due (in the span, the reporting hours, not after `now`).
    pub fn seconds(&self, t0: i64, t1: i64) -> i64 {
        self.span
            .clip(t0, t1.min(self.now))
            .into_iter()
            .map(|(a, b)| self.window.overlap_s(a, b))
            .sum()
    }
}

/// The reporting hours of each site: per site (the profile's restaurant opening hours), else
/// per kind (restaurants 10:00–22:00, every other kind all day).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schedules {
    sites: HashMap<String, DailyWindow>,
    /// Restaurant default (`None`: [`Schedules::FUME_DEFAULT`]).
    fume: Option<DailyWindow>,
}

impl Schedules {
    /// Default opening hours of a restaurant (the fume policy's default, 10:00–22:00).
    pub const FUME_DEFAULT: DailyWindow = DailyWindow {
        from_min: 600,
        to_min: 1320,
    };

    /// Sets a site's reporting hours.
    pub fn with_site(mut self, site: &str, w: DailyWindow) -> Schedules {
        self.sites.insert(site.to_string(), w);
        self
    }

    /// Sets the restaurants' default opening hours.
    pub fn with_fume_default(mut self, w: DailyWindow) -> Schedules {
        self.fume = Some(w);
        self
    }

    /// The default of a kind.
    pub fn kind_default(&self, kind: DeviceKind) -> DailyWindow {
        match kind {
            DeviceKind::Fume => self.fume.unwrap_or(Schedules::FUME_DEFAULT),
            _ => DailyWindow::ALL_DAY,
        }
    }

    /// The reporting hours of `site` (a device of `kind` there).
    pub fn window(&self, site: &str, kind: Option<DeviceKind>) -> DailyWindow {
        self.sites
            .get(site)
            .copied()
            .or_else(|| kind.map(|k| self.kind_default(k)))
            .unwrap_or(DailyWindow::ALL_DAY)
    }

    /// The profile's restaurants with their own opening hours (`fume.open_hours`); the others
    /// take the kind default.
    pub fn from_profile(p: &profile::Profile) -> Schedules {
        let mut s = Schedules::default();
        for site in p.sites_by_kind(profile::SiteKind::Fume) {
            if let Some(w) = site
                .fume
                .as_ref()
                .and_then(|f| f.open_hours.as_deref())
                .and_then(|h| DailyWindow::parse(h).ok())
            {
                s.sites.insert(site.code.clone(), w);
            }
        }
        s
    }

    /// Whether `device` is in its site's reporting hours at `now` (UTC s): a restaurant's
    /// monitor outside its opening hours owes nothing then, so a device that is not connected
    /// is resting (休息), not offline.
    pub fn reporting_now(&self, device: &Device, now: i64) -> bool {
        self.window(&device.site, Some(device.kind)).contains(now)
    }

    /// What `device` owes at `now`.
    pub fn due(&self, device: &Device, state: Option<&DeviceState>, now: i64) -> Due {
        Due {
            span: DueSpan::of(Some(device), state),
            window: self.window(&device.site, Some(device.kind)),
            now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-04 00:00 Beijing, UTC s.
    const D: i64 = 1_793_721_600;

    #[test]
    fn restaurants_report_only_in_opening_hours() {
        let s = Schedules::default().with_site("FUME-LATE", DailyWindow::hours(16, 2));
        let fume = Device::new("MN-F", "pw", "FUME-0001", DeviceKind::Fume);
        let late = Device::new("MN-L", "pw", "FUME-LATE", DeviceKind::Fume);
        let air = Device::new("MN-A", "pw", "AIR-01", DeviceKind::Air);
        let at = |h: i64, m: i64| D + h * 3600 + m * 60;
        // Default 10:00–22:00 Beijing: resting at 23:30 and 09:59, reporting at 10:00 and 21:59.
        assert!(!s.reporting_now(&fume, at(23, 30)));
        assert!(!s.reporting_now(&fume, at(9, 59)));
        assert!(s.reporting_now(&fume, at(10, 0)));
        assert!(s.reporting_now(&fume, at(21, 59)));
        assert!(!s.reporting_now(&fume, at(22, 0)));
        // A night restaurant (16:00–02:00) reports at 23:30 and rests at 11:30.
        assert!(s.reporting_now(&late, at(23, 30)));
        assert!(!s.reporting_now(&late, at(11, 30)));
        // Every other kind reports all day.
        assert!(s.reporting_now(&air, at(23, 30)));
    }

    #[test]
    fn beijing_day_constant() {
        assert_eq!(
            crate::time::day_start_utc(standards::Date::ymd(2026, 11, 4)),
            D
        );
    }

    #[test]
    fn window_parse_contains_overlap() {
        let w = DailyWindow::parse("10:00-22:00").unwrap();
        assert_eq!(w, DailyWindow::hours(10, 22));
        assert_eq!(w, Schedules::FUME_DEFAULT);
        assert!(!w.contains(D + 9 * 3600 + 3599));
        assert!(w.contains(D + 10 * 3600));
        assert!(!w.contains(D + 22 * 3600));
        assert_eq!(w.overlap_s(D, D + DAY_S), 12 * 3600);
        assert_eq!(w.overlap_s(D + 21 * 3600, D + DAY_S + 11 * 3600), 2 * 3600);
        assert_eq!(w.day_s(), 12 * 3600);
        // across midnight
        let n = DailyWindow::parse("17:00-02:00").unwrap();
        assert!(n.contains(D + 3600) && n.contains(D + 23 * 3600) && !n.contains(D + 3 * 3600));
        assert_eq!(n.overlap_s(D, D + DAY_S), 9 * 3600);
        assert_eq!(n.day_s(), 9 * 3600);
        assert_eq!(n.to_string(), "17:00-02:00");
        assert!(DailyWindow::parse("00:00-24:00").unwrap().is_all_day());
        for bad in ["10-22", "25:00-26:00", "10:60-11:00", "", "10:00"] {
            assert!(DailyWindow::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hours_that_have_not_ended_are_not_due() {
        let due = Due {
            span: DueSpan::default(),
            window: DailyWindow::ALL_DAY,
            now: D + 11 * 3600 + 22 * 60, // 11:22
        };
        // hours 0..=10 have ended; 11:00–12:00 has not
        assert_eq!(due.hour_mask(D), (1 << 11) - 1);
        assert_eq!(due.slots(D, 600), 68); // 10-min intervals ended by 11:22
        assert_eq!(due.seconds(D, D + DAY_S), 11 * 3600 + 22 * 60);
    }

    #[test]
    fn commissioning_starts_what_is_due() {
        let mut dev = Device::new("MN1", "pw", "S1", DeviceKind::Air);
        dev.registered = Some(D + 10 * 3600 + 20 * 60); // registered 10:20
        let state = DeviceState {
            first_time: Some(D + 14 * 3600), // first data 14:00
            ..Default::default()
        };
        let span = DueSpan::of(Some(&dev), Some(&state));
        assert_eq!(span.from, Some(D + 10 * 3600 + 20 * 60));
        let due = Due {
            span,
            window: DailyWindow::ALL_DAY,
            now: D + DAY_S,
        };
        // hours 10 (midpoint 10:30 ≥ 10:20) … 23
        assert_eq!(due.hour_mask(D).count_ones(), 14);
        assert!(!due.slot(D + 9 * 3600, 3600));
        // first data earlier than the registration wins
        let early = DeviceState {
            first_time: Some(D - 3 * DAY_S),
            ..Default::default()
        };
        assert_eq!(
            DueSpan::of(Some(&dev), Some(&early)).from,
            Some(D - 3 * DAY_S)
        );
        // neither known: unbounded
        assert_eq!(DueSpan::of(None, None).from, None);
    }

    #[test]
    fn retirement_and_outages_end_what_is_due() {
        let due = Due {
            span: DueSpan {
                from: Some(D),
                to: Some(D + 20 * 3600),
                outages: vec![(D + 2 * 3600, D + 4 * 3600)],
            },
            window: DailyWindow::ALL_DAY,
            now: D + DAY_S,
        };
        assert_eq!(due.hour_mask(D).count_ones(), 20 - 2);
        assert_eq!(due.seconds(D - 3600, D + DAY_S), 18 * 3600);
    }

    #[test]
    fn a_closed_restaurant_owes_nothing() {
        let s = Schedules::default();
        let dev = Device::new("MN-F", "pw", "FUME-0001", DeviceKind::Fume);
        let due = s.due(&dev, None, D + 23 * 3600 + 30 * 60);
        // silent since 22:00: nothing due until it opens again
        assert_eq!(due.seconds(D + 22 * 3600, due.now), 0);
        let next = Due {
            now: D + DAY_S + 11 * 3600 + 30 * 60,
            ..due.clone()
        };
        // since 21:00 yesterday: 21–22 and 10:00–11:30
        assert_eq!(next.seconds(D + 21 * 3600, next.now), 3600 + 5400);
        assert_eq!(next.hour_mask(D).count_ones(), 12);
        assert_eq!(next.slots(D + DAY_S, 600), 9);
        // a site with its own hours
        let s = s.with_site("FUME-0001", DailyWindow::parse("09:30-21:30").unwrap());
        assert_eq!(s.window("FUME-0001", Some(DeviceKind::Fume)).from_min, 570);
        assert!(s.window("AIR-01", Some(DeviceKind::Air)).is_all_day());
    }
}
