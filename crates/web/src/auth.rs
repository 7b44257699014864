//! Accounts, roles and the authorisation check every route goes through.
//!
//! - Passwords: argon2id PHC strings (`hash_password`, `verify_password`).
//! - Web sessions: a random secret in the `qs_session` cookie (HttpOnly, SameSite=Strict,
//!   Path=/), 12 h; API tokens: `Authorization: Bearer <secret>`, 90 days. The store keeps only
//!   the SHA-256 of a secret.
//! - [`ROUTES`] is the per-route role table; [`authorize`] (a route layer) looks every request
//!   up in it by its matched path and method and refuses what is not listed (fail closed).
//!   Object-level scope (a town's sites, an enterprise's outlets) is [`Principal::sees_site`].
//! - Wrong passwords answer 401, are counted, and a user name or client address with 5
//!   failures in a row is held off (429) for 1 s · 2^(n-5), at most 15 min.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sha2::{Digest, Sha256};
use store::accounts::User;

use crate::{ApiError, AppState};

/// A role (角色). The public (公众) has no account: it reaches only routes marked public.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 系统管理员
    Admin,
    /// 监测站 (bureau staff, monitoring)
    Monitoring,
    /// 执法支队 (bureau staff, enforcement)
    Enforcement,
    /// 规划科 (bureau staff, planning)
    Planning,
    /// 乡镇/街道 official, scoped to one town code
    Town,
    /// 排污单位 operator, scoped to one enterprise code
    Enterprise,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Admin,
        Role::Monitoring,
        Role::Enforcement,
        Role::Planning,
        Role::Town,
        Role::Enterprise,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Monitoring => "monitoring",
            Role::Enforcement => "enforcement",
            Role::Planning => "planning",
            Role::Town => "town",
            Role::Enterprise => "enterprise",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Chinese label for the UI.
    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "系统管理员",
            Role::Monitoring => "监测人员",
            Role::Enforcement => "执法人员",
            Role::Planning => "规划人员",
            Role::Town => "乡镇(街道)",
            Role::Enterprise => "企业用户",
        }
    }

    /// Whether the role needs a scope (town code / enterprise code).
    pub fn scoped(self) -> bool {
        matches!(self, Role::Town | Role::Enterprise)
    }

    /// Bureau-wide roles see every site.
    pub fn bureau(self) -> bool {
        !self.scoped()
    }
}

