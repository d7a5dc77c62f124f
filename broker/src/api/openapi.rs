//! The OpenAPI document served at `/api/openapi.json`. Paths come from the handlers'
//! `#[utoipa::path]` through `OpenApiRouter` in [`super::app`], so a route cannot exist
//! without its documentation; this file holds only what is common to all of them.

use serde::Serialize;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::{Content, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

/// What kind of error it is, for the program; the message is for the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub enum ApiErrorCode {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    Unprocessable,
    MethodNotAllowed,
    UnsupportedMediaType,
    TooManyRequests,
    Internal,
}

/// Every error response: a code, and a sentence saying what was wrong and, where possible,
/// what to do.
#[derive(Debug, Serialize, utoipa::ToSchema, ts_rs::TS)]
pub struct ApiErrorBody {
    pub code: ApiErrorCode,
    pub message: String,
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
    components(schemas(ApiErrorBody, ApiErrorCode)),
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

/// The answers every operation can give, whatever its handler says: a malformed request, a
/// body that is not JSON, a wrong method, a missing or refused session, a throttled client,
/// a failure inside. Applied once to the finished document (the routes join it after
/// [`ApiDoc`]'s own modifiers have run), so no operation can leave one undocumented.
#[derive(Debug)]
pub struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    Content::new(Some(Ref::from_schema_name("ApiErrorBody"))),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            let operations: [&mut Option<Operation>; 4] = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                let secured = operation
                    .security
                    .as_ref()
                    .is_none_or(|s| !s.iter().all(is_empty_requirement));
                let mut add = |status: &str, description: &str| {
                    operation
                        .responses
                        .responses
                        .entry(status.to_string())
                        .or_insert_with(|| error(description).into());
                };
                add("400", "The request is malformed: see the message");
                add("405", "This path does not take that method");
                add("500", "Something failed in the broker; try again");
                if operation.request_body.is_some() {
                    add(
                        "415",
                        "The body must be JSON (Content-Type: application/json)",
                    );
                    add(
                        "422",
                        "The body breaks a rule: see the message (an unknown site, a short password)",
                    );
                }
                let has_path_parameter = operation.parameters.as_ref().is_some_and(|parameters| {
                    parameters
                        .iter()
                        .any(|p| p.parameter_in == utoipa::openapi::path::ParameterIn::Path)
                });
                if has_path_parameter {
                    add("404", "Nothing has that id");
                }
                if secured {
                    add("401", "Not logged in, or the session has ended");
                    add(
                        "403",
                        "Not allowed for this role, agency or region, or from another site",
                    );
                }
                add("429", "Too many requests; wait as Retry-After says");
            }
        }
    }
}

fn is_empty_requirement(requirement: &utoipa::openapi::security::SecurityRequirement) -> bool {
    serde_json::to_value(requirement).is_ok_and(|v| v.as_object().is_some_and(|o| o.is_empty()))
}
