//! Handlers of `/api/v1`. Authorisation by role already happened ([`crate::auth::authorize`]);
//! here each handler applies the object scope (`Principal::sees_site`): an object outside it
//! answers 404, as if it did not exist.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use ingest::CommandError;
use serde::Deserialize;
use serde_json::{json, Value};
use store::accounts::{AuthSession, NewUser};
use store::{AirDay, ValueFilter};

use crate::auth::{self, now_ms, Peer, Principal, Role};
use crate::table::{respond, respond_all, Paging};
use crate::{ApiError, AppState};

type Res = Result<Response, ApiError>;

pub(crate) fn bad(msg: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, msg.into())
}
pub(crate) fn not_found(what: &str) -> ApiError {
    ApiError(StatusCode::NOT_FOUND, format!("{what}: not found"))
}

pub(crate) fn audit(
    s: &AppState,
    actor: &str,
    action: &str,
    object: &str,
    before: Option<Value>,
    after: Option<Value>,
    peer: &Peer,
) -> Result<(), ApiError> {
    let mut a = s.accounts.lock().unwrap_or_else(|e| e.into_inner());
    a.append_audit(
        now_ms(),
        actor,
        action,
        object,
        before.as_ref(),
        after.as_ref(),
        &peer.text(),
    )?;
    Ok(())
}

pub async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        format!(
            "{}{}{}",
            s.gateway.metrics().render(),
            s.auth.render(),
            overview_metrics(&s)
        ),
    )
}

fn overview_metrics(s: &AppState) -> String {
    use std::sync::atomic::Ordering::Relaxed;
    format!(
        "# HELP qingshan_web_overview_computations_total Overview computations (cold or refresh; one at a time per scope).\n\
         # TYPE qingshan_web_overview_computations_total counter\nqingshan_web_overview_computations_total {}\n\
         # HELP qingshan_web_overview_stale_total Overview requests answered with the previous copy while a refresh ran.\n\
         # TYPE qingshan_web_overview_stale_total counter\nqingshan_web_overview_stale_total {}\n",
        s.overview_cache.computations.load(Relaxed),
        s.overview_cache.stale_served.load(Relaxed)
    )
}

// ---- auth ----

#[derive(Deserialize)]
pub struct LoginRequest {
    user: String,
    password: String,
}

pub async fn login(
    State(s): State<AppState>,
    Extension(peer): Extension<Peer>,
    Json(req): Json<LoginRequest>,
) -> Res {
    let keys = vec![format!("user:{}", req.user), format!("ip:{}", peer.text())];
    if let Some(wait) = s.auth.held_off(&keys) {
        s.auth
            .login_throttled
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return Ok((
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, wait.to_string())],
            Json(json!({"error": "Too Many Requests", "detail": format!("too many failed logins; try again in {wait} s"),
                "message": format!("登录失败次数过多,请 {wait} 秒后再试")})),
        )
            .into_response());
    }
    let user = {
        let a = s.accounts.lock().unwrap_or_else(|e| e.into_inner());
        a.user_by_name(&req.user)?
    };
    let password = req.password.clone();
    let phc = user.as_ref().map(|u| u.pw_hash.clone());
    // argon2 takes tens of milliseconds: off the async workers. Unknown users verify against
    // a dummy hash so timing does not tell which names exist.
    let ok = tokio::task::spawn_blocking(move || match phc {
        Some(h) => auth::verify_password(&password, &h),
        None => {
            let _ = auth::verify_password(&password, DUMMY_PHC);
            false
        }
    })
    .await
    .unwrap_or(false);
    let user = match user {
        Some(u) if ok && !u.disabled => u,
        _ => {
            s.auth.failed(&keys);
            let _ = audit(
                &s,
                &req.user,
                "login.failed",
                &format!("user:{}", req.user),
                None,
                None,
                &peer,
            );
            return Err(ApiError(
                StatusCode::UNAUTHORIZED,
                "wrong user name or password (用户名或密码错误)".into(),
            ));
        }
    };
    s.auth.succeeded(&keys);
    let secret = auth::new_secret();
    let now = now_ms();
    {
        let mut a = s.accounts.lock().unwrap_or_else(|e| e.into_inner());
        a.put_session(&AuthSession {
            secret_sha256: auth::secret_hash(&secret),
            user_id: user.id,
            kind: "session".into(),
            label: peer.text(),
            created_ms: now,
            expires_ms: now + auth::SESSION_TTL.as_millis() as i64,
        })?;
        a.prune_sessions(now)?;
    }
    audit(
        &s,
        &user.name,
        "login",
        &format!("user:{}", user.name),
        None,
        None,
        &peer,
    )?;
    let cookie = format!(
        "{}={secret}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        auth::COOKIE,
        auth::SESSION_TTL.as_secs()
    );
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(json!({"user": user.name, "role": user.role, "scope": user.scope})),
    )
        .into_response())
}

/// An argon2id hash of a random string, checked for unknown user names.
const DUMMY_PHC: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3R9jZbvQ2cmtJ8r4Wq6yb5mRbtzVZkt7Yq6l3l1m2pA";

pub async fn logout(State(s): State<AppState>, headers: HeaderMap) -> Res {
    if let Some(secret) = auth::request_secret(&headers) {
        let mut a = s.accounts.lock().unwrap_or_else(|e| e.into_inner());
        a.delete_session(&auth::secret_hash(&secret))?;
    }
    let cookie = format!(
        "{}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0",
        auth::COOKIE
    );
    Ok(([(header::SET_COOKIE, cookie)], Json(json!({"ok": true}))).into_response())
}