/// Who may call a route.
#[derive(Debug, Clone, Copy)]
pub enum Access {
    /// Anyone, without login (UI files, the public page, login, the OpenAPI document).
    Public,
    /// Logged-in users with one of these roles.
    Roles(&'static [Role]),
    /// Clients on the loopback interface (a local Prometheus), or these roles.
    LoopbackOr(&'static [Role]),
}

/// One row of the route table.
#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
    /// One line for the OpenAPI document and docs/web.md.
    pub summary: &'static str,
}

use Role::*;
const ALL_ROLES: &[Role] = &Role::ALL;
const STAFF: &[Role] = &[Admin, Monitoring, Enforcement, Planning];
const OPS: &[Role] = &[Admin, Monitoring];
const ADMIN: &[Role] = &[Admin];
/// Who works alarms: bureau monitoring and enforcement (every step), town officials (their
/// town's alarms: acknowledge and record handling).
const ALARM_DESK: &[Role] = &[Admin, Monitoring, Enforcement];
const ALARM_HANDS: &[Role] = &[Admin, Monitoring, Enforcement, Town];
/// Who reads the plan indicators (bureau and towns) and who enters their figures.
const PLAN_READERS: &[Role] = &[Admin, Monitoring, Enforcement, Planning, Town];
const PLAN: &[Role] = &[Admin, Planning];

const fn r(
    method: &'static str,
    path: &'static str,
    access: Access,
    summary: &'static str,
) -> RouteSpec {
    RouteSpec {
        method,
        path,
        access,
        summary,
    }
}

/// The per-route role table. A route not listed here answers 403 to everyone.
pub const ROUTES: &[RouteSpec] = &[
    r(
        "GET",
        "/",
        Access::Public,
        "web UI shell (redirects to login without a session)",
    ),
    r("GET", "/login", Access::Public, "login page"),
    r(
        "GET",
        "/public",
        Access::Public,
        "信息公开: public disclosure page",
    ),
    r("GET", "/ui/{file}", Access::Public, "embedded UI assets"),
    r("GET", "/healthz", Access::Public, "liveness"),
    r(
        "GET",
        "/metrics",
        Access::LoopbackOr(OPS),
        "Prometheus metrics (loopback or admin/monitoring)",
    ),
    r(
        "GET",
        "/api/v1/openapi.json",
        Access::Public,
        "this API as OpenAPI 3.0",
    ),
    r(
        "POST",
        "/api/v1/auth/login",
        Access::Public,
        "log in: {user, password} → session cookie",
    ),
    r(
        "POST",
        "/api/v1/auth/logout",
        Access::Roles(ALL_ROLES),
        "end the session",
    ),
    r(
        "GET",
        "/api/v1/auth/me",
        Access::Roles(ALL_ROLES),
        "the logged-in user and role",
    ),
    r(
        "POST",
        "/api/v1/auth/tokens",
        Access::Roles(ALL_ROLES),
        "create an API bearer token for oneself",
    ),
    r(
        "GET",
        "/api/v1/public/air",
        Access::Public,
        "public air quality and water sections",
    ),
    r(
        "GET",
        "/api/v1/overview",
        Access::Roles(ALL_ROLES),
        "overview: sites with state, county AQI, device counts",
    ),
    r(
        "GET",
        "/api/v1/boundary",
        Access::Roles(ALL_ROLES),
        "county boundary GeoJSON (development placeholder)",
    ),
    r(
        "GET",
        "/api/v1/sites",
        Access::Roles(ALL_ROLES),
        "sites (paginated, csv)",
    ),
    r(
        "GET",
        "/api/v1/devices",
        Access::Roles(ALL_ROLES),
        "devices with online state (paginated, csv)",
    ),
    r(
        "GET",
        "/api/v1/devices/{mn}",
        Access::Roles(ALL_ROLES),
        "one device: state, protocol deviations (count, meaning, allowed), refusals by reason",
    ),
    r(
        "GET",
        "/api/v1/refusals",
        Access::Roles(STAFF),
        "packets the gateway refused, per MN (registered and recent unknown), newest first (paginated, csv, xlsx)",
    ),
    r(
        "GET",
        "/api/v1/devices/{mn}/commands",
        Access::Roles(ALL_ROLES),
        "commands sent to a device and their answers",
    ),
    r(
        "POST",
        "/api/v1/devices/{mn}/commands",
        Access::Roles(OPS),
        "send a command (e.g. 2061 back-fill)",
    ),
    r(
        "GET",
        "/api/v1/values",
        Access::Roles(ALL_ROLES),
        "stored values (paginated, csv)",
    ),
    r(
        "GET",
        "/api/v1/air",
        Access::Roles(ALL_ROLES),
        "air report for a year/month: county and stations, daily AQI",
    ),
    r(
        "GET",
        "/api/v1/reports/{kind}",
        Access::Roles(ALL_ROLES),
        "report water|noise|sources|quality for a year/month (the JSON of `qingshan report`); towns: sources and water of their town, enterprises: sources of their outlets, noise/quality 403",
    ),
    r(
        "GET",
        "/api/v1/sources/live",
        Access::Roles(ALL_ROLES),
        "污染源 live: each outlet's latest real-time values with data flags, measured and O2-corrected, against its limit, and its latest judged hour (scoped)",
    ),
    r(
        "GET",
        "/api/v1/sources/rates",
        Access::Roles(ALL_ROLES),
        "污染源 transmission / validity / effective rates per outlet and enterprise for a year/month (scoped)",
    ),
    r(
        "GET",
        "/api/v1/audit-marks",
        Access::Roles(STAFF),
        "数据审核: the audit-mark trail, newest first (site, from, to; paginated, csv)",
    ),
    r(
        "POST",
        "/api/v1/audit-marks",
        Access::Roles(OPS),
        "数据审核: mark a stored value valid/invalid {site, code, field, period, time, valid, reason}",
    ),
    r(
        "POST",
        "/api/v1/audit-marks/unmark",
        Access::Roles(OPS),
        "数据审核: remove a value's audit mark {site, code, field, period, time, reason}",
    ),
    r(
        "GET",
        "/api/v1/quality-findings",
        Access::Roles(STAFF),
        "数据审核: the quality engine's findings (site, code, kind, from, to; paginated, csv, xlsx)",
    ),
    r(
        "GET",
        "/api/v1/summary",
        Access::Roles(STAFF),
        "platform figures",
    ),
    r(
        "GET",
        "/api/v1/users",
        Access::Roles(ADMIN),
        "users (paginated, csv)",
    ),
    r(
        "POST",
        "/api/v1/users",
        Access::Roles(ADMIN),
        "create a user",
    ),
    r(
        "POST",
        "/api/v1/users/{name}",
        Access::Roles(ADMIN),
        "change a user: password, disabled",
    ),
    r(
        "GET",
        "/api/v1/audit",
        Access::Roles(ADMIN),
        "audit log, newest first (paginated, csv)",
    ),
    r(
        "GET",
        "/api/v1/indicators",
        Access::Roles(PLAN_READERS),
        "plan indicators: yearly values, target, status, trend, evidence (?year=)",
    ),
    r(
        "GET",
        "/api/v1/indicators/{code}/entries",
        Access::Roles(PLAN_READERS),
        "entries made for an indicator, oldest first",
    ),
    r(
        "POST",
        "/api/v1/indicators/{code}/entries",
        Access::Roles(PLAN),
        "enter an indicator's value (or target) for a year with source and evidence",
    ),
    r(
        "GET",
        "/api/v1/alarms",
        Access::Roles(ALL_ROLES),
        "alarms (scoped; status, site, rule, assignee; by deadline; paginated, csv)",
    ),
    r(
        "GET",
        "/api/v1/alarms/{id}",
        Access::Roles(ALL_ROLES),
        "one alarm with its steps (scoped)",
    ),
    r(
        "POST",
        "/api/v1/alarms/{id}/ack",
        Access::Roles(ALARM_HANDS),
        "acknowledge an alarm (确认)",
    ),
    r(
        "POST",
        "/api/v1/alarms/{id}/dispatch",
        Access::Roles(ALARM_DESK),
        "dispatch to a department or town with a deadline (派发)",
    ),
    r(
        "POST",
        "/api/v1/alarms/{id}/handle",
        Access::Roles(ALARM_HANDS),
        "record handling: result, cause, measures (处置反馈)",
    ),
    r(
        "POST",
        "/api/v1/alarms/{id}/close",
        Access::Roles(ALARM_DESK),
        "close a handled alarm (办结)",
    ),
    r(
        "POST",
        "/api/v1/alarms/{id}/reopen",
        Access::Roles(ALARM_DESK),
        "reopen with a reason (重新打开)",
    ),
];

/// The logged-in user as handlers see it.
#[derive(Debug, Clone, Serialize)]
pub struct Principal {
    pub id: i64,
    pub name: String,
    pub display: String,
    pub role: Role,
    /// Town code (town official) or enterprise code (enterprise operator).
    pub scope: Option<String>,
}

/// Where a site belongs, for scope checks.
#[derive(Debug, Clone, Default)]
pub struct SiteOwner {
    pub town: String,
    pub enterprise: Option<String>,
}

impl Principal {
    /// Whether this user may see the site (unknown sites: bureau roles only).
    pub fn sees_site(&self, owners: &HashMap<String, SiteOwner>, site: &str) -> bool {
        match self.role {
            Town => owners
                .get(site)
                .is_some_and(|o| Some(&o.town) == self.scope.as_ref()),
            Enterprise => owners
                .get(site)
                .is_some_and(|o| o.enterprise.is_some() && o.enterprise == self.scope),
            _ => true,
        }
    }

