//! Named deviations from the letter of HJ 212-2017 that real devices show.
//!
//! Strict mode rejects any frame with a deviation; lenient mode accepts it and reports every
//! deviation by name. The names (`as_str`) are stable: they are stored in per-device policy.

use std::fmt;

macro_rules! deviations {
    ($( $(#[$doc:meta])* $var:ident = $bit:expr, $name:literal, $cn:literal; )*) => {
        /// One deviation from the standard, found on an accepted frame.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Deviation {
            $( $(#[$doc])* $var = $bit, )*
        }

        impl Deviation {
            /// Every deviation, in bit order.
            pub const ALL: &'static [Deviation] = &[$(Deviation::$var,)*];

            /// The stable snake_case name.
            pub fn as_str(&self) -> &'static str {
                match self { $( Deviation::$var => $name, )* }
            }

            /// What the deviation means, in Chinese (for the web UI and reports).
            pub fn label_cn(&self) -> &'static str {
                match self { $( Deviation::$var => $cn, )* }
            }

            /// Parse a stable name back (`None` if unknown).
            pub fn from_name(name: &str) -> Option<Deviation> {
                match name { $( $name => Some(Deviation::$var), )* _ => None }
            }
        }
    };
}

deviations! {
    /// The CRC is CRC-16/MODBUS (either byte order) instead of the HJ 212 CRC (Std App. A).
    CrcModbus = 0, "crc_modbus", "校验码采用 CRC-16/MODBUS 算法,而非标准附录A规定的 CRC 算法";
    /// The frame ends with LF only instead of CR LF (Std §6.3 Table 2).
    LfOnly = 1, "lf_only", "包尾只有换行符 LF,缺少回车符 CR(标准要求 CR LF)";
    /// The frame has no tail at all after the CRC (Std §6.3 Table 2).
    NoTail = 2, "no_tail", "校验码之后没有包尾(缺少 CR LF)";
    /// The data segment is longer than 1024 bytes (Std §6.3 Table 2), up to `max_segment`.
    Oversize = 3, "oversize", "数据段超过 1024 字节的标准上限";
    /// The length field does not match the data segment; the frame was found by its
    /// `&&` + CRC + tail instead (Std §6.3 Table 2).
    LengthMismatch = 4, "length_mismatch", "数据段长度字段与实际长度不符(按 && 与校验码定位数据包)";
    /// No `QN=` field (HJ/T 212-2005 style; Std Table 3 requires it).
    NoQn = 5, "no_qn", "缺少请求编码 QN 字段(HJ/T 212-2005 格式)";
    /// No `Flag=` field (HJ/T 212-2005 style; Std Table 3 requires it).
    NoFlag = 6, "no_flag", "缺少拆分包及应答标志 Flag 字段(HJ/T 212-2005 格式)";
    /// A pollutant code of HJ/T 212-2005 (e.g. `011`, `B01`), normalised to the 2017 code
    /// (Std App. B "原编码" column).
    Code2005 = 7, "code_2005", "使用 HJ/T 212-2005 污染物编码,已换算为 2017 版编码";
    /// `QN` is not 17 digits `YYYYMMDDhhmmsszzz` (Std Table 3).
    QnNonstandard = 8, "qn_nonstandard", "请求编码 QN 不是 17 位数字(YYYYMMDDhhmmsszzz)";
    /// `ST` is not 2 characters of `0-9A-Z` (Std Table 5), e.g. `ST=101`.
    StNonstandard = 9, "st_nonstandard", "系统编码 ST 不是 2 位字母或数字";
    /// `CN` is not 4 digits (Std Table 9).
    CnNonstandard = 10, "cn_nonstandard", "命令编码 CN 不是 4 位数字";
    /// `PW` is not 6 characters (Std Table 3), e.g. a 24-hex password.
    PwNonstandard = 11, "pw_nonstandard", "访问密码 PW 不是 6 位字符";
    /// `MN` is not 24 hex characters (2017/2025, Std Table 3) or 14 alphanumerics (2005).
    MnNonstandard = 12, "mn_nonstandard", "设备唯一标识 MN 不符合规定长度(2017 版 24 位十六进制)";
    /// The header fields are not in the order QN, ST, CN, PW, MN, Flag, PNUM, PNO, CP (Std Table 3).
    FieldOrder = 13, "field_order", "包头字段顺序不符合标准(QN、ST、CN、PW、MN、Flag、PNUM、PNO、CP)";
    /// `PNUM`/`PNO` present without the Flag D bit, or the D bit set without them (Std Table 3).
    SplitFlagMismatch = 14, "split_flag_mismatch", "分包字段 PNUM/PNO 与 Flag 的拆分标志位不一致";
    /// The Flag version bits are none of 0 (2005), 1 (2017), 2 (2025).
    VersionUnknown = 15, "version_unknown", "Flag 中的标准版本号未定义";
    /// A header field that the standard does not define (kept, ignored).
    HeaderUnknownField = 16, "header_unknown_field", "包头含有标准未定义的字段";
    /// The items of one pollutant are split over several `;` groups (e.g. `011-Rtd=1;011-Flag=N`),
    /// Std §6.3.3 wants `,` inside a group.
    SemicolonInGroup = 17, "semicolon_in_group", "同一污染物的数据项被分号拆到多组(组内应以逗号分隔)";
    /// A trailing `;` or `,` before the closing `&&`.
    TrailingSeparator = 18, "trailing_separator", "数据区结尾多余的分号或逗号";
    /// An empty item or group in the middle of the CP (`;;`, `,,`).
    EmptyItem = 19, "empty_item", "数据区中有空数据项(;; 或 ,,)";
    /// A bare `Flag=` data flag with no pollutant code.
    BareFlag = 20, "bare_flag", "数据标记 Flag 未带污染物编码";
    /// A `DataTime` (or other `…Time` field) of 17 digits, with milliseconds (N14 in the Std).
    DatatimeMs = 21, "datatime_ms", "时间字段为 17 位(含毫秒),标准为 14 位";
    /// A time field that is neither 14 nor 17 digits.
    TimeNonstandard = 22, "time_nonstandard", "时间字段既不是 14 位也不是 17 位";
    /// A code-suffix key whose code does not have a 2017 shape (letter + 5 alphanumerics,
    /// noise codes, `SBn`), e.g. `O3-Rtd`, `a21-Rtd`, `CONC-Rtd`, unmapped 3-digit codes.
    CodeNonstandard = 23, "code_nonstandard", "污染物编码不符合 2017 版编码格式";
    /// The data segment is not valid UTF-8 (e.g. GBK text); it was decoded lossily, `raw` keeps
    /// the original bytes (Std §6.3: Chinese text is UTF-8).
    NonUtf8 = 24, "non_utf8", "数据段不是 UTF-8 编码(如 GBK),已按有损方式解码";
}

impl fmt::Display for Deviation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Deviation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Deviation::from_name(s).ok_or_else(|| format!("unknown deviation {s:?}"))
    }
}

