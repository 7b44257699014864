//! Which rule set is in force on a date.
//!
//! GB 3095-2026, HJ 633-2026 and HJ 663-2026 replaced GB 3095-2012 (with its 2018 amendment),
//! HJ 633-2012 and HJ 663-2013 on **2026-03-01**; GB 3095-2026 uses transition limits for the
//! basic items until 2030-12-31 and its final limits from **2031-01-01** (standards.md §0).

use crate::ambient::AmbientStandard;
use crate::aqi::AqiStandard;
use crate::assessment::AssessmentStandard;
use crate::date::Date;
use crate::source::Source;

/// First day of GB 3095-2026 / HJ 633-2026 / HJ 663-2026.
pub const AIR_2026_IN_FORCE: Date = Date::ymd(2026, 3, 1);
/// First day of the GB 3095-2026 final (stage-2) limits.
pub const GB3095_2026_FINAL_FROM: Date = Date::ymd(2031, 1, 1);
/// First day of the 2018 reference-state rule (gases at 298.15 K).
pub const REFERENCE_STATE_2018_FROM: Date = Date::ymd(2018, 9, 1);

/// Citation for the switch-over dates.
pub const SOURCE: Source = Source::primary(
    "GB 3095-2026 / HJ 633-2026 (MEE announcements)",
    "implementation dates; GB 3095-2026 Table 1 stages",
);

/// The complete air rule set in force on one date. Store `code()`s with every stored result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AirRuleSet {
    /// AQI technical regulation.
    pub aqi: AqiStandard,
    /// Ambient limits.
    pub ambient: AmbientStandard,
    /// Assessment (statistics) regulation.
    pub assessment: AssessmentStandard,
}

/// The air rule set in force on `date`: 2012/2013 rules before 2026-03-01, then the 2026
/// rules (GB 3095-2026 transition limits until 2030-12-31, final limits from 2031-01-01).
pub fn air_rules_on(date: Date) -> AirRuleSet {
    AirRuleSet {
        aqi: AqiStandard::in_force_on(date),
        ambient: AmbientStandard::in_force_on(date),
        assessment: AssessmentStandard::in_force_on(date),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// HJ 633-2026 / GB 3095-2026 implementation date 2026-03-01; GB 3095-2026 final stage 2031-01-01.
    #[test]
    fn rule_sets_switch_on_their_dates() {
        let r = air_rules_on(Date::ymd(2026, 2, 28));
        assert_eq!(r.aqi, AqiStandard::Hj633_2012);
        assert_eq!(r.ambient, AmbientStandard::Gb3095_2012);
        assert_eq!(r.assessment, AssessmentStandard::Hj663_2013);
        let r = air_rules_on(Date::ymd(2026, 3, 1));
        assert_eq!(r.aqi, AqiStandard::Hj633_2026);
        assert_eq!(r.ambient, AmbientStandard::Gb3095_2026Transition);
        assert_eq!(r.assessment, AssessmentStandard::Hj663_2026);
        let r = air_rules_on(Date::ymd(2030, 12, 31));
        assert_eq!(r.ambient, AmbientStandard::Gb3095_2026Transition);
        let r = air_rules_on(Date::ymd(2031, 1, 1));
        assert_eq!(r.ambient, AmbientStandard::Gb3095_2026Final);
        assert_eq!(r.aqi, AqiStandard::Hj633_2026);
    }
}
