//! The HTTP side of qingshan: the embedded web UI (zh-CN), the API under `/api/v1`,
//! `/metrics` (Prometheus text) and `/healthz`. Every route passes [`auth::authorize`], which
//! checks it against the role table [`auth::ROUTES`]. Reads go through a store handle of their
//! own; accounts and the audit log through another; device commands go to the gateway.
//! See docs/web.md.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use ingest::Gateway;
use store::accounts::NewUser;
use store::{Backend, Store, StoreConfig};

mod alarms;
mod api;
mod audit_marks;
pub mod auth;
pub mod flight;
mod indicators;
pub mod messages;
pub mod openapi;
mod reports;
mod sources;
mod table;
mod ui;
mod xlsx;

pub use auth::{Principal, Role};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub gateway: Arc<Gateway>,
    /// A store connection for reads (SQLite: its own connection in WAL mode).
    pub reader: Arc<Mutex<Box<dyn Store>>>,
    /// Users, sessions, tokens and the audit log.
    pub accounts: Arc<Mutex<Box<dyn Backend>>>,
    /// Domain tables the web reads and changes (alarms and their steps, indicator entries,
    /// audit marks): a connection of its own so that a slow report never holds up logins.
    pub domain: Arc<Mutex<Box<dyn Backend>>>,
    pub profile: Arc<profile::Profile>,
    /// Site code → town and enterprise, for scope checks (profile sites, outlets, restaurants).
    pub owners: Arc<HashMap<String, auth::SiteOwner>>,
    pub air: Arc<engine::AirEngine>,
    pub auth: Arc<auth::AuthGuard>,
    /// Cheap argon2 parameters (tests only).
    pub cheap_hashing: bool,
    /// The profile's fleet (sites, outlets, generated restaurants), built once.
    pub fleet: Arc<Vec<profile::Site>>,
    /// Overview JSON per scope (the bureau roles share one; each town and enterprise its own),
    /// kept [`OVERVIEW_TTL`] and computed once at a
    /// time per scope ([`flight::Flight`]: cold → one computation everyone waits for;
    /// expired → the stale copy while one refresh runs): the page every user opens first
    /// stays cheap under many clients.
    pub overview_cache: Arc<flight::Flight>,
    /// Air and indicator reports ([`ReportCache`]).
    pub reports: Arc<ReportCache>,
    pub water: Arc<engine::WaterEngine>,
    pub noise: Arc<engine::NoiseEngine>,
    pub sources: Arc<engine::SourcesEngine>,
}

/// Computed report bodies (air year/month report, indicators, water/sources/… reports) keyed
/// by request, each with the stamp of the derived data it was built from (e.g. the air
/// watermark): served again while the stamp is unchanged and it is younger than the cache's
/// TTL. One computation at a time per key (a per-key lock is held while computing, the map's
/// lock only to find the key), so 100 clients asking at once cost one report and a slow report
/// never holds up another. Handlers call it through [`blocking`] (it blocks while it computes
/// or waits).
#[derive(Default)]
pub struct ReportCache {
    map: Mutex<HashMap<String, Arc<ReportSlot>>>,
}

type ReportSlot = Mutex<Option<(std::time::Instant, i64, bytes::Bytes)>>;

impl ReportCache {
    pub fn get_or(
        &self,
        key: &str,
        stamp: i64,
        ttl: std::time::Duration,
        compute: impl FnOnce() -> Result<bytes::Bytes, ApiError>,
    ) -> Result<bytes::Bytes, ApiError> {
        let slot = {
            let mut m = self.map.lock().unwrap_or_else(|e| e.into_inner());
            if m.len() > 256 {
                // Keep the slots someone is computing or waiting on.
                m.retain(|_, s| Arc::strong_count(s) > 1);
            }
            m.entry(key.to_string()).or_default().clone()
        };
        let mut e = slot.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, st, b)) = &*e {
            if *st == stamp && at.elapsed() < ttl {
                return Ok(b.clone());
            }
        }
        let b = compute()?;
        *e = Some((std::time::Instant::now(), stamp, b.clone()));
        Ok(b)
    }

    /// Forgets every entry whose key starts with `prefix` (after a change they depend on). A
    /// computation still running finishes into a slot no one finds again.
    pub fn invalidate(&self, prefix: &str) {
        let mut m = self.map.lock().unwrap_or_else(|e| e.into_inner());
        m.retain(|k, _| !k.starts_with(prefix));
    }
}