pub async fn me(State(s): State<AppState>, Extension(p): Extension<Principal>) -> Res {
    // The town's or enterprise's name for the UI.
    let scope_name = p.scope.as_deref().and_then(|c| match p.role {
        Role::Town => s.profile.town(c).map(|t| t.name.clone()),
        Role::Enterprise => s.profile.enterprise(c).map(|e| e.name.clone()),
        _ => None,
    });
    Ok(Json(json!({
        "user": p.name, "display": p.display, "role": p.role, "role_label": p.role.label(),
        "scope": p.scope, "scope_name": scope_name,
    }))
    .into_response())
}

#[derive(Deserialize, Default)]
pub struct TokenRequest {
    #[serde(default)]
    label: String,
}

pub async fn create_token(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Extension(peer): Extension<Peer>,
    Json(req): Json<TokenRequest>,
) -> Res {
    let secret = auth::new_secret();
    let now = now_ms();
    let expires = now + auth::TOKEN_TTL.as_millis() as i64;
    {
        let mut a = s.accounts.lock().unwrap_or_else(|e| e.into_inner());
        a.put_session(&AuthSession {
            secret_sha256: auth::secret_hash(&secret),
            user_id: p.id,
            kind: "token".into(),
            label: req.label.clone(),
            created_ms: now,
            expires_ms: expires,
        })?;
    }
    audit(
        &s,
        &p.name,
        "token.create",
        &format!("user:{}", p.name),
        None,
        Some(json!({"label": req.label, "expires": model::format_beijing(expires / 1000)})),
        &peer,
    )?;
    Ok(
        Json(json!({"token": secret, "expires": model::format_beijing(expires / 1000)}))
            .into_response(),
    )
}

// ---- sites, overview, public ----

fn site_json(s: &profile::Site) -> Value {
    json!({
        "code": s.code, "name": s.name, "kind": s.kind.as_str(), "town": s.town,
        "lon": s.location.lon, "lat": s.location.lat,
        "enterprise": s.outlet.as_ref().map(|o| o.enterprise.clone()),
        "target_class": s.target_class().map(|c| format!("{c:?}")),
        "urban": s.air.as_ref().map(|a| a.urban),
    })
}

/// The HJ 212 codes a site is expected to report, with their Chinese names (the 数据审核
/// page offers them by name): the six HJ 633 pollutants and the weather of an air station
/// (HJ 193-2013 §4), the GB 3838 automatic-station items of a water site (HJ 915-2017 §4:
/// the five parameters, CODMn, NH3-N, TP, TN), the equivalent level of a noise point, what an
/// outlet's analyser reports and is limited on, a restaurant's fume concentration and its fan
/// and purifier states.
fn site_codes(x: &profile::Site) -> Vec<Value> {
    use profile::SiteKind as K;
    let fixed: &[&str] = match x.kind {
        K::Air => &[
            "a34004", "a34002", "a21026", "a21004", "a21005", "a05024", "a01001", "a01002",
            "a01007", "a01008",
        ],
        K::SurfaceWater | K::DrinkingWater => &[
            "w01001", "w01009", "w01019", "w21003", "w21011", "w21001", "w01010", "w01014",
        ],
        K::Noise => &["Leq"],
        K::Fume => &[engine::fume::FUME_CODE, "SB1", "SB2"],
        K::FlueGas | K::Wastewater => &[],
    };
    let mut codes: Vec<&str> = fixed.to_vec();
    if let Some(o) = &x.outlet {
        for c in o
            .limits
            .iter()
            .map(|l| l.pollutant.as_str())
            .chain(o.monitored.iter().map(String::as_str))
        {
            if !codes.contains(&c) {
                codes.push(c);
            }
        }
    }
    codes
        .into_iter()
        .map(|c| json!({"code": c, "name": standards::codes::name_or_code(c)}))
        .collect()
}

#[derive(Deserialize, Default)]
pub struct SiteQuery {
    kind: Option<String>,
    town: Option<String>,
    site: Option<String>,
}

fn visible_sites<'a>(
    s: &'a AppState,
    p: &'a Principal,
) -> impl Iterator<Item = profile::Site> + 'a {
    s.fleet
        .iter()
        .filter(move |x| p.sees_site(&s.owners, &x.code))
        .cloned()
}

const SITE_COLS: &[&str] = &[
    "code",
    "name",
    "kind",
    "town",
    "lon",
    "lat",
    "enterprise",
    "target_class",
];

pub async fn sites(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<SiteQuery>,
    Query(paging): Query<Paging>,
) -> Res {
    let all: Vec<Value> = visible_sites(&s, &p)
        .filter(|x| q.kind.as_deref().is_none_or(|k| x.kind.as_str() == k))
        .filter(|x| q.town.as_deref().is_none_or(|t| x.town == t))
        .filter(|x| q.site.as_deref().is_none_or(|c| x.code == c))
        .map(|x| {
            let mut v = site_json(&x);
            v["town_name"] = json!(s.profile.town(&x.town).map(|t| t.name.clone()));
            v["codes"] = json!(site_codes(&x));
            v
        })
        .collect();
    respond_all(&paging, "sites", SITE_COLS, all)
}

pub(crate) fn today() -> String {
    model::format_beijing(now_ms() / 1000)[..10].to_string()
}

fn days_ago(n: i64) -> String {
    model::format_beijing(now_ms() / 1000 - n * 86_400)[..10].to_string()
}

/// Latest air day with an AQI per site, within the last `days` days.
fn latest_air(
    s: &AppState,
    days: i64,
) -> Result<std::collections::HashMap<String, AirDay>, ApiError> {
    let rows = {
        let r = s.reader.lock().unwrap_or_else(|e| e.into_inner());
        r.air_days(None, &days_ago(days), &today())?
    };
    let mut m = std::collections::HashMap::new();
    for d in rows.into_iter().filter(|d| d.aqi.is_some()) {
        m.insert(d.site.clone(), d); // ordered by (site, day): the last wins
    }
    Ok(m)
}

