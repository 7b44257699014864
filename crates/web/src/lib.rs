//! The HTTP side of qingshan: `/metrics` (Prometheus text), `/healthz`, and the API under
//! `/api/v1`. Reads go through a read-only store handle of their own; device commands go to
//! the gateway.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use ingest::{CommandError, Gateway};
use serde::{Deserialize, Serialize};
use store::Store;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub gateway: Arc<Gateway>,
    /// A store connection for reads (SQLite: its own connection in WAL mode).
    pub reader: Arc<Mutex<Box<dyn Store>>>,
}

/// A JSON error body: `{"error": "...", "detail": "..."}` with a fitting status.
pub struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": self.0.canonical_reason().unwrap_or("error"), "detail": self.1});
        (self.0, Json(body)).into_response()
    }
}

impl From<store::StoreError> for ApiError {
    fn from(e: store::StoreError) -> Self {
        ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .route("/api/v1/devices", get(devices))
        .route(
            "/api/v1/devices/{mn}/commands",
            get(commands).post(send_command),
        )
        .with_state(state)
}

async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.gateway.metrics().render(),
    )
}

#[derive(Serialize)]
struct DeviceView {
    #[serde(flatten)]
    device: model::Device,
    online: bool,
    state: Option<store::DeviceState>,
}

async fn devices(State(s): State<AppState>) -> Result<Json<Vec<DeviceView>>, ApiError> {
    let online = s.gateway.connected();
    let (list, states) = {
        let r = s.reader.lock().unwrap_or_else(|e| e.into_inner());
        (r.devices()?, r.device_states()?)
    };
    let pw_hidden = list.into_iter().map(|mut d| {
        d.pw = String::new();
        d
    });
    Ok(Json(
        pw_hidden
            .map(|d| DeviceView {
                online: online.binary_search(&d.mn).is_ok(),
                state: states.iter().find(|st| st.mn == d.mn).cloned(),
                device: d,
            })
            .collect(),
    ))
}

#[derive(Deserialize)]
struct Limit {
    limit: Option<usize>,
}

async fn commands(
    State(s): State<AppState>,
    Path(mn): Path<String>,
    Query(q): Query<Limit>,
) -> Result<Json<Vec<store::CommandRecord>>, ApiError> {
    let r = s.reader.lock().unwrap_or_else(|e| e.into_inner());
    Ok(Json(
        r.commands(Some(&mn), q.limit.unwrap_or(50).min(1000))?,
    ))
}

/// `POST /api/v1/devices/{mn}/commands` with `{"cn":"2061","cp":{"BeginTime":"…","EndTime":"…"}}`.
#[derive(Deserialize)]
struct CommandRequest {
    cn: String,
    #[serde(default)]
    cp: serde_json::Map<String, serde_json::Value>,
}

async fn send_command(
    State(s): State<AppState>,
    Path(mn): Path<String>,
    Json(req): Json<CommandRequest>,
) -> Result<Json<ingest::SentCommand>, ApiError> {
    let mut cp = Vec::new();
    for (k, v) in req.cp {
        let text = match v {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            other => {
                return Err(ApiError(
                    StatusCode::BAD_REQUEST,
                    format!("cp.{k}: expected a string or number, got {other}"),
                ))
            }
        };
        cp.push((k, text));
    }
    s.gateway
        .send_command(&mn, &req.cn, cp)
        .await
        .map(Json)
        .map_err(|e| {
            let status = match e {
                CommandError::NotConnected(_) => StatusCode::CONFLICT,
                CommandError::UnknownDevice(_) => StatusCode::NOT_FOUND,
                CommandError::Invalid(_) => StatusCode::BAD_REQUEST,
                CommandError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
            };
            ApiError(status, e.to_string())
        })
}
