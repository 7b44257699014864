//! Platform → field requests (Std Table 9; App. C examples). Every request carries a QN from
//! the caller (see [`QnGenerator`](crate::QnGenerator)), and the A bit (Flag=5 for 2017).

use crate::codes::{make_flag, Version};
use crate::packet::{BuildError, Packet, PacketBuilder};

/// The station addressed: system code, password, MN and protocol version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub st: String,
    pub pw: String,
    pub mn: String,
    pub version: Version,
}

impl Target {
    pub fn new(st: &str, pw: &str, mn: &str, version: Version) -> Self {
        Target {
            st: st.into(),
            pw: pw.into(),
            mn: mn.into(),
            version,
        }
    }

    /// A request with this CN and CP items, each as its own `;` group (as Std C.1–C.12 do).
    pub fn request(
        &self,
        qn: &str,
        cn: &str,
        items: &[(&str, &str)],
    ) -> Result<Packet, BuildError> {
        let mut b = PacketBuilder::new(&*self.st, cn, &*self.pw, &*self.mn)
            .qn(qn)
            .flag(make_flag(self.version, true, false));
        for (k, v) in items {
            b = b.item(*k, *v);
        }
        b.build()
    }

    fn with_pol(
        &self,
        qn: &str,
        cn: &str,
        pol_id: Option<&str>,
        rest: &[(&str, &str)],
    ) -> Result<Packet, BuildError> {
        let mut items: Vec<(&str, &str)> = Vec::new();
        if let Some(p) = pol_id {
            items.push(("PolId", p));
        }
        items.extend_from_slice(rest);
        self.request(qn, cn, &items)
    }

    /// 1000 set timeout and retries: `OverTime=5;ReCount=3` (1–99 s, 1–99).
    pub fn set_timeout_retry(
        &self,
        qn: &str,
        over_time: u8,
        re_count: u8,
    ) -> Result<Packet, BuildError> {
        self.request(
            qn,
            "1000",
            &[
                ("OverTime", &over_time.to_string()),
                ("ReCount", &re_count.to_string()),
            ],
        )
    }
    /// 1011 get the field time (of one instrument with `PolId`).
    pub fn get_field_time(&self, qn: &str, pol_id: Option<&str>) -> Result<Packet, BuildError> {
        self.with_pol(qn, "1011", pol_id, &[])
    }
    /// 1012 set the field time: `SystemTime=YYYYMMDDhhmmss`.
    pub fn set_field_time(
        &self,
        qn: &str,
        pol_id: Option<&str>,
        system_time: &str,
    ) -> Result<Packet, BuildError> {
        self.with_pol(qn, "1012", pol_id, &[("SystemTime", system_time)])
    }
    /// 1061 get the real-time data interval.
    pub fn get_rtd_interval(&self, qn: &str) -> Result<Packet, BuildError> {
        self.request(qn, "1061", &[])
    }
    /// 1062 set the real-time data interval `RtdInterval` (30–3600 s).
    pub fn set_rtd_interval(&self, qn: &str, seconds: u32) -> Result<Packet, BuildError> {
        self.request(qn, "1062", &[("RtdInterval", &seconds.to_string())])
    }
    /// 1063 get the minute data interval.
    pub fn get_min_interval(&self, qn: &str) -> Result<Packet, BuildError> {
        self.request(qn, "1063", &[])
    }
    /// 1064 set the minute data interval `MinInterval` (1,2,3,4,5,6,10,12,15,20,30 min).
    pub fn set_min_interval(&self, qn: &str, minutes: u32) -> Result<Packet, BuildError> {
        self.request(qn, "1064", &[("MinInterval", &minutes.to_string())])
    }
    /// 1072 set the password `NewPW`.
    pub fn set_password(&self, qn: &str, new_pw: &str) -> Result<Packet, BuildError> {
        self.request(qn, "1072", &[("NewPW", new_pw)])
    }
    /// 2011 start real-time data uploads (empty CP).
    pub fn start_realtime(&self, qn: &str) -> Result<Packet, BuildError> {
        self.request(qn, "2011", &[])
    }
    /// 2012 stop real-time data uploads (a notification: the field answers 9013).
    pub fn stop_realtime(&self, qn: &str) -> Result<Packet, BuildError> {
        self.request(qn, "2012", &[])
    }
    /// 2021 start equipment status uploads.
    pub fn start_status(&self, qn: &str) -> Result<Packet, BuildError> {
        self.request(qn, "2021", &[])
    }
    /// 2022 stop equipment status uploads (notification).
    pub fn stop_status(&self, qn: &str) -> Result<Packet, BuildError> {
        self.request(qn, "2022", &[])
    }
    /// 2031/2041/2051/2061 (and 2025's 2062) history back-fill: `BeginTime=…,EndTime=…`
    /// (one group, as Std C.23 writes it).
    pub fn history(
        &self,
        qn: &str,
        kind: History,
        begin: &str,
        end: &str,
    ) -> Result<Packet, BuildError> {
        PacketBuilder::new(&*self.st, kind.cn(), &*self.pw, &*self.mn)
            .qn(qn)
            .flag(make_flag(self.version, true, false))
            .group([("BeginTime", begin), ("EndTime", end)])
            .build()
    }
    /// 3011 zero/span calibration of `PolId`.
    pub fn calibrate(&self, qn: &str, pol_id: &str) -> Result<Packet, BuildError> {
        self.with_pol(qn, "3011", Some(pol_id), &[])
    }
    /// 3012 immediate sampling.
    pub fn sample_now(&self, qn: &str, pol_id: &str) -> Result<Packet, BuildError> {
        self.with_pol(qn, "3012", Some(pol_id), &[])
    }
    /// 3013 cleaning / back-blow.
    pub fn clean(&self, qn: &str, pol_id: &str) -> Result<Packet, BuildError> {
        self.with_pol(qn, "3013", Some(pol_id), &[])
    }
    /// 3014 comparison sampling.
    pub fn comparison_sampling(&self, qn: &str, pol_id: &str) -> Result<Packet, BuildError> {
        self.with_pol(qn, "3014", Some(pol_id), &[])
    }
    /// 3015 over-limit sample retention.
    pub fn retain_sample(&self, qn: &str, pol_id: &str) -> Result<Packet, BuildError> {
        self.with_pol(qn, "3015", Some(pol_id), &[])
    }
    /// 3016 set the sampling period: `CstartTime=hhmmss;Ctime=h`.
    pub fn set_sampling_period(
        &self,
        qn: &str,
        pol_id: &str,
        cstart_time: &str,
        ctime_hours: u32,
    ) -> Result<Packet, BuildError> {
        self.with_pol(
            qn,
            "3016",
            Some(pol_id),
            &[
                ("CstartTime", cstart_time),
                ("Ctime", &ctime_hours.to_string()),
            ],
        )
    }
    /// 3017 get the sampling period.
    pub fn get_sampling_period(&self, qn: &str, pol_id: &str) -> Result<Packet, BuildError> {
        self.with_pol(qn, "3017", Some(pol_id), &[])
    }
    /// 3018 get the sample output time.
    pub fn get_sample_output_time(&self, qn: &str, pol_id: &str) -> Result<Packet, BuildError> {
        self.with_pol(qn, "3018", Some(pol_id), &[])
    }
    /// 3019 get the instrument serial number.
    pub fn get_instrument_sn(&self, qn: &str, pol_id: &str) -> Result<Packet, BuildError> {
        self.with_pol(qn, "3019", Some(pol_id), &[])
    }
    /// 3020 get field information `InfoId` (with `BeginTime`/`EndTime` for logs).
    pub fn get_field_info(
        &self,
        qn: &str,
        pol_id: &str,
        info_id: &str,
        range: Option<(&str, &str)>,
    ) -> Result<Packet, BuildError> {
        let mut b = PacketBuilder::new(&*self.st, "3020", &*self.pw, &*self.mn)
            .qn(qn)
            .flag(make_flag(self.version, true, false))
            .item("PolId", pol_id)
            .item("InfoId", info_id);
        if let Some((begin, end)) = range {
            b = b.group([("BeginTime", begin), ("EndTime", end)]);
        }
        b.build()
    }
    /// 3021 set a field parameter: `PolId=…;InfoId=…,InfoId-Info=value` per Std C.46.
    pub fn set_field_param(
        &self,
        qn: &str,
        pol_id: &str,
        info_id: &str,
        value: &str,
    ) -> Result<Packet, BuildError> {
        PacketBuilder::new(&*self.st, "3021", &*self.pw, &*self.mn)
            .qn(qn)
            .flag(make_flag(self.version, true, false))
            .item("PolId", pol_id)
            .item(format!("{info_id}-Info"), value)
            .build()
    }
}