/// Runs store work (reports, locks held while computing) on the blocking pool, so that a slow
/// report never stalls the async workers that serve every other request.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, format!("worker: {e}")))?
}

/// At most this long a cached report is served without looking at new data again.
pub const REPORT_TTL: std::time::Duration = std::time::Duration::from_secs(60);

/// How long a computed overview is served again.
pub const OVERVIEW_TTL: std::time::Duration = std::time::Duration::from_secs(5);

impl AppState {
    /// Builds the state on a store: opens the accounts store and, on the very first
    /// start (no user at all), creates the administrator `admin` with a random password.
    /// Returns the message to print in that case (how to log in); nothing ships with a
    /// default password.
    pub fn open(
        gateway: Arc<Gateway>,
        reader: Box<dyn Store>,
        cfg: &StoreConfig,
        profile: profile::Profile,
    ) -> Result<(AppState, Option<String>), store::StoreError> {
        let mut accounts = cfg.clone().with_fsync(true).with_cache_mib(2).open()?;
        let hello = bootstrap_admin(&mut *accounts, false)?;
        let domain = cfg.clone().with_fsync(true).with_cache_mib(16).open()?;
        let mut owners = HashMap::new();
        let fleet = profile.fleet();
        for s in &fleet {
            owners.insert(
                s.code.clone(),
                auth::SiteOwner {
                    town: s.town.clone(),
                    enterprise: s.outlet.as_ref().map(|o| o.enterprise.clone()),
                },
            );
        }
        let air = engine::AirEngine::from_profile(&profile);
        let water = engine::WaterEngine::from_profile(&profile)
            .map_err(|e| store::StoreError::Invalid(e.to_string()))?;
        let noise = engine::NoiseEngine::from_profile(&profile)
            .map_err(|e| store::StoreError::Invalid(e.to_string()))?;
        let sources = engine::SourcesEngine::from_profile(
            &profile,
            &standards::emissions::LimitLibrary::national(),
            engine::SourcesPolicy::default(),
            engine::fume::FumePolicy::default(),
        );
        Ok((
            AppState {
                gateway,
                reader: Arc::new(Mutex::new(reader)),
                accounts: Arc::new(Mutex::new(accounts)),
                domain: Arc::new(Mutex::new(domain)),
                profile: Arc::new(profile),
                owners: Arc::new(owners),
                air: Arc::new(air),
                auth: Arc::new(auth::AuthGuard::default()),
                cheap_hashing: false,
                fleet: Arc::new(fleet),
                overview_cache: Arc::default(),
                reports: Arc::default(),
                water: Arc::new(water),
                noise: Arc::new(noise),
                sources: Arc::new(sources),
            },
            hello,
        ))
    }
}

/// Creates `admin` with a random password if there is no user yet; returns the login note.
pub fn bootstrap_admin(
    accounts: &mut dyn Backend,
    cheap: bool,
) -> Result<Option<String>, store::StoreError> {
    if accounts.user_count()? > 0 {
        return Ok(None);
    }
    let password = auth::random_password();
    let hash = auth::hash_password(&password, cheap).map_err(store::StoreError::Invalid)?;
    let created = accounts.create_user(
        &NewUser {
            name: "admin".into(),
            display: "系统管理员".into(),
            role: Role::Admin.as_str().into(),
            scope: None,
            pw_hash: hash,
        },
        auth::now_ms(),
    );
    let u = match created {
        Ok(u) => u,
        // Several nodes started together on one store (gateway and writer nodes of the intake
        // bus): another one created the administrator first.
        Err(_) if accounts.user_count()? > 0 => return Ok(None),
        Err(e) => return Err(e),
    };
    accounts.append_audit(
        auth::now_ms(),
        "system",
        "user.create",
        "user:admin",
        None,
        Some(&serde_json::to_value(&u).unwrap_or_default()),
        "",
    )?;
    Ok(Some(format!(
        "first start: created the administrator — user: admin  password: {password}\n  \
         log in at /login on the HTTP address above, then change it: qingshan user passwd --data <DIR> admin"
    )))
}

