//! `/api/v1/openapi.json`: an OpenAPI 3.0 document generated from the route table
//! ([`crate::auth::ROUTES`]), so it cannot drift from the routes (a test checks that every
//! table row is a real route and the other way round).

use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Map, Value};

use crate::auth::{Access, ROUTES};

/// Query parameters of the table endpoints.
fn params_for(path: &str) -> Vec<Value> {
    let q = |name: &str, desc: &str| json!({"name": name, "in": "query", "required": false, "schema": {"type": "string"}, "description": desc});
    let mut v = Vec::new();
    for seg in path.split('/') {
        if let Some(n) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            v.push(
                json!({"name": n, "in": "path", "required": true, "schema": {"type": "string"}}),
            );
        }
    }
    let table = matches!(
        path,
        "/api/v1/sites"
            | "/api/v1/devices"
            | "/api/v1/values"
            | "/api/v1/users"
            | "/api/v1/audit"
            | "/api/v1/refusals"
            | "/api/v1/quality-findings"
    );
    if table {
        v.push(q("page", "page number, from 1"));
        v.push(q("per_page", "rows per page (default 100, at most 10000)"));
        v.push(q("format", "json (default), csv or xlsx (all rows)"));
    }
    match path {
        "/api/v1/sites" => {
            v.push(q(
                "kind",
                "air, surface_water, drinking_water, noise, flue_gas, wastewater, fume",
            ));
            v.push(q("town", "12-digit town code"));
            v.push(q("site", "site code"));
        }
        "/api/v1/devices" => {
            v.push(q("site", "site code"));
            v.push(q("online", "true or false"));
        }
        "/api/v1/values" => {
            v.push(q("site", "site code"));
            v.push(q("mn", "device MN"));
            v.push(q("code", "pollutant code, e.g. a34004 (alias: pollutant)"));
            v.push(q("pollutant", "alias of code"));
            v.push(q("period", "rtd, min, hour or day"));
            v.push(q(
                "from",
                "RFC 3339 or YYYY-MM-DD[THH:MM[:SS]] Beijing; default now − 24 h",
            ));
            v.push(q(
                "to",
                "exclusive end; default now + 1 h; at most 400 days after from",
            ));
        }
        "/api/v1/sources/rates" | "/api/v1/reports/{kind}" => {
            v.push(q("year", "Beijing calendar year (default this year)"));
            v.push(q("month", "1–12 (default: the whole year)"));
        }
        "/api/v1/quality-findings" => {
            v.push(q("site", "site code"));
            v.push(q("code", "pollutant code"));
            v.push(q(
                "kind",
                "zero, constant, out_of_range, negative, jump, flag, missing, offline, clock_drift",
            ));
            v.push(q("from", "Beijing time; default now − 24 h"));
            v.push(q("to", "exclusive end; default now + 1 h"));
        }
        "/api/v1/air" => {
            v.push(q("year", "Beijing calendar year (default this year)"));
            v.push(q("month", "1–12 (default: the whole year)"));
        }
        "/api/v1/devices/{mn}/commands" => v.push(q("limit", "GET: newest commands, default 50")),
        _ => {}
    }
    v
}

pub fn build() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for r in ROUTES
        .iter()
        .filter(|r| r.path.starts_with("/api/") || r.path == "/metrics" || r.path == "/healthz")
    {
        let (security, roles): (Value, String) = match r.access {
            Access::Public => (json!([]), "public".into()),
            Access::Roles(rs) => (
                json!([{"cookie": []}, {"bearer": []}]),
                rs.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(", "),
            ),
            Access::LoopbackOr(rs) => (
                json!([{}, {"cookie": []}, {"bearer": []}]),
                format!(
                    "loopback, {}",
                    rs.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(", ")
                ),
            ),
        };
        let mut op = json!({
            "summary": r.summary,
            "description": format!("Roles: {roles}."),
            "x-roles": roles,
            "security": security,
            "parameters": params_for(r.path),
            "responses": {
                "200": {"description": "OK"},
                "400": {"description": "bad request", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                "401": {"description": "login required"},
                "403": {"description": "role not allowed"},
                "404": {"description": "not found or outside the caller's scope"}
            }
        });
        if r.method == "POST" {
            op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"type": "object"}}}});
        }
        paths
            .entry(r.path.to_string())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("object")
            .insert(r.method.to_lowercase(), op);
    }
    json!({
        "openapi": "3.0.3",
        "info": {"title": "qingshan (青山) API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Eco-environment supervision platform. Times are Beijing (+08:00). See docs/web.md."},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "cookie": {"type": "apiKey", "in": "cookie", "name": crate::auth::COOKIE},
                "bearer": {"type": "http", "scheme": "bearer"}
            },
            "schemas": {"Error": {"type": "object", "properties": {"error": {"type": "string"}, "detail": {"type": "string"}}}}
        }
    })
}

pub async fn document() -> impl IntoResponse {
    Json(build())
}