/// History data kinds that the platform can request with BeginTime/EndTime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum History {
    /// 2031 day data.
    Day,
    /// 2041 equipment daily run time.
    EquipmentRuntime,
    /// 2051 minute data.
    Minute,
    /// 2061 hour data.
    Hour,
    /// 2062 (HJ 212-2025) automatic standard-check / calibration data.
    StandardCheck,
}

impl History {
    pub fn cn(&self) -> &'static str {
        match self {
            History::Day => "2031",
            History::EquipmentRuntime => "2041",
            History::Minute => "2051",
            History::Hour => "2061",
            History::StandardCheck => "2062",
        }
    }
}

/// The frame `text` with the value of every `PW=` field replaced by `******`, for showing a
/// sent request to people and logs: MN + PW is all a forger needs to push data as that device.
/// The result is for display (its CRC no longer matches); everything else is kept byte for byte.
pub fn redact_password(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("PW=") {
        // Only a field name: at the start, or after a field or segment separator.
        let at_field = i == 0 || matches!(rest.as_bytes()[i - 1], b';' | b',' | b'&' | b'#');
        out.push_str(&rest[..i + 3]);
        rest = &rest[i + 3..];
        if at_field {
            let end = rest.find([';', '&', ',', '\r', '\n']).unwrap_or(rest.len());
            if end > 0 {
                out.push_str("******");
            }
            rest = &rest[end..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod redact_tests {
    use super::redact_password;

    #[test]
    fn hides_the_password_and_keeps_the_rest() {
        let f = "##0101QN=20261204110000000;ST=32;CN=2061;PW=123456;MN=MN-1;Flag=5;CP=&&BeginTime=20261128000000&&6A80\r\n";
        let r = redact_password(f);
        assert!(!r.contains("123456"), "{r}");
        assert_eq!(
            r,
            "##0101QN=20261204110000000;ST=32;CN=2061;PW=******;MN=MN-1;Flag=5;CP=&&BeginTime=20261128000000&&6A80\r\n"
        );
        // The last field, an empty password, and a name that merely ends in PW.
        assert_eq!(redact_password("MN=1;PW=secret"), "MN=1;PW=******");
        assert_eq!(redact_password("PW=;MN=1"), "PW=;MN=1");
        assert_eq!(redact_password("XPW=kept;PW=x"), "XPW=kept;PW=******");
        assert_eq!(redact_password("no password here"), "no password here");
    }
}
