//! Code tables: protocol versions, command codes (Std Table 9 + HJ 212-2025), reply codes
//! (Std Tables 6 and 7) and the HJ/T 212-2005 → HJ 212-2017 pollutant code map (Std App. B).

use std::fmt;

/// Protocol version, from the Flag version bits (Std Table 3, bits V5..V0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Version {
    /// HJ/T 212-2005: version bits 0, or no Flag field at all.
    V2005,
    /// HJ 212-2017: version bits 1 (Flag 4–7).
    V2017,
    /// HJ 212-2025: version bits 2 (Flag 8–11).
    V2025,
}

impl Version {
    /// `"2005"`, `"2017"` or `"2025"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Version::V2005 => "2005",
            Version::V2017 => "2017",
            Version::V2025 => "2025",
        }
    }
    /// The version bits value (0, 1, 2).
    pub fn bits(&self) -> u8 {
        match self {
            Version::V2005 => 0,
            Version::V2017 => 1,
            Version::V2025 => 2,
        }
    }
    /// Version of a Flag value; unknown version bits (≥ 3) map to the newest known version.
    pub fn from_flag(flag: Option<u8>) -> Version {
        match flag.map(|f| f >> 2) {
            None | Some(0) => Version::V2005,
            Some(1) => Version::V2017,
            Some(_) => Version::V2025,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Flag bit A: the receiver must answer (Std Table 3).
pub const FLAG_ACK: u8 = 0b01;
/// Flag bit D: the packet is one part of a split set, PNUM/PNO present (Std Table 3).
pub const FLAG_SPLIT: u8 = 0b10;

/// A Flag value for a version with the A and D bits.
pub fn make_flag(version: Version, ack: bool, split: bool) -> u8 {
    (version.bits() << 2) | if ack { FLAG_ACK } else { 0 } | if split { FLAG_SPLIT } else { 0 }
}

/// The data flags of HJ 212-2017 Table 8 (数据标记, `code-Flag`): letter, short Chinese name,
/// meaning. Only `N` marks a value measured under normal operation.
pub const DATA_FLAGS: &[(&str, &str, &str)] = &[
    ("N", "正常", "在线监控(监测)仪器仪表工作正常"),
    ("F", "停运", "在线监控(监测)仪器仪表停运"),
    ("M", "维护", "在线监控(监测)仪器仪表处于维护期间产生的数据"),
    ("S", "手工输入", "手工输入的设定值"),
    ("D", "故障", "在线监控(监测)仪器仪表故障"),
    ("C", "校准", "在线监控(监测)仪器仪表处于校准状态"),
    (
        "T",
        "超测量上限",
        "在线监控(监测)仪器仪表采样数值超过测量上限",
    ),
    ("B", "通讯异常", "在线监控(监测)仪器仪表与数采仪通讯异常"),
];

/// The short Chinese name and the meaning of a Table 8 data flag (`None` for a letter the
/// standard does not define).
pub fn data_flag_cn(flag: &str) -> Option<(&'static str, &'static str)> {
    DATA_FLAGS
        .iter()
        .find(|(f, _, _)| *f == flag)
        .map(|(_, short, long)| (*short, *long))
}

/// Who sends a command (Std Table 9 "方向").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Platform (上位机) to field (现场机).
    PlatformToField,
    /// Field to platform.
    FieldToPlatform,
    /// Both: a platform request and a field upload with the same CN, or an answer used both ways.
    Both,
}

impl Direction {
    pub fn as_str(&self) -> &'static str {
        match self {
            Direction::PlatformToField => "p2f",
            Direction::FieldToPlatform => "f2p",
            Direction::Both => "both",
        }
    }
}

/// One command code (CN) of HJ 212-2017 Table 9 or of HJ 212-2025.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandCode {
    pub code: u16,
    /// Short English name.
    pub name: &'static str,
    pub direction: Direction,
    /// The first version that defines it.
    pub since: Version,
    /// True if HJ 212-2025 dropped it (per caoyiliang/HJ212 comments; hj212.md §1.14).
    pub removed_2025: bool,
}

macro_rules! cmds {
    ($( $code:literal, $name:literal, $dir:ident, $since:ident, $removed:literal; )*) => {
        /// All known command codes, sorted by code.
        pub const COMMAND_CODES: &[CommandCode] = &[
            $( CommandCode { code: $code, name: $name, direction: Direction::$dir, since: Version::$since, removed_2025: $removed }, )*
        ];
    };
}

