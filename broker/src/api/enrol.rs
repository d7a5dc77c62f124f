//! Kiosk enrolment: a one-time code (made by an administrator) and a certificate request in,
//! the kiosk's certificate out. From then on the kiosk connects with mutual TLS.

use super::openapi::ApiErrorBody;
use super::ApiError;
use crate::pki::cert_hash;
use crate::state::{now_ms, AppState};
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnrolRequest {
    pub code: String,
    /// PEM certificate signing request made on the kiosk; its key never leaves the kiosk.
    pub csr_pem: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnrolResponse {
    pub kiosk: String,
    pub certificate_pem: String,
    /// The CA that signed it, for the record; the kiosk trusts the broker's own certificate.
    pub ca_pem: String,
}

#[utoipa::path(post, path = "/api/kiosk/enrol", tag = "kiosks", request_body = EnrolRequest, responses((status = 200, description = "The kiosk's certificate", body = EnrolResponse), (status = 400, body = ApiErrorBody), (status = 403, description = "Unknown, used or expired code", body = ApiErrorBody)))]
pub async fn enrol(
    State(state): State<AppState>,
    Json(req): Json<EnrolRequest>,
) -> Result<Json<EnrolResponse>, ApiError> {
    let code = req.code.trim().to_ascii_uppercase().replace(['-', ' '], "");
    if req.csr_pem.len() > 16 * 1024 {
        return Err(ApiError::BadRequest(
            "the certificate request is too large".into(),
        ));
    }
    // Sign first (the code is only spent once we have a certificate to bind), but under a
    // placeholder subject; the kiosk id comes from the code.
    let pending = state.store.kiosk_for_code(&code, now_ms()).await?.ok_or_else(|| ApiError::Forbidden("this enrolment code is unknown, used or expired; ask the administrator for a new one".into()))?;
    let (pem, der) = state
        .ca
        .sign_kiosk(&req.csr_pem, &pending)
        .map_err(|e| ApiError::BadRequest(format!("{e:#}")))?;
    let kiosk = state
        .store
        .redeem_enrolment_code(&code, &cert_hash(&der), now_ms())
        .await?
        .ok_or_else(|| ApiError::Forbidden("this enrolment code is unknown, used or expired; ask the administrator for a new one".into()))?;
    let k = kiosk.clone();
    state
        .engine
        .run(move |e| e.audit("kiosk", "enrolled", &k, ""))
        .await;
    Ok(Json(EnrolResponse {
        kiosk,
        certificate_pem: pem,
        ca_pem: state.ca.cert_pem.clone(),
    }))
}
