//! HJ 212-2017 Appendix B (and HJ 525 for the older codes the field still uses): the Chinese
//! names of the monitoring-factor codes (监测因子编码) the county's devices send, so that pages,
//! alarm titles and downloads name a pollutant instead of showing `a34004` or `w21003`.
//! Non-standard codes the simulated fleet uses (noise `Leq`, the fume monitors' switch
//! states `SB1`/`SB2`) are listed with their meaning.

/// One code: its Chinese name and the unit the county's devices report it in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeName {
    pub code: &'static str,
    pub name_cn: &'static str,
    pub unit: &'static str,
}

const fn c(code: &'static str, name_cn: &'static str, unit: &'static str) -> CodeName {
    CodeName {
        code,
        name_cn,
        unit,
    }
}

/// The codes, HJ 212-2017 Table B.1 (air and flue gas), B.2 (water), B.3 (noise), then the
/// fleet's own.
pub const CODES: &[CodeName] = &[
    // ambient air and meteorology (B.1)
    c("a34004", "PM2.5", "μg/m³"),
    c("a34002", "PM10", "μg/m³"),
    c("a21026", "二氧化硫", "μg/m³"),
    c("a21004", "二氧化氮", "μg/m³"),
    c("a21005", "一氧化碳", "mg/m³"),
    c("a05024", "臭氧", "μg/m³"),
    c("a01001", "气温", "℃"),
    c("a01002", "相对湿度", "%"),
    c("a01006", "气压", "kPa"),
    c("a01007", "风速", "m/s"),
    c("a01008", "风向", "°"),
    // flue gas (B.1)
    c("a00000", "废气流量", "m³/h"),
    c("a19001", "氧含量", "%"),
    c("a01011", "烟气流速", "m/s"),
    c("a01012", "烟气温度", "℃"),
    c("a01013", "烟气压力", "kPa"),
    c("a01014", "烟气湿度", "%"),
    c("a21002", "氮氧化物", "mg/m³"),
    c("a21003", "一氧化氮", "mg/m³"),
    c("a34013", "颗粒物(烟尘)", "mg/m³"),
    c("a24088", "非甲烷总烃", "mg/m³"),
    c("a34041", "油烟", "mg/m³"),
    // water (B.2)
    c("w00000", "废水流量", "m³/h"),
    c("w01001", "pH值", "无量纲"),
    c("w01009", "溶解氧", "mg/L"),
    c("w01010", "水温", "℃"),
    c("w01012", "悬浮物", "mg/L"),
    c("w01014", "电导率", "μS/cm"),
    c("w01017", "五日生化需氧量", "mg/L"),
    c("w01018", "化学需氧量", "mg/L"),
    c("w01019", "高锰酸盐指数", "mg/L"),
    c("w21001", "总氮", "mg/L"),
    c("w21003", "氨氮", "mg/L"),
    c("w21011", "总磷", "mg/L"),
    // noise (B.3 LA; the fleet sends the equivalent level as `Leq`)
    c("LA", "A声级", "dB(A)"),
    c("Leq", "等效声级", "dB(A)"),
    // restaurant fume monitors' switch states (not in Appendix B)
    c("SB1", "风机状态", ""),
    c("SB2", "净化器状态", ""),
];

/// The entry of a code.
pub fn lookup(code: &str) -> Option<&'static CodeName> {
    CODES.iter().find(|x| x.code == code)
}

/// The Chinese name of a code, if it is one we know.
pub fn name_cn(code: &str) -> Option<&'static str> {
    lookup(code).map(|x| x.name_cn)
}

/// The Chinese name of a code, or the code itself.
pub fn name_or_code(code: &str) -> &str {
    name_cn(code).unwrap_or(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// HJ 212-2017 Table B.1: a34004 is PM2.5, a21026 SO2; Table B.2: w21003 NH3-N.
    #[test]
    fn appendix_b_names() {
        assert_eq!(name_cn("a34004"), Some("PM2.5"));
        assert_eq!(name_cn("a21026"), Some("二氧化硫"));
        assert_eq!(name_cn("w21003"), Some("氨氮"));
        assert_eq!(name_or_code("x99999"), "x99999");
        let mut seen = std::collections::BTreeSet::new();
        assert!(
            CODES.iter().all(|x| seen.insert(x.code)),
            "codes are unique"
        );
    }
}