/// A JSON error body: `{"error": "...", "detail": "...", "message": "..."}` with a fitting
/// status: `detail` in English (as it always was), `message` in Chinese for the UI
/// ([`messages::chinese`]).
#[derive(Debug)]
pub struct ApiError(pub StatusCode, pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": self.0.canonical_reason().unwrap_or("error"), "detail": self.1,
            "message": messages::chinese(self.0, &self.1)});
        (self.0, Json(body)).into_response()
    }
}

impl From<store::StoreError> for ApiError {
    fn from(e: store::StoreError) -> Self {
        ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
}

/// The whole HTTP surface. Serve it with `into_make_service_with_connect_info::<SocketAddr>()`
/// so that `/metrics` knows loopback clients and login throttling knows addresses.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(ui::app))
        .route("/login", get(ui::login))
        .route("/public", get(ui::public))
        .route("/ui/{file}", get(ui::asset))
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(api::metrics))
        .route("/api/v1/openapi.json", get(openapi::document))
        .route("/api/v1/auth/login", post(api::login))
        .route("/api/v1/auth/logout", post(api::logout))
        .route("/api/v1/auth/me", get(api::me))
        .route("/api/v1/auth/tokens", post(api::create_token))
        .route("/api/v1/public/air", get(api::public_air))
        .route("/api/v1/overview", get(api::overview))
        .route("/api/v1/boundary", get(api::boundary))
        .route("/api/v1/sites", get(api::sites))
        .route("/api/v1/devices", get(api::devices))
        .route("/api/v1/devices/{mn}", get(api::device))
        .route("/api/v1/refusals", get(api::refusals))
        .route(
            "/api/v1/devices/{mn}/commands",
            get(api::commands).post(api::send_command),
        )
        .route("/api/v1/values", get(api::values))
        .route("/api/v1/air", get(api::air))
        .route("/api/v1/reports/{kind}", get(reports::report))
        .route("/api/v1/sources/live", get(sources::live))
        .route("/api/v1/sources/rates", get(sources::rates))
        .route("/api/v1/summary", get(api::summary))
        .route("/api/v1/users", get(api::users).post(api::create_user))
        .route("/api/v1/users/{name}", post(api::update_user))
        .route("/api/v1/audit", get(api::audit_log))
        .route("/api/v1/indicators", get(indicators::report))
        .route(
            "/api/v1/indicators/{code}/entries",
            get(indicators::entries).post(indicators::add_entry),
        )
        .route(
            "/api/v1/audit-marks",
            get(audit_marks::trail).post(audit_marks::mark),
        )
        .route("/api/v1/audit-marks/unmark", post(audit_marks::unmark))
        .route("/api/v1/quality-findings", get(audit_marks::findings))
        .route("/api/v1/alarms", get(alarms::list))
        .route("/api/v1/alarms/{id}", get(alarms::show))
        .route("/api/v1/alarms/{id}/ack", post(alarms::ack))
        .route("/api/v1/alarms/{id}/dispatch", post(alarms::dispatch))
        .route("/api/v1/alarms/{id}/handle", post(alarms::handle))
        .route("/api/v1/alarms/{id}/close", post(alarms::close))
        .route("/api/v1/alarms/{id}/reopen", post(alarms::reopen))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authorize,
        ))
        .layer(axum::middleware::map_response(messages::plain_rejections))
        .with_state(state)
}