    fn from_user(u: &User) -> Option<Principal> {
        Some(Principal {
            id: u.id,
            name: u.name.clone(),
            display: u.display.clone(),
            role: Role::parse(&u.role)?,
            scope: u.scope.clone(),
        })
    }
}

/// The client address of a request, when the server passes it (`ConnectInfo`).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub Option<SocketAddr>);

impl Peer {
    pub fn text(&self) -> String {
        self.0.map(|a| a.ip().to_string()).unwrap_or_default()
    }
}

// ---- secrets and passwords ----

pub const COOKIE: &str = "qs_session";
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
pub const TOKEN_TTL: Duration = Duration::from_secs(90 * 86_400);

/// 32 random bytes as 64 hex digits.
pub fn new_secret() -> String {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).expect("operating system randomness");
    hex(&b)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn secret_hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// A random password of 16 characters from an alphabet without look-alikes.
pub fn random_password() -> String {
    const A: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("operating system randomness");
    b.iter().map(|x| A[*x as usize % A.len()] as char).collect()
}

/// argon2id with the crate's defaults (19 MiB, t = 2), or cheaper parameters for tests.
pub fn hasher(cheap: bool) -> Argon2<'static> {
    if cheap {
        let p = argon2::Params::new(1024, 1, 1, None).expect("valid argon2 params");
        Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, p)
    } else {
        Argon2::default()
    }
}