/// The county's latest hour with an AQI within the last 24 hours (`air_hours`, the hourly
/// real-time AQI of docs/engine.md): hour start (Beijing), AQI, level, primary pollutants,
/// the 1-h values and the stations that contributed.
fn latest_county_hour(s: &AppState) -> Result<Option<Value>, ApiError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let rows = {
        let d = s.domain.lock().unwrap_or_else(|e| e.into_inner());
        d.air_hours(Some(store::COUNTY_SITE), now - 24 * 3600, now + 3600)?
    };
    Ok(rows.iter().rev().find(|h| h.aqi.is_some()).map(|h| {
        json!({"hour": model::format_beijing(h.hour), "aqi": h.aqi, "level": h.level,
               "primary": h.primary, "rules": h.rules, "stations": h.stations,
               "pm25": h.pm25, "pm10": h.pm10, "so2": h.so2, "no2": h.no2, "co": h.co,
               "o3": h.o3, "pm25_24h": h.pm25_24h, "pm10_24h": h.pm10_24h, "o3_8h": h.o3_8h})
    }))
}

/// The county's latest day for the overview, saying which day it is: `days_ago` (0 = today,
/// 1 = yesterday) and `running` (today's day, its hours so far; not a complete day yet).
fn county_day_json(d: &AirDay) -> Value {
    let mut v = air_day_json(d);
    let t = today();
    let ago = match (
        d.day.parse::<standards::Date>(),
        t.parse::<standards::Date>(),
    ) {
        (Ok(a), Ok(b)) => Some(engine::time::days_from_date(b) - engine::time::days_from_date(a)),
        _ => None,
    };
    v["days_ago"] = json!(ago);
    v["running"] = json!(ago == Some(0));
    v
}

fn air_day_json(d: &AirDay) -> Value {
    json!({"date": d.day, "aqi": d.aqi, "level": d.level, "primary": d.primary,
           "pm25": d.pm25, "pm10": d.pm10, "o3_8h": d.o3_8h, "no2": d.no2, "so2": d.so2, "co": d.co})
}

