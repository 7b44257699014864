//! The web UI (zh-CN), embedded in the binary at build time from `ui/`: no build step, no
//! download at run time (ECharts is vendored in `ui/vendor/`, Apache-2.0).

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};

const APP: &str = include_str!("../../../ui/app.html");
const LOGIN: &str = include_str!("../../../ui/login.html");
const PUBLIC: &str = include_str!("../../../ui/public.html");

/// (name, content type, bytes).
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../ui/app.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../../../ui/app.css"),
    ),
    (
        "echarts.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../ui/vendor/echarts.min.js"),
    ),
    (
        "ECHARTS-LICENSE",
        "text/plain; charset=utf-8",
        include_bytes!("../../../ui/vendor/ECHARTS-LICENSE"),
    ),
];

pub async fn app() -> Html<&'static str> {
    Html(APP)
}
pub async fn login() -> Html<&'static str> {
    Html(LOGIN)
}
pub async fn public() -> Html<&'static str> {
    Html(PUBLIC)
}

pub async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == file) {
        Some((_, ct, bytes)) => (
            [
                (header::CONTENT_TYPE, *ct),
                (header::CACHE_CONTROL, "public, max-age=3600"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            *bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}