pub fn hash_password(password: &str, cheap: bool) -> Result<String, String> {
    if password.chars().count() < 8 {
        return Err("password: at least 8 characters".into());
    }
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| e.to_string())?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    hasher(cheap)
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Checks a password against a PHC string (its parameters come from the string).
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

// ---- throttling and counters ----

/// Login counters (rendered into `/metrics`) and the failure throttle.
#[derive(Default)]
pub struct AuthGuard {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
    pub logins: AtomicU64,
    pub login_failures: AtomicU64,
    pub login_throttled: AtomicU64,
    pub denied: AtomicU64,
}

const FREE_FAILURES: u32 = 5;

impl AuthGuard {
    /// Seconds to wait before another attempt is taken for any of `keys`, if held off.
    pub fn held_off(&self, keys: &[String]) -> Option<u64> {
        let m = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        keys.iter()
            .filter_map(|k| m.get(k))
            .filter(|(n, _)| *n >= FREE_FAILURES)
            .filter_map(|(n, at)| {
                let wait = Duration::from_secs(1u64 << (n - FREE_FAILURES).min(10))
                    .min(Duration::from_secs(900));
                let left = wait.checked_sub(at.elapsed())?;
                Some(left.as_secs().max(1))
            })
            .max()
    }

    pub fn failed(&self, keys: &[String]) {
        self.login_failures.fetch_add(1, Ordering::Relaxed);
        let mut m = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if m.len() > 100_000 {
            m.retain(|_, (_, at)| at.elapsed() < Duration::from_secs(900));
        }
        for k in keys {
            let e = m.entry(k.clone()).or_insert((0, Instant::now()));
            e.0 += 1;
            e.1 = Instant::now();
        }
    }

    pub fn succeeded(&self, keys: &[String]) {
        self.logins.fetch_add(1, Ordering::Relaxed);
        let mut m = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        for k in keys {
            m.remove(k);
        }
    }