pub async fn overview(State(s): State<AppState>, Extension(p): Extension<Principal>) -> Res {
    // The bureau roles see the same overview (every site and alarm, the plan): one entry.
    let key = match p.role {
        Role::Town | Role::Enterprise => {
            format!("{}:{}", p.role.as_str(), p.scope.as_deref().unwrap_or(""))
        }
        _ => "bureau".to_string(),
    };
    let st = s.clone();
    let body = s
        .overview_cache
        .get(&key, crate::OVERVIEW_TTL, move || {
            let v = overview_json(&st, &p)?;
            Ok(bytes::Bytes::from(
                serde_json::to_vec(&v).unwrap_or_default(),
            ))
        })
        .await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

fn overview_json(s: &AppState, p: &Principal) -> Result<Value, ApiError> {
    let latest = latest_air(s, 3)?;
    let county_hour = latest_county_hour(s)?;
    let online = s.gateway.connected();
    let (devices, states) = {
        let r = s.reader.lock().unwrap_or_else(|e| e.into_inner());
        (r.devices()?, r.device_states()?)
    };
    let last_seen: std::collections::HashMap<&str, Option<i64>> = states
        .iter()
        .map(|st| (st.mn.as_str(), st.last_seen_ms))
        .collect();
    let mut dev_by_site: std::collections::HashMap<String, (usize, usize)> = Default::default();
    let schedules = engine::due::Schedules::from_profile(&s.profile);
    let now = auth::now_ms() / 1000;
    let (mut total, mut on, mut resting) = (0, 0, 0);
    for d in devices.iter().filter(|d| p.sees_site(&s.owners, &d.site)) {
        let is_on = online.binary_search(&d.mn).is_ok();
        total += 1;
        on += is_on as usize;
        resting += (!is_on && !schedules.reporting_now(d, now)) as usize;
        let e = dev_by_site.entry(d.site.clone()).or_default();
        e.0 += 1;
        e.1 += is_on as usize;
    }
    let _ = last_seen;
    let sites: Vec<Value> = visible_sites(s, p)
        .map(|x| {
            let mut v = site_json(&x);
            if let Some(d) = latest.get(&x.code) {
                v["air"] = air_day_json(d);
            }
            let (n, o) = dev_by_site.get(&x.code).copied().unwrap_or((0, 0));
            v["devices"] = json!(n);
            v["online"] = json!(o);
            v
        })
        .collect();
    let alarms = crate::alarms::counts(s, p)?;
    let indicators = crate::indicators::overview_summary(s, p)?;
    let water = water_latest(s)?;
    let mut sites = sites;
    for v in sites.iter_mut() {
        if let Some(w) = v["code"].as_str().and_then(|c| water.get(c)) {
            v["water_class"] = w["class"].clone();
            v["water_month"] = w["month"].clone();
        }
    }
    Ok(json!({
        "alarms": alarms,
        "indicators": indicators,
        "county": {"name": s.profile.county.name, "code": s.profile.county.code,
                   "centre": [s.profile.county.centre.lon, s.profile.county.centre.lat]},
        "today": today(),
        "county_air": latest.get(store::COUNTY_SITE).map(county_day_json),
        "county_air_hour": county_hour,
        "devices": {"total": total, "online": on, "offline": total - on - resting, "resting": resting},
        "sites": sites,
        "water_note": "水质点位按最近有数据月份的水质类别着色(GB 3838-2002)",
    }))
}

/// Latest month's class of every surface-water section and drinking-water source, over the
/// current and the previous month: `site → {"class", "month"}`. Cached until the water
/// watermark moves (at most `REPORT_TTL`).
fn water_latest(s: &AppState) -> Result<serde_json::Map<String, Value>, ApiError> {
    use standards::Date;
    let t = today();
    let (y, m): (i32, u8) = (t[..4].parse().unwrap_or(2026), t[5..7].parse().unwrap_or(1));
    let (py, pm) = if m == 1 { (y - 1, 12) } else { (y, m - 1) };
    let from = Date::new(py, pm, 1).map_err(|e| bad(e.to_string()))?;
    let to =
        Date::new(y, m, standards::date::days_in_month(y, m)).map_err(|e| bad(e.to_string()))?;
    let stamp = {
        let d = s.domain.lock().unwrap_or_else(|e| e.into_inner());
        d.watermark(engine::water::WATERMARK)?.unwrap_or(0)
    };
    let body = s.reports.get_or(
        &format!("overview-water:{from}"),
        stamp,
        crate::REPORT_TTL,
        || {
            let d = s.domain.lock().unwrap_or_else(|e| e.into_inner());
            let rep = engine::WaterReport::build(&**d, &s.water, from, to)
                .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
            let mut out = serde_json::Map::new();
            for sec in &rep.sections {
                if let Some(mo) = sec.months.iter().rev().find(|x| x.class.is_some()) {
                    out.insert(
                        sec.site.clone(),
                        json!({"class": mo.class, "month": mo.period}),
                    );
                }
            }
            for src in &rep.drinking_water.sources {
                if let Some(mo) = src.months.iter().rev().find(|x| x.class.is_some()) {
                    out.insert(
                        src.site.clone(),
                        json!({"class": mo.class, "month": mo.month}),
                    );
                }
            }
            Ok(bytes::Bytes::from(
                serde_json::to_vec(&out).unwrap_or_default(),
            ))
        },
    )?;
    Ok(serde_json::from_slice(&body).unwrap_or_default())
}

pub async fn boundary(State(s): State<AppState>) -> Res {
    match &s.profile.boundary_geojson {
        Some(g) => {
            Ok(([(header::CONTENT_TYPE, "application/geo+json")], g.clone()).into_response())
        }
        None => Err(not_found("boundary")),
    }
}

/// The public page's data: county and station air quality, the water sections' names and
/// targets. No device, MN, enterprise or user detail.
pub async fn public_air(State(s): State<AppState>) -> Res {
    crate::blocking(move || public_air_json(&s)).await
}

fn public_air_json(s: &AppState) -> Res {
    let s = s.clone();
    let latest = latest_air(&s, 3)?;
    let rows = {
        let r = s.reader.lock().unwrap_or_else(|e| e.into_inner());
        r.air_days(Some(store::COUNTY_SITE), &days_ago(30), &today())?
    };
    let water = water_latest(&s)?;
    let stations: Vec<Value> = s
        .profile
        .sites_by_kind(profile::SiteKind::Air)
        .map(|x| json!({"name": x.name, "air": latest.get(&x.code).map(air_day_json)}))
        .collect();
    let sections: Vec<Value> = s
        .profile
        .sites
        .iter()
        .filter(|x| matches!(x.kind, profile::SiteKind::SurfaceWater | profile::SiteKind::DrinkingWater))
        .map(|x| json!({"name": x.name, "kind": x.kind.as_str(), "target_class": x.target_class().map(|c| format!("{c:?}")),
                        "class": water.get(&x.code).map(|w| w["class"].clone()), "month": water.get(&x.code).map(|w| w["month"].clone())}))
        .collect();
    Ok(Json(json!({
        "county": s.profile.county.name,
        "county_air": latest.get(store::COUNTY_SITE).map(county_day_json),
        "county_days": rows.iter().map(air_day_json).collect::<Vec<_>>(),
        "stations": stations,
        "water": sections,
    }))
    .into_response())
}

// ---- devices and commands ----

const DEVICE_COLS: &[&str] = &[
    "mn",
    "site",
    "site_name",
    "kind",
    "name",
    "online",
    "last_seen",
    "last_cn",
    "packets",
    "values",
    "deviations",
    "refusals",
];

#[derive(Deserialize, Default)]
pub struct DeviceQuery {
    site: Option<String>,
    online: Option<bool>,
    /// Device kind (`air`, `fume`, …).
    kind: Option<String>,
    /// Search: part of the MN, the site code, the site's name or the device's name (any case).
    q: Option<String>,
}

/// Whether a device row matches the search words (each word somewhere in MN, site code, site
/// name or device name; any case).
fn device_matches(v: &Value, q: &str) -> bool {
    let hay = ["mn", "site", "site_name", "name"]
        .iter()
        .filter_map(|k| v[*k].as_str())
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    q.split_whitespace()
        .all(|w| hay.contains(&w.to_lowercase()))
}

pub async fn devices(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<DeviceQuery>,
    Query(paging): Query<Paging>,
) -> Res {
    let online = s.gateway.connected();
    let (list, states) = {
        let r = s.reader.lock().unwrap_or_else(|e| e.into_inner());
        (r.devices()?, r.device_states()?)
    };
    let states: std::collections::HashMap<String, store::DeviceState> =
        states.into_iter().map(|st| (st.mn.clone(), st)).collect();
    let names: std::collections::HashMap<&str, &str> = s
        .fleet
        .iter()
        .map(|x| (x.code.as_str(), x.name.as_str()))
        .collect();
    let refusals: std::collections::HashMap<String, ingest::DeviceRefusals> = s
        .gateway
        .metrics()
        .device_refusals
        .all()
        .into_iter()
        .collect();
    let schedules = engine::due::Schedules::from_profile(&s.profile);
    let now = auth::now_ms() / 1000;
    let all: Vec<Value> = list
        .into_iter()
        .filter(|d| p.sees_site(&s.owners, &d.site))
        .filter(|d| q.site.as_deref().is_none_or(|x| d.site == x))
        .map(|d| {
            let is_on = online.binary_search(&d.mn).is_ok();
            let reporting = schedules.reporting_now(&d, now);
            let st = states.get(&d.mn);
            json!({
                "mn": d.mn, "site": d.site, "site_name": names.get(d.site.as_str()), "kind": d.kind, "name": d.name,
                "online": is_on,
                "reporting_now": reporting,
                "state": if is_on { "online" } else if reporting { "offline" } else { "resting" },
                "last_seen": st.and_then(|x| x.last_seen_ms).map(|ms| model::format_beijing(ms / 1000)),
                "last_cn": st.and_then(|x| x.last_cn.clone()),
                "packets": st.map(|x| x.packets).unwrap_or(0),
                "values": st.map(|x| x.values).unwrap_or(0),
                "deviations": st.map(|x| x.deviations.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")).unwrap_or_default(),
                "refusals": refusals.get(&d.mn).map(|r| r.total).unwrap_or(0),
            })
        })
        .filter(|v| q.online.is_none_or(|o| v["online"] == o))
        .filter(|v| q.kind.as_deref().is_none_or(|k| v["kind"] == k))
        .filter(|v| q.q.as_deref().is_none_or(|w| device_matches(v, w)))
        .collect();
    // The page's counts over every matching device (not only this page's).
    // A device outside its site's reporting hours (a closed restaurant) is resting, not offline.
    let on = all.iter().filter(|v| v["online"] == true).count();
    let resting = all.iter().filter(|v| v["state"] == "resting").count();
    let extra = json!({"online_count": on, "offline_count": all.len() - on - resting,
                       "resting_count": resting});
    crate::table::respond_all_with(&paging, "devices", DEVICE_COLS, all, extra)
}

fn refusals_json(r: &ingest::DeviceRefusals) -> Value {
    json!({
        "total": r.total,
        "by_reason": r.by_reason.iter().map(|(k, n)| json!({"reason": k, "label": ingest::refusal_label_cn(k), "count": n})).collect::<Vec<_>>(),
        "last": {"at": model::format_beijing(r.last_ms.div_euclid(1000)), "reason": r.last_reason,
                 "label": ingest::refusal_label_cn(&r.last_reason), "detail": r.last_detail, "peer": r.last_peer},
    })
}

/// `GET /api/v1/devices/{mn}`: one device in detail — state, the protocol deviations it showed
/// (count, Chinese meaning, whether its policy allows them), its allow list, and the packets
/// the gateway refused from it by reason (since the gateway started).
pub async fn device(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(mn): Path<String>,
) -> Res {
    let d = visible_device(&s, &p, &mn)?;
    let st = {
        let r = s.reader.lock().unwrap_or_else(|e| e.into_inner());
        r.device_states()?.into_iter().find(|x| x.mn == mn)
    };
    let allow_all = d.allow.iter().any(|a| a == "*");
    let allowed = |name: &str| allow_all || d.allow.iter().any(|a| a == name);
    let label = |name: &str| {
        hj212::Deviation::from_name(name)
            .map(|x| x.label_cn())
            .unwrap_or("未定义的偏差")
    };
    let deviations: Vec<Value> = st
        .as_ref()
        .map(|x| {
            x.deviations
                .iter()
                .map(|(k, n)| json!({"name": k, "label": label(k), "count": n, "allowed": allowed(k)}))
                .collect()
        })
        .unwrap_or_default();
    let refusals = s.gateway.metrics().device_refusals.get(&mn);
    let online = s.gateway.connected().binary_search(&mn).is_ok();
    Ok(Json(json!({
        "mn": d.mn, "site": d.site, "site_name": s.fleet.iter().find(|x| x.code == d.site).map(|x| x.name.clone()),
        "kind": d.kind, "name": d.name, "protocol": d.protocol,
        "online": online,
        "last_seen": st.as_ref().and_then(|x| x.last_seen_ms).map(|ms| model::format_beijing(ms.div_euclid(1000))),
        "peer": st.as_ref().and_then(|x| x.peer.clone()),
        "last_cn": st.as_ref().and_then(|x| x.last_cn.clone()),
        "packets": st.as_ref().map(|x| x.packets).unwrap_or(0),
        "values": st.as_ref().map(|x| x.values).unwrap_or(0),
        "allow_all": allow_all,
        "allow": d.allow.iter().filter(|a| a.as_str() != "*").map(|a| json!({"name": a, "label": label(a)})).collect::<Vec<_>>(),
        "deviations": deviations,
        "refusals": refusals.as_ref().map(refusals_json),
    }))
    .into_response())
}

const REFUSAL_COLS: &[&str] = &[
    "mn",
    "registered",
    "site",
    "total",
    "by_reason",
    "last_at",
    "last_reason",
    "last_reason_cn",
    "last_detail",
    "last_peer",
];

/// `GET /api/v1/refusals`: packets the gateway refused, per MN (registered devices and the
/// most recent unknown MNs; since the gateway started), most recent first. Bureau roles.
pub async fn refusals(State(s): State<AppState>, Query(paging): Query<Paging>) -> Res {
    let sites: std::collections::HashMap<String, String> = {
        let r = s.reader.lock().unwrap_or_else(|e| e.into_inner());
        r.devices()?.into_iter().map(|d| (d.mn, d.site)).collect()
    };
    let all: Vec<Value> = s
        .gateway
        .metrics()
        .device_refusals
        .all()
        .into_iter()
        .map(|(mn, r)| {
            json!({
                "mn": mn, "registered": r.registered, "site": sites.get(&mn),
                "total": r.total,
                "by_reason": r.by_reason.iter().map(|(k, n)| format!("{}({k})={n}", ingest::refusal_label_cn(k))).collect::<Vec<_>>().join(";"),
                "last_at": model::format_beijing(r.last_ms.div_euclid(1000)),
                "last_reason": r.last_reason, "last_reason_cn": ingest::refusal_label_cn(&r.last_reason),
                "last_detail": r.last_detail, "last_peer": r.last_peer,
            })
        })
        .collect();
    respond_all(&paging, "refusals", REFUSAL_COLS, all)
}

/// The device if the principal may see it; otherwise 404 (never reveal another's device).
fn visible_device(s: &AppState, p: &Principal, mn: &str) -> Result<model::Device, ApiError> {
    let d = {
        let r = s.reader.lock().unwrap_or_else(|e| e.into_inner());
        r.device(mn)?
    };
    match d {
        Some(d) if p.sees_site(&s.owners, &d.site) => Ok(d),
        _ => Err(not_found(&format!("device {mn}"))),
    }
}

#[derive(Deserialize)]
pub struct Limit {
    limit: Option<usize>,
}

pub async fn commands(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(mn): Path<String>,
    Query(q): Query<Limit>,
) -> Res {
    visible_device(&s, &p, &mn)?;
    let r = s.reader.lock().unwrap_or_else(|e| e.into_inner());
    let mut list = r.commands(Some(&mn), q.limit.unwrap_or(50).min(1000))?;
    for c in &mut list {
        c.request = hj212::commands::redact_password(&c.request);
    }
    Ok(Json(list).into_response())
}

/// `POST /api/v1/devices/{mn}/commands` with `{"cn":"2061","cp":{"BeginTime":"…","EndTime":"…"}}`.
#[derive(Deserialize)]
pub struct CommandRequest {
    cn: String,
    #[serde(default)]
    cp: serde_json::Map<String, Value>,
}

pub async fn send_command(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Extension(peer): Extension<Peer>,
    Path(mn): Path<String>,
    Json(req): Json<CommandRequest>,
) -> Res {
    if p.role.bureau() {
        // Bureau roles may address a device the registry does not know: the gateway says 404.
    } else {
        visible_device(&s, &p, &mn)?;
    }
    let mut cp = Vec::new();
    for (k, v) in &req.cp {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            other => {
                return Err(bad(format!(
                    "cp.{k}: expected a string or number, got {other}"
                )))
            }
        };
        cp.push((k.clone(), text));
    }
    let sent = s
        .gateway
        .send_command(&mn, &req.cn, cp)
        .await
        .map_err(|e| {
            let status = match e {
                CommandError::NotConnected(_) => StatusCode::CONFLICT,
                CommandError::UnknownDevice(_) => StatusCode::NOT_FOUND,
                CommandError::Invalid(_) => StatusCode::BAD_REQUEST,
                CommandError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
            };
            ApiError(status, e.to_string())
        })?;
    // The device's password never leaves the server: not in the answer, not in the audit log.
    let mut sent = sent;
    sent.frame = hj212::commands::redact_password(&sent.frame);
    let after = serde_json::to_value(&sent).unwrap_or_default();
    audit(
        &s,
        &p.name,
        "device.command",
        &format!("device:{mn}"),
        None,
        Some(json!({"cn": req.cn, "cp": req.cp, "sent": after})),
        &peer,
    )?;
    Ok(Json(sent).into_response())
}

// ---- values ----

#[derive(Deserialize, Default)]
pub struct ValueQuery {
    site: Option<String>,
    mn: Option<String>,
    /// Pollutant code (`a34004`) — `pollutant` is an alias.
    code: Option<String>,
    pollutant: Option<String>,
    period: Option<String>,
    from: Option<String>,
    to: Option<String>,
    /// `raw=true`: the values as stored (also those an operator marked invalid), each with its
    /// audit `mark` (`invalid`/`valid`/null). Default: the audited view the reports read.
    raw: Option<bool>,
}

const VALUE_COLS: &[&str] = &[
    "mn", "site", "code", "field", "period", "time", "value", "flag", "valid", "mark",
];

pub async fn values(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<ValueQuery>,
    Query(paging): Query<Paging>,
) -> Res {
    let t = |x: &Option<String>, name: &str| -> Result<Option<i64>, ApiError> {
        x.as_deref()
            .map(|v| {
                model::parse_user_time(v).ok_or_else(|| {
                    bad(format!(
                        "{name}={v}: expected RFC 3339 or YYYY-MM-DD[THH:MM[:SS]] (Beijing)"
                    ))
                })
            })
            .transpose()
    };
    let now = now_ms() / 1000;
    let from = t(&q.from, "from")?.unwrap_or(now - 86_400);
    let to = t(&q.to, "to")?.unwrap_or(now + 3600);
    if to - from > 400 * 86_400 {
        return Err(bad("from..to: at most 400 days per request"));
    }
    let period = q
        .period
        .as_deref()
        .map(|x| {
            x.parse::<model::Period>()
                .map_err(|_| bad(format!("period={x}: expected rtd, min, hour or day")))
        })
        .transpose()?;
    if let Some(site) = &q.site {
        if !p.sees_site(&s.owners, site) {
            return Err(not_found(&format!("site {site}")));
        }
    }
    if let Some(mn) = &q.mn {
        visible_device(&s, &p, mn)?;
    }
    let filter = ValueFilter {
        mn: q.mn.clone(),
        site: q.site.clone(),
        code: q.code.clone().or(q.pollutant.clone()),
        period,
        from: Some(from),
        to: Some(to),
        raw: q.raw.unwrap_or(false),
    };
    // Current marks (latest trail entry per value) for the raw view.
    let marks: std::collections::HashMap<(String, String, String, String, i64), String> =
        if filter.raw {
            let d = s.domain.lock().unwrap_or_else(|e| e.into_inner());
            d.audit_trail(q.site.as_deref(), None, None)?
                .into_iter()
                .map(|e| {
                    let k = (
                        e.site,
                        e.code,
                        e.field,
                        e.period.as_str().to_string(),
                        e.time,
                    );
                    (k, e.after)
                })
                .collect()
        } else {
            Default::default()
        };
    let (skip, take) = paging.window()?;
    let mut items = Vec::new();
    let mut total = 0usize;
    {
        let r = s.reader.lock().unwrap_or_else(|e| e.into_inner());
        r.for_each_value(&filter, &mut |m| {
            if !p.sees_site(&s.owners, &m.site) {
                return Ok(());
            }
            if total >= skip && items.len() < take {
                let mark = if filter.raw {
                    marks
                        .get(&(
                            m.site.clone(),
                            m.code.clone(),
                            m.field.clone(),
                            m.period.as_str().to_string(),
                            m.time,
                        ))
                        .filter(|a| a.as_str() != "none")
                        .cloned()
                } else {
                    None
                };
                // An operator's mark overrides the device flag (the audited view's rule).
                let valid = match mark.as_deref() {
                    Some("invalid") => false,
                    Some("valid") => true,
                    _ => engine::air::hour_is_valid(m),
                };
                items.push(json!({
                    "mn": m.mn, "site": m.site, "code": m.code, "field": m.field,
                    "period": m.period.as_str(), "time": model::format_beijing(m.time),
                    "value": m.text, "flag": m.flag,
                    "valid": valid,
                    "mark": mark,
                }));
            }
            total += 1;
            Ok(())
        })?;
    }
    respond(&paging, "values", VALUE_COLS, items, total)
}

// ---- air ----

#[derive(Deserialize)]
pub struct AirQuery {
    year: Option<i32>,
    month: Option<u8>,
    format: Option<String>,
}

pub async fn air(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<AirQuery>,
) -> Res {
    use standards::date::days_in_month;
    use standards::Date;
    let year = q
        .year
        .unwrap_or_else(|| today()[..4].parse().unwrap_or(2026));
    let (from, to) = match q.month {
        None => (Date::new(year, 1, 1), Date::new(year, 12, 31)),
        Some(m) if (1..=12).contains(&m) => (
            Date::new(year, m, 1),
            Date::new(year, m, days_in_month(year, m)),
        ),
        Some(m) => return Err(bad(format!("month={m}: expected 1..=12"))),
    };
    let (from, to) = (
        from.map_err(|e| bad(format!("year: {e}")))?,
        to.map_err(|e| bad(format!("year: {e}")))?,
    );
    let xlsx = crate::reports::wants_xlsx(q.format.as_deref())?;
    // Cached per (period, scope) while the air watermark stays (at most REPORT_TTL): the year
    // report takes ~0.5 s on a year of county data.
    let body = crate::blocking(move || air_report(&s, &p, from, to)).await?;
    let name = match q.month {
        Some(m) => format!("air-{year}-{m:02}"),
        None => format!("air-{year}"),
    };
    crate::reports::answer(body, xlsx, &name, "环境空气质量报告")
}

/// The air report of `[from, to]` as the principal may see it (cached; blocks while it
/// computes).
fn air_report(
    s: &AppState,
    p: &Principal,
    from: standards::Date,
    to: standards::Date,
) -> Result<bytes::Bytes, ApiError> {
    let stamp = {
        let r = s.reader.lock().unwrap_or_else(|e| e.into_inner());
        r.watermark(engine::air::WATERMARK)?.unwrap_or(0)
    };
    let scope = match p.role {
        Role::Town | Role::Enterprise => {
            format!("{}:{}", p.role.as_str(), p.scope.as_deref().unwrap_or(""))
        }
        _ => "bureau".to_string(),
    };
    let key = format!("air:{from}:{to}:{scope}");
    s.reports.get_or(&key, stamp, crate::REPORT_TTL, || {
        let mut rep = {
            let r = s.reader.lock().unwrap_or_else(|e| e.into_inner());
            engine::AirReport::build(&**r, &s.air, from, to, engine::RulesChoice::ByDate)
                .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        };
        rep.stations.retain(|a| p.sees_site(&s.owners, &a.site));
        let mut v = serde_json::to_value(&rep).unwrap_or_default();
        // Station names for the UI.
        if let Some(st) = v.get_mut("stations").and_then(Value::as_array_mut) {
            for a in st {
                let code = a["site"].as_str().unwrap_or_default().to_string();
                a["name"] = json!(s.profile.site(&code).map(|x| x.name.clone()));
            }
        }
        Ok(bytes::Bytes::from(
            serde_json::to_vec(&v).unwrap_or_default(),
        ))
    })
}

// ---- summary ----

pub async fn summary(State(s): State<AppState>) -> Res {
    let online = s.gateway.connected().len();
    let (devices, states) = {
        let r = s.reader.lock().unwrap_or_else(|e| e.into_inner());
        (r.devices()?.len(), r.device_states()?)
    };
    let c = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
    Ok(Json(json!({
        "sites": s.fleet.len(),
        "devices": devices, "online": online,
        "packets": states.iter().map(|x| x.packets).sum::<u64>(),
        "values": states.iter().map(|x| x.values).sum::<u64>(),
        "logins": c(&s.auth.logins), "login_failures": c(&s.auth.login_failures),
        "login_throttled": c(&s.auth.login_throttled), "denied": c(&s.auth.denied),
    }))
    .into_response())
}

// ---- users and audit ----

const USER_COLS: &[&str] = &[
    "id", "name", "display", "role", "scope", "disabled", "created", "updated",
];

fn user_json(u: &store::accounts::User) -> Value {
    json!({"id": u.id, "name": u.name, "display": u.display, "role": u.role, "scope": u.scope,
           "disabled": u.disabled, "created": model::format_beijing(u.created_ms / 1000),
           "updated": model::format_beijing(u.updated_ms / 1000)})
}

pub async fn users(State(s): State<AppState>, Query(q): Query<Paging>) -> Res {
    let all: Vec<Value> = {
        let a = s.accounts.lock().unwrap_or_else(|e| e.into_inner());
        a.users()?.iter().map(user_json).collect()
    };
    respond_all(&q, "users", USER_COLS, all)
}

#[derive(Deserialize)]
pub struct CreateUser {
    name: String,
    #[serde(default)]
    display: String,
    role: String,
    scope: Option<String>,
    password: String,
}

/// Checks a role/scope pair against the profile.
pub fn check_role_scope(
    profile: &profile::Profile,
    role: &str,
    scope: Option<&str>,
) -> Result<Role, String> {
    let r = Role::parse(role).ok_or_else(|| {
        format!(
            "role {role}: expected admin, monitoring, enforcement, planning, town or enterprise"
        )
    })?;
    match (r, scope) {
        (Role::Town, Some(t)) if profile.town(t).is_some() => Ok(r),
        (Role::Town, _) => {
            Err("role town needs --scope <12-digit town code of the profile>".into())
        }
        (Role::Enterprise, Some(e)) if profile.enterprise(e).is_some() => Ok(r),
        (Role::Enterprise, _) => {
            Err("role enterprise needs --scope <enterprise code of the profile>".into())
        }
        (_, Some(_)) => Err(format!("role {role} takes no scope")),
        (_, None) => Ok(r),
    }
}

pub async fn create_user(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Extension(peer): Extension<Peer>,
    Json(req): Json<CreateUser>,
) -> Res {
    check_role_scope(&s.profile, &req.role, req.scope.as_deref()).map_err(bad)?;
    let cheap = s.cheap_hashing;
    let pw = req.password.clone();
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(&pw, cheap))
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(bad)?;
    let u = {
        let mut a = s.accounts.lock().unwrap_or_else(|e| e.into_inner());
        a.create_user(
            &NewUser {
                name: req.name.clone(),
                display: req.display.clone(),
                role: req.role.clone(),
                scope: req.scope.clone(),
                pw_hash: hash,
            },
            now_ms(),
        )
        .map_err(|e| match e {
            store::StoreError::Invalid(m) => ApiError(StatusCode::CONFLICT, m),
            other => other.into(),
        })?
    };
    audit(
        &s,
        &p.name,
        "user.create",
        &format!("user:{}", u.name),
        None,
        Some(serde_json::to_value(&u).unwrap_or_default()),
        &peer,
    )?;
    Ok((StatusCode::CREATED, Json(user_json(&u))).into_response())
}