cmds! {
    1000, "set_timeout_retry", PlatformToField, V2017, false;
    1001, "upload_logger_serial", FieldToPlatform, V2025, false;
    1002, "set_mn", PlatformToField, V2025, false;
    1011, "get_field_time", Both, V2017, false;
    1012, "set_field_time", PlatformToField, V2017, false;
    1013, "time_calibration_request", FieldToPlatform, V2017, false;
    1014, "secret_key", Both, V2025, false;
    1061, "get_rtd_interval", Both, V2017, false;
    1062, "set_rtd_interval", PlatformToField, V2017, false;
    1063, "get_min_interval", Both, V2017, false;
    1064, "set_min_interval", PlatformToField, V2017, false;
    1072, "set_password", PlatformToField, V2017, false;
    2011, "realtime_data", Both, V2017, false;
    2012, "stop_realtime_data", PlatformToField, V2017, false;
    2013, "raw_data", Both, V2025, false;
    2021, "equipment_status", Both, V2017, false;
    2022, "stop_equipment_status", PlatformToField, V2017, false;
    2031, "day_data", Both, V2017, false;
    2041, "equipment_runtime_day", Both, V2017, false;
    2051, "minute_data", Both, V2017, false;
    2052, "noise_single_measurement", Both, V2025, false;
    2061, "hour_data", Both, V2017, false;
    2062, "standard_check_data", Both, V2025, false;
    2081, "logger_restart_time", FieldToPlatform, V2017, false;
    2111, "furnace_temperature_5min", Both, V2025, false;
    3011, "zero_span_calibration", PlatformToField, V2017, false;
    3012, "sample_now", PlatformToField, V2017, false;
    3013, "clean_backblow", PlatformToField, V2017, false;
    3014, "comparison_sampling", PlatformToField, V2017, true;
    3015, "over_limit_sample_retention", Both, V2017, true;
    3016, "set_sampling_period", PlatformToField, V2017, true;
    3017, "get_sampling_period", Both, V2017, true;
    3018, "get_sample_output_time", Both, V2017, false;
    3019, "get_instrument_sn", Both, V2017, false;
    3020, "get_field_info", Both, V2017, false;
    3021, "set_field_params", PlatformToField, V2017, false;
    3022, "sample_retention_task", PlatformToField, V2025, false;
    3024, "start_standard_check", PlatformToField, V2025, false;
    9011, "request_answer", FieldToPlatform, V2017, false;
    9012, "execution_result", FieldToPlatform, V2017, false;
    9013, "notification_answer", Both, V2017, false;
    9014, "data_answer", Both, V2017, false;
    9015, "heartbeat", FieldToPlatform, V2025, false;
}

impl CommandCode {
    /// Look a CN up (numeric).
    pub fn lookup(code: u16) -> Option<&'static CommandCode> {
        COMMAND_CODES
            .binary_search_by_key(&code, |c| c.code)
            .ok()
            .map(|i| &COMMAND_CODES[i])
    }
    /// Look a CN up from its text (`"2011"`).
    pub fn lookup_str(cn: &str) -> Option<&'static CommandCode> {
        cn.parse::<u16>().ok().and_then(CommandCode::lookup)
    }
}