    pub fn render(&self) -> String {
        let c = |a: &AtomicU64| a.load(Ordering::Relaxed);
        format!(
            "# HELP qingshan_web_logins_total Successful logins.\n# TYPE qingshan_web_logins_total counter\nqingshan_web_logins_total {}\n\
             # HELP qingshan_web_login_failures_total Logins refused for a wrong user or password.\n# TYPE qingshan_web_login_failures_total counter\nqingshan_web_login_failures_total {}\n\
             # HELP qingshan_web_login_throttled_total Login attempts held off after repeated failures.\n# TYPE qingshan_web_login_throttled_total counter\nqingshan_web_login_throttled_total {}\n\
             # HELP qingshan_web_denied_total Requests refused by authorisation (401/403).\n# TYPE qingshan_web_denied_total counter\nqingshan_web_denied_total {}\n",
            c(&self.logins),
            c(&self.login_failures),
            c(&self.login_throttled),
            c(&self.denied)
        )
    }
}

// ---- the check ----

fn cookie_secret(h: &HeaderMap) -> Option<String> {
    h.get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

fn bearer_secret(h: &HeaderMap) -> Option<String> {
    h.get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(|s| s.trim().to_string())
}

/// The secret a request carries (bearer token first, then the session cookie).
pub fn request_secret(h: &HeaderMap) -> Option<String> {
    bearer_secret(h).or_else(|| cookie_secret(h))
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn principal_of(s: &AppState, h: &HeaderMap) -> Result<Option<Principal>, ApiError> {
    let Some(secret) = request_secret(h) else {
        return Ok(None);
    };
    let hash = secret_hash(&secret);
    let acc = s.accounts.lock().unwrap_or_else(|e| e.into_inner());
    Ok(acc
        .session(&hash, now_ms())?
        .and_then(|(_, u)| Principal::from_user(&u)))
}

fn is_loopback(p: &Peer) -> bool {
    p.0.is_some_and(|a| match a.ip() {
        IpAddr::V4(v) => v.is_loopback(),
        IpAddr::V6(v) => v.is_loopback(),
    })
}

pub fn spec_for(method: &Method, path: &str) -> Option<&'static RouteSpec> {
    ROUTES
        .iter()
        .find(|r| r.path == path && r.method == method.as_str())
}

/// Route layer: looks the request up in [`ROUTES`], resolves the session or token, and refuses
/// (401 without a valid login, 403 for a role the route does not list). Handlers find the
/// [`Principal`] (if any) and the [`Peer`] in the request extensions.
pub async fn authorize(State(s): State<AppState>, mut req: Request, next: Next) -> Response {
    let peer = Peer(
        req.extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0),
    );
    req.extensions_mut().insert(peer);
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_default();
    let method = if req.method() == Method::HEAD {
        Method::GET
    } else {
        req.method().clone()
    };
    let Some(spec) = spec_for(&method, &path) else {
        s.auth.denied.fetch_add(1, Ordering::Relaxed);
        return ApiError(
            StatusCode::FORBIDDEN,
            format!("{method} {path}: not in the route table"),
        )
        .into_response();
    };
    let principal = match principal_of(&s, req.headers()) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let roles = match spec.access {
        Access::Public => None,
        Access::LoopbackOr(_) if is_loopback(&peer) => None,
        Access::Roles(r) | Access::LoopbackOr(r) => Some(r),
    };
    if let Some(roles) = roles {
        match &principal {
            None => {
                s.auth.denied.fetch_add(1, Ordering::Relaxed);
                return ApiError(
                    StatusCode::UNAUTHORIZED,
                    "login required (session cookie or bearer token)".into(),
                )
                .into_response();
            }
            Some(p) if !roles.contains(&p.role) => {
                s.auth.denied.fetch_add(1, Ordering::Relaxed);
                return ApiError(
                    StatusCode::FORBIDDEN,
                    format!("role {} may not {method} {path}", p.role.as_str()),
                )
                .into_response();
            }
            Some(_) => {}
        }
    }
    if let Some(p) = principal {
        req.extensions_mut().insert(p);
    }
    next.run(req).await
}

/// Checks a role/scope pair against the profile (used by the API and `qingshan user add`).
pub use crate::api::check_role_scope;
