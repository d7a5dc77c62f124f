//! The agent-desk pages: the built files from `desk_assets`, with `index.html` for every path
//! that is neither an API route nor a file, so that a reload on `/admin/kiosks/…` works.
//! Every page gets a strict Content-Security-Policy: scripts, styles and connections from this
//! origin only; pictures and media also from `blob:` (video streams, scanned pages).

use super::ApiError;
use crate::state::AppState;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use std::path::Path;
use tower::ServiceBuilder;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self'; \
     object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// Adds the pages (or the note that they are missing) and the JSON 404 for unknown API paths.
pub fn serve(router: Router<AppState>, assets: Option<&Path>) -> Router<AppState> {
    let router = router.route("/api/{*rest}", any(unknown_api_path));
    let headers = ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static("camera=(self), microphone=(self), geolocation=()"),
        ))
        // Vite names the scripts after their content; the page itself must be asked for anew.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ));
    match assets {
        Some(dir) => {
            let files = ServeDir::new(dir)
                .append_index_html_on_directories(true)
                .fallback(ServeFile::new(dir.join("index.html")));
            router.fallback_service(headers.service(files))
        }
        None => router.fallback(pages_missing),
    }
}

async fn unknown_api_path() -> ApiError {
    ApiError::NotFound("no such API path; /api/openapi.json lists them".into())
}

async fn pages_missing() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "Nära: sidorna för handläggare och administratörer är inte installerade här.\n\
         Nära: the desk pages are not installed here: build them with `npm run build` in \
         agent-desk/ and set desk_assets (NARA_DESK_ASSETS) to its dist/ folder.\n",
    )
        .into_response()
}