#[derive(Deserialize)]
pub struct UpdateUser {
    password: Option<String>,
    disabled: Option<bool>,
}

pub async fn update_user(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Extension(peer): Extension<Peer>,
    Path(name): Path<String>,
    Json(req): Json<UpdateUser>,
) -> Res {
    let before = {
        let a = s.accounts.lock().unwrap_or_else(|e| e.into_inner());
        a.user_by_name(&name)?
            .ok_or_else(|| not_found(&format!("user {name}")))?
    };
    if let Some(pw) = req.password.clone() {
        let cheap = s.cheap_hashing;
        let hash = tokio::task::spawn_blocking(move || auth::hash_password(&pw, cheap))
            .await
            .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
            .map_err(bad)?;
        s.accounts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .set_password(before.id, &hash, now_ms())?;
    }
    if let Some(d) = req.disabled {
        if d && before.id == p.id {
            return Err(bad("an administrator cannot disable their own account"));
        }
        s.accounts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .set_disabled(before.id, d, now_ms())?;
    }
    let after = {
        let a = s.accounts.lock().unwrap_or_else(|e| e.into_inner());
        a.user(before.id)?
            .ok_or_else(|| not_found(&format!("user {name}")))?
    };
    let mut after_json = serde_json::to_value(&after).unwrap_or_default();
    if req.password.is_some() {
        after_json["password"] = json!("changed");
    }
    audit(
        &s,
        &p.name,
        "user.update",
        &format!("user:{name}"),
        Some(serde_json::to_value(&before).unwrap_or_default()),
        Some(after_json),
        &peer,
    )?;
    Ok(Json(user_json(&after)).into_response())
}

const AUDIT_COLS: &[&str] = &[
    "id", "at", "actor", "action", "object", "before", "after", "peer",
];

pub async fn audit_log(State(s): State<AppState>, Query(q): Query<Paging>) -> Res {
    let (skip, take) = q.window()?;
    let (entries, total) = {
        let a = s.accounts.lock().unwrap_or_else(|e| e.into_inner());
        a.audit(skip, take.min(1_000_000))?
    };
    let items = entries
        .iter()
        .map(|e| json!({"id": e.id, "at": model::format_beijing(e.at_ms / 1000), "actor": e.actor, "action": e.action,
                         "object": e.object, "before": e.before, "after": e.after, "peer": e.peer}))
        .collect();
    respond(&q, "audit", AUDIT_COLS, items, total as usize)
}
