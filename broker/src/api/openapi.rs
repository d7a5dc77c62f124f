//! The OpenAPI document served at `/api/openapi.json`. Paths come from the handlers'
//! `#[utoipa::path]` through `OpenApiRouter` in [`super::app`], so a route cannot exist
//! without its documentation; this file holds only what is common to all of them.

use serde::Serialize;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// Every error response: a sentence saying what was wrong and, where possible, what to do.
#[derive(Debug, Serialize, utoipa::ToSchema, ts_rs::TS)]
pub struct ApiErrorBody {
    pub error: String,
}

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Nära broker API",
        description = "Administration, statistics, bookings and kiosk enrolment. \
            Log in with POST /api/login; the session cookie authorises the rest. \
            Kiosks and desks speak the WebSocket protocol in broker/protocol.",
    ),
    modifiers(&SessionCookie),
    security(("session" = [])),
    tags(
        (name = "session", description = "Logging in and out"),
        (name = "kiosks", description = "The fleet: enrolment, health, revocation"),
        (name = "directory", description = "Agencies, sites and people"),
        (name = "queues", description = "Queues as an agency's officers see them"),
        (name = "bookings", description = "Booked meetings and their codes"),
        (name = "statistics", description = "Visits without personal data"),
        (name = "audit", description = "Who did what"),
        (name = "operations", description = "Health and metrics"),
    )
)]
pub struct ApiDoc;

struct SessionCookie;

impl Modify for SessionCookie {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                super::auth::SESSION_COOKIE,
            ))),
        );
    }
}