macro_rules! rtn_enum {
    ($(#[$doc:meta])* $name:ident { $( $(#[$vdoc:meta])* $var:ident = $val:literal, )* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $( $(#[$vdoc])* $var = $val, )* }
        impl $name {
            /// The numeric code.
            pub fn code(&self) -> u16 { *self as u16 }
            /// From the numeric code.
            pub fn from_code(code: u16) -> Option<Self> {
                match code { $( $val => Some($name::$var), )* _ => None }
            }
            /// All values.
            pub const ALL: &'static [$name] = &[$($name::$var,)*];
        }
    };
}

rtn_enum! {
    /// Request answer codes, `QnRtn` (Std Table 7).
    QnRtn {
        /// 准备执行请求
        Ready = 1,
        /// 请求被拒绝
        Rejected = 2,
        /// PW 错误
        PwError = 3,
        /// MN 错误
        MnError = 4,
        /// ST 错误
        StError = 5,
        /// Flag 错误
        FlagError = 6,
        /// QN 错误
        QnError = 7,
        /// CN 错误
        CnError = 8,
        /// CRC 校验错误
        CrcError = 9,
        /// 未知错误
        Unknown = 100,
    }
}

rtn_enum! {
    /// Execution result codes, `ExeRtn` (Std Table 6).
    ExeRtn {
        /// 执行成功
        Success = 1,
        /// 执行失败，但不知道原因
        Failed = 2,
        /// 命令请求条件错误
        ConditionError = 3,
        /// 通讯超时
        Timeout = 4,
        /// 系统繁忙不能执行
        Busy = 5,
        /// 系统故障
        SystemFault = 6,
        /// 没有数据
        NoData = 100,
    }
}

/// HJ/T 212-2005 pollutant codes and their HJ 212-2017 replacements (Std App. B, hj212.md §1.12).
pub const CODES_2005: &[(&str, &str)] = &[
    ("B01", "w00000"),
    ("001", "w01001"),
    ("011", "w01018"),
    ("060", "w21003"),
    ("101", "w21011"),
    ("065", "w21001"),
    ("003", "w01012"),
    ("080", "w22001"),
    ("B02", "a00000"),
    ("02", "a21026"),
    ("03", "a21002"),
    ("04", "a21005"),
    ("01", "a34013"),
    ("S01", "a19001"),
    ("S02", "a01011"),
    ("S03", "a01012"),
    ("S08", "a01013"),
    ("S05", "a01014"),
    ("S04", "a01017"),
    ("S07", "a01016"),
];

/// Index+1 of a 2005 code in [`CODES_2005`], 0 if it is not one.
#[inline]
pub(crate) fn code_2005_index(code: &[u8]) -> u8 {
    if code.len() > 3 || code.len() < 2 {
        return 0;
    }
    for (i, (old, _)) in CODES_2005.iter().enumerate() {
        if old.as_bytes() == code {
            return i as u8 + 1;
        }
    }
    0
}

/// The HJ 212-2017 code for a pollutant code: the 2005 → 2017 map applied, others unchanged.
pub fn normalise_code(code: &str) -> &str {
    match code_2005_index(code.as_bytes()) {
        0 => code,
        i => CODES_2005[i as usize - 1].1,
    }
}

/// Noise codes (Std Table B.3): no class prefix.
const NOISE_CODES: &[&str] = &[
    "LA", "Leq", "L5", "L10", "L50", "L90", "L95", "Ldn", "Ld", "Ln", "LMx", "LMn",
];

/// True if `code` has a shape HJ 212-2017 defines: a lowercase class letter and 5 digits
/// (w, a, e, g, i and other HJ 524/525 classes), a noise code, or `SBn` (treatment equipment).
#[inline]
pub fn is_standard_code_shape(code: &[u8]) -> bool {
    if code.len() == 6 && code[0].is_ascii_lowercase() && code[1..].iter().all(u8::is_ascii_digit) {
        return true;
    }
    if code.len() > 2 && code.starts_with(b"SB") && code[2..].iter().all(u8::is_ascii_digit) {
        return true;
    }
    NOISE_CODES.iter().any(|n| n.as_bytes() == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Std Table 9: the table is sorted (binary search) and every code is unique.
    #[test]
    fn table_sorted() {
        for w in COMMAND_CODES.windows(2) {
            assert!(w[0].code < w[1].code);
        }
        assert_eq!(CommandCode::lookup(9014).unwrap().name, "data_answer");
        assert_eq!(CommandCode::lookup(9015).unwrap().since, Version::V2025);
        assert!(CommandCode::lookup(1234).is_none());
    }

    /// Std App. B, "原编码" column (hj212.md §1.12).
    #[test]
    fn normalise() {
        assert_eq!(normalise_code("011"), "w01018");
        assert_eq!(normalise_code("B01"), "w00000");
        assert_eq!(normalise_code("w01018"), "w01018");
        assert_eq!(normalise_code("023"), "023");
    }

    /// Std Tables 6 and 7.
    #[test]
    fn rtn_codes() {
        assert_eq!(QnRtn::from_code(9), Some(QnRtn::CrcError));
        assert_eq!(ExeRtn::from_code(100), Some(ExeRtn::NoData));
        assert_eq!(ExeRtn::Success.code(), 1);
    }

    /// Std Table 3 Flag bits.
    #[test]
    fn flags() {
        assert_eq!(make_flag(Version::V2017, true, false), 5);
        assert_eq!(make_flag(Version::V2017, false, true), 6);
        assert_eq!(make_flag(Version::V2025, true, false), 9);
        assert_eq!(Version::from_flag(Some(8)), Version::V2025);
        assert_eq!(Version::from_flag(None), Version::V2005);
    }
}
