//! 污染源 live: `GET /api/v1/sources/live` (each outlet's latest real-time values with their
//! HJ 212 data flags, measured next to O2-corrected (折算) values, against the outlet's limit,
//! and its latest judged hour) and `GET /api/v1/sources/rates?year=&month=` (transmission and
//! validity rates per outlet and enterprise, from the quality engine's `quality_days`).
//! Both scoped by `Principal::sees_site`: an enterprise operator gets only their outlets, a
//! town official their town's.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde_json::{json, Value};

use crate::auth::Principal;
use crate::reports::PeriodQuery;
use crate::{ApiError, AppState};

type Res = Result<Response, ApiError>;

/// Operating parameters shown beside the pollutants (HJ 212-2017 App. B codes and units).
const PARAMETERS: &[(&str, &str, &str)] = &[
    ("a19001", "氧含量", "%"),
    ("a00000", "废气流量", "m³/s"),
    ("a01011", "烟气流速", "m/s"),
    ("a01012", "烟气温度", "℃"),
    ("a01013", "烟气压力", "kPa"),
    ("a01014", "烟气湿度", "%"),
    ("w00000", "废水流量", "L/s"),
    ("w01001", "pH值", "无量纲"),
];

/// Real-time values older than this are not "live" (the outlet shows none).
const LIVE_WINDOW_S: i64 = 24 * 3600;

fn flag_json(flag: Option<&str>) -> Value {
    match flag {
        None => json!({"flag": null, "name": "未标记", "meaning": "设备未发送数据标记"}),
        Some(f) => match hj212::data_flag_cn(f) {
            Some((name, meaning)) => json!({"flag": f, "name": name, "meaning": meaning}),
            None => {
                json!({"flag": f, "name": "未定义", "meaning": "HJ 212-2017 表8 未定义的数据标记"})
            }
        },
    }
}

/// Whether a value breaks the limit (upper: value > upper; lower, e.g. pH: value < lower).
fn exceeds(v: Option<f64>, upper: Option<f64>, lower: Option<f64>) -> Option<bool> {
    let v = v?;
    if upper.is_none() && lower.is_none() {
        return None;
    }
    Some(upper.is_some_and(|u| v > u) || lower.is_some_and(|l| v < l))
}

