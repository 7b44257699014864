//! The deterministic restaurant generator (餐饮油烟在线监控点): the plan counts 1,357
//! restaurants but lists none, so the fleet is generated from `fume.json` — same seed, same
//! restaurants, on every machine.

use crate::types::{FumeAttrs, FumeFleet, FumeScale, Location, Site, SiteKind, Town};

/// xorshift64* — tiny, fast and deterministic; not for anything secret.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> XorShift {
        // A zero state would stay zero; mix the seed (splitmix64 step).
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        XorShift((z ^ (z >> 31)) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: usize) -> usize {
        (self.unit() * n as f64) as usize
    }
}

const PREFIXES: &[&str] = &[
    "老王",
    "张记",
    "李记",
    "刘家",
    "陈记",
    "杨家",
    "黄记",
    "赵记",
    "周家",
    "吴记",
    "巴蜀",
    "渝味",
    "垫江",
    "牡丹",
    "明月",
    "老街",
    "川香",
    "山城",
    "龙溪",
    "好吃",
    "幺妹",
    "胖哥",
    "老码头",
    "邻家",
];

const DISHES: &[&str] = &[
    "火锅",
    "串串香",
    "豆花饭",
    "小面",
    "烤鱼",
    "中餐馆",
    "江湖菜",
    "烧烤",
    "米线",
    "酸菜鱼",
    "冷锅鱼",
    "鸡杂",
    "牛肉面",
    "家常菜",
    "农家乐",
    "饺子馆",
    "卤菜馆",
    "汤锅",
    "石磨豆花",
    "羊肉汤",
    "酒楼",
    "食堂",
    "干锅",
    "抄手",
];

pub(crate) fn generate(fleet: &FumeFleet, towns: &[Town]) -> Vec<Site> {
    let mut rng = XorShift::new(fleet.seed);
    let mut out = Vec::with_capacity(fleet.count as usize);
    for tc in &fleet.distribution {
        let Some(town) = towns.iter().find(|t| t.code == tc.town) else {
            continue; // reported by validate
        };
        for _ in 0..tc.count {
            let n = out.len() + 1;
            let name = format!(
                "{}{}",
                PREFIXES[rng.below(PREFIXES.len())],
                DISHES[rng.below(DISHES.len())]
            );
            // Uniform in a disc of radius jitter_deg around the town centre.
            let r = fleet.jitter_deg * rng.unit().sqrt();
            let a = std::f64::consts::TAU * rng.unit();
            let lon = town.centre.lon + r * a.cos();
            let lat = town.centre.lat + r * a.sin();
            // 60 % small (1–2 stoves), 30 % medium (3–5), 10 % large (6–8).
            let p = rng.unit();
            let stoves = if p < 0.6 {
                1 + rng.below(2)
            } else if p < 0.9 {
                3 + rng.below(3)
            } else {
                6 + rng.below(3)
            } as u8;
            let scale = FumeScale::from_stoves(stoves);
            let min_removal_pct = match scale {
                FumeScale::Small => fleet.min_removal_pct.small,
                FumeScale::Medium => fleet.min_removal_pct.medium,
                FumeScale::Large => fleet.min_removal_pct.large,
            };
            out.push(Site {
                code: format!("FUME-{n:04}"),
                name: format!("{name}({}店)", short_town(&town.name)),
                kind: SiteKind::Fume,
                town: town.code.clone(),
                location: Location {
                    lon: round6(lon),
                    lat: round6(lat),
                    approx: true,
                },
                source: "assumed (generated from fume.json)".into(),
                assumed: vec!["name".into(), "location".into(), "stoves".into()],
                air: None,
                surface_water: None,
                drinking_water: None,
                noise: None,
                outlet: None,
                fume: Some(FumeAttrs {
                    stoves,
                    scale,
                    limit_mg_m3: fleet.limit_mg_m3,
                    min_removal_pct,
                    open_hours: None,
                }),
                file: crate::files::FUME,
            });
        }
    }
    out
}

/// 桂溪街道 → 桂溪, 沙坪镇 → 沙坪, 沙河乡 → 沙河.
fn short_town(name: &str) -> &str {
    ["街道", "镇", "乡"]
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .unwrap_or(name)
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}
