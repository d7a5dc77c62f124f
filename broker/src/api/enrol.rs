//! Kiosk enrolment: a one-time code (made by an administrator) and a certificate request in,
//! the kiosk's certificate out. From then on the kiosk connects with mutual TLS, and renews
//! its certificate over that link before it expires.

use super::openapi::ApiErrorBody;
use super::{ApiError, ApiJson, ConnInfo};
use crate::pki::cert_hash;
use crate::state::AppState;
use axum::extract::State;
use axum::{Extension, Json};
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

#[utoipa::path(post, path = "/api/kiosk/enrol", tag = "kiosks", security(()), request_body = EnrolRequest, responses((status = 200, description = "The kiosk's certificate", body = EnrolResponse), (status = 400, body = ApiErrorBody), (status = 403, description = "Unknown, used or expired code", body = ApiErrorBody)))]
pub async fn enrol(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<EnrolRequest>,
) -> Result<Json<EnrolResponse>, ApiError> {
    let code = req.code.trim().to_ascii_uppercase().replace(['-', ' '], "");
    // Sign first (the code is only spent once we have a certificate to bind), but under a
    // placeholder subject; the kiosk id comes from the code.
    let pending = state.store.kiosk_for_code(&code, state.clock.now_ms()).await?.ok_or_else(|| ApiError::Forbidden("this enrolment code is unknown, used or expired; ask the administrator for a new one".into()))?;
    let (pem, der) = sign(&state, &req.csr_pem, &pending)?;
    let kiosk = state
        .store
        .redeem_enrolment_code(&code, &cert_hash(&der), state.clock.now_ms())
        .await?
        .ok_or_else(|| ApiError::Forbidden("this enrolment code is unknown, used or expired; ask the administrator for a new one".into()))?;
    super::audit(&state, "kiosk", "enrolled", &kiosk, "").await;
    Ok(Json(EnrolResponse {
        kiosk,
        certificate_pem: pem,
        ca_pem: state.ca.cert_pem.clone(),
    }))
}

/// The kiosk CA's certificate for `kiosk` from its signing request, valid for as long as the
/// configuration says.
fn sign(
    state: &AppState,
    csr_pem: &str,
    kiosk: &str,
) -> Result<(String, rustls::pki_types::CertificateDer<'static>), ApiError> {
    if csr_pem.len() > 16 * 1024 {
        return Err(ApiError::Unprocessable(
            "the certificate request is too large".into(),
        ));
    }
    state
        .ca
        .sign_kiosk(csr_pem, kiosk, state.config.tls.kiosk_certificate_days)
        .map_err(|e| ApiError::Unprocessable(format!("{e:#}")))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RenewRequest {
    /// PEM certificate signing request for the kiosk's key.
    pub csr_pem: String,
}

/// A kiosk trades its certificate, presented in the TLS handshake, for a fresh one. The old
/// one is still accepted until the new one is first presented.
#[utoipa::path(post, path = "/api/kiosk/renew", tag = "kiosks", security(()), request_body = RenewRequest, responses(
    (status = 200, description = "The kiosk's new certificate", body = EnrolResponse),
    (status = 403, description = "No valid kiosk certificate was presented, or the kiosk is revoked", body = ApiErrorBody),
    (status = 409, description = "The certificate was renewed meanwhile", body = ApiErrorBody),
))]
pub async fn renew(
    State(state): State<AppState>,
    conn: Option<Extension<ConnInfo>>,
    ApiJson(req): ApiJson<RenewRequest>,
) -> Result<Json<EnrolResponse>, ApiError> {
    let presented = conn.and_then(|c| c.0.client_cert_hash).ok_or_else(|| {
        ApiError::Forbidden("renewal needs the kiosk's current certificate".into())
    })?;
    let kiosk = state
        .store
        .kiosk_by_cert(&presented)
        .await?
        .filter(|k| k.revoked_at.is_none())
        .ok_or_else(|| {
            ApiError::Forbidden("this certificate belongs to no kiosk in service".into())
        })?;
    let (pem, der) = sign(&state, &req.csr_pem, &kiosk.id)?;
    if !state
        .store
        .replace_kiosk_cert(&kiosk.id, &presented, &cert_hash(&der))
        .await?
    {
        return Err(ApiError::Conflict(
            "the certificate was renewed meanwhile; use the newer one".into(),
        ));
    }
    super::audit(&state, "kiosk", "certificate renewed", &kiosk.id, "").await;
    Ok(Json(EnrolResponse {
        kiosk: kiosk.id,
        certificate_pem: pem,
        ca_pem: state.ca.cert_pem.clone(),
    }))
}