fn num(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// A real-time record: time (UTC s), field → value (`Rtd`, `ZsRtd`, …), data flag.
type RtdRecord = (i64, BTreeMap<String, f64>, Option<String>);

/// The latest real-time record of `code` at `site` (within [`LIVE_WINDOW_S`]): time, fields
/// (`Rtd`, `ZsRtd`, …) and the flag.
fn latest_rtd(
    r: &dyn store::Store,
    site: &str,
    code: &str,
    now: i64,
) -> Result<Option<RtdRecord>, ApiError> {
    let Some(t) = r.latest_time(site, code, model::Period::Rtd)? else {
        return Ok(None);
    };
    if t < now - LIVE_WINDOW_S {
        return Ok(None);
    }
    let filter = store::ValueFilter {
        site: Some(site.to_string()),
        code: Some(code.to_string()),
        period: Some(model::Period::Rtd),
        from: Some(t),
        to: Some(t + 1),
        raw: true,
        ..Default::default()
    };
    let mut fields = BTreeMap::new();
    let mut flag = None;
    r.for_each_value(&filter, &mut |m| {
        fields.insert(m.field.clone(), m.value);
        if m.flag.is_some() {
            flag = m.flag.clone();
        }
        Ok(())
    })?;
    Ok(Some((t, fields, flag)))
}

/// `GET /api/v1/sources/live`.
pub async fn live(State(s): State<AppState>, Extension(p): Extension<Principal>) -> Res {
    let v = crate::blocking(move || live_json(&s, &p)).await?;
    Ok(axum::Json(v).into_response())
}

fn live_json(s: &AppState, p: &Principal) -> Result<Value, ApiError> {
    let now = crate::auth::now_ms() / 1000;
    let online = s.gateway.connected();
    let outlets: Vec<&engine::sources::OutletSpec> = s
        .sources
        .outlets()
        .filter(|o| p.sees_site(&s.owners, &o.site))
        .collect();
    let (devices, states) = {
        let r = s.reader.lock().unwrap_or_else(|e| e.into_inner());
        (r.devices()?, r.device_states()?)
    };
    let last_seen: BTreeMap<&str, Option<i64>> = states
        .iter()
        .map(|st| (st.mn.as_str(), st.last_seen_ms))
        .collect();
    let mut ents: BTreeMap<String, (String, Vec<Value>)> = BTreeMap::new();
    for o in outlets {
        let attrs = s.profile.site(&o.site).and_then(|x| x.outlet.clone());
        let monitored: Vec<String> = attrs.map(|a| a.monitored).unwrap_or_default();
        let ref_o2 = o.reference_o2_pct;
        // Real-time values of the limited pollutants and the parameters.
        let mut rtd: BTreeMap<String, RtdRecord> = BTreeMap::new();
        {
            let r = s.reader.lock().unwrap_or_else(|e| e.into_inner());
            let codes = o
                .limits
                .iter()
                .map(|l| l.code.clone())
                .chain(monitored.iter().cloned())
                .chain(PARAMETERS.iter().map(|(c, _, _)| c.to_string()));
            for code in codes {
                if rtd.contains_key(&code) {
                    continue;
                }
                if let Some(x) = latest_rtd(&**r, &o.site, &code, now)? {
                    rtd.insert(code, x);
                }
            }
        }
        // The latest judged hour per pollutant (two days back).
        let hours = {
            let d = s.domain.lock().unwrap_or_else(|e| e.into_inner());
            d.source_hours(Some(&o.site), None, now - 2 * 86_400, now + 3600)?
        };
        let mut last_hour: BTreeMap<&str, &store::sources::SourceHour> = BTreeMap::new();
        for h in &hours {
            last_hour.insert(h.code.as_str(), h); // ordered by (site, code, hour): last wins
        }
        let o2_now = rtd
            .get(engine::sources::O2)
            .and_then(|(_, f, _)| f.get("Rtd").copied());
        let pollutants: Vec<Value> =
            o.limits
                .iter()
                .map(|l| {
                    let corrects = ref_o2.is_some() && !engine::sources::is_parameter(&l.code);
                    let rt = rtd.get(&l.code).map(|(t, f, flag)| {
                    let measured = f.get("Rtd").copied();
                    let (corrected, origin) = match (f.get("ZsRtd"), corrects) {
                        (_, false) => (None, Value::Null),
                        (Some(z), true) => (Some(*z), json!("device")),
                        (None, true) => (
                            measured.zip(o2_now).zip(ref_o2).and_then(|((m, o2), r)| {
                                engine::sources::o2_corrected(m, o2, r)
                            }),
                            json!("computed"),
                        ),
                    };
                    let judged = if corrects { corrected } else { measured };
                    json!({
                        "time": model::format_beijing(*t),
                        "measured": measured.map(num), "corrected": corrected.map(num),
                        "corrected_origin": if corrected.is_some() { origin } else { Value::Null },
                        "flag": flag_json(flag.as_deref()),
                        "exceeds": exceeds(judged, l.upper, l.lower),
                    })
                });
                    let hr = last_hour.get(l.code.as_str()).map(|h| {
                        json!({
                            "hour": model::format_beijing(h.hour),
                            "measured": h.measured.map(num),
                            "value": h.value.map(num),
                            "corrected": corrects,
                            "valid": h.valid, "flag": flag_json(Some(&h.flag)),
                            "exceeds": h.exceeds, "limit": h.limit,
                        })
                    });
                    json!({
                        "code": l.code, "name": l.name, "unit": l.unit,
                        "limit_upper": l.upper, "limit_lower": l.lower, "limit_source": l.source,
                        "o2_corrected": corrects, "rtd": rt, "hour": hr,
                    })
                })
                .collect();
        let parameters: Vec<Value> = PARAMETERS
            .iter()
            .filter(|(code, _, _)| o.limit(code).is_none())
            .filter_map(|(code, name, unit)| {
                let (t, f, flag) = rtd.get(*code)?;
                Some(json!({
                    "code": code, "name": name, "unit": unit,
                    "time": model::format_beijing(*t),
                    "value": f.get("Rtd").copied().map(num),
                    "flag": flag_json(flag.as_deref()),
                }))
            })
            .collect();
        let devs: Vec<Value> = devices
            .iter()
            .filter(|d| d.site == o.site)
            .map(|d| {
                json!({"mn": d.mn, "online": online.binary_search(&d.mn).is_ok(),
                       "last_seen": last_seen.get(d.mn.as_str()).copied().flatten()
                           .map(|ms| model::format_beijing(ms.div_euclid(1000)))})
            })
            .collect();
        let latest_t = rtd.values().map(|(t, _, _)| *t).max();
        let e = ents
            .entry(o.enterprise.clone())
            .or_insert_with(|| (o.enterprise_name.clone(), Vec::new()));
        e.1.push(json!({
            "site": o.site, "name": o.name, "kind": o.kind.code(), "standard": o.standard,
            "reference_o2_pct": ref_o2, "devices": devs,
            "rtd_time": latest_t.map(model::format_beijing),
            "pollutants": pollutants, "parameters": parameters,
        }));
    }
    Ok(json!({
        "now": model::format_beijing(now),
        "flags": hj212::DATA_FLAGS.iter().map(|(f, n, m)| json!({"flag": f, "name": n, "meaning": m})).collect::<Vec<_>>(),
        "enterprises": ents.into_iter().map(|(code, (name, outlets))| json!({"enterprise": code, "name": name, "outlets": outlets})).collect::<Vec<_>>(),
    }))
}

/// `GET /api/v1/sources/rates?year=&month=`: the quality report's hour-data rates (传输率 =
/// received / expected, 有效率 = valid / received, 传输有效率 = valid / expected, ≥ 0.9
/// expected) summed per outlet (its devices) and per enterprise (its outlets). Expected = the
/// hours due by `as_of` (`engine::due`: ended, since commissioning, in the reporting hours).
pub async fn rates(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<PeriodQuery>,
) -> Res {
    let (from, to) = crate::reports::period(&q)?;
    let by_month = q.month().is_none();
    let body = {
        let s = s.clone();
        crate::blocking(move || {
            crate::reports::cached_report(
                &s,
                "quality",
                engine::quality::WATERMARK,
                from,
                to,
                by_month,
            )
        })
        .await?
    };
    let rep: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError(axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let mut by_site: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for d in rep["devices"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        if let Some(site) = d["site"].as_str() {
            by_site.entry(site.to_string()).or_default().push(d);
        }
    }
    let threshold = engine::quality_report::THRESHOLD;
    let rates = |e: i64, r: i64, v: i64| {
        let ratio =
            |a: i64, b: i64| (b > 0).then(|| (a as f64 / b as f64 * 10_000.0).round() / 10_000.0);
        let eff = ratio(v, e);
        json!({"expected": e, "received": r, "valid": v,
               "transmission_rate": ratio(r, e), "validity_rate": ratio(v, r),
               "effective_rate": eff, "meets_threshold": eff.map(|x| x >= threshold)})
    };
    let n = |v: &Value, k: &str| v[k].as_i64().unwrap_or(0);
    let mut ents: BTreeMap<String, (String, [i64; 3], Vec<Value>)> = BTreeMap::new();
    for o in s
        .sources
        .outlets()
        .filter(|o| p.sees_site(&s.owners, &o.site))
    {
        let devs = by_site.get(&o.site).cloned().unwrap_or_default();
        let (e, r, v) = devs.iter().fold((0, 0, 0), |(e, r, v), d| {
            (
                e + n(d, "expected"),
                r + n(d, "received"),
                v + n(d, "valid"),
            )
        });
        let mut out = rates(e, r, v);
        out["site"] = json!(o.site);
        out["name"] = json!(o.name);
        out["devices"] = json!(devs.iter().map(|d| d["mn"].clone()).collect::<Vec<_>>());
        out["flagged"] = json!(devs.iter().map(|d| n(d, "flagged")).sum::<i64>());
        out["marked_invalid"] = json!(devs.iter().map(|d| n(d, "marked_invalid")).sum::<i64>());
        let ent = ents
            .entry(o.enterprise.clone())
            .or_insert_with(|| (o.enterprise_name.clone(), [0; 3], Vec::new()));
        ent.1[0] += e;
        ent.1[1] += r;
        ent.1[2] += v;
        ent.2.push(out);
    }
    let enterprises: Vec<Value> = ents
        .into_iter()
        .map(|(code, (name, [e, r, v], outlets))| {
            let mut x = rates(e, r, v);
            x["enterprise"] = json!(code);
            x["name"] = json!(name);
            x["outlets"] = json!(outlets);
            x
        })
        .collect();
    let v = json!({
        "from": rep["from"], "to": rep["to"], "threshold": threshold, "basis": rep["basis"],
        "due": rep["due"], "as_of": rep["as_of"],
        "enterprises": enterprises,
    });
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_vec(&v).unwrap_or_default(),
    )
        .into_response())
}
