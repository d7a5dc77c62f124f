//! What the kiosk shows of itself to the local API and the UI: the visit, the people in the
//! meeting and whether their picture and voice arrive, the chat, the document.

use crate::documents::DocumentStatus;
use crate::media::{CaptureHealth, ReceiverStats};
use crate::visit::Phase;
use nara_protocol::kiosk::AgencyChoice;
use nara_protocol::{CallId, NetworkQuality, StaffId, StaffRoleKind};
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub kiosk: String,
    /// Connected to the broker now.
    pub connected: bool,
    pub site_name: String,
    pub agencies: Vec<AgencyChoice>,
    pub visit: Phase,
    pub peers: Vec<PeerStatus>,
    /// Desks ringing for the visit or the call, which the kiosk connects to while they ring
    /// and sends nothing to until they answer.
    pub ringing: Vec<RingingStatus>,
    pub chat: Vec<ChatLine>,
    pub document_requested_by: Option<StaffId>,
    /// The citizen's document: pages scanned, sending, delivered.
    pub document: DocumentStatus,
    pub capture: CaptureHealth,
    /// The last thing that went wrong, in words, until it is put right.
    pub last_error: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerStatus {
    pub staff: StaffId,
    pub display_name: String,
    pub agency_name: Option<String>,
    /// Officer, interpreter: documents go to officers only.
    pub role: StaffRoleKind,
    pub connected: bool,
    pub channel_open: bool,
    /// Round trip, loss and bitrate of the path, as last measured.
    pub network: Option<NetworkQuality>,
    /// One entry per remote track: its packets and what was decoded of them.
    pub received: Vec<ReceiverStats>,
}

impl PeerStatus {
    /// Whether a document may go to this person.
    pub fn receives_documents(&self) -> bool {
        self.role == StaffRoleKind::Officer
    }

    /// How the citizen sees them on a send button: "Anna Lind, Skatteverket".
    pub fn name_with_agency(&self) -> String {
        match &self.agency_name {
            Some(agency) => format!("{}, {agency}", self.display_name),
            None => self.display_name.clone(),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RingingStatus {
    pub staff: StaffId,
    pub call: CallId,
    /// ICE and DTLS are up: the answer needs only a picture.
    pub connected: bool,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatLine {
    /// Who wrote it; none for the citizen.
    pub from: Option<StaffId>,
    pub text: String,
}

#[cfg(test)]
impl Status {
    /// A kiosk in Rinkeby, connected, with nothing going on but `visit`: for the UI's tests.
    pub(crate) fn connected_in(visit: Phase) -> Status {
        Status {
            kiosk: "k-1".into(),
            connected: true,
            site_name: "Rinkeby".into(),
            agencies: Vec::new(),
            visit,
            peers: Vec::new(),
            ringing: Vec::new(),
            chat: Vec::new(),
            document_requested_by: None,
            document: DocumentStatus::default(),
            capture: CaptureHealth {
                camera_frames: 0,
                microphone_buffers: 0,
                microphone_peak_decibels_x10: None,
                camera_error: None,
                microphone_error: None,
            },
            last_error: None,
        }
    }
}
