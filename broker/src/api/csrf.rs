//! Cross-site request forgery: a state-changing request from a browser must come from one of
//! the broker's own origins, the same allow-list the desk's WebSocket checks.
//!
//! Browsers send `Origin` with every POST, and `Sec-Fetch-Site` with every request; a page on
//! another site cannot remove either. A request with neither comes from a program, not a
//! browser, and so cannot carry a victim's cookie against their will: it is let through, as
//! Go's `CrossOriginProtection` does. SameSite=Strict cookies stay as a second wall.

use super::ApiError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Why a request is refused as cross-site, if it is.
pub fn refusal(method: &Method, headers: &HeaderMap, allowed: &[String]) -> Option<String> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return None;
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(origin) = header("origin") {
        return (!allowed.iter().any(|a| a == origin)).then(|| {
            format!(
                "a request from {origin} may not change anything here; \
                 use the pages at the broker's own address"
            )
        });
    }
    match header("sec-fetch-site") {
        Some("same-origin" | "none") | None => None,
        Some(site) => Some(format!(
            "a {site} request may not change anything here; use the pages at the broker's own address"
        )),
    }
}

/// Middleware refusing cross-site state changes with 403.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if let Some(reason) = refusal(request.method(), request.headers(), &state.config.origins()) {
        state.metrics.refused("cross-site");
        return ApiError::Forbidden(reason).into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn only_state_changes_from_another_origin_are_refused() {
        let allowed = vec!["https://nara.example".to_string()];
        let post = Method::POST;
        let evil = headers(&[
            ("origin", "https://evil.example"),
            ("sec-fetch-site", "cross-site"),
        ]);
        assert!(refusal(&post, &evil, &allowed).is_some());
        assert!(refusal(&Method::GET, &evil, &allowed).is_none());
        let own = headers(&[
            ("origin", "https://nara.example"),
            ("sec-fetch-site", "same-origin"),
        ]);
        assert!(refusal(&post, &own, &allowed).is_none());
        // A form posted from another site by an old browser that sent no Origin.
        let no_origin = headers(&[("sec-fetch-site", "cross-site")]);
        assert!(refusal(&post, &no_origin, &allowed).is_some());
        // A program (curl, the kiosk's enrolment) sends neither.
        assert!(refusal(&post, &HeaderMap::new(), &allowed).is_none());
        assert!(refusal(&post, &headers(&[("origin", "null")]), &allowed).is_some());
    }
}