/// A set of deviations as a bit set: cheap to store per device and to check against a frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct DeviationSet(u32);

impl DeviationSet {
    /// The empty set.
    pub const EMPTY: DeviationSet = DeviationSet(0);

    /// Every known deviation.
    pub fn all() -> DeviationSet {
        Deviation::ALL.iter().copied().collect()
    }
    pub fn insert(&mut self, d: Deviation) {
        self.0 |= 1 << d as u32;
    }
    pub fn contains(&self, d: Deviation) -> bool {
        self.0 & (1 << d as u32) != 0
    }
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }
    pub fn len(&self) -> usize {
        self.0.count_ones() as usize
    }
    /// True if every member of `self` is in `allowed`.
    pub fn is_subset(&self, allowed: DeviationSet) -> bool {
        self.0 & !allowed.0 == 0
    }
    /// The members of `self` that are not in `allowed`.
    pub fn difference(&self, allowed: DeviationSet) -> DeviationSet {
        DeviationSet(self.0 & !allowed.0)
    }
    pub fn union(&self, other: DeviationSet) -> DeviationSet {
        DeviationSet(self.0 | other.0)
    }
    /// Raw bits (bit n = the deviation whose discriminant is n).
    pub fn bits(&self) -> u32 {
        self.0
    }
    pub fn from_bits(bits: u32) -> DeviationSet {
        DeviationSet(bits)
    }
    /// The members in bit order.
    pub fn iter(&self) -> impl Iterator<Item = Deviation> + '_ {
        let bits = self.0;
        Deviation::ALL
            .iter()
            .copied()
            .filter(move |d| bits & (1 << *d as u32) != 0)
    }
}

impl FromIterator<Deviation> for DeviationSet {
    fn from_iter<I: IntoIterator<Item = Deviation>>(iter: I) -> Self {
        let mut s = DeviationSet::EMPTY;
        for d in iter {
            s.insert(d);
        }
        s
    }
}

impl<'a> FromIterator<&'a Deviation> for DeviationSet {
    fn from_iter<I: IntoIterator<Item = &'a Deviation>>(iter: I) -> Self {
        iter.into_iter().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for d in Deviation::ALL {
            assert_eq!(Deviation::from_name(d.as_str()), Some(*d));
        }
        assert_eq!(Deviation::from_name("crc_lowercase"), None);
    }

    #[test]
    fn every_deviation_has_a_distinct_chinese_label() {
        let labels: std::collections::BTreeSet<&str> =
            Deviation::ALL.iter().map(|d| d.label_cn()).collect();
        assert_eq!(labels.len(), Deviation::ALL.len());
        assert!(labels.iter().all(|l| !l.is_ascii()));
        assert!(Deviation::CrcModbus.label_cn().contains("CRC-16/MODBUS"));
    }

    #[test]
    fn set_ops() {
        let s: DeviationSet = [Deviation::CrcModbus, Deviation::NoTail].iter().collect();
        assert!(s.contains(Deviation::NoTail));
        assert!(!s.contains(Deviation::LfOnly));
        assert_eq!(s.len(), 2);
        let allowed: DeviationSet = [Deviation::CrcModbus].iter().collect();
        assert!(!s.is_subset(allowed));
        assert_eq!(
            s.difference(allowed).iter().collect::<Vec<_>>(),
            vec![Deviation::NoTail]
        );
    }
}
